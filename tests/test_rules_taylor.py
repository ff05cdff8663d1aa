"""Taylor steps of the gradient flow against an accurate ODE solution.

References, independent of the rule: SymPy derivatives of a coupled quartic
(gradient, Hessian, third-derivative tensor), ``scipy.integrate.solve_ivp``
for the flow ``x' = -grad f(x)``, and ``scipy.linalg.expm`` for the exact flow
of a quadratic, ``x(h) - x = -H^{-1}(I - e^{-hH}) g``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import sympy as sp
import torch
from conftest import BACKENDS, to_backend, to_numpy
from scipy.integrate import solve_ivp

from taylornet.rules import gd_step, taylor_step

# f(x) = sum(x^4)/4 + x0^2 x1 / 2 + x0 x1 / 5: the cubic term couples the
# coordinates and makes D^3 f[g, g] differ from anything built from H alone.
_X = sp.symbols("x0 x1")
_F = sum(v**4 for v in _X) / 4 + sp.Rational(1, 2) * _X[0] ** 2 * _X[1] + _X[0] * _X[1] / 5
_GRAD = sp.lambdify([_X], [sp.diff(_F, v) for v in _X])
_HESS = sp.lambdify([_X], sp.hessian(_F, _X))
_THIRD = sp.lambdify([_X], [[[sp.diff(_F, a, b, c) for c in _X] for b in _X] for a in _X])
X0 = np.array([0.9, -0.7])


def grad(x):
    return np.array(_GRAD(x), dtype=float)


def derivatives(x):
    """(g, Hg, H2g, T3gg) at x, from the SymPy derivatives."""
    g = grad(x)
    H = np.array(_HESS(x), dtype=float)
    T = np.array(_THIRD(x), dtype=float)
    Hg = H @ g
    return g, Hg, H @ Hg, np.einsum("ijk,j,k->i", T, g, g)


def flow(x0, h, grad=grad):
    """x(h) for x' = -grad f(x), x(0) = x0, integrated to rtol 1e-12."""
    sol = solve_ivp(lambda t, x: -grad(x), (0.0, h), x0, method="DOP853", rtol=1e-12, atol=1e-14)
    assert sol.success
    return sol.y[:, -1]


def step_of_order(order, x, lr, g, Hg, H2g, T3gg):
    if order == 1:
        return taylor_step(x, lr, g)
    if order == 2:
        return taylor_step(x, lr, g, Hg)
    return taylor_step(x, lr, g, Hg, H2g, T3gg)


LRS = np.logspace(-3, -1, 7)


@pytest.fixture(scope="module")
def flow_errors():
    """Errors ||step_k - x(lr)|| for k = 1, 2, 3 over LRS."""
    terms = derivatives(X0)
    errors = {1: [], 2: [], 3: []}
    for lr in LRS:
        exact = flow(X0, lr)
        for order in errors:
            errors[order].append(np.linalg.norm(step_of_order(order, X0, lr, *terms) - exact))
    return errors


@pytest.mark.parametrize("order", [1, 2, 3])
def test_local_error_scales_like_lr_to_order_plus_one(order, flow_errors):
    """The log-log slope of the local error is k + 1 for the order-k step.

    Fails for the wrong sign of the second-order term (slope 2 at order 2) and
    for a third-order term missing H^2 g or D^3 f[g, g] (slope 3 at order 3).
    """
    slope = np.polyfit(np.log(LRS), np.log(flow_errors[order]), 1)[0]
    assert abs(slope - (order + 1)) < 0.3, slope


def test_higher_order_is_more_accurate(flow_errors):
    for lr_index in range(len(LRS)):
        e1, e2, e3 = (flow_errors[k][lr_index] for k in (1, 2, 3))
        assert e3 < e2 < e1


