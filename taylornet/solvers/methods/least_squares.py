"""Nonlinear least squares, ``f = ||r(x)||^2 / 2`` (N&W chapter 10).

``fun`` returns the residual vector; ``jac`` (optional) its Jacobian. The
objective is a :class:`~taylornet.solvers.objective.LeastSquaresObjective`,
whose cache shares ``r`` and ``J`` between the gradient and the step.

* ``gauss-newton``: ``J^T J p = -J^T r`` (eq. 10.23) with backtracking.
* ``levenberg-marquardt``: ``(J^T J + lam I) p = -J^T r`` (eq. 10.34 in its
  damping form); ``lam`` adapts to the reduction ratio by Nielsen's rule
  (Madsen, Nielsen & Tingleff 2004): accepted steps multiply it by
  ``max(1/3, 1 - (2 rho - 1)^3)``, rejected ones by ``nu`` (then ``nu *= 2``).
"""

from __future__ import annotations

from ... import rules
from ..._array import dot, namespace
from ..objective import LeastSquaresObjective
from .base import LineSearchMethod, ModelMethod


class GaussNewton(LineSearchMethod):
    search = "armijo"
    objective = LeastSquaresObjective

    def direction(self, x, f, g):
        r, J = self.obj.residual_and_jacobian(x)
        return rules.gauss_newton_direction(J, r)


class LevenbergMarquardt(ModelMethod):
    objective = LeastSquaresObjective

    def __init__(self, obj, x0, lam0=None, **options):
        super().__init__(obj, x0, **options)
        self.xp = namespace(x0)
        self.lam0, self.nu = lam0, 2.0

    def initial_parameter(self, g):
        if self.lam0 is not None:
            return float(self.lam0)
        _, J = self.obj.residual_and_jacobian(self.obj.x0)
        return 1e-3 * float(self.xp.max(self.xp.sum(J * J, axis=0)))

    def step(self, x, f, g, lam):
        r, J = self.obj.residual_and_jacobian(x)
        p = rules.levenberg_marquardt_direction(J, r, lam)
        Jp = J @ p
        predicted = -float(dot(self.xp, r, Jp) + 0.5 * dot(self.xp, Jp, Jp))
        return p, predicted

    def update_parameter(self, lam, rho, p):
        if rho > 0:
            self.nu = 2.0
            return lam * max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
        lam *= self.nu
        self.nu *= 2.0
        return lam

    def parameter_exhausted(self, lam):
        return lam > 1e16
