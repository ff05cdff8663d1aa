"""Newton's method with a Hessian modification, and line-search Newton-CG (chapter 5)."""

from __future__ import annotations

from ... import rules
from ...core import cholesky_with_added_identity, modified_cholesky_shift, newton_cg_direction
from .base import LineSearchMethod

__all__ = ["Newton", "NewtonCG", "modified_cholesky_shift"]


class Newton(LineSearchMethod):
    r"""Newton direction ``(H + tau I) p = -g`` with ``tau`` from N&W Alg. 3.3.

    ``tau = 0`` (the pure Newton step, N&W eq. 3.30) whenever the Hessian is
    positive definite; an indefinite or singular Hessian is shifted just
    enough to make ``p`` a descent direction
    (:func:`taylornet.core.cholesky_with_added_identity`). Backtracking from ``alpha = 1``.
    """

    search = "armijo"
    needs = ("hess",)

    def direction(self, x, f, g):
        H = self.obj.hessian(x)
        self.last_shift = cholesky_with_added_identity(H).tau
        return rules.damped_newton_direction(g, H, self.last_shift)


class NewtonCG(LineSearchMethod):
    r"""Line-search Newton-CG (N&W Alg. 7.1): truncated CG on ``H p = -g``
    (:func:`taylornet.core.newton_cg_direction`).

    CG stops at the forcing term ``||r|| <= eta ||g||``, ``eta = min(0.5, sqrt(||g||))``
    (N&W eq. 7.3, superlinear rate), or at the first direction of non-positive
    curvature ``d^T H d <= 0``: then the current iterate (or ``-g`` on the first
    CG step) is the direction.
    """

    search = "armijo"
    needs = ("hessp",)

    def __init__(self, obj, x0, cg_max_iter=None, **options):
        super().__init__(obj, x0, **options)
        self.cg_max_iter = cg_max_iter or x0.shape[0]
        self.negative_curvature_stops = 0

    def direction(self, x, f, g):
        step = newton_cg_direction(lambda v: self.obj.hvp(x, v), g, max_iter=self.cg_max_iter)
        self.negative_curvature_stops += step.cg.status == "negative_curvature"
        return step.p
