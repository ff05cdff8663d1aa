"""One checked call ``v -> H v`` for the randomised curvature estimators.

Probes are drawn with NumPy (so a seed gives the same probes on every back end)
and take the kind, dtype and device of ``like`` when it is given. An ``hvp`` built
on torch tensors cannot take a NumPy probe: instead of a ``TypeError`` from deep
inside the user's function, the caller is told to pass ``like=``.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import device

from .._array import namespace


def as_like(v, like):
    """The NumPy float64 vector ``v`` in ``like``'s kind, dtype and device."""
    if like is None:
        return v
    return namespace(like).asarray(v, dtype=like.dtype, device=device(like))


def _needs_like(func, detail):
    return TypeError(
        f"{func}: hvp does not work on NumPy probes ({detail}); pass like= an array "
        "with the hvp's kind, dtype and device (e.g. like=theta for a torch hvp on CUDA)"
    )


def apply_hvp(func, hvp, v, dim):
    """``hvp(v)``, checked: of ``v``'s kind and of shape ``(dim,)``."""
    try:
        w = hvp(v)
    except TypeError as err:
        if isinstance(v, np.ndarray):
            raise _needs_like(func, f"it raised TypeError: {err}") from err
        raise
    if isinstance(v, np.ndarray) and not isinstance(w, np.ndarray):
        raise _needs_like(func, f"it returned a {type(w).__name__}")
    if tuple(w.shape) != (dim,):
        raise ValueError(f"{func}: hvp returned shape {tuple(w.shape)}, expected ({dim},)")
    return w
