r"""Beale's function, Moré, Garbow & Hillstrom (1981) problem 5."""

from __future__ import annotations

import numpy as np

from .base import Problem, matrix_2x2, namespace

_C = (1.5, 2.25, 2.625)


def beale():
    r"""Beale's function, a sum of three squares in :math:`(x, y)`:

    .. math:: f(x, y) = \sum_{i=1}^{3} r_i^2, \qquad r_i = c_i - x\,(1 - y^i),
              \qquad c = (1.5,\ 2.25,\ 2.625).

    MGH problem 5: :math:`x_0 = (1, 1)`, minimiser :math:`(3, 1/2)`,
    :math:`f^* = 0`. A narrow curved valley with flat plateaus; the Hessian is
    indefinite in parts of the usual plotting box :math:`[-4.5, 4.5]^2`.
    Gradient :math:`2 J^\top r` and Hessian
    :math:`2 (J^\top J + \sum_i r_i \nabla^2 r_i)` are analytic.
    """

    def _terms(x):
        u, v = x[0], x[1]
        for i, c in enumerate(_C, start=1):
            r = c - u * (1.0 - v**i)
            dr_du = -(1.0 - v**i)
            dr_dv = i * u * v ** (i - 1)
            yield i, r, dr_du, dr_dv

    def fun(x):
        return sum(r**2 for _, r, _, _ in _terms(x))

    def grad(x):
        xp = namespace(x)
        g_u = sum(2.0 * r * du for _, r, du, _ in _terms(x))
        g_v = sum(2.0 * r * dv for _, r, _, dv in _terms(x))
        return xp.stack([g_u, g_v])

    def hess(x):
        xp = namespace(x)
        u, v = x[0], x[1]
        h_uu = h_uv = h_vv = 0.0
        for i, r, du, dv in _terms(x):
            h_uu = h_uu + 2.0 * du * du  # d2 r / du2 = 0
            h_uv = h_uv + 2.0 * (du * dv + r * i * v ** (i - 1))
            d2r_dv2 = i * (i - 1) * u * v ** (i - 2) if i >= 2 else 0.0
            h_vv = h_vv + 2.0 * (dv * dv + r * d2r_dv2)
        return matrix_2x2(xp, h_uu, h_uv, h_uv, h_vv)

    return Problem(
        name="beale",
        fun=fun,
        x0=np.array([1.0, 1.0]),
        grad=grad,
        hess=hess,
        x_star=np.array([3.0, 0.5]),
        f_star=0.0,
        description="Beale (MGH 5): sum of (c_i - x(1 - y^i))^2, minimiser (3, 0.5)",
    )
