r"""Power iteration: the Hessian's eigenvalue of largest magnitude from products ``v -> H v``."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .._array import dot, namespace, norm, to_host


class PowerIterationResult(NamedTuple):
    """What :func:`_power_iteration` found.

    ``residual`` is :math:`\\|H v - \\lambda v\\|` for the returned pair;
    ``converged`` says whether it reached ``tol * |eigenvalue|``.
    """

    eigenvalue: float
    eigenvector: Any
    n_iter: int
    residual: float
    converged: bool


def power_iteration(hvp, v0, num_iters=100, tol=1e-8):
    r"""The eigenpair :math:`(\lambda, v)` of symmetric :math:`H` with largest :math:`|\lambda|`.

    .. math::
        v_k = \frac{w_{k-1}}{\|w_{k-1}\|}, \quad w_k = H v_k, \quad
        \lambda_k = v_k^\top H v_k \ \text{(Rayleigh quotient)}

    starting from :math:`w_{-1} = v_0`. :math:`\lambda_k` keeps its sign: the
    dominant eigenvalue may be negative (a saddle), and :math:`|\lambda|` or
    :math:`\|Hv\|` would hide it. Stops once the residual
    :math:`\|H v_k - \lambda_k v_k\| \le` ``tol`` :math:`\cdot |\lambda_k|`
    (then :math:`\lambda_k` is within that distance of an eigenvalue) or after
    ``num_iters`` products. Returns ``(eigenvalue, eigenvector)``: a Python
    float and a unit vector of ``v0``'s kind (its sign is arbitrary).

    Convergence is linear with ratio :math:`|\lambda_2/\lambda_1|`; when
    :math:`\lambda` and :math:`-\lambda` are both dominant the iteration does
    not converge. ``v0`` needs a component along the dominant eigenvector
    (a random ``v0`` has one); ``v0 = 0`` raises ``ValueError``.
    """
    result = _power_iteration(hvp, v0, num_iters=num_iters, tol=tol)
    return result.eigenvalue, result.eigenvector


def _power_iteration(hvp, v0, num_iters=100, tol=1e-8):
    """:func:`power_iteration` with its bookkeeping: returns a :class:`PowerIterationResult`."""
    func = "power_iteration"
    xp = namespace(v0)
    if not bool(xp.all(xp.isfinite(v0))):
        raise ValueError(f"{func}: v0 contains non-finite values")
    v0_norm = float(norm(xp, v0))
    if v0_norm == 0:
        raise ValueError(f"{func}: v0 must be nonzero")
    if not num_iters >= 1:
        raise ValueError(f"{func}: num_iters must be >= 1 (got {num_iters!r})")
    if not tol >= 0:
        raise ValueError(f"{func}: tol must be >= 0 (got {tol!r})")

    # One host read per iteration: lambda = v.Hv and ||Hv - lambda v|| together; the
    # next v = Hv / ||Hv|| stays on the device (Hv = 0 has residual 0 and returned).
    w, w_norm = v0, v0_norm
    for k in range(1, num_iters + 1):
        v = w / w_norm
        w = hvp(v)
        lam_dev = dot(xp, v, w)
        lam, residual = to_host(xp, lam_dev, norm(xp, w - lam_dev * v))
        if not math.isfinite(lam):
            raise ValueError(f"{func}: hvp returned non-finite values at iteration {k}")
        if residual <= tol * abs(lam):  # also H v = 0: an exact eigenpair with lambda = 0
            return PowerIterationResult(lam, v, k, residual, True)
        w_norm = norm(xp, w)
    return PowerIterationResult(lam, v, num_iters, residual, False)
