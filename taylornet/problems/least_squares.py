r"""A nonlinear least-squares curve fit: exponential decay plus offset."""

from __future__ import annotations

import numpy as np

from .base import Constants, Problem, namespace


def _model_residual(params, t, y):
    a, b, c = params
    e = np.exp(-b * t)
    r = a * e + c - y
    jac = np.stack([e, -a * t * e, np.ones_like(t)], axis=1)
    return r, jac


def exponential_decay_fit(n_points=40, noise=0.05, seed=0, true_params=(2.5, 1.3, 0.5)):
    r"""Fit :math:`y \approx a\,e^{-b t} + c` to noisy data by least squares.

    Data: :math:`t_j` evenly spaced in :math:`[0, 4]`, :math:`y_j = a_0 e^{-b_0 t_j} + c_0
    + \sigma \varepsilon_j` with ``true_params`` :math:`(a_0, b_0, c_0)`,
    :math:`\sigma =` ``noise`` and :math:`\varepsilon_j` standard normal from
    ``numpy.random.default_rng(seed)``. Parameters :math:`x = (a, b, c)`,

    .. math::
        r_j(x) = a e^{-b t_j} + c - y_j, \qquad f(x) = \tfrac12 \|r(x)\|^2,

        J_{j\cdot} = (e^{-b t_j},\ -a t_j e^{-b t_j},\ 1), \qquad
        \nabla f = J^\top r, \qquad
        \nabla^2 f = J^\top J + \textstyle\sum_j r_j \nabla^2 r_j,

    the last sum being what Gauss-Newton (N&W 10.24) drops. ``x_star`` is the
    least-squares fit, computed at construction by Gauss-Newton iterations
    started from the true parameters (zero-gradient to rounding level);
    :math:`x_0 = (1, 0.5, 0)`.
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 4.0, n_points)
    a0, b0, c0 = true_params
    y = a0 * np.exp(-b0 * t) + c0 + noise * rng.standard_normal(n_points)
    consts = Constants(t=t, y=y)

    def residual(x):
        xp, c = namespace(x), consts(x)
        return x[0] * xp.exp(-x[1] * c.t) + x[2] - c.y

    def jac(x):
        xp, c = namespace(x), consts(x)
        e = xp.exp(-x[1] * c.t)
        return xp.stack([e, -x[0] * c.t * e, xp.ones_like(c.t)], axis=1)

    def fun(x):
        xp = namespace(x)
        r = residual(x)
        return 0.5 * xp.sum(r * r)

    def grad(x):
        return jac(x).T @ residual(x)

    def hess(x):
        xp, c = namespace(x), consts(x)
        r, j = residual(x), jac(x)
        e = xp.exp(-x[1] * c.t)
        # sum_j r_j * Hess(r_j): only the (a, b) and (b, b) entries are non-zero
        s_ab = xp.sum(r * (-c.t * e))
        s_bb = xp.sum(r * (x[0] * c.t**2 * e))
        zero = xp.zeros_like(s_ab)
        second = xp.stack(
            [xp.stack([zero, s_ab, zero]), xp.stack([s_ab, s_bb, zero]), xp.stack([zero] * 3)]
        )
        return j.T @ j + second

    x_star = np.asarray(true_params, dtype=np.float64)
    for _ in range(100):
        r, jm = _model_residual(x_star, t, y)
        step = np.linalg.lstsq(jm, -r, rcond=None)[0]
        x_star = x_star + step
        if np.linalg.norm(step) <= 1e-15 * (1.0 + np.linalg.norm(x_star)):
            break
    r_star, _ = _model_residual(x_star, t, y)

    return Problem(
        name=f"exponential_decay_fit(m={n_points})",
        fun=fun,
        x0=np.array([1.0, 0.5, 0.0]),
        grad=grad,
        hess=hess,
        x_star=x_star,
        f_star=float(0.5 * r_star @ r_star),
        residual=residual,
        jac=jac,
        description="least squares: y = a exp(-b t) + c on noisy data, x = (a, b, c)",
    )


#: Alias of :func:`exponential_decay_fit` (the name the solver tests use).
curve_fit_problem = exponential_decay_fit
