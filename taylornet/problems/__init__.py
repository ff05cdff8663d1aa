"""Test problems, each usable from NumPy and torch (written once with the array API).

Every constructor returns a :class:`Problem` with ``fun``, analytic ``grad``
(and ``hess``/``hessp`` where cheap), a starting point ``x0`` and, where known,
the minimiser ``x_star`` and minimum ``f_star``.

* :func:`quadratic`: prescribed spectrum, :math:`\\tfrac12 x^\\top A x - b^\\top x`.
* :func:`rosenbrock_chained` (scipy's ``rosen``) and :func:`rosenbrock_mgh21`
  (Moré-Garbow-Hillstrom 21, separable pairs): two different functions.
* :func:`beale` (MGH 5), :func:`himmelblau` (four minimisers).
* :func:`exponential_decay_fit` (alias :func:`curve_fit_problem`): nonlinear least
  squares with ``residual``/``jac``.
* :func:`logistic_regression`, :func:`mlp_regression`: small machine-learning losses.
"""

from .base import Problem
from .beale import beale
from .himmelblau import HIMMELBLAU_MAXIMISER, HIMMELBLAU_MINIMISERS, himmelblau
from .least_squares import curve_fit_problem, exponential_decay_fit
from .logistic import logistic_regression
from .mlp import mlp_regression
from .quadratic import quadratic
from .rosenbrock import rosenbrock_chained, rosenbrock_mgh21

__all__ = [
    "HIMMELBLAU_MAXIMISER",
    "HIMMELBLAU_MINIMISERS",
    "Problem",
    "beale",
    "curve_fit_problem",
    "exponential_decay_fit",
    "himmelblau",
    "logistic_regression",
    "mlp_regression",
    "quadratic",
    "rosenbrock_chained",
    "rosenbrock_mgh21",
]
