"""Dense quasi-Newton methods (chapter 6): BFGS and DFP on ``H ~ inverse Hessian``.

The state is :class:`taylornet.core.QuasiNewtonMatrix`: ``H_0 = I`` for the
first step, then, just before the first update, ``H_0 <- (s^T y / y^T y) I``
(N&W eq. 6.20; without this scaling dense BFGS can need many times more
iterations), pairs refused by :func:`taylornet.core.pair_accepted` skipped.
``hess_inv0`` (scipy's option) starts from a given ``H_0`` instead, unscaled.
Strong-Wolfe line search (c2 = 0.9) guarantees ``y^T s > 0``.
"""

from __future__ import annotations

from ..._array import norm
from ...core import QuasiNewtonMatrix, first_trial_step, is_positive_definite
from .base import LineSearchMethod


class _InverseQuasiNewton(LineSearchMethod):
    search = "wolfe"
    formula = None

    def __init__(self, obj, x0, scale_initial=True, hess_inv0=None, **options):
        super().__init__(obj, x0, **options)
        if hess_inv0 is not None:
            hess_inv0 = _work_matrix(obj, x0, hess_inv0)
        self.qn = QuasiNewtonMatrix(x0, self.formula, M0=hess_inv0, scale_first=scale_initial)

    def reset(self):
        self.qn.reset()

    def direction(self, x, f, g):
        return self.qn.direction(g)

    def initial_step(self, k, g, p):
        # -H_0 g with H_0 = I has the units of the gradient: a unit Euclidean first trial
        if self.qn.n_updates == 0 and self.qn.M0 is None:
            return first_trial_step(norm(self.qn.xp, g))
        return 1.0

    def update(self, s, y, g_new):
        self.qn.update(s, y)

    def result_fields(self):
        """``hess_inv``: the final dense approximation of the inverse Hessian (scipy's BFGS)."""
        return {"hess_inv": self.obj.to_user(self.qn.M)}


def _work_matrix(obj, x0, M):
    """A user's ``n x n`` matrix on the run's back end, checked."""
    n = x0.shape[0]
    if tuple(getattr(M, "shape", ())) != (n, n):
        raise ValueError(f"hess_inv0 must be an ({n}, {n}) matrix "
                         f"(got shape {tuple(getattr(M, 'shape', ()))})")
    M = obj._as_work(M)
    xp = obj.xp
    if not bool(xp.all(xp.isfinite(M))):
        raise ValueError("hess_inv0 contains NaN or inf")
    asymmetry, size = (float(xp.max(xp.abs(a))) for a in (M - M.T, M))
    if asymmetry > 1e-12 * size:
        raise ValueError(f"hess_inv0 must be symmetric (max |M - M^T| = {asymmetry:.3g})")
    if not is_positive_definite(M):
        raise ValueError("hess_inv0 must be symmetric positive definite")
    return M


class BFGS(_InverseQuasiNewton):
    """Inverse BFGS, N&W eq. (6.17)."""

    formula = "bfgs"


class DFP(_InverseQuasiNewton):
    """DFP, N&W eq. (6.15): the dual of BFGS (``s <-> y``, ``H <-> B``)."""

    formula = "dfp"
