"""Curvature of a function seen only through Hessian-vector products ``v -> H v``."""

from .gauss_newton import GaussNewtonProducts, gauss_newton_vector_product
from .hutchinson import hutchinson_trace
from .lanczos import density_on_grid, lanczos, lanczos_eigenvalues, spectral_density
from .model_hessian import GaussNewtonOperator, HessianOperator
from .power_iteration import power_iteration

__all__ = [
    "GaussNewtonOperator",
    "GaussNewtonProducts",
    "HessianOperator",
    "density_on_grid",
    "gauss_newton_vector_product",
    "hutchinson_trace",
    "lanczos",
    "lanczos_eigenvalues",
    "power_iteration",
    "spectral_density",
]
