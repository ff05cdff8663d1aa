"""The solver driver: :func:`minimize` and :class:`OptimizeResult`."""

from .driver import minimize
from .result import OptimizeResult, Status

__all__ = ["OptimizeResult", "Status", "minimize"]
