"""Trust-region methods (N&W chapter 4 and section 6.2), on :mod:`taylornet.trust_region`.

The region is ``||p|| <= radius``; the subproblem is solved by
:func:`taylornet.trust_region.solve_subproblem` and the radius follows N&W
Alg. 4.1 (:func:`taylornet.trust_region.update_radius`).

* ``trust-dogleg``: exact Hessian, dogleg path (section 4.1). When the
  Hessian is not positive definite the dogleg is undefined and the Cauchy
  point (4.11)-(4.12) is taken instead.
* ``trust-ncg``: exact Hessian-vector products, CG-Steihaug (Alg. 7.2) with
  the forcing tolerance (7.3); stops at negative curvature.
* ``sr1``: SR1 matrix ``B`` (eq. 6.24, skipped by 6.26) inside the trust
  region, updated also from rejected steps (N&W Alg. 6.2): SR1 may be
  indefinite, which is why it needs a trust region rather than a line search.
"""

from __future__ import annotations

from ... import trust_region as tr
from ..._array import namespace, norm
from ...core import QuasiNewtonMatrix, is_positive_definite
from .base import ModelMethod


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
        return tr.radius_collapsed(radius)


class TrustDogleg(_TrustRegion):
    needs = ("hess",)

    def step(self, x, f, g, radius):
        B = self.obj.hessian(x)
        method = "dogleg" if is_positive_definite(B) else "cauchy"
        p, predicted, _ = tr.solve_subproblem(method, g, radius, B=B)
        return p, predicted


class TrustNCG(_TrustRegion):
    needs = ("hessp",)

    def step(self, x, f, g, radius):
        p, predicted, _ = tr.solve_subproblem("steihaug", g, radius,
                                              hvp=lambda v: self.obj.hvp(x, v))
        return p, predicted


class SR1(_TrustRegion):
    """SR1 with ``B_0`` scaled to ``(y^T y / y^T s) I`` at the first pair (the inverse of
    N&W 6.20), CG-Steihaug on the model."""

    update_on_reject = True

    def __init__(self, obj, x0, **options):
        super().__init__(obj, x0, **options)
        self.qn = QuasiNewtonMatrix(x0, "sr1")

    def step(self, x, f, g, radius):
        p, predicted, _ = tr.solve_subproblem("steihaug", g, radius, B=self.qn.M)
        return p, predicted

    def update(self, s, y, g_new):
        self.qn.update(s, y)
