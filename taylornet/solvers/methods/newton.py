"""Newton's method with a Hessian modification, and line-search Newton-CG (chapter 5)."""

from __future__ import annotations

import math

from ... import rules
from ..._array import eye_like, namespace, norm, reject_half_precision
from ...rules.conjugate_gradient import _conjugate_gradient
from .base import LineSearchMethod


def _is_positive_definite(xp, A) -> bool:
    try:
        L = xp.linalg.cholesky(A)
    except xp.linalg.LinAlgError:  # not PD; out-of-memory and device errors propagate
        return False
    return bool(xp.all(xp.isfinite(L)))


def modified_cholesky_shift(H, beta=1e-3, max_tries=64) -> float:
    r"""Smallest ``tau`` in N&W Alg. 3.3's sequence with ``H + tau I`` positive definite.

    ``tau_0 = 0`` if ``min(diag H) > 0`` else ``-min(diag H) + beta``, then
    ``tau <- max(2 tau, beta)`` until the Cholesky factorisation succeeds.
    """
    reject_half_precision("modified_cholesky_shift", H=H)
    xp = namespace(H)
    eye = eye_like(xp, H)
    min_diag = float(xp.min(xp.linalg.diagonal(H)))
    tau = 0.0 if min_diag > 0 else -min_diag + beta
    for _ in range(max_tries):
        if _is_positive_definite(xp, H + tau * eye):
            return tau
        tau = max(2 * tau, beta)
    raise ValueError("Hessian modification failed: H + tau*I is not positive definite "
                     f"even for tau = {tau:.3g} (non-finite Hessian?)")


class Newton(LineSearchMethod):
    r"""Newton direction ``(H + tau I) p = -g`` with ``tau`` from N&W Alg. 3.3.

    ``tau = 0`` (the pure Newton step, N&W eq. 3.30) whenever the Hessian is
    positive definite; an indefinite or singular Hessian is shifted just
    enough to make ``p`` a descent direction. Backtracking from ``alpha = 1``.
    """

    search = "armijo"
    needs = ("hess",)

    def direction(self, x, f, g):
        H = self.obj.hessian(x)
        self.last_shift = modified_cholesky_shift(H)
        return rules.damped_newton_direction(g, H, self.last_shift)


class NewtonCG(LineSearchMethod):
    r"""Line-search Newton-CG (N&W Alg. 7.1): truncated CG on ``H p = -g``.

    CG stops when ``||r|| <= eta ||g||`` with the forcing term
    ``eta = min(0.5, sqrt(||g||))`` (N&W eq. 7.3, superlinear rate), or at
    the first direction of non-positive curvature ``d^T H d <= 0``: then the
    current iterate (or ``-g`` on the first CG step) is returned.
    """

    search = "armijo"
    needs = ("hessp",)

    def __init__(self, obj, x0, cg_max_iter=None, **options):
        super().__init__(obj, x0, **options)
        self.cg_max_iter = cg_max_iter or x0.shape[0]
        self.negative_curvature_stops = 0

    def direction(self, x, f, g):
        g_norm = float(norm(namespace(g), g))
        cg = _conjugate_gradient(lambda v: self.obj.hvp(x, v), -g,
                                 tol=min(0.5, math.sqrt(g_norm)), max_iter=self.cg_max_iter,
                                 stop_on_negative_curvature=True)
        if cg.status == "negative_curvature":
            self.negative_curvature_stops += 1
            if cg.n_iter == 0:
                return -g
        return cg.x
