"""Curvature of a function seen only through Hessian-vector products ``v -> H v``.

Power iteration, Lanczos, stochastic Lanczos quadrature and Hutchinson work on any
``hvp`` callable and need NumPy only. The operators of a torch model
(:class:`HessianOperator`, :class:`GaussNewtonOperator`) and the Gauss-Newton
products import torch, so they are loaded on first use: a graded exercise that
imports :mod:`taylornet.curvature` never loads torch.
"""

import importlib

from .hutchinson import hutchinson_trace
from .lanczos import density_on_grid, lanczos, lanczos_eigenvalues, spectral_density
from .power_iteration import power_iteration

#: names that need torch, and the submodule that defines each
_TORCH_NAMES = {
    "GaussNewtonOperator": "model_hessian",
    "HessianOperator": "model_hessian",
    "GaussNewtonProducts": "gauss_newton",
    "gauss_newton_vector_product": "gauss_newton",
}

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


def __getattr__(name):
    if name in _TORCH_NAMES:
        value = getattr(importlib.import_module(f".{_TORCH_NAMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
