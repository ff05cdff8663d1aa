"""Curvature of a function seen only through Hessian-vector products ``v -> H v``."""

from .hutchinson import hutchinson_trace
from .power_iteration import power_iteration

__all__ = ["hutchinson_trace", "power_iteration"]
