r"""Convex (or indefinite) quadratics with a prescribed spectrum."""

from __future__ import annotations

import numpy as np

from .base import Constants, Problem, namespace


def quadratic(eigenvalues, seed=None):
    r"""A quadratic with eigenvalues ``eigenvalues``.

    .. math:: f(x) = \tfrac12 x^\top A x - b^\top x, \qquad A = Q\,\mathrm{diag}(\lambda)\,Q^\top

    ``Q`` is a random orthogonal matrix (QR of a Gaussian matrix with the signs
    of ``R``'s diagonal fixed, so Haar distributed) and ``b`` a standard normal
    vector, both drawn from ``numpy.random.default_rng(seed)``. Gradient
    :math:`A x - b`, Hessian :math:`A`. When every eigenvalue is positive the
    minimiser is :math:`x^* = A^{-1} b` with :math:`f^* = -\tfrac12 b^\top x^*`;
    otherwise ``x_star`` and ``f_star`` are ``None``. Starts at ``x0 = 0``. The
    condition number :math:`\kappa = \lambda_{\max}/\lambda_{\min}` governs
    gradient descent (N&W Thm. 3.3) and CG (N&W 5.36).
    """
    eigs = np.asarray(eigenvalues, dtype=np.float64)
    if eigs.ndim != 1 or eigs.size == 0:
        raise ValueError("eigenvalues must be a non-empty 1-D sequence")
    n = eigs.size
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q = q * np.sign(np.diag(r))
    a = (q * eigs) @ q.T
    a = 0.5 * (a + a.T)
    b = rng.standard_normal(n)
    consts = Constants(A=a, b=b)

    def fun(x):
        xp, c = namespace(x), consts(x)
        return 0.5 * xp.sum(x * (c.A @ x)) - xp.sum(c.b * x)

    def grad(x):
        c = consts(x)
        return c.A @ x - c.b

    def hess(x):
        return consts(x).A

    def hessp(x, p):
        return consts(x).A @ p

    if np.all(eigs > 0):
        x_star = q @ ((q.T @ b) / eigs)
        f_star = float(-0.5 * b @ x_star)
    else:
        x_star, f_star = None, None
    kappa = np.abs(eigs).max() / np.abs(eigs).min() if np.all(eigs != 0) else np.inf
    return Problem(
        name=f"quadratic(n={n})",
        fun=fun,
        x0=np.zeros(n),
        grad=grad,
        hess=hess,
        hessp=hessp,
        x_star=x_star,
        f_star=f_star,
        description=(
            f"f = x'Ax/2 - b'x with eigenvalues in [{eigs.min():.3g}, {eigs.max():.3g}] "
            f"(|lambda| ratio {kappa:.3g})"
        ),
    )
