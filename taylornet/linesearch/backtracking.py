r"""Armijo backtracking, N&W Algorithm 3.1.

Try :math:`\alpha = \alpha_0, \rho\alpha_0, \rho^2\alpha_0, \dots` and take the
first that gives sufficient decrease (N&W 3.4),

.. math:: f(x + \alpha p) \le f(x) + c_1 \alpha\, \nabla f(x)^\top p .

Function values only, so the result carries ``g=None``. Unlike
:func:`taylornet.rules.armijo_backtracking` (the graded rule, which raises
:class:`taylornet.LineSearchError`), this search reports failure in its result.
"""

from __future__ import annotations

import math

from ._checks import check_finite_value, directional_derivative
from .result import LineSearchResult


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
    _, slope = directional_derivative(x, g0, p)

    alpha = float(alpha0)
    nfev = 0
    saw_nonfinite = False
    for _ in range(max_iter + 1):
        x_new = x + alpha * p
        f_new = float(fun(x_new))
        nfev += 1
        if not math.isfinite(f_new):
            saw_nonfinite = True
        elif f_new <= f0 + c1 * alpha * slope:
            return LineSearchResult(
                alpha, x_new, f_new, None, nfev, 0, True, "sufficient decrease (Armijo) holds"
            )
        alpha *= rho
    message = (
        f"no step satisfies sufficient decrease after {max_iter} reductions "
        f"(last alpha tried {alpha / rho:.3g})"
    )
    if saw_nonfinite:
        message += "; some trial values were NaN or infinite"
    return LineSearchResult(0.0, x, f0, None, nfev, 0, False, message)
