"""The methods of :func:`taylornet.minimize`, by name."""

from ..objective import LeastSquaresObjective
from .first_order import Adam, GradientDescent, Momentum, Nesterov, RMSProp
from .lbfgs import LBFGS
from .least_squares import GaussNewton, LevenbergMarquardt
from .newton import Newton, NewtonCG
from .nonlinear_cg import NonlinearCG
from .quasi_newton import BFGS, DFP
from .taylor import Taylor2, Taylor3
from .trust_region import SR1, TrustDogleg, TrustNCG

METHODS = {
    "gd": GradientDescent,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adam": Adam,
    "rmsprop": RMSProp,
    "taylor2": Taylor2,
    "taylor3": Taylor3,
    "newton": Newton,
    "newton-cg": NewtonCG,
    "bfgs": BFGS,
    "lbfgs": LBFGS,
    "dfp": DFP,
    "sr1": SR1,
    "cg": NonlinearCG,
    "trust-dogleg": TrustDogleg,
    "trust-ncg": TrustNCG,
    "gauss-newton": GaussNewton,
    "levenberg-marquardt": LevenbergMarquardt,
}

#: the methods whose ``fun`` returns residuals (their objective is a LeastSquaresObjective)
LEAST_SQUARES = {name for name, cls in METHODS.items() if cls.objective is LeastSquaresObjective}

__all__ = ["LEAST_SQUARES", "METHODS"]
