"""Pure update rules, one function per equation (CONTRACT.md).

Every rule takes NumPy arrays or torch tensors (CPU or CUDA), returns the same
kind on the same device and dtype, and never mutates its inputs.
"""

from .adaptive import adam_step, rmsprop_step
from .clipping import clip_grad_norm
from .conjugate_gradient import cg_beta, conjugate_gradient
from .first_order import gd_step, momentum_step, nesterov_step
from .lbfgs import lbfgs_direction
from .least_squares import gauss_newton_direction, levenberg_marquardt_direction
from .line_search import armijo_backtracking, wolfe_conditions
from .newton import damped_newton_direction, newton_direction
from .quasi_newton import bfgs_inverse_update, bfgs_update, dfp_inverse_update, sr1_update
from .taylor import taylor_step
from .trust_region import cauchy_point, dogleg_step, steihaug_cg

__all__ = [
    "adam_step",
    "armijo_backtracking",
    "bfgs_inverse_update",
    "bfgs_update",
    "cauchy_point",
    "cg_beta",
    "clip_grad_norm",
    "conjugate_gradient",
    "damped_newton_direction",
    "dfp_inverse_update",
    "dogleg_step",
    "gauss_newton_direction",
    "gd_step",
    "lbfgs_direction",
    "levenberg_marquardt_direction",
    "momentum_step",
    "nesterov_step",
    "newton_direction",
    "rmsprop_step",
    "sr1_update",
    "steihaug_cg",
    "taylor_step",
    "wolfe_conditions",
]
