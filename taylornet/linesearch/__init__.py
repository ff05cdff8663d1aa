"""Step-length selection along a descent direction (N&W chapter 3).

* :func:`backtracking`: Armijo backtracking, N&W Algorithm 3.1.
* :func:`strong_wolfe`: bracketing and zoom for the strong Wolfe conditions,
  N&W Algorithms 3.5-3.6, the search under BFGS, L-BFGS and nonlinear CG.

Both take NumPy arrays or torch tensors, return a :class:`LineSearchResult`
and report failure in it rather than raising.
"""

from .backtracking import backtracking
from .result import LineSearchResult
from .strong_wolfe import strong_wolfe

__all__ = ["LineSearchResult", "backtracking", "strong_wolfe"]
