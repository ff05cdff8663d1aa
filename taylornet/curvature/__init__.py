"""Curvature of a function seen only through Hessian-vector products ``v -> H v``."""

from .hutchinson import hutchinson_trace
from .lanczos import density_on_grid, lanczos, lanczos_eigenvalues, spectral_density
from .power_iteration import power_iteration

__all__ = [
    "density_on_grid",
    "hutchinson_trace",
    "lanczos",
    "lanczos_eigenvalues",
    "power_iteration",
    "spectral_density",
]
