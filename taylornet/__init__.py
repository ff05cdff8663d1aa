"""taylornet: the companion package of the book *Optimization for neural networks*.

Importing :mod:`taylornet` is cheap: NumPy and the array-API shim only. The
solver driver is loaded on first use, and torch only by the modules that need
it (autodiff, optim, autograd derivatives in ``minimize``), so graded
exercises load quickly.

Layout: :mod:`taylornet.rules` (graded one-equation rules),
:mod:`taylornet.core` (the numerics both front ends share: CG, CG-Steihaug,
Hessian modification, forcing term, initial steps, quasi-Newton state),
:mod:`taylornet.linesearch` and :mod:`taylornet.trust_region` (step
machinery), :func:`minimize` (:mod:`taylornet.solvers`) and
:mod:`taylornet.optim` (the two front ends).
"""

from . import rules
from .errors import LineSearchError

__version__ = "0.1.0"

__all__ = ["LineSearchError", "OptimizeResult", "minimize", "rules", "__version__"]


def __getattr__(name):
    if name in ("minimize", "OptimizeResult"):
        from . import solvers

        return getattr(solvers, name)
    if name == "optim":  # torch.optim optimizers: imports torch, so only on first use
        import importlib

        return importlib.import_module(".optim", __name__)
    raise AttributeError(f"module 'taylornet' has no attribute {name!r}")