@pytest.mark.parametrize("order", [1, 2, 3])
def test_quadratic_matches_exact_flow_to_next_term(order, rng):
    """On f = x.Hx/2 + b.x the flow is x - H^{-1}(I - e^{-hH}) g; the order-k
    step misses exactly (-1)^(k+1) h^(k+1) H^k g / (k+1)! at leading order."""
    A = rng.standard_normal((3, 3))
    H = A @ A.T + np.eye(3)
    x = rng.standard_normal(3)
    g = H @ x + rng.standard_normal(3)
    h = 1e-2
    exact = x - np.linalg.solve(H, (np.eye(3) - scipy.linalg.expm(-h * H)) @ g)
    Hg = H @ g
    step = step_of_order(order, x, h, g, Hg, H @ Hg, np.zeros(3))
    leading = (-1) ** (order + 1) * h ** (order + 1) / math.factorial(order + 1)
    leading = leading * np.linalg.matrix_power(H, order) @ g
    scale = np.linalg.norm(np.linalg.matrix_power(H, order + 1) @ g)
    np.testing.assert_allclose(exact - step, leading, rtol=0, atol=h ** (order + 2) * scale)


def test_pitfall_wrong_sign_is_worse_than_gradient_descent():
    """Common mistake: on f = x^4/4 from x0 = 1 with lr = 0.05, the widely copied
    x - lr g - lr^2/2 H g is worse than plain GD; the correct sign is better."""
    x0, lr = np.array([1.0]), 0.05
    g, H = x0**3, 3 * x0**2
    exact = 1 / np.sqrt(1 + 2 * lr * x0**2)  # x' = -x^3 solved in closed form
    np.testing.assert_allclose(flow(x0, lr, grad=lambda x: x**3), exact, rtol=1e-11)
    err_gd = abs(gd_step(x0, g, lr) - exact)[0]
    err_right = abs(taylor_step(x0, lr, g, H * g) - exact)[0]
    err_wrong = abs(taylor_step(x0, lr, g, -(H * g)) - exact)[0]  # the copied sign
    assert err_right < err_gd < err_wrong
    assert err_right < err_gd / 10


def test_first_order_is_gradient_descent():
    x, g = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    np.testing.assert_array_equal(taylor_step(x, 0.1, g), gd_step(x, g, 0.1))


def test_explicit_coefficients():
    """With unit vectors the three coefficients are read off one by one."""
    x = np.zeros(4)
    g, Hg, H2g, T3gg = np.eye(4)
    out = taylor_step(x, 0.2, g, Hg, H2g, T3gg)
    np.testing.assert_allclose(out, [-0.2, 0.2**2 / 2, -(0.2**3) / 6, -(0.2**3) / 6])


@pytest.mark.parametrize("order", [1, 2, 3])
def test_numpy_and_torch_agree_and_inputs_unchanged(order):
    terms_np = derivatives(X0)
    want = step_of_order(order, X0, 0.07, *terms_np)
    for backend in BACKENDS:
        x, *terms = to_backend(backend, X0, *terms_np)
        before = [to_numpy(a).copy() for a in (x, *terms)]
        out = step_of_order(order, x, 0.07, *terms)
        assert type(out) is type(x)
        np.testing.assert_allclose(to_numpy(out), want, rtol=0, atol=1e-10)
        for b, a in zip(before, (x, *terms), strict=True):
            np.testing.assert_array_equal(to_numpy(a), b)


def test_float32_torch_dtype_preserved():
    x, g, Hg, H2g, T3gg = (torch.ones(3, dtype=torch.float32) for _ in range(5))
    assert taylor_step(x, 0.1, g, Hg, H2g, T3gg).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_stays_on_cuda():
    x, g, Hg, H2g, T3gg = (torch.ones(3, device="cuda") for _ in range(5))
    assert taylor_step(x, 0.1, g, Hg, H2g, T3gg).device.type == "cuda"


def test_third_order_needs_both_terms_and_hg():
    x = g = np.ones(2)
    with pytest.raises(ValueError, match="both H2g and T3gg"):
        taylor_step(x, 0.1, g, g, H2g=g)
    with pytest.raises(ValueError, match="both H2g and T3gg"):
        taylor_step(x, 0.1, g, g, T3gg=g)
    with pytest.raises(ValueError, match="also need Hg"):
        taylor_step(x, 0.1, g, None, g, g)


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"shape mismatch: .*Hg\(3,\)"):
        taylor_step(np.zeros(2), 0.1, np.zeros(2), np.zeros(3))
