"""Armijo backtracking and the strong Wolfe conditions.

References: a brute-force scan of the trial steps written out in the test, and
one-dimensional quadratics where the acceptable intervals are known in closed
form: for phi(a) = f(x + a p) = q (1 - a)^2 / 2 (p a Newton-like step),
sufficient decrease holds for a <= 2 (1 - c1) and the strong curvature
condition for 1 - c2 <= a <= 1 + c2.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import BACKENDS, to_backend, to_numpy

from taylornet import LineSearchError
from taylornet.rules import armijo_backtracking, wolfe_conditions


class Counted:
    """Wrap f and count its evaluations."""

    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, z):
        self.calls += 1
        return self.f(z)


def quadratic(A):
    return lambda z: 0.5 * z @ A @ z


def brute_force_armijo(f, x, fx, g, p, alpha0, c1, rho, max_iter):
    for k in range(max_iter + 1):
        alpha = alpha0 * rho**k
        if f(x + alpha * p) <= fx + c1 * alpha * (g @ p):
            return k
    return None


def test_armijo_closed_form_1d():
    """f = 5 x^2, x = 1, p = -g = -10: accept iff alpha <= 2 (1 - c1) / 10, so
    from 1 halving gives 0.125 after three reductions."""
    f = Counted(lambda z: 5.0 * z[0] ** 2)
    x = np.array([1.0])
    alpha = armijo_backtracking(f, x, 5.0, np.array([10.0]), np.array([-10.0]))
    assert alpha == 0.125
    assert type(alpha) is float
    assert f.calls == 4


@pytest.mark.parametrize(
    ("alpha0", "c1", "rho"), [(1.0, 1e-4, 0.5), (10.0, 0.3, 0.7), (3.0, 0.9, 0.1), (0.01, 0.5, 0.5)]
)
def test_armijo_returns_first_acceptable_alpha0_rho_k(alpha0, c1, rho, rng):
    A = np.diag([1.0, 10.0, 100.0])
    f = quadratic(A)
    for _ in range(10):
        x = rng.standard_normal(3)
        g = A @ x
        p = -g + 0.3 * rng.standard_normal(3) * np.linalg.norm(g)
        if g @ p >= 0:
            continue
        k = brute_force_armijo(f, x, f(x), g, p, alpha0, c1, rho, 50)
        counted = Counted(f)
        alpha = armijo_backtracking(counted, x, f(x), g, p, alpha0=alpha0, c1=c1, rho=rho)
        assert alpha == alpha0 * rho**k  # exactly, not approximately
        assert counted.calls == k + 1  # stops at the first acceptable step


def test_armijo_accepts_alpha0_when_it_is_good():
    A = np.eye(2)
    x = np.array([1.0, -1.0])
    g = A @ x
    assert armijo_backtracking(quadratic(A), x, 1.0, g, -g, alpha0=1.0) == 1.0


@pytest.mark.parametrize("p", [np.array([1.0, 0.0]), np.array([0.0, 0.0]), np.array([0.0, 1.0])])
def test_armijo_rejects_non_descent_direction(p):
    g = np.array([1.0, 0.0])  # g.p = 1, 0, 0
    f = Counted(lambda z: z @ z)
    with pytest.raises(ValueError, match="not a descent direction"):
        armijo_backtracking(f, np.zeros(2), 0.0, g, p)
    assert f.calls == 0


@pytest.mark.parametrize("max_iter", [0, 3, 50])
def test_armijo_raises_line_search_error_after_max_iter(max_iter):
    f = Counted(lambda z: 2.0)  # never below f(x) = 1
    with pytest.raises(LineSearchError, match="no step"):
        armijo_backtracking(f, np.zeros(2), 1.0, np.ones(2), -np.ones(2), max_iter=max_iter)
    assert f.calls == max_iter + 1  # alpha0 and max_iter reductions


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_armijo_non_finite_value_is_a_failed_test(bad):
    """f is undefined (NaN) or infinite beyond |z| > 0.3: keep shrinking."""

    def f(z):
        return bad if np.linalg.norm(z) > 0.3 else -float(z[0])

    x, g, p = np.zeros(2), np.array([-1.0, 0.0]), np.array([1.0, 0.0])
    # Where finite, f(alpha p) = -alpha <= f(x) + c1 alpha g.p = -c1 alpha.
    assert armijo_backtracking(f, x, 0.0, g, p) == 0.25


def test_armijo_rejects_bad_parameters():
    args = (lambda z: 0.0, np.zeros(1), 0.0, np.ones(1), -np.ones(1))
    for kwargs in ({"alpha0": 0.0}, {"c1": 1.0}, {"c1": 0.0}, {"rho": 1.0}, {"max_iter": -1}):
        with pytest.raises(ValueError):
            armijo_backtracking(*args, **kwargs)
    with pytest.raises(ValueError, match="finite"):
        armijo_backtracking(args[0], np.zeros(1), np.nan, np.ones(1), -np.ones(1))
    with pytest.raises(ValueError, match="shape mismatch"):
        armijo_backtracking(args[0], np.zeros(2), 0.0, np.ones(2), -np.ones(3))


def test_armijo_numpy_and_torch_agree_and_inputs_unchanged(rng):
    A_np = np.diag([1.0, 4.0, 25.0])
    x_np = rng.standard_normal(3)
    g_np = A_np @ x_np
    p_np = -g_np
    want = armijo_backtracking(quadratic(A_np), x_np, quadratic(A_np)(x_np), g_np, p_np, 2.0)
    assert want < 2.0  # at least one reduction
    for backend in BACKENDS:
        A, x, g, p = to_backend(backend, A_np, x_np, g_np, p_np)
        f = quadratic(A)
        alpha = armijo_backtracking(f, x, f(x), g, p, alpha0=2.0)
        assert type(alpha) is float
        assert alpha == want
        for a, a_np in ((x, x_np), (g, g_np), (p, p_np)):
            np.testing.assert_array_equal(to_numpy(a), a_np)


# --- strong Wolfe -------------------------------------------------------------


@pytest.mark.parametrize(("c1", "c2"), [(1e-4, 0.9), (0.3, 0.45), (0.1, 0.2)])
@pytest.mark.parametrize("q", [1.0, 7.0])
def test_wolfe_intervals_on_a_quadratic(c1, c2, q):
    """f(x) = q x^2 / 2, x = 2, p = -x: phi(a) = 2 q (1 - a)^2, phi'(0) = -4 q."""

    def f(z):
        return 0.5 * q * float(z @ z)

    def grad(z):
        return q * z

    x, p = np.array([2.0]), np.array([-2.0])
    for alpha in np.linspace(0.01, 3.0, 300):
        if min(abs(alpha - b) for b in (2 * (1 - c1), 1 - c2, 1 + c2)) < 1e-9:
            continue  # boundaries: leave them to rounding
        sufficient, curvature = wolfe_conditions(f, grad, x, p, alpha, c1=c1, c2=c2)
        assert type(sufficient) is bool and type(curvature) is bool
        assert sufficient == (alpha <= 2 * (1 - c1))
        assert curvature == (1 - c2 <= alpha <= 1 + c2)


