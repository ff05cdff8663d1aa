"""Dense quasi-Newton methods (chapter 6): BFGS and DFP on ``H ~ inverse Hessian``.

``H_0 = I`` for the first step, then, just before the first update,
``H_0 <- (s^T y / y^T y) I`` (N&W eq. 6.20). Without this scaling dense BFGS
can need many times more iterations. Strong-Wolfe line search (c2 = 0.9)
guarantees ``y^T s > 0``; the rules skip the update otherwise.
"""

from __future__ import annotations

from ... import rules
from ..._array import dot, eye_like, namespace, norm
from .base import LineSearchMethod


class _InverseQuasiNewton(LineSearchMethod):
    search = "wolfe"
    inverse_update = None

    def __init__(self, obj, x0, scale_initial=True, **options):
        super().__init__(obj, x0, **options)
        self.xp = namespace(x0)
        self.scale_initial = scale_initial
        self.reset()

    def reset(self):
        self.H = eye_like(self.xp, self.obj.x0)
        self.updates = 0

    def direction(self, x, f, g):
        return -(self.H @ g)

    def initial_step(self, k, g, p):
        # First step along -g: a unit step has the units of the gradient, so
        # start from 1/||g|| as L-BFGS-B does.
        return min(1.0, 1.0 / float(norm(self.xp, g))) if self.updates == 0 else 1.0

    def update(self, s, y, g_new):
        ys = float(dot(self.xp, y, s))
        if ys <= 0:
            return
        if self.updates == 0 and self.scale_initial:
            self.H = (ys / float(dot(self.xp, y, y))) * self.H
        self.H = type(self).inverse_update(self.H, s, y)
        self.updates += 1


class BFGS(_InverseQuasiNewton):
    """Inverse BFGS, N&W eq. (6.17)."""

    inverse_update = staticmethod(rules.bfgs_inverse_update)


class DFP(_InverseQuasiNewton):
    """DFP, N&W eq. (6.15): the dual of BFGS (``s <-> y``, ``H <-> B``)."""

    inverse_update = staticmethod(rules.dfp_inverse_update)
