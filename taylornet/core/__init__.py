r"""The shared numerical core of :func:`taylornet.minimize` and :mod:`taylornet.optim`.

One rule, one place: every numeric rule that both front ends need lives here,
once, for NumPy arrays and torch tensors (CPU or CUDA; vectors are 1-D).
The graded one-equation layer :mod:`taylornet.rules` wraps these where the
numerics coincide (CG, CG-Steihaug, the two-loop recursion); the dense
secant formulas stay rules and the core keeps the state around them.

===============================  ==============================================  ===========
name                             what                                            N&W
===============================  ==============================================  ===========
:func:`cg`, :class:`CGResult`    CG with diagnostics, preconditioner, truncation Alg. 5.2/5.3
:func:`newton_cg_direction`      truncated CG direction of Newton-CG             Alg. 7.1
:func:`steihaug`                 CG-Steihaug with diagnostics                    Alg. 7.2
:func:`boundary_roots`           where :math:`z + \tau d` meets the ball         (4.16)
:func:`cholesky_with_added_identity`, :func:`modified_cholesky_shift`,
:func:`is_positive_definite`     Hessian modification                            Alg. 3.3
:func:`forcing_term`             :math:`\min(0.5, \sqrt{\|g\|})`                 (7.3)
:func:`first_trial_step`         :math:`\min(1, 1/\|g\|_2)` along :math:`-g`     sec. 3.5
:func:`slope_ratio_step`         first trial from the last step's decrease       (3.60)
:func:`sufficient_decrease`      Armijo condition                                (3.4)/(3.7a)
:func:`curvature_condition`      strong curvature condition                      (3.7b)
:func:`pair_accepted`            :math:`y^\top s > \varepsilon\|s\|\|y\|`        (6.7)
:func:`inverse_hessian_scaling`  :math:`\gamma = s^\top y / y^\top y`            (6.20)/(7.20)
:func:`two_loop`                 :math:`H_k v` from the pairs                    Alg. 7.4
:class:`LBFGSHistory`            bounded history of pairs                        Alg. 7.5
:class:`QuasiNewtonMatrix`       dense BFGS/DFP/SR1 state, scaling and skip      ch. 6
===============================  ==============================================  ===========
"""

from .cg import CG_STATUSES, CGResult, cg
from .curvature_pairs import inverse_hessian_scaling, pair_accepted
from .dense_quasi_newton import FORMULAS, QuasiNewtonMatrix
from .forcing import forcing_term
from .hessian_modification import (
    ModifiedHessian,
    cholesky_factor,
    cholesky_with_added_identity,
    is_positive_definite,
    modified_cholesky_shift,
)
from .initial_step import first_trial_step, slope_ratio_step
from .lbfgs import LBFGSHistory, two_loop
from .line_search_conditions import curvature_condition, sufficient_decrease
from .newton_cg import NewtonCGDirection, newton_cg_direction
from .steihaug import SteihaugResult, boundary_roots, steihaug

__all__ = [
    "CG_STATUSES",
    "CGResult",
    "FORMULAS",
    "LBFGSHistory",
    "ModifiedHessian",
    "NewtonCGDirection",
    "QuasiNewtonMatrix",
    "SteihaugResult",
    "boundary_roots",
    "cg",
    "cholesky_factor",
    "cholesky_with_added_identity",
    "curvature_condition",
    "first_trial_step",
    "forcing_term",
    "inverse_hessian_scaling",
    "is_positive_definite",
    "modified_cholesky_shift",
    "newton_cg_direction",
    "pair_accepted",
    "slope_ratio_step",
    "steihaug",
    "sufficient_decrease",
    "two_loop",
]
