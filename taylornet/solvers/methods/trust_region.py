"""Trust-region methods (N&W chapter 4 and section 6.2).

The region is ``||p|| <= radius``; the radius follows N&W Alg. 4.1
(:func:`taylornet.trust_region.update_radius`).

* ``trust-dogleg``: exact Hessian, dogleg path (section 4.1). When the
  Hessian is not positive definite the dogleg is undefined and the Cauchy
  point (4.11)-(4.12) is taken instead.
* ``trust-ncg``: exact Hessian-vector products, CG-Steihaug (Alg. 7.2) with
  the forcing tolerance ``min(0.5, sqrt(||g||))``; stops at negative curvature.
* ``sr1``: SR1 matrix ``B`` (eq. 6.24, skipped by 6.26) inside the trust
  region, updated also from rejected steps (N&W Alg. 6.2): SR1 may be
  indefinite, which is why it needs a trust region rather than a line search.
"""

from __future__ import annotations

import math

from ... import rules
from ... import trust_region as tr
from ..._array import dot, eye_like, namespace, norm
from ...rules.trust_region import _steihaug_cg
from .base import ModelMethod
from .newton import _is_positive_definite


def _model_reduction(xp, g, p, Bp) -> float:
    """``m(0) - m(p) = -(g.p + p.Bp / 2)``."""
    return -float(dot(xp, g, p) + 0.5 * dot(xp, p, Bp))


class _TrustRegion(ModelMethod):
    def __init__(self, obj, x0, initial_radius=1.0, max_radius=1e3, **options):
        super().__init__(obj, x0, **options)
        self.xp = namespace(x0)
        self.radius0, self.max_radius = float(initial_radius), float(max_radius)
        if not 0 < self.radius0 <= self.max_radius:
            raise ValueError("need 0 < initial_radius <= max_radius")

    def initial_parameter(self, g):
        return self.radius0

    def update_parameter(self, radius, rho, p):
        return tr.update_radius(radius, rho, float(norm(self.xp, p)), self.max_radius)

    def parameter_exhausted(self, radius):
        return radius < 1e-14


class TrustDogleg(_TrustRegion):
    needs = ("hess",)

    def step(self, x, f, g, radius):
        B = self.obj.hessian(x)
        if _is_positive_definite(self.xp, B):
            p = rules.dogleg_step(g, B, radius)
        else:
            p = rules.cauchy_point(g, B, radius)
        return p, _model_reduction(self.xp, g, p, B @ p)


class TrustNCG(_TrustRegion):
    needs = ("hessp",)

    def step(self, x, f, g, radius):
        g_norm = float(norm(self.xp, g))
        cg = _steihaug_cg(g, lambda v: self.obj.hvp(x, v), radius, tol=min(0.5, math.sqrt(g_norm)))
        return cg.p, -float(cg.model_value)


class SR1(_TrustRegion):
    update_on_reject = True

    def __init__(self, obj, x0, **options):
        super().__init__(obj, x0, **options)
        self.B = eye_like(self.xp, obj.x0)
        self.updates = 0

    def step(self, x, f, g, radius):
        g_norm = float(norm(self.xp, g))
        p = rules.steihaug_cg(g, lambda v: self.B @ v, radius, tol=min(0.5, math.sqrt(g_norm)))
        return p, _model_reduction(self.xp, g, p, self.B @ p)

    def update(self, s, y, g_new):
        ys = float(dot(self.xp, y, s))
        if self.updates == 0 and ys > 0:
            # Scale B_0 = (y.y / y.s) I, the inverse of N&W eq. (6.20).
            self.B = (float(dot(self.xp, y, y)) / ys) * self.B
        B_new = rules.sr1_update(self.B, s, y)
        if B_new is not self.B:
            self.updates += 1
        self.B = B_new
