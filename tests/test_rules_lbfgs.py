"""The L-BFGS two-loop recursion.

Reference: the dense inverse-BFGS matrix built in the test from N&W's product
form (6.17), starting from gamma*I with gamma = s.y/y.y of the *newest* pair
(7.20) and applying the pairs oldest to newest; then p = -H g. Also the secant
property H_k y_newest = s_newest and descent for curvature pairs with y.s > 0.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
import torch
from conftest import BACKENDS, to_backend, to_numpy
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from taylornet.rules import bfgs_inverse_update, lbfgs_direction


def dense_inverse_bfgs(s_hist, y_hist, gamma):
    """gamma*I updated by (6.17), V^T H V + rho s s^T, pair by pair (oldest first)."""
    n = len(s_hist[0])
    H = gamma * np.eye(n)
    for s, y in zip(s_hist, y_hist, strict=True):
        rho = 1 / (y @ s)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H


def history(rng, n, m):
    """m curvature pairs (y.s > 0) with very different scalings s.y/y.y."""
    s_hist, y_hist = [], []
    for k in range(m):
        L = rng.standard_normal((n, n))
        A = L @ L.T + 10.0**k * np.eye(n)  # stiffer and stiffer: gamma shrinks
        s = rng.standard_normal(n)
        s_hist.append(s)
        y_hist.append(A @ s)
    return s_hist, y_hist


def newest_gamma(s_hist, y_hist):
    return (s_hist[-1] @ y_hist[-1]) / (y_hist[-1] @ y_hist[-1])


@pytest.mark.parametrize("m", [1, 2, 5, 8])
def test_equals_dense_inverse_bfgs_from_newest_gamma(m, rng):
    n = 8
    s_hist, y_hist = history(rng, n, m)
    g = rng.standard_normal(n)
    H = dense_inverse_bfgs(s_hist, y_hist, newest_gamma(s_hist, y_hist))
    p = lbfgs_direction(g, s_hist, y_hist)
    np.testing.assert_allclose(p, -H @ g, rtol=1e-9, atol=1e-12 * np.linalg.norm(H @ g))


def test_equals_repeated_bfgs_inverse_update(rng):
    """The same statement with the package's own dense rule."""
    s_hist, y_hist = history(rng, 5, 4)
    g = rng.standard_normal(5)
    H = newest_gamma(s_hist, y_hist) * np.eye(5)
    for s, y in zip(s_hist, y_hist, strict=True):
        H = bfgs_inverse_update(H, s, y)
    np.testing.assert_allclose(lbfgs_direction(g, s_hist, y_hist), -H @ g, rtol=1e-9)


def test_gamma_comes_from_the_newest_pair(rng):
    """Common mistake: scaling with the oldest pair's gamma gives a different direction."""
    s_hist, y_hist = history(rng, 6, 3)
    g = rng.standard_normal(6)
    oldest_gamma = (s_hist[0] @ y_hist[0]) / (y_hist[0] @ y_hist[0])
    wrong = -dense_inverse_bfgs(s_hist, y_hist, oldest_gamma) @ g
    assert not np.allclose(lbfgs_direction(g, s_hist, y_hist), wrong, rtol=1e-3)


def test_histories_are_oldest_to_newest(rng):
    s_hist, y_hist = history(rng, 6, 3)
    g = rng.standard_normal(6)
    reversed_p = lbfgs_direction(g, s_hist[::-1], y_hist[::-1])
    assert not np.allclose(lbfgs_direction(g, s_hist, y_hist), reversed_p, rtol=1e-3)


def test_empty_history_is_steepest_descent():
    g = np.array([1.0, -2.0, 3.0])
    p = lbfgs_direction(g, [], [])
    np.testing.assert_array_equal(p, -g)
    assert p is not g
    tg = torch.tensor(g)
    assert torch.equal(lbfgs_direction(tg, [], []), -tg)


