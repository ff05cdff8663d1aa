r"""The two functions called "Rosenbrock" (see the book's Common mistakes appendix).

* :func:`rosenbrock_chained`: scipy's ``rosen``, consecutive variables coupled,
  :math:`f(x) = \sum_{i=1}^{n-1} 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2`.
* :func:`rosenbrock_mgh21`: Moré, Garbow & Hillstrom (1981) problem 21,
  "extended Rosenbrock", independent pairs,
  :math:`f(x) = \sum_{i=1}^{n/2} 100 (x_{2i} - x_{2i-1}^2)^2 + (1 - x_{2i-1})^2`.

They agree for :math:`n = 2` and differ for :math:`n \ge 3`: the chained
function has :math:`n-1` terms, the extended one :math:`n/2`, and the extended
one is a sum of independent 2-D Rosenbrock functions (its Hessian is block
diagonal, the chained one's tridiagonal). Both have the minimiser
:math:`(1, \dots, 1)` with :math:`f^* = 0`; the chained function also has a
local minimiser near :math:`(-1, 1, \dots, 1)` for :math:`4 \le n \le 7`.
"""

from __future__ import annotations

import numpy as np

from .base import Problem, banded, namespace


def _classic_x0(n):
    """(-1.2, 1, -1.2, 1, ...): Rosenbrock (1960), MGH 21."""
    x0 = np.ones(n)
    x0[0::2] = -1.2
    return x0


def rosenbrock_chained(n=2):
    r"""Chained Rosenbrock, identical to ``scipy.optimize.rosen``, ``rosen_der``, ``rosen_hess``.

    .. math:: f(x) = \sum_{i=1}^{n-1} 100\,(x_{i+1} - x_i^2)^2 + (1 - x_i)^2

    Starting point: :math:`x_0 = (-1.2, 1, -1.2, 1, \dots)` (truncated for odd
    :math:`n`), the classic 2-D start extended as in MGH 21, so that the two
    Rosenbrock problems start at the same point. Gradient, tridiagonal
    Hessian and :math:`O(n)` Hessian-vector product are analytic.
    """
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")

    def fun(x):
        xp = namespace(x)
        head, tail = x[:-1], x[1:]
        return xp.sum(100.0 * (tail - head**2) ** 2 + (1.0 - head) ** 2)

    def grad(x):
        xp = namespace(x)
        head, tail = x[:-1], x[1:]
        u = tail - head**2
        # term i depends on x_i ("head") and x_{i+1} ("tail")
        d_head = -400.0 * head * u - 2.0 * (1.0 - head)
        d_tail = 200.0 * u
        return _overlap_add(xp, d_head, d_tail)

    def hess(x):
        xp = namespace(x)
        diag, off = _chained_hess_bands(x, xp)
        return banded(x, xp, diag, off)

    def hessp(x, p):
        xp = namespace(x)
        diag, off = _chained_hess_bands(x, xp)
        return diag * p + _overlap_add(xp, off * p[1:], off * p[:-1])

    ones = np.ones(n)
    return Problem(
        name=f"rosenbrock_chained(n={n})",
        fun=fun,
        x0=_classic_x0(n),
        grad=grad,
        hess=hess,
        hessp=hessp,
        x_star=ones,
        f_star=0.0,
        description="chained Rosenbrock, scipy.optimize.rosen: sum 100(x[i+1]-x[i]^2)^2+(1-x[i])^2",
    )


def _overlap_add(xp, a, b):
    """``[a, 0] + [0, b]`` for two vectors of length n - 1, without allocating zeros."""
    return xp.concat([a[:1], a[1:] + b[:-1], b[-1:]])


def _chained_hess_bands(x, xp):
    """Diagonal (length n) and super-diagonal (length n - 1) of the chained Hessian."""
    head, tail = x[:-1], x[1:]
    from_head = 1200.0 * head**2 - 400.0 * tail + 2.0  # d2/dx_i^2 of term i
    from_tail = xp.full_like(tail, 200.0)  # d2/dx_{i+1}^2 of term i
    return _overlap_add(xp, from_head, from_tail), -400.0 * head


def rosenbrock_mgh21(n=2):
    r"""Extended Rosenbrock, Moré, Garbow & Hillstrom (1981) problem 21: independent pairs.

    .. math:: f(x) = \sum_{i=1}^{n/2} 100\,(x_{2i} - x_{2i-1}^2)^2 + (1 - x_{2i-1})^2

    :math:`n` even, :math:`x_0 = (-1.2, 1, -1.2, 1, \dots)`, minimiser
    :math:`(1, \dots, 1)`, :math:`f^* = 0`. Block-diagonal Hessian.
    """
    if n < 2 or n % 2:
        raise ValueError(f"MGH 21 needs an even n >= 2, got {n}")

    def fun(x):
        xp = namespace(x)
        odd, even = x[0::2], x[1::2]  # x_{2i-1}, x_{2i} in 1-based numbering
        return xp.sum(100.0 * (even - odd**2) ** 2 + (1.0 - odd) ** 2)

    def grad(x):
        xp = namespace(x)
        odd, even = x[0::2], x[1::2]
        u = even - odd**2
        d_odd = -400.0 * odd * u - 2.0 * (1.0 - odd)
        d_even = 200.0 * u
        return xp.reshape(xp.stack([d_odd, d_even], axis=1), (n,))

    def _blocks(x, xp):
        odd, even = x[0::2], x[1::2]
        d_odd = 1200.0 * odd**2 - 400.0 * even + 2.0
        d_even = xp.full_like(even, 200.0)
        off = -400.0 * odd
        diag = xp.reshape(xp.stack([d_odd, d_even], axis=1), (n,))
        # super-diagonal: the (2i-1, 2i) entries at even positions, zeros between pairs
        upper = xp.reshape(xp.stack([off, xp.zeros_like(off)], axis=1), (n,))[:-1]
        return diag, off, upper

    def hess(x):
        xp = namespace(x)
        diag, _, upper = _blocks(x, xp)
        return banded(x, xp, diag, upper)

    def hessp(x, p):
        xp = namespace(x)
        diag, off, _ = _blocks(x, xp)
        p_odd, p_even = p[0::2], p[1::2]
        hp = xp.stack([off * p_even, off * p_odd], axis=1)
        return diag * p + xp.reshape(hp, (n,))

    return Problem(
        name=f"rosenbrock_mgh21(n={n})",
        fun=fun,
        x0=_classic_x0(n),
        grad=grad,
        hess=hess,
        hessp=hessp,
        x_star=np.ones(n),
        f_star=0.0,
        description="extended Rosenbrock (More-Garbow-Hillstrom 21): n/2 independent 2-D pairs",
    )
