"""Lanczos Ritz values and stochastic Lanczos quadrature, seen through ``v -> H v`` only.

References: ``numpy.linalg.eigvalsh`` / ``torch.linalg.eigvalsh`` of the dense
matrix for eigenvalues, ``numpy.trace`` for the density's mean, and the exact
moments ``v^T H^j v`` that Gauss quadrature reproduces for ``j <= 2m - 1``.
PITFALL 9: without reorthogonalisation ghost copies of converged eigenvalues
appear; SLQ weights are squared *first* components of T's eigenvectors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import BACKENDS, to_backend, to_numpy
from torch.func import functional_call, grad, hessian, jvp

from taylornet.curvature.lanczos import (
    _tridiagonal,
    density_on_grid,
    lanczos,
    lanczos_eigenvalues,
    spectral_density,
)


def random_symmetric(rng, eigenvalues):
    n = len(eigenvalues)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    H = (Q * np.asarray(eigenvalues)) @ Q.T
    return 0.5 * (H + H.T)


def clustered_spectrum(rng, n):
    """Distinct eigenvalues in tight clusters (spacing 1e-3) around -3, 0.5, 2 and 7."""
    centres = rng.choice([-3.0, 0.5, 2.0, 7.0], size=n)
    return np.sort(centres + 1e-3 * np.arange(n) / n + 1e-3 * rng.uniform(size=n))


def ghost_matrix(rng, n=200):
    """Dense bulk in [0, 1] plus three outliers: the top one converges early."""
    return random_symmetric(rng, np.concatenate([np.linspace(0.0, 1.0, n - 3), [5.0, 8.0, 10.0]]))


def matvec(H):
    return lambda v: H @ v


# --- Ritz values -----------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("which", ["largest", "smallest", "both"])
def test_ritz_values_match_eigvalsh_on_clustered_spectra(backend, which, rng):
    n, k = 60, 5
    H_np = random_symmetric(rng, clustered_spectrum(rng, n))
    H = to_backend(backend, H_np)
    like = None if backend == "numpy" else H
    ritz = lanczos_eigenvalues(matvec(H), n, k, which=which, num_steps=n, seed=1, like=like)
    exact = np.linalg.eigvalsh(H_np)
    expected = {"largest": exact[-k:], "smallest": exact[:k],
                "both": np.concatenate([exact[:k], exact[-k:]])}[which]
    assert isinstance(ritz, np.ndarray) and np.all(np.diff(ritz) >= 0)
    np.testing.assert_allclose(ritz, expected, rtol=0, atol=1e-8)


def test_extreme_ritz_values_converge_in_few_steps(rng):
    """Well-separated extremes converge long before m = n (Kaniel-Paige)."""
    n, k = 200, 4
    bulk = rng.uniform(-1.0, 1.0, n - 2 * k)
    eigenvalues = np.concatenate([bulk, [-20.0, -12.0, -7.0, -4.0, 4.0, 6.0, 9.0, 30.0]])
    H = random_symmetric(rng, eigenvalues)
    exact = np.linalg.eigvalsh(H)
    ritz = lanczos_eigenvalues(matvec(H), n, k, which="both", num_steps=60, seed=2)
    np.testing.assert_allclose(ritz, np.concatenate([exact[:k], exact[-k:]]), rtol=0, atol=1e-8)
    # Interlacing: every Ritz value lies in [lambda_min, lambda_max].
    alphas, betas, _ = lanczos(matvec(H), n, 60, seed=2)
    all_ritz = np.linalg.eigvalsh(_tridiagonal(alphas, betas))
    assert exact[0] - 1e-10 <= all_ritz.min() and all_ritz.max() <= exact[-1] + 1e-10


def test_default_steps_and_returned_counts(rng):
    H = random_symmetric(rng, np.arange(1.0, 11.0))
    assert lanczos_eigenvalues(matvec(H), 10, 3, which="largest").shape == (3,)
    assert lanczos_eigenvalues(matvec(H), 10, 3, which="smallest").shape == (3,)
    # 2k > m: every Ritz value comes back
    np.testing.assert_allclose(lanczos_eigenvalues(matvec(H), 10, 6), np.arange(1.0, 11.0),
                               atol=1e-10)


def test_repeated_eigenvalues_stop_early_and_appear_once(rng):
    """A starting vector sees each eigenspace once: 4 distinct values, 4 steps."""
    eigenvalues = np.repeat([-2.0, 1.0, 3.0, 5.0], [10, 15, 5, 10])
    H = random_symmetric(rng, eigenvalues)
    alphas, betas, Q = lanczos(matvec(H), 40, 40, seed=3)
    assert alphas.shape == (4,) and betas.shape == (3,) and Q.shape == (40, 4)
    np.testing.assert_allclose(np.linalg.eigvalsh(_tridiagonal(alphas, betas)),
                               [-2.0, 1.0, 3.0, 5.0], atol=1e-10)


# --- orthogonality and ghosts ----------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_reorthogonalised_basis_is_orthonormal_and_tridiagonalises(backend, rng):
    n, m = 200, 120
    H_np = ghost_matrix(rng, n)
    H = to_backend(backend, H_np)
    v0 = to_backend(backend, rng.standard_normal(n))
    v0_copy = to_numpy(v0).copy()
    alphas, betas, Q = lanczos(matvec(H), n, m, v0=v0)
    assert type(Q) is type(v0) and tuple(Q.shape) == (n, m)
    assert alphas.dtype == np.float64 and betas.shape == (m - 1,)
    np.testing.assert_array_equal(to_numpy(v0), v0_copy)  # v0 not mutated
    Qn = to_numpy(Q)
    assert np.linalg.norm(Qn.T @ Qn - np.eye(m)) < 1e-12
    np.testing.assert_allclose(Qn.T @ H_np @ Qn, _tridiagonal(alphas, betas), atol=1e-10)
    np.testing.assert_allclose(Qn[:, 0], v0_copy / np.linalg.norm(v0_copy), atol=1e-15)


def test_without_reorthogonalisation_ghost_eigenvalues_appear(rng):
    """PITFALL 9: the plain three-term recurrence duplicates converged eigenvalues."""
    n, m = 200, 120
    H = ghost_matrix(rng, n)
    results = {}
    for reorth in (True, False):
        alphas, betas, Q = lanczos(matvec(H), n, m, seed=4, reorthogonalize=reorth)
        ritz = np.linalg.eigvalsh(_tridiagonal(alphas, betas))
        loss = np.linalg.norm(Q.T @ Q - np.eye(m))
        results[reorth] = (loss, int(np.sum(np.abs(ritz - 10.0) < 1e-8)), ritz)
    assert results[True][0] < 1e-12 and results[True][1] == 1
    assert results[False][0] > 1.0        # orthogonality is lost completely
    assert results[False][1] >= 3         # ghost copies of the top eigenvalue
    # The ghosts are not eigenvalues with multiplicity: H has a simple top eigenvalue.
    assert np.sum(np.abs(np.linalg.eigvalsh(H) - 10.0) < 1e-8) == 1


# --- stochastic Lanczos quadrature -------------------------------------------------


@pytest.mark.parametrize("probes", ["rademacher", "gaussian"])
def test_slq_weights_sum_to_one_and_mean_is_trace_over_n(probes, rng):
    n = 150
    eigenvalues = np.concatenate([rng.normal(0.0, 1.0, n - 5), [6.0, 8.0, 9.0, 12.0, 20.0]])
    H = random_symmetric(rng, eigenvalues)
    nodes, weights = spectral_density(matvec(H), n, num_probes=40, num_steps=25, seed=5,
                                      probes=probes)
    assert nodes.shape == weights.shape == (40, 25)
    assert np.all(weights >= 0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
    per_probe_mean = (nodes * weights).sum(axis=1)
    estimate = per_probe_mean.mean()
    std_error = per_probe_mean.std(ddof=1) / np.sqrt(len(per_probe_mean))
    assert abs(estimate - np.trace(H) / n) < 4 * std_error
    # Ritz values inside the spectrum
    assert nodes.min() >= eigenvalues.min() - 1e-10 and nodes.max() <= eigenvalues.max() + 1e-10


def test_slq_reproduces_moments_up_to_degree_2m_minus_1(rng):
    """Gauss quadrature with weights S[0, :]**2 is exact for polynomials of degree <= 2m - 1."""
    n, m = 80, 6
    H = random_symmetric(rng, rng.uniform(-1.0, 2.0, n))
    seed = 7
    nodes, weights = spectral_density(matvec(H), n, num_probes=1, num_steps=m, seed=seed)
    z = np.random.default_rng(seed).choice((-1.0, 1.0), size=n)  # the same probe
    v = z / np.linalg.norm(z)
    for j in range(2 * m):
        exact = v @ np.linalg.matrix_power(H, j) @ v
        np.testing.assert_allclose((weights[0] * nodes[0] ** j).sum(), exact, rtol=1e-9,
                                   atol=1e-12)
    # The degree-2m moment is not reproduced: the rule has m nodes.
    exact = v @ np.linalg.matrix_power(H, 2 * m) @ v
    assert abs((weights[0] * nodes[0] ** (2 * m)).sum() - exact) > 1e-8


def test_slq_on_few_distinct_eigenvalues_pads_with_zero_weights(rng):
    H = random_symmetric(rng, np.repeat([1.0, 2.0, 4.0], [10, 10, 10]))
    nodes, weights = spectral_density(matvec(H), 30, num_probes=3, num_steps=8, seed=8)
    assert nodes.shape == (3, 8)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(weights[:, 3:], 0.0)
    np.testing.assert_allclose(nodes[:, :3], np.tile([1.0, 2.0, 4.0], (3, 1)), atol=1e-10)
    # each eigenvalue carries weight ~ 1/3 on average
    assert np.all(np.abs(weights[:, :3].mean(axis=0) - 1 / 3) < 0.25)


def test_density_on_grid_integrates_to_one():
    nodes = np.array([[0.0, 1.0, 3.0], [0.5, 1.0, 2.0]])
    weights = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    grid = np.linspace(-3.0, 6.0, 4001)
    density = density_on_grid(nodes, weights, grid, sigma=0.1)
    assert density.shape == grid.shape and np.all(density >= 0)
    assert abs(np.trapezoid(density, grid) - 1.0) < 1e-6
    mean = np.trapezoid(grid * density, grid)
    assert abs(mean - (nodes * weights).sum(axis=1).mean()) < 1e-6
    one_probe = density_on_grid(nodes[0], weights[0], grid, sigma=0.1)
    assert abs(np.trapezoid(one_probe, grid) - 1.0) < 1e-6


# --- torch: a small network's Hessian ----------------------------------------------


@pytest.fixture
def one_torch_thread():
    """Tiny tensors: extra intra-op threads only add contention on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_torch_mlp_hessian_ritz_values_match_dense_eigvalsh(one_torch_thread):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2))
    net = net.double()
    names = [name for name, _ in net.named_parameters()]
    shapes = [p.shape for p in net.parameters()]
    sizes = [p.numel() for p in net.parameters()]
    theta0 = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    X = torch.randn(32, 3, dtype=torch.float64)
    labels = torch.randint(0, 2, (32,))

    def loss(theta):
        params = {n: t.reshape(s) for n, t, s in
                  zip(names, torch.split(theta, sizes), shapes, strict=True)}
        logits = functional_call(net, params, (X,))
        return torch.nn.functional.cross_entropy(logits, labels)

    def hvp(v):
        return jvp(grad(loss), (theta0,), (v,))[1]

    dim = theta0.numel()
    H = hessian(loss)(theta0)
    exact = torch.linalg.eigvalsh(0.5 * (H + H.T)).numpy()
    assert exact[0] < 0 < exact[-1]  # indefinite at initialisation
    ritz = lanczos_eigenvalues(hvp, dim, 3, which="both", num_steps=dim, seed=0, like=theta0)
    np.testing.assert_allclose(ritz, np.concatenate([exact[:3], exact[-3:]]), atol=1e-8)
    _, _, Q = lanczos(hvp, dim, 10, seed=0, like=theta0)
    assert isinstance(Q, torch.Tensor) and Q.dtype == torch.float64
    nodes, weights = spectral_density(hvp, dim, num_probes=4, num_steps=10, seed=0, like=theta0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)


# --- argument checking ---------------------------------------------------------------


def test_bad_arguments_raise():
    H = np.diag([1.0, 2.0, 3.0])
    with pytest.raises(ValueError):
        lanczos(matvec(H), 3, 0)
    with pytest.raises(ValueError):
        lanczos(matvec(H), 3, 2, v0=np.zeros(3))
    with pytest.raises(ValueError):
        lanczos(matvec(H), 3, 2, v0=np.ones(4))
    with pytest.raises(ValueError):
        lanczos(lambda v: np.ones(2), 3, 2)
    with pytest.raises(ValueError):
        lanczos_eigenvalues(matvec(H), 3, 1, which="middle")
    with pytest.raises(ValueError):
        lanczos_eigenvalues(matvec(H), 3, 0)
    with pytest.raises(ValueError):
        spectral_density(matvec(H), 3, 0, 2)
    with pytest.raises(ValueError):
        spectral_density(matvec(H), 3, 2, 2, probes="uniform")
    with pytest.raises(ValueError):
        density_on_grid([0.0], [1.0], [0.0], sigma=0.0)
