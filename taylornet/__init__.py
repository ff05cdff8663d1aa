"""taylornet: the companion package of the book *Optimization for neural networks*.

Importing :mod:`taylornet` is cheap: NumPy and the array-API shim only. torch is
imported by the modules that need it (autodiff, optim, the torch back end of
``minimize``), so graded exercises load quickly.
"""

from . import rules
from .errors import LineSearchError

__version__ = "0.1.0"

__all__ = ["LineSearchError", "rules", "__version__"]
