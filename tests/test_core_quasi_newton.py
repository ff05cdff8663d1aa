"""taylornet.core: curvature-pair acceptance, H0 scaling (N&W 6.20/7.20), the L-BFGS
history and two-loop recursion (Algs. 7.4-7.5), and the dense quasi-Newton state.

References: a dense BFGS recursion written out here from (6.17) with NumPy, the
secant equation H y = s, scale invariance checked by rescaling f and x, and
hypothesis for the two-loop identity.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import BACKENDS, to_backend, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st

from taylornet import core


def dense_bfgs_inverse(pairs, gamma, n):
    """H from gamma I by (6.17) for each pair in turn: the reference for Alg. 7.4."""
    H = gamma * np.eye(n)
    for s, y in pairs:
        rho = 1.0 / (y @ s)
        V = np.eye(n) - rho * np.outer(y, s)
        H = V.T @ H @ V + rho * np.outer(s, s)
    return H


def random_pairs(rng, n, m):
    A = rng.standard_normal((n, n))
    A = A @ A.T + n * np.eye(n)  # y = A s has y.s > 0
    pairs = []
    for _ in range(m):
        s = rng.standard_normal(n)
        pairs.append((s, A @ s))
    return pairs


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_loop_equals_dense_bfgs(backend, rng):
    n, m = 7, 4
    pairs = random_pairs(rng, n, m)
    s_new, y_new = pairs[-1]
    gamma = (s_new @ y_new) / (y_new @ y_new)
    H = dense_bfgs_inverse(pairs, gamma, n)
    v = rng.standard_normal(n)
    s_hist = [to_backend(backend, s) for s, _ in pairs]
    y_hist = [to_backend(backend, y) for _, y in pairs]
    vt = to_backend(backend, v)
    out = core.two_loop(vt, s_hist, y_hist)
    np.testing.assert_allclose(to_numpy(out), H @ v, rtol=1e-10)
    np.testing.assert_array_equal(to_numpy(vt), v)  # input not mutated
    hist = core.LBFGSHistory(m=m)
    for s, y in zip(s_hist, y_hist, strict=True):
        assert hist.push(s, y)
    np.testing.assert_allclose(to_numpy(hist.direction(vt)), -(H @ v), rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 6), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_history_keeps_the_newest_m_and_satisfies_the_secant_equation(n, m, seed):
    rng = np.random.default_rng(seed)
    pairs = random_pairs(rng, n, m + 2)
    hist = core.LBFGSHistory(m=m)
    for s, y in pairs:
        hist.push(s, y)
    assert len(hist) == m
    assert all(a is b for a, (b, _) in zip(hist.s, pairs[-m:], strict=True))
    s_new, y_new = pairs[-1]
    np.testing.assert_allclose(hist.inverse_hessian_product(y_new), s_new, rtol=1e-8, atol=1e-10)


def test_history_restores_from_lists_and_clears(rng):
    pairs = random_pairs(rng, 4, 3)
    hist = core.LBFGSHistory(m=2, s=[s for s, _ in pairs], y=[y for _, y in pairs])
    assert len(hist) == 2 and hist.s[0] is pairs[1][0]
    g = rng.standard_normal(4)
    ref = core.LBFGSHistory(m=2)
    for s, y in pairs:
        ref.push(s, y)
    np.testing.assert_allclose(hist.direction(g), ref.direction(g))
    hist.clear()
    np.testing.assert_array_equal(hist.direction(g), -g)
    with pytest.raises(ValueError, match="history size"):
        core.LBFGSHistory(m=0)


def test_pair_acceptance_is_scale_invariant_and_uses_the_dtypes_epsilon():
    s = np.array([1.0, 0.0, 0.0])
    y = np.array([1e-9, 1.0, 0.0])  # cos(s, y) ~ 1e-9
    assert core.pair_accepted(s, y)
    for f_scale, x_scale in [(1e-12, 1.0), (1e12, 1.0), (1.0, 1e-6), (1.0, 1e6)]:
        # f -> c f scales y by c; x -> a x scales s by a and y by 1/a
        assert core.pair_accepted(x_scale * s, f_scale * y / x_scale)
    assert not core.pair_accepted(torch.tensor(s, dtype=torch.float32),
                                  torch.tensor(y, dtype=torch.float32))
    assert not core.pair_accepted(s, -y)
    assert not core.pair_accepted(s, np.array([np.nan, 1.0, 0.0]))
    # a tiny but genuine pair (a flat region) is kept; an absolute 1e-10 would drop it
    assert core.pair_accepted(1e-6 * s, 1e-6 * s)


def test_inverse_hessian_scaling():
    s, y = np.array([1.0, 2.0]), np.array([3.0, 1.0])
    assert float(core.inverse_hessian_scaling(s, y)) == pytest.approx(5.0 / 10.0)
    t = core.inverse_hessian_scaling(torch.tensor(s), torch.tensor(y))
    assert isinstance(t, torch.Tensor) and t.ndim == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_dense_bfgs_scales_first_then_updates(backend, rng):
    n = 5
    pairs = random_pairs(rng, n, 3)
    (s0, y0) = pairs[0]
    gamma = (s0 @ y0) / (y0 @ y0)
    H_ref = dense_bfgs_inverse(pairs, gamma, n)  # scaled once, before the first update
    x = to_backend(backend, np.zeros(n))
    qn = core.QuasiNewtonMatrix(x, "bfgs")
    for s, y in pairs:
        assert qn.update(*to_backend(backend, s, y))
    assert qn.n_updates == 3
    np.testing.assert_allclose(to_numpy(qn.M), H_ref, rtol=1e-10)
    g = rng.standard_normal(n)
    np.testing.assert_allclose(to_numpy(qn.direction(to_backend(backend, g))), -H_ref @ g,
                               rtol=1e-10)
    # a pair without positive curvature is skipped
    s, y = to_backend(backend, pairs[0][0], -pairs[0][1])
    assert not qn.update(s, y) and qn.n_updates == 3
    qn.reset()
    np.testing.assert_array_equal(to_numpy(qn.M), np.eye(n))


def test_dense_given_start_is_not_scaled_and_direct_forms_solve(rng):
    n = 4
    pairs = random_pairs(rng, n, 2)
    H0 = 3.0 * np.eye(n)
    qn = core.QuasiNewtonMatrix(np.zeros(n), "bfgs", M0=H0)
    for s, y in pairs:
        qn.update(s, y)
    np.testing.assert_allclose(qn.M, dense_bfgs_inverse(pairs, 3.0, n), rtol=1e-10)
    direct = core.QuasiNewtonMatrix(np.zeros(n), "bfgs-direct")
    for s, y in pairs:
        direct.update(s, y)
    np.testing.assert_allclose(np.linalg.inv(direct.M), dense_bfgs_inverse(pairs, (
        pairs[0][0] @ pairs[0][1]) / (pairs[0][1] @ pairs[0][1]), n), rtol=1e-8)
    g = rng.standard_normal(n)
    np.testing.assert_allclose(direct.M @ direct.direction(g), -g, rtol=1e-10)
    with pytest.raises(ValueError, match="unknown formula"):
        core.QuasiNewtonMatrix(np.zeros(n), "broyden")
    with pytest.raises(ValueError, match="shape"):
        core.QuasiNewtonMatrix(np.zeros(n), "bfgs", M0=np.eye(n + 1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_core_stays_on_cuda():
    dev = torch.device("cuda")
    A = torch.diag(torch.arange(1.0, 6.0, dtype=torch.float64, device=dev))
    b = torch.ones(5, dtype=torch.float64, device=dev)
    assert core.cg(A, b).x.device == dev
    assert core.steihaug(b, lambda v: A @ v, 0.5).p.device == dev
    assert core.newton_cg_direction(lambda v: A @ v, b).p.device == dev
    hist = core.LBFGSHistory(3)
    assert hist.push(b, A @ b)
    assert hist.direction(b).device == dev
    qn = core.QuasiNewtonMatrix(b, "bfgs")
    assert qn.update(b, A @ b) and qn.M.device == dev
    assert core.cholesky_with_added_identity(-A).L.device == dev
