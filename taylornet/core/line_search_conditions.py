r"""The two conditions every line search tests (N&W section 3.1).

With :math:`\phi(\alpha) = f(x + \alpha p)` and :math:`\phi'(0) = \nabla f(x)^\top p < 0`.
Both take Python floats or 0-d arrays and return a Python bool; a NaN fails.
"""

from __future__ import annotations


def sufficient_decrease(f_alpha, f0, alpha, slope0, c1) -> bool:
    r"""The Armijo condition, N&W (3.4) = (3.7a):
    :math:`\phi(\alpha) \le \phi(0) + c_1 \alpha\, \phi'(0)`."""
    return bool(f_alpha <= f0 + c1 * alpha * slope0)


def curvature_condition(slope_alpha, slope0, c2) -> bool:
    r"""The strong curvature condition, N&W (3.7b):
    :math:`|\phi'(\alpha)| \le c_2\, |\phi'(0)|`."""
    return bool(abs(slope_alpha) <= c2 * abs(slope0))
