"""taylornet.core: CG with diagnostics (N&W Algs. 5.2, 5.3), truncated Newton-CG (Alg. 7.1)
and CG-Steihaug (Alg. 7.2).

References: ``numpy.linalg.solve``, ``scipy.sparse.linalg.cg`` (with and without a
preconditioner), the finite-termination theorem (N&W Theorem 5.4: CG ends in as many
steps as A has distinct eigenvalues), and the quadratic model evaluated directly.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg
import torch
from conftest import BACKENDS, to_backend, to_numpy

from taylornet import core


def spd(rng, eigenvalues):
    n = len(eigenvalues)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (Q * np.asarray(eigenvalues)) @ Q.T


@pytest.mark.parametrize("backend", BACKENDS)
def test_cg_solves_and_reports(backend, rng):
    A = spd(rng, np.geomspace(1, 1e3, 25))
    b = rng.standard_normal(25)
    At, bt = to_backend(backend, A, b)
    res = core.cg(At, bt, tol=1e-12, max_iter=200)
    assert res.status == "converged" and res.direction is None
    assert res.n_matvec == res.n_iter <= 200
    np.testing.assert_allclose(to_numpy(res.x), np.linalg.solve(A, b), rtol=1e-8, atol=1e-10)
    # the reported residual is the true one, and its norm is below the tolerance
    r_true = A @ to_numpy(res.x) - b
    np.testing.assert_allclose(to_numpy(res.residual), r_true, atol=1e-9 * np.linalg.norm(b))
    assert res.residual_norm <= 1e-12 * np.linalg.norm(b) * 1.0001


def test_cg_terminates_in_as_many_steps_as_distinct_eigenvalues(rng):
    A = spd(rng, [1.0] * 10 + [4.0] * 10 + [9.0] * 10)
    res = core.cg(A, rng.standard_normal(30), tol=1e-10)
    assert res.status == "converged" and res.n_iter <= 3 + 1  # one step of rounding slack


@pytest.mark.parametrize("backend", BACKENDS)
def test_preconditioned_cg_matches_scipy_and_needs_fewer_steps(backend, rng):
    n = 40
    d = np.geomspace(1, 1e4, n)
    A = np.diag(d) + 0.01 * spd(rng, np.ones(n))  # badly scaled, nearly diagonal
    b = rng.standard_normal(n)
    At, bt, dt = to_backend(backend, A, b, d)
    plain = core.cg(At, bt, tol=1e-10, max_iter=500)
    jacobi = core.cg(At, bt, tol=1e-10, max_iter=500, precondition=lambda r: r / dt)
    assert jacobi.status == plain.status == "converged"
    assert jacobi.n_iter < plain.n_iter
    ref, info = scipy.sparse.linalg.cg(A, b, rtol=1e-12, maxiter=500,
                                       M=scipy.sparse.linalg.LinearOperator(
                                           (n, n), matvec=lambda r: r / d))
    assert info == 0
    np.testing.assert_allclose(to_numpy(jacobi.x), ref, rtol=1e-7, atol=1e-9)


def test_cg_negative_curvature_reports_the_direction():
    A = np.diag([2.0, 1.0, -1.0])
    b = np.array([1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="not positive definite"):
        core.cg(A, b)
    res = core.cg(A, b, stop_on_negative_curvature=True)
    assert res.status == "negative_curvature"
    d = res.direction
    assert res.curvature == pytest.approx(d @ A @ d) and res.curvature <= 0
    # x is the last iterate before d: a CG iterate, so A x - b is its residual
    np.testing.assert_allclose(res.residual, A @ res.x - b, atol=1e-12)


def test_cg_zero_right_hand_side_and_bad_input():
    res = core.cg(np.eye(3), np.zeros(3))
    assert res.status == "converged" and res.n_iter == 0 and not res.x.any()
    with pytest.raises(ValueError, match="non-finite"):
        core.cg(np.eye(2), np.array([1.0, np.inf]))
    with pytest.raises(ValueError, match="tol"):
        core.cg(np.eye(2), np.ones(2), tol=-1)


def test_newton_cg_direction_alg_7_1(rng):
    A = spd(rng, np.linspace(1, 10, 12))
    g = rng.standard_normal(12)
    g_norm = np.linalg.norm(g)
    out = core.newton_cg_direction(lambda v: A @ v, g)
    # forcing term by default: ||A p + g|| <= min(0.5, sqrt||g||) ||g||
    eta = min(0.5, np.sqrt(g_norm))
    assert np.linalg.norm(A @ out.p + g) <= eta * g_norm * (1 + 1e-12)
    assert out.cg.status == "converged"
    # negative curvature along -g itself: the direction is -g
    neg = core.newton_cg_direction(lambda v: -v, g)
    assert neg.cg.status == "negative_curvature" and neg.cg.n_iter == 0
    np.testing.assert_array_equal(neg.p, -g)
    # negative curvature later: the last CG iterate, a descent direction
    B = np.diag([1.0, 2.0, -1.0])
    later = core.newton_cg_direction(lambda v: B @ v, np.array([1.0, 1.0, 1e-3]), tol=1e-12)
    assert later.cg.status == "negative_curvature" and later.cg.n_iter >= 1
    assert np.array([1.0, 1.0, 1e-3]) @ later.p < 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_steihaug_diagnostics(backend, rng):
    B = spd(rng, np.linspace(1, 5, 8))
    g = rng.standard_normal(8)
    Bt, gt = to_backend(backend, B, g)
    p_newton = np.linalg.solve(B, -g)

    inside = core.steihaug(gt, lambda v: Bt @ v, 10 * np.linalg.norm(p_newton), tol=1e-12)
    assert inside.status == "converged" and not inside.hits_boundary
    np.testing.assert_allclose(to_numpy(inside.p), p_newton, rtol=1e-8)

    radius = 0.3 * np.linalg.norm(p_newton)
    edge = core.steihaug(gt, lambda v: Bt @ v, radius)
    p = to_numpy(edge.p)
    assert edge.status == "boundary" and edge.hits_boundary and not edge.negative_curvature
    assert np.linalg.norm(p) == pytest.approx(radius, rel=1e-10)
    assert edge.model_value == pytest.approx(g @ p + 0.5 * p @ B @ p, rel=1e-10, abs=1e-12)
    assert edge.n_iter == edge.n_hvp >= 1


def test_steihaug_negative_curvature_lands_on_the_boundary():
    B = np.diag([1.0, -2.0])
    g = np.array([0.1, 1.0])  # d = -g has d.Bd = 0.01 - 2 < 0
    res = core.steihaug(g, lambda v: B @ v, 2.0)
    assert res.negative_curvature and res.hits_boundary
    assert np.linalg.norm(res.p) == pytest.approx(2.0)
    assert res.model_value == pytest.approx(g @ res.p + 0.5 * res.p @ B @ res.p)


def test_boundary_roots():
    z, d = np.array([0.5, 0.0]), np.array([1.0, 1.0])
    lo, hi = core.boundary_roots(np, z, d, 2.0)
    for tau in (lo, hi):
        assert np.linalg.norm(z + tau * d) == pytest.approx(2.0)
    assert lo < 0 < hi


def test_cg_keeps_torch_dtype_and_device():
    A = torch.diag(torch.arange(1.0, 6.0))
    b = torch.ones(5)
    res = core.cg(lambda v: A @ v, b)
    assert res.x.dtype == torch.float32 and res.x.device == b.device
