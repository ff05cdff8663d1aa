r"""Trust-region machinery (N&W chapter 4), beside :mod:`taylornet.linesearch`.

One trust-region iteration (N&W Alg. 4.1), as :func:`taylornet.minimize` runs it::

    p, predicted, n_hvp = solve_subproblem(method, g, radius, B=B, hvp=hvp)
    rho = reduction_ratio(f(x) - f(x + p), predicted)
    if accept_step(rho):
        x = x + p
    radius = update_radius(radius, rho, ||p||, max_radius)

* :mod:`.subproblem`: the model's approximate minimiser in the ball: Cauchy
  point (N&W 4.11-4.12), dogleg (section 4.1), CG-Steihaug (Alg. 7.2).
* :mod:`.model`: the model value and the reduction ratio (4.4).
* :mod:`.radius`: acceptance and the radius update of Alg. 4.1.

The defaults are N&W's and scipy's (``scipy.optimize.minimize(method="trust-ncg")``):
shrink below :math:`\rho = 1/4`, expand above :math:`3/4` on the boundary,
accept above :math:`\eta = 0.15`, so runs can be compared with scipy's.
"""

from ..rules.trust_region import cauchy_point, dogleg_step, steihaug_cg
from .model import quadratic_model, reduction_ratio
from .radius import ETA, MIN_RADIUS, accept_step, radius_collapsed, update_radius
from .subproblem import SUBPROBLEM_METHODS, solve_subproblem

__all__ = [
    "ETA",
    "MIN_RADIUS",
    "SUBPROBLEM_METHODS",
    "accept_step",
    "cauchy_point",
    "dogleg_step",
    "quadratic_model",
    "radius_collapsed",
    "reduction_ratio",
    "solve_subproblem",
    "steihaug_cg",
    "update_radius",
]
