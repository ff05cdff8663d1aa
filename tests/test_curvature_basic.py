"""Power iteration and Hutchinson's trace estimator, seen through ``v -> H v`` only.

References: ``numpy.linalg.eigh`` for the dominant eigenpair (including a
negative one, PITFALL 9), ``numpy.trace`` and the exact variance of the
Rademacher estimator, ``2 * sum_{i != j} H_ij^2``, for Hutchinson.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import BACKENDS, to_backend, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st

from taylornet.curvature import hutchinson_trace, power_iteration
from taylornet.curvature.hutchinson import _hutchinson_samples
from taylornet.curvature.power_iteration import _power_iteration


def random_symmetric(rng, eigenvalues):
    n = len(eigenvalues)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (Q * np.asarray(eigenvalues)) @ Q.T


def dominant_eigenpair(H):
    """Reference: the eigenpair of largest |lambda| from numpy.linalg.eigh."""
    w, V = np.linalg.eigh(H)
    i = np.argmax(np.abs(w))
    return w[i], V[:, i]


def assert_same_direction(v, u, atol):
    """Eigenvectors are defined up to sign."""
    assert min(np.linalg.norm(v - u), np.linalg.norm(v + u)) <= atol


class CountingHvp:
    def __init__(self, H):
        self.H = H
        self.calls = 0
        self.seen = []

    def __call__(self, v):
        self.calls += 1
        self.seen.append(v)
        return self.H @ v


# --- power iteration -----------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_power_iteration_matches_eigh(backend, sign, rng):
    n = 10
    eigenvalues = np.concatenate([[10.0 * sign], rng.uniform(-5, 5, n - 1)])
    H_np = random_symmetric(rng, eigenvalues)
    H, v0 = to_backend(backend, H_np, rng.standard_normal(n))
    before = to_numpy(v0).copy()
    lam, v = power_iteration(H.__matmul__, v0, num_iters=200)
    np.testing.assert_array_equal(to_numpy(v0), before)
    assert type(v) is type(v0)
    assert isinstance(lam, float)
    lam_ref, u_ref = dominant_eigenpair(H_np)
    assert lam == pytest.approx(lam_ref, rel=1e-8)
    assert np.sign(lam) == sign
    assert np.linalg.norm(to_numpy(v)) == pytest.approx(1.0, rel=1e-14)
    assert_same_direction(to_numpy(v), u_ref, atol=1e-7)


def test_power_iteration_returns_the_signed_eigenvalue():
    """PITFALL 9: eigenvalues {-10, 3, 1}; the answer is -10, not 10 (|lambda|) nor 3."""
    H = np.diag([3.0, -10.0, 1.0])
    lam, v = power_iteration(H.__matmul__, np.ones(3))
    assert lam == pytest.approx(-10.0, rel=1e-10)
    assert_same_direction(v, np.array([0.0, 1.0, 0.0]), atol=1e-8)


@pytest.mark.parametrize("seed", range(5))
def test_power_iteration_on_random_symmetric_matrices(seed):
    """Plain (A + A^T)/2 matrices: eigenvalue gaps as they come, so allow many iterations."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((8, 8))
    H = (A + A.T) / 2
    lam_ref, u_ref = dominant_eigenpair(H)
    result = _power_iteration(H.__matmul__, rng.standard_normal(8), num_iters=20_000, tol=1e-10)
    assert result.converged
    assert result.eigenvalue == pytest.approx(lam_ref, rel=1e-9)
    assert_same_direction(result.eigenvector, u_ref, atol=1e-6)
    # The stopping test is the residual, and it holds for the returned pair.
    residual = np.linalg.norm(H @ result.eigenvector - result.eigenvalue * result.eigenvector)
    assert residual <= 1e-10 * abs(result.eigenvalue) * (1 + 1e-6)


def test_power_iteration_stops_early_and_respects_num_iters(rng):
    H = np.diag([5.0, 1.0, 0.5])
    hvp = CountingHvp(H)
    lam, v = power_iteration(hvp, np.array([1.0, 0.0, 0.0]))
    assert hvp.calls == 1 and lam == 5.0
    hvp = CountingHvp(H)
    result = _power_iteration(hvp, np.array([1.0, 1.0, 1.0]), num_iters=3, tol=1e-14)
    assert hvp.calls == result.n_iter == 3 and not result.converged
    # One iteration is the Rayleigh quotient of the normalised start.
    lam1, v1 = power_iteration(H.__matmul__, np.array([1.0, 1.0, 0.0]), num_iters=1)
    assert lam1 == pytest.approx(3.0, rel=1e-15)
    np.testing.assert_allclose(v1, np.array([1.0, 1.0, 0.0]) / np.sqrt(2), rtol=1e-15)


def test_power_iteration_zero_matrix():
    lam, v = power_iteration(lambda v: 0 * v, np.array([1.0, 2.0]))
    assert lam == 0.0
    assert np.linalg.norm(v) == pytest.approx(1.0)


def test_power_iteration_numpy_and_torch_agree(rng):
    H = random_symmetric(rng, [4.0, -1.0, 2.0, 0.5])
    v0 = rng.standard_normal(4)
    lam_np, v_np = power_iteration(H.__matmul__, v0)
    H_t, v0_t = to_backend("torch", H, v0)
    lam_t, v_t = power_iteration(H_t.__matmul__, v0_t)
    assert lam_t == pytest.approx(lam_np, rel=1e-10)
    np.testing.assert_allclose(v_t.numpy(), v_np, rtol=0, atol=1e-10)
    lam32, v32 = power_iteration(H_t.float().__matmul__, v0_t.float(), tol=1e-5)
    assert v32.dtype == torch.float32
    assert lam32 == pytest.approx(lam_np, rel=1e-4)


