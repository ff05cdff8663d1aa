"""The solver driver: :func:`minimize` and :class:`OptimizeResult`."""

from .driver import minimize
from .objective import LeastSquaresObjective, Objective
from .result import OptimizeResult, Status

__all__ = ["LeastSquaresObjective", "Objective", "OptimizeResult", "Status", "minimize"]
