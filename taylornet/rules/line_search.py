r"""Step-length rules along a descent direction :math:`p` (N&W chapter 3).

With :math:`\phi(\alpha) = f(x + \alpha p)`, so that :math:`\phi'(0) = g^\top p < 0`:

* sufficient decrease (Armijo), N&W (3.4) and (3.7a):
  :math:`\phi(\alpha) \le \phi(0) + c_1 \alpha\, \phi'(0)`;
* strong curvature condition, N&W (3.7b):
  :math:`|\phi'(\alpha)| \le c_2 |\phi'(0)|`, with :math:`0 < c_1 < c_2 < 1`.

Step lengths are returned as Python floats and the tests as Python bools: a
line search is control flow, so it synchronises with the device by nature.
"""

from __future__ import annotations

import math

from .._array import check_same_shape, dot, namespace
from ..core.line_search_conditions import curvature_condition, sufficient_decrease
from ..errors import LineSearchError


def armijo_backtracking(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
    r"""Backtracking line search, N&W Algorithm 3.1.

    Returns the first :math:`\alpha = \alpha_0 \rho^k`, :math:`k = 0, 1, \dots,`
    ``max_iter``, that satisfies the sufficient-decrease condition N&W (3.4)

    .. math:: f(x + \alpha p) \le f(x) + c_1\, \alpha\, g^\top p .

    ``fx`` is :math:`f(x)` (already known to the caller, so not recomputed).
    ``f`` may return a float or a 0-d array; a NaN or infinite value counts as
    a failed test, so the search simply keeps shrinking the step.

    Raises ``ValueError`` when :math:`g^\top p \ge 0` (``p`` is not a descent
    direction) and :class:`taylornet.LineSearchError` when all ``max_iter + 1``
    trial steps (``max_iter`` reductions) fail. The returned value is exactly
    ``alpha0 * rho**k``.
    """
    check_same_shape(x=x, g=g, p=p)
    if not alpha0 > 0:
        raise ValueError(f"armijo_backtracking: alpha0 must be > 0 (got {alpha0!r})")
    if not 0 < c1 < 1:
        raise ValueError(f"armijo_backtracking: c1 must lie in (0, 1) (got {c1!r})")
    if not 0 < rho < 1:
        raise ValueError(f"armijo_backtracking: rho must lie in (0, 1) (got {rho!r})")
    if max_iter < 0:
        raise ValueError(f"armijo_backtracking: max_iter must be >= 0 (got {max_iter!r})")
    xp = namespace(x, g, p)
    fx = float(fx)
    slope = float(dot(xp, g, p))  # phi'(0) = g.p
    if not math.isfinite(fx) or not math.isfinite(slope):
        raise ValueError(f"armijo_backtracking: f(x) = {fx} and g.p = {slope} must be finite")
    if slope >= 0:
        raise ValueError(f"armijo_backtracking: p is not a descent direction (g.p = {slope} >= 0)")

    for k in range(max_iter + 1):
        alpha = alpha0 * rho**k
        f_trial = float(f(x + alpha * p))
        if sufficient_decrease(f_trial, fx, alpha, slope, c1):  # False for NaN: keep reducing
            return float(alpha)
    raise LineSearchError(
        f"armijo_backtracking: no step alpha0*rho**k, k <= {max_iter}, satisfies "
        f"sufficient decrease (last alpha = {alpha:.3e}, f = {f_trial}, f(x) = {fx})"
    )


def wolfe_conditions(f, grad, x, p, alpha, c1=1e-4, c2=0.9):
    r"""The strong Wolfe conditions, N&W (3.7), at step length :math:`\alpha`.

    .. math::
        f(x + \alpha p) &\le f(x) + c_1 \alpha\, \nabla f(x)^\top p
        \qquad \text{(3.7a, sufficient decrease)} \\
        |\nabla f(x + \alpha p)^\top p| &\le c_2\, |\nabla f(x)^\top p|
        \qquad \text{(3.7b, curvature)}

    Returns ``(sufficient_decrease, curvature)`` as two Python bools (a NaN
    value fails its test). Requires :math:`0 < c_1 < c_2 < 1`.
    """
    check_same_shape(x=x, p=p)
    if not 0 < c1 < c2 < 1:
        raise ValueError(f"wolfe_conditions: need 0 < c1 < c2 < 1 (got c1={c1!r}, c2={c2!r})")
    xp = namespace(x, p)
    x_new = x + alpha * p
    slope0 = dot(xp, grad(x), p)
    slope = dot(xp, grad(x_new), p)
    return (sufficient_decrease(f(x_new), f(x), alpha, slope0, c1),  # (3.7a)
            curvature_condition(slope, slope0, c2))  # (3.7b)
