"""Newton and damped Newton directions.

References: ``scipy.linalg.solve`` / Cholesky solves, the closed-form
minimiser of a quadratic, and the defining properties (residual of the linear
system, descent for positive definite matrices, limits of the damping).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from conftest import BACKENDS, to_backend, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from taylornet.rules import damped_newton_direction, newton_direction


def spd(rng, n, shift=1.0):
    A = rng.standard_normal((n, n))
    return A @ A.T + shift * np.eye(n)


def test_solves_the_newton_equations(rng):
    """H p = -g for a general (nonsymmetric) nonsingular H, against scipy."""
    H = rng.standard_normal((6, 6)) + 4 * np.eye(6)
    g = rng.standard_normal(6)
    p = newton_direction(g, H)
    np.testing.assert_allclose(p, scipy.linalg.solve(H, -g), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(H @ p, -g, rtol=0, atol=1e-12)


def test_minimises_the_quadratic_model_in_one_step(rng):
    """For f = x.Ax/2 + b.x, x + p is the minimiser -A^{-1} b (Cholesky reference)."""
    A = spd(rng, 5)
    b = rng.standard_normal(5)
    x = rng.standard_normal(5)
    g = A @ x + b
    x_star = scipy.linalg.cho_solve(scipy.linalg.cho_factor(A), -b)
    np.testing.assert_allclose(x + newton_direction(g, A), x_star, rtol=1e-10, atol=1e-12)


finite = st.floats(-3, 3, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(M=arrays(np.float64, (4, 4), elements=finite), g=arrays(np.float64, 4, elements=finite))
def test_positive_definite_gives_descent(M, g):
    """H positive definite: p solves H p = -g and g.p = -g.H^{-1}g <= 0."""
    H = M @ M.T + 0.5 * np.eye(4)
    p = newton_direction(g, H)
    np.testing.assert_allclose(H @ p, -g, rtol=0, atol=1e-9 * (1 + np.abs(H).max()))
    assert g @ p <= 1e-12 * (1 + g @ g)


def test_pitfall_indefinite_newton_can_ascend():
    """Common mistake: with an indefinite Hessian the Newton direction may go uphill."""
    H = np.diag([1.0, -1.0])
    g = np.array([0.0, 1.0])
    assert g @ newton_direction(g, H) > 0
    # Damping beyond -lambda_min restores descent.
    assert g @ damped_newton_direction(g, H, 1.5) < 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_singular_hessian_is_a_clear_error(backend):
    g, H = to_backend(backend, np.ones(2), np.array([[1.0, 2.0], [2.0, 4.0]]))
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        newton_direction(g, H)
    with pytest.raises(ValueError, match="singular"):  # LinAlgError is a ValueError
        damped_newton_direction(g, H, 0.0)
    # ... and damping cures it.
    assert np.all(np.isfinite(to_numpy(damped_newton_direction(g, H, 1e-3))))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_a_value_error(backend, bad):
    H = np.array([[bad, 0.0], [0.0, 1.0]])
    g = np.array([1.0, bad])
    for g_in, H_in in [(np.ones(2), H), (g, np.eye(2))]:
        gb, Hb = to_backend(backend, g_in, H_in)
        with pytest.raises(ValueError, match="non-finite"):
            newton_direction(gb, Hb)
        with pytest.raises(ValueError, match="non-finite"):
            damped_newton_direction(gb, Hb, 0.1)


def test_damped_solves_the_shifted_system(rng):
    H = rng.standard_normal((5, 5))
    H = H + H.T  # indefinite in general
    g = rng.standard_normal(5)
    tau = 2.5
    p = damped_newton_direction(g, H, tau)
    np.testing.assert_allclose(p, scipy.linalg.solve(H + tau * np.eye(5), -g), rtol=1e-12)


def test_damped_limits(rng):
    H = spd(rng, 4)
    g = rng.standard_normal(4)
    np.testing.assert_allclose(damped_newton_direction(g, H, 0.0), newton_direction(g, H))
    tau = 1e8  # p -> -g/tau as tau -> infinity, with error O(1/tau^2)
    np.testing.assert_allclose(damped_newton_direction(g, H, tau) * tau, -g, rtol=1e-6)


def test_damped_beyond_lambda_min_is_descent(rng):
    H = rng.standard_normal((6, 6))
    H = H + H.T
    lam_min = np.linalg.eigvalsh(H)[0]
    assert lam_min < 0
    for _ in range(20):
        g = rng.standard_normal(6)
        assert g @ damped_newton_direction(g, H, -lam_min + 1e-3) < 0


def test_damping_must_be_nonnegative_and_finite():
    for bad in (-1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="damping"):
            damped_newton_direction(np.ones(2), np.eye(2), bad)


def test_shape_errors():
    with pytest.raises(ValueError, match=r"H must be an n x n matrix matching g \(n = 3\)"):
        newton_direction(np.ones(3), np.eye(2))
    with pytest.raises(ValueError, match="n x n"):
        newton_direction(np.ones(2), np.ones((2, 3)))
    with pytest.raises(ValueError, match="1-D"):
        damped_newton_direction(np.ones((2, 1)), np.eye(2), 1.0)


@pytest.mark.parametrize("rule", ["newton", "damped"])
def test_numpy_and_torch_agree_and_inputs_unchanged(rule, rng):
    H_np, g_np = spd(rng, 5), rng.standard_normal(5)

    def call(g, H):
        return newton_direction(g, H) if rule == "newton" else damped_newton_direction(g, H, 0.3)

    want = call(g_np.copy(), H_np.copy())
    for backend in BACKENDS:
        g, H = to_backend(backend, g_np, H_np)
        out = call(g, H)
        assert type(out) is type(g)
        np.testing.assert_allclose(to_numpy(out), want, rtol=0, atol=1e-10)
        np.testing.assert_array_equal(to_numpy(g), g_np)
        np.testing.assert_array_equal(to_numpy(H), H_np)


def test_float32_torch_dtype_preserved():
    g, H = torch.ones(3), 2 * torch.eye(3)
    assert newton_direction(g, H).dtype == torch.float32
    assert damped_newton_direction(g, H, 0.5).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_stays_on_cuda():
    g, H = torch.ones(3, device="cuda"), 2 * torch.eye(3, device="cuda")
    assert newton_direction(g, H).device.type == "cuda"
    assert damped_newton_direction(g, H, 0.5).device.type == "cuda"
    with pytest.raises(ValueError, match="singular"):
        newton_direction(g, torch.zeros(3, 3, device="cuda"))