def test_one_pair_closed_form():
    s, y = np.array([1.0, 0.0]), np.array([2.0, 1.0])
    gamma = 2 / 5  # s.y / y.y
    H = dense_inverse_bfgs([s], [y], gamma)
    g = np.array([0.3, -0.7])
    np.testing.assert_allclose(lbfgs_direction(g, [s], [y]), -H @ g, rtol=1e-14)


def test_accepts_any_sequence(rng):
    s_hist, y_hist = history(rng, 4, 3)
    g = rng.standard_normal(4)
    want = lbfgs_direction(g, s_hist, y_hist)
    np.testing.assert_array_equal(lbfgs_direction(g, tuple(s_hist), deque(y_hist)), want)


N = 5
entries = st.floats(-3, 3, allow_nan=False, allow_subnormal=False)


@settings(max_examples=50, deadline=None)
@given(
    steps=arrays(np.float64, (3, N), elements=entries),
    factors=arrays(np.float64, (3, N, N), elements=entries),
    g=arrays(np.float64, N, elements=entries),
)
def test_secant_and_descent(steps, factors, g):
    """H_k y_newest = s_newest, and p is a descent direction when all y.s > 0
    (here y = A s with A = L L^T + I, as for a convex quadratic)."""
    assume(all(np.linalg.norm(s) > 1e-2 for s in steps))
    s_hist = list(steps)
    y_hist = [(L @ L.T + np.eye(N)) @ s for L, s in zip(factors, steps, strict=True)]
    s_new, y_new = s_hist[-1], y_hist[-1]
    np.testing.assert_allclose(
        lbfgs_direction(y_new, s_hist, y_hist),
        -s_new,
        rtol=0,
        atol=1e-8 * (np.linalg.norm(s_new) + 1),
    )
    assume(np.linalg.norm(g) > 1e-3)
    assert g @ lbfgs_direction(g, s_hist, y_hist) < 0


def test_length_and_shape_errors():
    g = np.ones(3)
    with pytest.raises(ValueError, match="same length"):
        lbfgs_direction(g, [np.ones(3)], [])
    with pytest.raises(ValueError, match=r"shape mismatch: g\(3,\), s_hist\[1\]\(2,\)"):
        lbfgs_direction(g, [np.ones(3), np.ones(2)], [np.ones(3), np.ones(3)])


def test_numpy_and_torch_agree_and_inputs_unchanged(rng):
    s_np, y_np = history(rng, 6, 4)
    g_np = rng.standard_normal(6)
    want = lbfgs_direction(g_np.copy(), [a.copy() for a in s_np], [a.copy() for a in y_np])
    for backend in BACKENDS:
        g = to_backend(backend, g_np)
        s_hist = [to_backend(backend, a) for a in s_np]
        y_hist = [to_backend(backend, a) for a in y_np]
        p = lbfgs_direction(g, s_hist, y_hist)
        assert type(p) is type(g)
        np.testing.assert_allclose(to_numpy(p), want, rtol=0, atol=1e-10)
        np.testing.assert_array_equal(to_numpy(g), g_np)
        for a, a_np in zip(s_hist + y_hist, s_np + y_np, strict=True):
            np.testing.assert_array_equal(to_numpy(a), a_np)
        assert len(s_hist) == len(y_hist) == 4


def test_float32_torch_dtype_preserved():
    g = torch.ones(3)
    s, y = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([2.0, 1.0, 0.0])
    assert lbfgs_direction(g, [s], [y]).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_stays_on_cuda():
    g = torch.ones(3, device="cuda", dtype=torch.float64)
    s = torch.tensor([1.0, 0.0, 0.0], device="cuda", dtype=torch.float64)
    y = torch.tensor([2.0, 1.0, 0.0], device="cuda", dtype=torch.float64)
    p = lbfgs_direction(g, [s], [y])
    assert p.device.type == "cuda"
    torch.testing.assert_close(p.cpu(), lbfgs_direction(g.cpu(), [s.cpu()], [y.cpu()]))