def test_power_iteration_errors():
    with pytest.raises(ValueError, match="nonzero"):
        power_iteration(lambda v: v, np.zeros(3))
    with pytest.raises(ValueError, match="non-finite"):
        power_iteration(lambda v: v, np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="num_iters"):
        power_iteration(lambda v: v, np.ones(2), num_iters=0)
    with pytest.raises(ValueError, match="hvp returned non-finite"):
        power_iteration(lambda v: v * np.inf, np.ones(2))


# --- Hutchinson ----------------------------------------------------------------


def test_hutchinson_is_unbiased(rng):
    """The mean of m probes lies within 4 standard errors of the trace.

    The standard error uses the exact variance of one Rademacher term,
    2 sum_{i != j} H_ij^2 (Gaussian probes would give 2 ||H||_F^2).
    """
    n = 30
    A = rng.standard_normal((n, n))
    H = (A + A.T) / 2 + np.diag(rng.uniform(0, 5, n))
    variance = 2 * (np.sum(H**2) - np.sum(np.diag(H) ** 2))
    m = 2000
    samples = _hutchinson_samples(H.__matmul__, n, m, seed=7)
    estimate = hutchinson_trace(H.__matmul__, n, m, seed=7)
    assert estimate == pytest.approx(samples.mean(), rel=1e-14)
    assert abs(estimate - np.trace(H)) <= 4 * np.sqrt(variance / m)
    # The probes are Rademacher: the sample variance matches the formula above.
    assert samples.var(ddof=1) == pytest.approx(variance, rel=0.15)


@settings(max_examples=30, deadline=None)
@given(
    diagonal=st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=20),
    seed=st.integers(0, 2**32 - 1),
)
def test_hutchinson_is_exact_for_diagonal_matrices(diagonal, seed):
    """z^T D z = sum_i D_ii z_i^2 = trace(D) for every Rademacher z."""
    D = np.diag(diagonal)
    estimate = hutchinson_trace(D.__matmul__, len(diagonal), 1, seed=seed)
    assert estimate == pytest.approx(np.sum(diagonal), rel=1e-12, abs=1e-9)


def test_hutchinson_probes_are_rademacher_and_seeded():
    hvp = CountingHvp(np.eye(50))
    hutchinson_trace(hvp, 50, 4, seed=3)
    assert hvp.calls == 4
    probes = np.array(hvp.seen)
    assert set(np.unique(probes)) == {-1.0, 1.0}
    assert hutchinson_trace(np.diag(np.arange(5.0)).__matmul__, 5, 10, seed=3) == 10.0
    H = np.random.default_rng(0).standard_normal((5, 5))
    assert hutchinson_trace(H.__matmul__, 5, 10, seed=3) == hutchinson_trace(
        H.__matmul__, 5, 10, seed=3
    )
    assert hutchinson_trace(H.__matmul__, 5, 10, seed=3) != hutchinson_trace(
        H.__matmul__, 5, 10, seed=4
    )
    # A Generator works as the seed, too.
    value = hutchinson_trace(H.__matmul__, 5, 10, seed=np.random.default_rng(3))
    assert value == hutchinson_trace(H.__matmul__, 5, 10, seed=3)


def test_hutchinson_numpy_and_torch_agree(rng):
    n = 12
    A = rng.standard_normal((n, n))
    H = A + A.T
    H_t = torch.tensor(H)
    seen = []

    def hvp_torch(v):
        seen.append(v)
        return H_t @ v

    estimate_np = hutchinson_trace(H.__matmul__, n, 25, seed=11)
    estimate_t = hutchinson_trace(hvp_torch, n, 25, seed=11, like=H_t)
    assert all(isinstance(v, torch.Tensor) and v.dtype == torch.float64 for v in seen)
    assert estimate_t == pytest.approx(estimate_np, rel=1e-10)
    seen.clear()
    estimate_32 = hutchinson_trace(lambda v: H_t.float() @ v, n, 25, seed=11, like=H_t.float())
    assert estimate_32 == pytest.approx(estimate_np, rel=1e-4)


def test_hutchinson_errors():
    with pytest.raises(ValueError, match="num_samples"):
        hutchinson_trace(lambda v: v, 3, 0)
    with pytest.raises(ValueError, match="dim"):
        hutchinson_trace(lambda v: v, 0, 3)
    with pytest.raises(ValueError, match="shape"):
        hutchinson_trace(lambda v: v[:2], 3, 3)
    with pytest.raises(ValueError, match="non-finite"):
        hutchinson_trace(lambda v: v * np.nan, 3, 3)
    with pytest.raises(TypeError):
        hutchinson_trace(lambda v: v, 3, 2.5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_curvature_on_cuda():
    H = torch.diag(torch.tensor([3.0, -7.0, 1.0], device="cuda"))
    lam, v = power_iteration(H.__matmul__, torch.ones(3, device="cuda"))
    assert v.device.type == "cuda" and lam == pytest.approx(-7.0, rel=1e-5)
    trace = hutchinson_trace(H.__matmul__, 3, 2, seed=0, like=H)
    assert trace == pytest.approx(-3.0, rel=1e-6)
