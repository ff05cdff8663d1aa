"""Gauss-Newton and Levenberg-Marquardt directions.

References: ``scipy.linalg.lstsq`` (LAPACK gelsd: SVD, minimum-norm solution
for rank-deficient problems), ``scipy.linalg.solve`` of the normal equations
on well-conditioned problems, and the defining properties.
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

from taylornet.rules import gauss_newton_direction, levenberg_marquardt_direction


def lstsq(J, r):
    """Minimum-norm minimiser of ||J p + r|| (scipy, gelsd)."""
    return scipy.linalg.lstsq(J, -r, lapack_driver="gelsd")[0]


def rank_deficient(rng, m=8):
    J = rng.standard_normal((m, 4))
    J[:, 3] = J[:, 0] - 2 * J[:, 1]  # rank 3
    return J


def test_gauss_newton_full_rank(rng):
    J, r = rng.standard_normal((10, 4)), rng.standard_normal(10)
    p = gauss_newton_direction(J, r)
    np.testing.assert_allclose(p, lstsq(J, r), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(J.T @ J @ p, -J.T @ r, rtol=0, atol=1e-11)


def test_gauss_newton_rank_deficient_is_minimum_norm(rng):
    J, r = rank_deficient(rng), rng.standard_normal(8)
    p = gauss_newton_direction(J, r)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p, lstsq(J, r), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(J.T @ (J @ p + r), 0, atol=1e-11)  # normal equations
    null = np.array([1.0, -2.0, 0.0, -1.0])  # J @ null = 0
    assert abs(p @ null) < 1e-11  # no component in the null space: least norm


def test_gauss_newton_underdetermined_interpolates(rng):
    J, r = rng.standard_normal((3, 6)), rng.standard_normal(3)
    p = gauss_newton_direction(J, r)
    np.testing.assert_allclose(J @ p, -r, atol=1e-12)
    np.testing.assert_allclose(p, lstsq(J, r), rtol=1e-10, atol=1e-12)


def test_gauss_newton_zero_jacobian_gives_zero_step():
    np.testing.assert_array_equal(gauss_newton_direction(np.zeros((3, 2)), np.ones(3)), 0)


def test_gauss_newton_is_newton_for_linear_residuals(rng):
    """r(x) = A x - b: one Gauss-Newton step lands on the least-squares solution."""
    A, b = rng.standard_normal((12, 3)), rng.standard_normal(12)
    x = rng.standard_normal(3)
    x_new = x + gauss_newton_direction(A, A @ x - b)
    np.testing.assert_allclose(x_new, scipy.linalg.lstsq(A, b)[0], rtol=1e-10)


@pytest.mark.parametrize("lam", [1e-3, 0.5, 30.0])
def test_levenberg_marquardt_solves_damped_normal_equations(lam, rng):
    J, r = rng.standard_normal((9, 4)), rng.standard_normal(9)
    want = scipy.linalg.solve(J.T @ J + lam * np.eye(4), -J.T @ r, assume_a="pos")
    np.testing.assert_allclose(
        levenberg_marquardt_direction(J, r, lam), want, rtol=1e-10, atol=1e-13
    )


def test_levenberg_marquardt_rank_deficient_and_underdetermined(rng):
    for J in (rank_deficient(rng), rng.standard_normal((2, 5))):
        r = rng.standard_normal(J.shape[0])
        n = J.shape[1]
        want = scipy.linalg.solve(J.T @ J + 0.1 * np.eye(n), -J.T @ r, assume_a="pos")
        np.testing.assert_allclose(
            levenberg_marquardt_direction(J, r, 0.1), want, rtol=1e-10, atol=1e-13
        )


def test_levenberg_marquardt_limits(rng):
    J, r = rank_deficient(rng), rng.standard_normal(8)
    # lam = 0 is (minimum-norm) Gauss-Newton; small lam approaches it. (In floating
    # point the "zero" singular value s of J is ~1e-16 and contributes s/(s^2 + lam)
    # to p(lam): the limit is approached only for lam >> s.)
    np.testing.assert_allclose(
        levenberg_marquardt_direction(J, r, 0.0), gauss_newton_direction(J, r), atol=1e-12
    )
    np.testing.assert_allclose(
        levenberg_marquardt_direction(J, r, 1e-8), gauss_newton_direction(J, r), atol=1e-6
    )
    J_full = rng.standard_normal((8, 4))
    np.testing.assert_allclose(
        levenberg_marquardt_direction(J_full, r, 1e-12),
        gauss_newton_direction(J_full, r),
        rtol=1e-9,
    )
    # lam -> infinity: a short steepest-descent step -J^T r / lam.
    lam = 1e9
    np.testing.assert_allclose(levenberg_marquardt_direction(J, r, lam) * lam, -J.T @ r, rtol=1e-6)


def test_levenberg_marquardt_ill_conditioned_is_accurate(rng):
    """cond(J) = 1e7: the stacked problem keeps ~cond*eps accuracy, whereas
    forming J^T J (cond 1e14) would lose about seven more digits."""
    U, _ = np.linalg.qr(rng.standard_normal((10, 3)))
    V, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    J = U @ np.diag([1.0, 1e-3, 1e-7]) @ V.T
    r = rng.standard_normal(10)
    p = levenberg_marquardt_direction(J, r, 1e-26)  # lam / sigma_min^2 = 1e-12
    want = lstsq(J, r)
    np.testing.assert_allclose(p, want, rtol=1e-6)


# A grid of tenths: no subnormal entries (whose 1/sigma overflows) and many
# exactly rank-deficient matrices.
finite = st.integers(-50, 50).map(lambda k: k / 10)


@settings(max_examples=50, deadline=None)
@given(
    J=arrays(np.float64, (6, 3), elements=finite),
    r=arrays(np.float64, 6, elements=finite),
    lams=st.lists(st.floats(1e-3, 1e3), min_size=2, max_size=2, unique=True),
)
def test_levenberg_marquardt_step_shrinks_with_lam(J, r, lams):
    """||p(lam)|| is nonincreasing in lam and bounded by the Gauss-Newton step;
    p(lam) is a descent direction for f = ||r||^2/2 (gradient J^T r)."""
    small, large = sorted(lams)
    p_small = levenberg_marquardt_direction(J, r, small)
    p_large = levenberg_marquardt_direction(J, r, large)
    n_gn = np.linalg.norm(gauss_newton_direction(J, r))
    tol = 1e-9 * (1 + n_gn)
    assert np.linalg.norm(p_large) <= np.linalg.norm(p_small) + tol
    assert np.linalg.norm(p_small) <= n_gn + tol
    assert (J.T @ r) @ p_small <= tol


def test_lam_must_be_nonnegative_and_finite():
    for bad in (-1e-3, np.nan, np.inf):
        with pytest.raises(ValueError, match="lam"):
            levenberg_marquardt_direction(np.eye(2), np.ones(2), bad)


def test_shape_errors():
    with pytest.raises(ValueError, match=r"J must be an m x n matrix.*J\(3, 2\), r\(2,\)"):
        gauss_newton_direction(np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="m x n"):
        levenberg_marquardt_direction(np.ones(3), np.ones(3), 1.0)


@pytest.mark.parametrize("case", ["full", "deficient", "wide"])
def test_numpy_and_torch_agree_and_inputs_unchanged(case, rng):
    J_np = {
        "full": rng.standard_normal((7, 3)),
        "deficient": rank_deficient(rng),
        "wide": rng.standard_normal((2, 4)),
    }[case]
    r_np = rng.standard_normal(J_np.shape[0])
    want_gn = gauss_newton_direction(J_np.copy(), r_np.copy())
    want_lm = levenberg_marquardt_direction(J_np.copy(), r_np.copy(), 0.2)
    for backend in BACKENDS:
        J, r = to_backend(backend, J_np, r_np)
        gn = gauss_newton_direction(J, r)
        lm = levenberg_marquardt_direction(J, r, 0.2)
        assert type(gn) is type(J) and type(lm) is type(J)
        np.testing.assert_allclose(to_numpy(gn), want_gn, rtol=0, atol=1e-10)
        np.testing.assert_allclose(to_numpy(lm), want_lm, rtol=0, atol=1e-10)
        np.testing.assert_array_equal(to_numpy(J), J_np)
        np.testing.assert_array_equal(to_numpy(r), r_np)


def test_float32_torch_dtype_preserved():
    J, r = torch.ones(4, 2), torch.ones(4)
    assert gauss_newton_direction(J, r).dtype == torch.float32
    assert levenberg_marquardt_direction(J, r, 0.1).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_stays_on_cuda():
    J = torch.randn(5, 3, device="cuda", dtype=torch.float64)
    r = torch.randn(5, device="cuda", dtype=torch.float64)
    assert gauss_newton_direction(J, r).device.type == "cuda"
    p = levenberg_marquardt_direction(J, r, 0.1)
    assert p.device.type == "cuda"
    want = levenberg_marquardt_direction(J.cpu(), r.cpu(), 0.1)
    torch.testing.assert_close(p.cpu(), want)
