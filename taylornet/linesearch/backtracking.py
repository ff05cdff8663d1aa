r"""Armijo backtracking, N&W Algorithm 3.1, reporting rather than raising.

Try :math:`\alpha = \alpha_0, \rho\alpha_0, \rho^2\alpha_0, \dots` and take the
first that gives sufficient decrease (N&W 3.4),

.. math:: f(x + \alpha p) \le f(x) + c_1 \alpha\, \nabla f(x)^\top p .

The iteration is the graded rule :func:`taylornet.rules.armijo_backtracking`
(which raises :class:`taylornet.LineSearchError`); this search counts its
evaluations, returns the point and value found, and reports failure in its
result. Function values only, so the result carries ``g=None``.
"""

from __future__ import annotations

import math

from ..errors import LineSearchError
from ..rules.line_search import armijo_backtracking
from ._checks import check_finite_value
from .result import LineSearchResult


class _Trials:
    """``fun`` with a record of its last trial point and value, and of non-finite values."""

    def __init__(self, fun):
        self.fun = fun
        self.nfev = 0
        self.saw_nonfinite = False
        self.x = self.f = None

    def __call__(self, x):
        f = float(self.fun(x))
        self.nfev += 1
        self.saw_nonfinite |= not math.isfinite(f)
        self.x, self.f = x, f
        return f


def backtracking(fun, x, f0, g0, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
    r"""Backtracking line search for the Armijo condition (N&W Alg. 3.1, eq. 3.4).

    Parameters
    ----------
    fun : callable
        ``fun(x) -> f``, a scalar (Python float, 0-d array or 0-d tensor).
    x, g0, p : 1-D arrays (NumPy or torch)
        Current point, gradient :math:`\nabla f(x)` and search direction.
    f0 : float
        :math:`f(x)`, finite.
    alpha0, c1, rho : float
        First trial step, sufficient-decrease constant :math:`0 < c_1 < 1` and
        contraction factor :math:`0 < \rho < 1`.
    max_iter : int
        At most ``max_iter`` reductions, i.e. ``max_iter + 1`` evaluations.

    A NaN or infinite :math:`f(x + \alpha p)` counts as a rejection. On
    failure, returns ``success=False``, ``alpha=0`` and ``x`` unchanged; raises
    only ``ValueError`` for bad arguments, in particular when
    :math:`g_0^\top p \ge 0` (not a descent direction).
    """
    if not 0.0 < c1 < 1.0:
        raise ValueError(f"need 0 < c1 < 1, got c1={c1!r}")
    if not 0.0 < rho < 1.0:
        raise ValueError(f"need 0 < rho < 1, got rho={rho!r}")
    if not alpha0 > 0.0:
        raise ValueError(f"need alpha0 > 0, got {alpha0!r}")
    f0 = check_finite_value(f0)
    trials = _Trials(fun)
    try:
        alpha = armijo_backtracking(trials, x, f0, g0, p, alpha0=alpha0, c1=c1, rho=rho,
                                    max_iter=max_iter)
    except LineSearchError:
        message = (
            f"no step satisfies sufficient decrease after {max_iter} reductions "
            f"(last alpha tried {alpha0 * rho**max_iter:.3g})"
        )
        if trials.saw_nonfinite:
            message += "; some trial values were NaN or infinite"
        return LineSearchResult(0.0, x, f0, None, trials.nfev, 0, False, message)
    return LineSearchResult(alpha, trials.x, trials.f, None, trials.nfev, 0, True,
                            "sufficient decrease (Armijo) holds")
