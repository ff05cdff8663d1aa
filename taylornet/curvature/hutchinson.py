r"""Hutchinson's stochastic trace estimator from products ``v -> H v``."""

from __future__ import annotations

import math
import operator

import numpy as np

from .._array import dot, namespace
from ._probes import apply_hvp, as_like


def hutchinson_trace(hvp, dim, num_samples, seed=None, *, like=None):
    r"""Estimate :math:`\operatorname{tr}(H)` with Rademacher probes (Hutchinson 1990).

    .. math::
        \operatorname{tr}(H) \approx \frac1m \sum_{i=1}^m z_i^\top H z_i,
        \qquad z_i \in \{-1, +1\}^n \text{ uniform}

    Unbiased, since :math:`\mathbb E[z z^\top] = I`; for Rademacher probes the
    variance of one term is :math:`2 \sum_{i \ne j} H_{ij}^2`, so a diagonal
    :math:`H` is estimated exactly. Returns a Python float.

    The probes come from ``numpy.random.default_rng(seed)`` (``seed``: ``None``,
    an int or a ``Generator``), so a seed gives the same probes on every back
    end. They are NumPy float64 vectors unless ``like`` is given: an array or
    tensor whose kind, dtype and device the probes then take, e.g.
    ``like=torch.empty(0, device="cuda")`` for an ``hvp`` built with torch; an
    ``hvp`` that fails on NumPy probes raises a ``TypeError`` that asks for ``like``.
    """
    samples = _hutchinson_samples(hvp, dim, num_samples, seed, like=like)
    return float(np.mean(samples))


def _hutchinson_samples(hvp, dim, num_samples, seed=None, *, like=None):
    r"""The individual terms :math:`z_i^\top H z_i` as a NumPy float64 array.

    Their mean is :func:`hutchinson_trace`; their standard deviation over
    :math:`\sqrt m` is the estimate's standard error.
    """
    func = "hutchinson_trace"
    dim, num_samples = operator.index(dim), operator.index(num_samples)
    if dim < 1:
        raise ValueError(f"{func}: dim must be >= 1 (got {dim})")
    if num_samples < 1:
        raise ValueError(f"{func}: num_samples must be >= 1 (got {num_samples})")
    rng = np.random.default_rng(seed)
    samples = np.empty(num_samples)
    for i in range(num_samples):
        z = rng.choice((-1.0, 1.0), size=dim)
        z = as_like(z, like)
        Hz = apply_hvp(func, hvp, z, dim)
        samples[i] = float(dot(namespace(z, Hz), z, Hz))
        if not math.isfinite(samples[i]):
            raise ValueError(f"{func}: hvp returned non-finite values")
    return samples