def test_wolfe_is_the_strong_form():
    """alpha = 1.95 overshoots: phi'(alpha) = +0.95 > 0 passes the weak curvature
    test phi'(alpha) >= c2 phi'(0) but fails the strong |phi'(alpha)| <= c2 |phi'(0)|."""

    def f(z):
        return 0.5 * float(z @ z)

    def grad(z):
        return z

    assert wolfe_conditions(f, grad, np.ones(1), -np.ones(1), 1.95) == (True, False)
    assert wolfe_conditions(f, grad, np.ones(1), -np.ones(1), 1.0) == (True, True)
    assert wolfe_conditions(f, grad, np.ones(1), -np.ones(1), 0.05) == (True, False)
    assert wolfe_conditions(f, grad, np.ones(1), -np.ones(1), 2.5) == (False, False)


def test_wolfe_nan_fails():
    def f(z):
        return np.nan if z[0] < 0 else float(z @ z)

    def grad(z):
        return np.full_like(z, np.nan) if z[0] < 0 else 2 * z

    assert wolfe_conditions(f, grad, np.ones(1), -np.ones(1), 2.0) == (False, False)


def test_wolfe_rejects_bad_constants():
    args = (lambda z: 0.0, lambda z: z, np.ones(1), -np.ones(1), 1.0)
    for c1, c2 in ((0.5, 0.4), (0.0, 0.9), (1e-4, 1.0)):
        with pytest.raises(ValueError, match="0 < c1 < c2 < 1"):
            wolfe_conditions(*args, c1=c1, c2=c2)


def test_wolfe_numpy_and_torch_agree(rng):
    A_np = np.diag([1.0, 3.0, 9.0])
    x_np = rng.standard_normal(3)
    p_np = -(A_np @ x_np)
    alphas = [0.01, 0.1, 0.2, 0.5, 1.0]
    for backend in BACKENDS:
        A, x, p = to_backend(backend, A_np, x_np, p_np)
        got = [wolfe_conditions(quadratic(A), lambda z, A=A: A @ z, x, p, a) for a in alphas]
        want = [
            wolfe_conditions(quadratic(A_np), lambda z: A_np @ z, x_np, p_np, a) for a in alphas
        ]
        assert got == want
        assert all(type(b) is bool for pair in got for b in pair)
        np.testing.assert_array_equal(to_numpy(x), x_np)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_cuda_inputs():
    x = torch.ones(3, device="cuda", dtype=torch.float64)

    def f(z):
        return 0.5 * (z @ z)

    alpha = armijo_backtracking(f, x, f(x), x, -x)
    assert alpha == 1.0
    assert wolfe_conditions(f, lambda z: z, x, -x, 1.0) == (True, True)
