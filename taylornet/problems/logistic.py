r"""L2-regularised logistic regression on generated data."""

from __future__ import annotations

import numpy as np

from .base import Constants, Problem, eye_like, namespace


def _sigmoid(xp, z):
    """:math:`1/(1 + e^{-z})` without overflow for either sign of ``z``."""
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softplus(xp, z):
    r""":math:`\log(1 + e^{z})`, stable for either sign (``logaddexp(0, z)``).

    Written without ``|z|`` so that automatic differentiation gets the right
    curvature :math:`\sigma(0)(1-\sigma(0)) = 1/4` at exactly ``z = 0``.
    """
    return xp.logaddexp(xp.zeros_like(z), z)


def logistic_regression(n_samples=200, n_features=10, seed=0, l2=1e-2, solve=True):
    r"""Binary logistic regression with an L2 penalty.

    Data from ``numpy.random.default_rng(seed)``: rows :math:`a_j` of
    :math:`A \in \mathbb{R}^{m \times n}` standard normal, labels
    :math:`y_j \in \{0, 1\}` drawn with :math:`P(y_j = 1) = \sigma(a_j^\top w_0)`
    for a random :math:`w_0`. With :math:`z = A w`,

    .. math::
        f(w) = \frac1m \sum_j \bigl(\log(1 + e^{z_j}) - y_j z_j\bigr) + \frac{\lambda}{2}\|w\|^2,

        \nabla f = \frac1m A^\top(\sigma(z) - y) + \lambda w, \qquad
        \nabla^2 f = \frac1m A^\top D A + \lambda I, \quad
        D = \mathrm{diag}\bigl(\sigma(z)(1 - \sigma(z))\bigr).

    Strictly convex for :math:`\lambda > 0`. Starts at :math:`w = 0`. With
    ``solve=True`` the minimiser is computed at construction by Newton's method
    with backtracking (``x_star``, ``f_star``; ``None`` if it does not converge,
    as for separable data with ``l2=0``); pass ``solve=False`` to skip it for
    large problems.
    """
    if l2 < 0:
        raise ValueError(f"l2 must be non-negative, got {l2}")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n_samples, n_features))
    w_true = rng.standard_normal(n_features)
    p_true = 1.0 / (1.0 + np.exp(-(a @ w_true)))
    y = (rng.uniform(size=n_samples) < p_true).astype(np.float64)
    consts = Constants(A=a, y=y)
    m = n_samples

    def fun(w):
        xp, c = namespace(w), consts(w)
        z = c.A @ w
        return xp.sum(_softplus(xp, z) - c.y * z) / m + 0.5 * l2 * xp.sum(w * w)

    def grad(w):
        xp, c = namespace(w), consts(w)
        s = _sigmoid(xp, c.A @ w)
        return c.A.T @ (s - c.y) / m + l2 * w

    def hess(w):
        xp, c = namespace(w), consts(w)
        s = _sigmoid(xp, c.A @ w)
        weights = s * (1.0 - s) / m
        return c.A.T @ (weights[:, None] * c.A) + l2 * eye_like(w, xp, n_features)

    def hessp(w, p):
        xp, c = namespace(w), consts(w)
        s = _sigmoid(xp, c.A @ w)
        return c.A.T @ (s * (1.0 - s) * (c.A @ p)) / m + l2 * p

    x_star = f_star = None
    if solve:
        x_star = _newton(fun, grad, hess, np.zeros(n_features))
        if x_star is not None:
            f_star = float(fun(x_star))
    return Problem(
        name=f"logistic_regression(m={n_samples}, n={n_features}, l2={l2:g})",
        fun=fun,
        x0=np.zeros(n_features),
        grad=grad,
        hess=hess,
        hessp=hessp,
        x_star=x_star,
        f_star=f_star,
        description="mean logistic loss + l2/2 ||w||^2 on generated data",
    )


def _newton(fun, grad, hess, w, max_iter=100):
    """Newton's method with Armijo backtracking to rounding level (NumPy); ``None`` on failure."""
    for _ in range(max_iter):
        g = grad(w)
        p = np.linalg.solve(hess(w), -g)
        f0, t = fun(w), 1.0
        while fun(w + t * p) > f0 + 1e-4 * t * (g @ p) and t > 1e-10:
            t *= 0.5
        w = w + t * p
        if np.linalg.norm(t * p) <= 1e-15 * (1.0 + np.linalg.norm(w)):
            break
    return w if np.max(np.abs(grad(w))) <= 1e-10 else None
