"""Linear CG (N&W Alg. 5.2) and the nonlinear-CG beta formulas.

References are independent of the code under test: ``numpy.linalg.solve``,
``scipy.sparse.linalg.cg``, CG's finite-termination theorems (N&W Theorems
5.1 and 5.4) checked by counting matrix-vector products, and beta values
computed by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg
import torch
from conftest import BACKENDS, to_backend, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from taylornet.rules import cg_beta, conjugate_gradient
from taylornet.rules.conjugate_gradient import _conjugate_gradient


def spd_matrix(rng, eigenvalues):
    """Q diag(eigenvalues) Q^T with a random orthogonal Q."""
    n = len(eigenvalues)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (Q * np.asarray(eigenvalues)) @ Q.T


class CountingMatvec:
    """A callable ``v -> A v`` that counts its calls."""

    def __init__(self, A):
        self.A = A
        self.calls = 0

    def __call__(self, v):
        self.calls += 1
        return self.A @ v


def snapshot(*arrays):
    return [to_numpy(a).copy() for a in arrays]


def assert_unchanged(before, *arrays):
    for b, a in zip(before, arrays, strict=True):
        np.testing.assert_array_equal(to_numpy(a), b)


# --- linear CG -----------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_cg_terminates_in_n_steps(backend, rng):
    """N&W Theorem 5.1: n distinct eigenvalues need exactly n products, and n suffice."""
    n = 12
    A_np = spd_matrix(rng, np.linspace(1, 10, n))
    b_np = rng.standard_normal(n)
    A, b = to_backend(backend, A_np, b_np)
    matvec = CountingMatvec(A)
    x = conjugate_gradient(matvec, b, tol=1e-10)
    assert matvec.calls == n
    assert np.linalg.norm(A_np @ to_numpy(x) - b_np) <= 1e-10 * np.linalg.norm(b_np)
    # ... and n - 1 steps are not enough: the count above is not an accident.
    x_short = conjugate_gradient(A, b, tol=1e-10, max_iter=n - 1)
    assert np.linalg.norm(A_np @ to_numpy(x_short) - b_np) > 1e-6 * np.linalg.norm(b_np)


def test_cg_distinct_eigenvalues_bound_the_steps(rng):
    """N&W Theorem 5.4: with r distinct eigenvalues CG converges in at most r steps."""
    A = spd_matrix(rng, np.repeat([1.0, 4.0, 9.0], 5))
    b = rng.standard_normal(15)
    result = _conjugate_gradient(CountingMatvec(A), b, tol=1e-10)
    assert result.status == "converged"
    assert result.n_iter == 3
    np.testing.assert_allclose(result.x, np.linalg.solve(A, b), rtol=0, atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cg_matches_numpy_solve_and_scipy_cg(backend, rng):
    n = 20
    A_np = spd_matrix(rng, rng.uniform(0.5, 50, n))
    b_np = rng.standard_normal(n)
    A, b = to_backend(backend, A_np, b_np)
    before = snapshot(A, b)
    x = conjugate_gradient(A, b, tol=1e-12, max_iter=200)
    assert_unchanged(before, A, b)
    assert type(x) is type(b)
    np.testing.assert_allclose(to_numpy(x), np.linalg.solve(A_np, b_np), rtol=0, atol=1e-10)
    x_scipy, info = scipy.sparse.linalg.cg(A_np, b_np, rtol=1e-12, atol=0, maxiter=200)
    assert info == 0
    np.testing.assert_allclose(to_numpy(x), x_scipy, rtol=0, atol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cg_callable_equals_matrix(backend, rng):
    A_np = spd_matrix(rng, rng.uniform(1, 10, 8))
    A, b = to_backend(backend, A_np, rng.standard_normal(8))
    x_matrix = conjugate_gradient(A, b)
    x_callable = conjugate_gradient(lambda v: A @ v, b)
    np.testing.assert_allclose(to_numpy(x_callable), to_numpy(x_matrix), rtol=0, atol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cg_from_x0(backend, rng):
    n = 10
    A_np = spd_matrix(rng, rng.uniform(1, 10, n))
    A, b, x0 = to_backend(backend, A_np, rng.standard_normal(n), rng.standard_normal(n))
    before = snapshot(A, b, x0)
    matvec = CountingMatvec(A)
    x = conjugate_gradient(matvec, b, x0=x0)
    assert_unchanged(before, A, b, x0)
    assert matvec.calls <= n + 1  # r0 = A x0 - b costs one product
    np.testing.assert_allclose(to_numpy(x), np.linalg.solve(A_np, to_numpy(b)), atol=1e-10)
    # Starting at the solution: no step, and the result is a copy, not x0 itself.
    x_star = to_backend(backend, np.linalg.solve(A_np, to_numpy(b)))
    x_again = conjugate_gradient(A, b, x0=x_star, tol=1e-8)
    assert x_again is not x_star
    np.testing.assert_array_equal(to_numpy(x_again), to_numpy(x_star))


def test_cg_loose_tolerance_stops_early(rng):
    n = 50
    A = spd_matrix(rng, np.logspace(0, 1, n))
    b = rng.standard_normal(n)
    result = _conjugate_gradient(A, b, tol=1e-3)
    assert result.status == "converged"
    assert result.n_iter < n
    assert np.linalg.norm(A @ result.x - b) <= 1e-3 * np.linalg.norm(b) * (1 + 1e-8)
    np.testing.assert_allclose(result.residual_norm, np.linalg.norm(A @ result.x - b), rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cg_zero_right_hand_side_gives_zeros(backend, rng):
    A, b, x0 = to_backend(backend, np.eye(3) * 2, np.zeros(3), rng.standard_normal(3))
    np.testing.assert_array_equal(to_numpy(conjugate_gradient(A, b)), np.zeros(3))
    np.testing.assert_array_equal(to_numpy(conjugate_gradient(A, b, x0=x0)), np.zeros(3))


def test_cg_max_iter_limits_products(rng):
    A = spd_matrix(rng, np.linspace(1, 100, 30))
    matvec = CountingMatvec(A)
    result = _conjugate_gradient(matvec, rng.standard_normal(30), max_iter=4)
    assert matvec.calls == result.n_matvec == result.n_iter == 4
    assert result.status == "max_iter"


def test_cg_rejects_indefinite_matrix():
    A = np.diag([1.0, -1.0])
    b = np.array([1.0, 1.0])
    with pytest.raises(ValueError, match="not positive definite"):
        conjugate_gradient(A, b)
    result = _conjugate_gradient(A, b, stop_on_negative_curvature=True)
    assert result.status == "negative_curvature"


def test_cg_input_errors():
    with pytest.raises(ValueError, match=r"A must have shape \(3, 3\)"):
        conjugate_gradient(np.eye(2), np.ones(3))
    with pytest.raises(ValueError, match="1-D"):
        conjugate_gradient(np.eye(2), np.ones((2, 1)))
    with pytest.raises(ValueError, match="shape mismatch"):
        conjugate_gradient(np.eye(2), np.ones(2), x0=np.ones(3))
    with pytest.raises(ValueError, match="non-finite"):
        conjugate_gradient(np.eye(2), np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="non-finite"):
        conjugate_gradient(np.array([[1.0, 0], [0, np.inf]]), np.ones(2))
    with pytest.raises(ValueError, match="not finite"):
        conjugate_gradient(lambda v: v * np.nan, np.ones(2))


def test_cg_float32_dtype_preserved(rng):
    A = torch.tensor(spd_matrix(rng, [1.0, 2.0, 3.0]), dtype=torch.float32)
    b = torch.ones(3, dtype=torch.float32)
    x = conjugate_gradient(A, b, tol=1e-5)
    assert x.dtype == torch.float32
    torch.testing.assert_close(A @ x, b, rtol=0, atol=1e-4)
    x_np = conjugate_gradient(A.numpy(), b.numpy(), tol=1e-5)
    assert x_np.dtype == np.float32


# --- nonlinear-CG beta ---------------------------------------------------------

G_OLD, G_NEW, P_OLD = [1.0, 2.0], [3.0, -1.0], [-1.0, -2.0]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        # y = g_new - g_old = (2, -3); g_new.y = 9; |g_old|^2 = 5; y.p_old = 4
        ("fr", 10 / 5),
        ("pr", 9 / 5),
        ("pr+", 9 / 5),
        ("hs", 9 / 4),
    ],
)
def test_cg_beta_hand_computed(backend, kind, expected):
    g_new, g_old, p_old = to_backend(backend, G_NEW, G_OLD, P_OLD)
    before = snapshot(g_new, g_old, p_old)
    beta = cg_beta(g_new, g_old, p_old, kind=kind)
    assert_unchanged(before, g_new, g_old, p_old)
    assert float(beta) == pytest.approx(expected, rel=1e-15)
    if backend == "torch":
        assert isinstance(beta, torch.Tensor) and beta.ndim == 0
        assert beta.dtype == torch.float64


@pytest.mark.parametrize("backend", BACKENDS)
def test_cg_beta_pr_plus_clips_at_zero(backend):
    # y = (-0.5, -1.5); g_new.y = -1; beta_PR = -1/5 < 0
    g_new, g_old, p_old = to_backend(backend, [0.5, 0.5], [1.0, 2.0], [-1.0, -2.0])
    assert float(cg_beta(g_new, g_old, p_old, kind="pr")) == pytest.approx(-0.2, rel=1e-15)
    assert float(cg_beta(g_new, g_old, p_old, kind="pr+")) == 0.0
    assert float(cg_beta(g_new, g_old, p_old, kind="fr")) == pytest.approx(0.1, rel=1e-15)


def test_cg_beta_default_kind_is_pr_plus():
    g_new, g_old, p_old = map(np.array, ([0.5, 0.5], [1.0, 2.0], [-1.0, -2.0]))
    assert float(cg_beta(g_new, g_old, p_old)) == 0.0
    g_new, g_old, p_old = map(np.array, (G_NEW, G_OLD, P_OLD))
    assert float(cg_beta(g_new, g_old, p_old)) == pytest.approx(9 / 5)


finite = st.floats(-10, 10, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(g_old=arrays(np.float64, 5, elements=finite), w=arrays(np.float64, 5, elements=finite))
def test_fr_equals_pr_for_orthogonal_gradients(g_old, w):
    """g_new . g_old = 0 makes the PR numerator g_new.(g_new - g_old) equal g_new.g_new."""
    if np.linalg.norm(g_old) < 1e-3:
        return
    g_new = w - (w @ g_old) / (g_old @ g_old) * g_old
    p_old = -g_old
    fr = float(cg_beta(g_new, g_old, p_old, kind="fr"))
    pr = float(cg_beta(g_new, g_old, p_old, kind="pr"))
    assert pr == pytest.approx(fr, rel=1e-9, abs=1e-9)


def test_beta_kinds_agree_under_exact_line_search_on_a_quadratic(rng):
    """Nonlinear CG with exact line searches on a quadratic is linear CG: all betas agree."""
    n = 6
    A = spd_matrix(rng, np.linspace(1, 10, n))
    b = rng.standard_normal(n)
    x = np.zeros(n)
    g = A @ x - b
    p = -g
    for _ in range(n - 1):
        alpha = -(g @ p) / (p @ A @ p)  # exact minimiser along p
        x = x + alpha * p
        g_new = A @ x - b
        betas = {k: float(cg_beta(g_new, g, p, kind=k)) for k in ("fr", "pr", "pr+", "hs")}
        linear_cg_beta = (g_new @ g_new) / (g @ g)  # N&W 5.24d
        for kind, beta in betas.items():
            assert beta == pytest.approx(linear_cg_beta, rel=1e-8), kind
        p = -g_new + betas["fr"] * p
        g = g_new


def test_cg_beta_unknown_kind_lists_the_kinds():
    with pytest.raises(ValueError, match=r"'fr', 'pr', 'pr\+', 'hs'"):
        cg_beta(np.ones(2), np.ones(2), np.ones(2), kind="dy")


def test_cg_beta_shape_mismatch():
    with pytest.raises(ValueError, match="shape mismatch"):
        cg_beta(np.ones(2), np.ones(3), np.ones(2))


def test_cg_beta_float32_preserved():
    g = torch.tensor([1.0, 2.0])
    beta = cg_beta(g, g * 2, -g, kind="pr+")
    assert beta.dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_cg_stays_on_cuda():
    A = torch.eye(3, device="cuda") * 2
    b = torch.ones(3, device="cuda")
    assert conjugate_gradient(A, b).device.type == "cuda"
    assert cg_beta(b, 2 * b, -b).device.type == "cuda"
