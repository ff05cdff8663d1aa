r"""Himmelblau's function: four global minimisers of equal value."""

from __future__ import annotations

import numpy as np

from .base import Problem, matrix_2x2, namespace

#: The four minimisers, all with :math:`f = 0` (to 17 digits; found by Newton's
#: method in 30-digit arithmetic). Only :math:`(3, 2)` is rational.
HIMMELBLAU_MINIMISERS = np.array(
    [
        [3.0, 2.0],
        [-2.8051180869527448531, 3.1313125182505729658],
        [-3.7793102533777468919, -3.2831859912861694123],
        [3.5844283403304917449, -1.8481265269644035535],
    ]
)

#: Its one local maximiser, :math:`f \approx 181.617`.
HIMMELBLAU_MAXIMISER = np.array([-0.27084459066734761304, -0.92303855647998146313])


def himmelblau():
    r"""Himmelblau (1972): :math:`f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2`.

    Four minimisers with :math:`f^* = 0` (:data:`HIMMELBLAU_MINIMISERS`), a
    local maximum at :data:`HIMMELBLAU_MAXIMISER` and four saddle points: which
    minimiser a method reaches depends on its path, which makes it a good
    picture of basins of attraction. Starts at :math:`x_0 = (0, 0)`;
    ``x_star`` is :math:`(3, 2)`.

    .. math::
        \nabla f = \begin{pmatrix} 4x\,a + 2b \\ 2a + 4y\,b \end{pmatrix},\quad
        \nabla^2 f = \begin{pmatrix} 12x^2 + 4y - 42 & 4(x + y) \\
                                     4(x + y) & 4x + 12y^2 - 26 \end{pmatrix},

    with :math:`a = x^2 + y - 11`, :math:`b = x + y^2 - 7`.
    """

    def fun(x):
        u, v = x[0], x[1]
        return (u**2 + v - 11.0) ** 2 + (u + v**2 - 7.0) ** 2

    def grad(x):
        xp = namespace(x)
        u, v = x[0], x[1]
        a = u**2 + v - 11.0
        b = u + v**2 - 7.0
        return xp.stack([4.0 * u * a + 2.0 * b, 2.0 * a + 4.0 * v * b])

    def hess(x):
        xp = namespace(x)
        u, v = x[0], x[1]
        h_uv = 4.0 * (u + v)
        return matrix_2x2(
            xp, 12.0 * u**2 + 4.0 * v - 42.0, h_uv, h_uv, 4.0 * u + 12.0 * v**2 - 26.0
        )

    return Problem(
        name="himmelblau",
        fun=fun,
        x0=np.array([0.0, 0.0]),
        grad=grad,
        hess=hess,
        x_star=HIMMELBLAU_MINIMISERS[0].copy(),
        f_star=0.0,
        description="Himmelblau: (x^2+y-11)^2 + (x+y^2-7)^2, four minimisers with f = 0",
    )
