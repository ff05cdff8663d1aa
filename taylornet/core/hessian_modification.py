r"""Hessian modification: Cholesky with added multiple of the identity (N&W Alg. 3.3)."""

from __future__ import annotations

from typing import Any, NamedTuple

from .._array import eye_like, namespace, reject_half_precision


def cholesky_factor(H):
    """The Cholesky factor ``L`` of ``H`` (``H = L L^T``), or ``None`` when ``H`` is not
    positive definite (numerically: the factorisation fails or has non-finite entries).

    Only the linear-algebra failure is caught; out-of-memory and device errors propagate.
    """
    xp = namespace(H)
    try:
        L = xp.linalg.cholesky(H)
    except xp.linalg.LinAlgError:  # numpy's and torch's
        return None
    return L if bool(xp.all(xp.isfinite(L))) else None


def is_positive_definite(H) -> bool:
    """Whether the Cholesky factorisation of the symmetric matrix ``H`` succeeds."""
    return cholesky_factor(H) is not None


class ModifiedHessian(NamedTuple):
    """``H + tau I = L L^T``: the shift ``tau >= 0`` (a Python float) and the factor ``L``."""

    tau: float
    L: Any


def cholesky_with_added_identity(H, beta=1e-3, max_tries=64) -> ModifiedHessian:
    r"""N&W Algorithm 3.3: the first :math:`\tau_k` with :math:`H + \tau_k I` positive definite.

    .. math::
        \tau_0 = \begin{cases} 0 & \min_i h_{ii} > 0 \\
                 -\min_i h_{ii} + \beta & \text{otherwise} \end{cases},
        \qquad \tau_{k+1} = \max(2 \tau_k, \beta),

    stopping at the first :math:`\tau_k` whose Cholesky factorisation succeeds.
    :math:`\tau = 0` (and then Newton's direction is untouched) whenever :math:`H`
    is positive definite with a positive diagonal. Returns :class:`ModifiedHessian`
    with the factor, so the caller can solve :math:`(H + \tau I) p = -g` with it.
    ``ValueError`` when no shift works within ``max_tries`` doublings (a
    non-finite Hessian).
    """
    reject_half_precision("cholesky_with_added_identity", H=H)
    xp = namespace(H)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"cholesky_with_added_identity: H must be square (got {tuple(H.shape)})")
    eye = eye_like(xp, H)
    min_diag = float(xp.min(xp.linalg.diagonal(H)))
    tau = 0.0 if min_diag > 0 else -min_diag + beta
    for _ in range(max_tries):
        L = cholesky_factor(H + tau * eye if tau else H)
        if L is not None:
            return ModifiedHessian(tau, L)
        tau = max(2 * tau, beta)
    raise ValueError("Hessian modification failed: H + tau*I is not positive definite "
                     f"even for tau = {tau:.3g} (non-finite Hessian?)")


def modified_cholesky_shift(H, beta=1e-3, max_tries=64) -> float:
    r"""The shift :math:`\tau` of :func:`cholesky_with_added_identity` (N&W Alg. 3.3) alone."""
    return cholesky_with_added_identity(H, beta=beta, max_tries=max_tries).tau
