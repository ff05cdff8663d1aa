"""BFGS, DFP and SR1 updates.

Independent references:

* SymPy on 2x2 symbols: (6.17) in N&W's *product* form (the rule uses the
  expanded rank-two form), and the direct BFGS (6.19) and inverse DFP (6.16)
  updates *derived* by SymPy as matrix inverses of the product forms (6.17) and
  (6.15) -- so no formula the rules use is restated;
* NumPy products of the literal formulas in higher dimension;
* defining properties: secant equations, symmetry, positive definiteness when
  y.s > 0 (hypothesis), the BFGS/DFP duality, skips, and SR1's recovery of a
  quadratic's Hessian in n steps (N&W Theorem 6.1).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
from conftest import BACKENDS, to_backend, to_numpy
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from taylornet.rules import bfgs_inverse_update, bfgs_update, dfp_inverse_update, sr1_update

# --- SymPy references on 2x2 symbols -------------------------------------------

_a, _b, _c = sp.symbols("a b c", real=True)
_s = sp.Matrix(sp.symbols("s1 s2", real=True))
_y = sp.Matrix(sp.symbols("y1 y2", real=True))
_M = sp.Matrix([[_a, _b], [_b, _c]])  # symmetric H or B
_I = sp.eye(2)
_rho = 1 / (_y.T * _s)[0, 0]


def _bfgs_inverse_product(H):
    """N&W (6.17) exactly as printed: (I - rho s y^T) H (I - rho y s^T) + rho s s^T."""
    return (_I - _rho * _s * _y.T) * H * (_I - _rho * _y * _s.T) + _rho * _s * _s.T


def _dfp_direct_product(B):
    """N&W (6.15): (I - rho y s^T) B (I - rho s y^T) + rho y y^T."""
    return (_I - _rho * _y * _s.T) * B * (_I - _rho * _s * _y.T) + _rho * _y * _y.T


_ARGS = [_a, _b, _c, *_s, *_y]
# B_{k+1} = (H_{k+1})^{-1} with H_k = B_k^{-1}: SymPy derives (6.19) ...
_BFGS_DIRECT = sp.lambdify(_ARGS, _bfgs_inverse_product(_M.inv()).inv())
# ... and (6.16) as the inverse of (6.15).
_DFP_INVERSE = sp.lambdify(_ARGS, _dfp_direct_product(_M.inv()).inv())
_BFGS_INVERSE = sp.lambdify(_ARGS, _bfgs_inverse_product(_M))
_v = _y - _M * _s
_SR1 = sp.lambdify(_ARGS, _M + _v * _v.T / (_v.T * _s)[0, 0])


def test_sympy_references_satisfy_the_secant_equations():
    """Sanity of the references themselves, symbolically."""
    assert sp.simplify(_bfgs_inverse_product(_M) * _y - _s) == sp.zeros(2, 1)
    assert sp.simplify(_dfp_direct_product(_M) * _s - _y) == sp.zeros(2, 1)
    sr1 = _M + _v * _v.T / (_v.T * _s)[0, 0]
    assert sp.simplify(sr1 * _s - _y) == sp.zeros(2, 1)


def random_2x2_case(rng):
    """A symmetric positive definite 2x2 matrix and a pair with y.s > 0."""
    L = rng.standard_normal((2, 2))
    M = L @ L.T + 0.5 * np.eye(2)
    s, y = rng.standard_normal(2), rng.standard_normal(2)
    if y @ s < 0:
        y = -y
    return M, s, y


@pytest.mark.parametrize(
    ("rule", "reference"),
    [
        (bfgs_inverse_update, _BFGS_INVERSE),
        (bfgs_update, _BFGS_DIRECT),
        (dfp_inverse_update, _DFP_INVERSE),
        (sr1_update, _SR1),
    ],
    ids=["bfgs_inverse(6.17)", "bfgs(6.19)", "dfp_inverse(6.16)", "sr1(6.24)"],
)
def test_matches_sympy_reference(rule, reference, rng):
    for _ in range(25):
        M, s, y = random_2x2_case(rng)
        if abs(y @ s) < 0.05 * np.linalg.norm(s) * np.linalg.norm(y):
            continue  # keep the references well conditioned
        want = np.array(reference(M[0, 0], M[0, 1], M[1, 1], *s, *y), dtype=float)
        np.testing.assert_allclose(rule(M, s, y), want, rtol=1e-9, atol=1e-10)


# --- literal formulas in higher dimension ----------------------------------------


def spd(rng, n):
    L = rng.standard_normal((n, n))
    return L @ L.T + np.eye(n)


def curvature_pair(rng, n):
    """s and y = A s + noise with y.s > 0."""
    s = rng.standard_normal(n)
    y = spd(rng, n) @ s + 0.1 * rng.standard_normal(n)
    assert y @ s > 0
    return s, y


def test_bfgs_inverse_is_the_product_form_6_17(rng):
    H, (s, y) = spd(rng, 6), curvature_pair(rng, 6)
    rho = 1 / (y @ s)
    V = np.eye(6) - rho * np.outer(y, s)
    np.testing.assert_allclose(
        bfgs_inverse_update(H, s, y), V.T @ H @ V + rho * np.outer(s, s), rtol=1e-11, atol=1e-12
    )


def test_bfgs_direct_and_inverse_are_inverses(rng):
    """Sherman-Morrison-Woodbury: (6.19) applied to B is the inverse of (6.17) applied to B^{-1}."""
    B, (s, y) = spd(rng, 5), curvature_pair(rng, 5)
    B_new = bfgs_update(B, s, y)
    H_new = bfgs_inverse_update(np.linalg.inv(B), s, y)
    np.testing.assert_allclose(B_new @ H_new, np.eye(5), atol=1e-10)


def test_dfp_is_the_dual_of_bfgs(rng):
    """Common mistake: DFP's inverse update is BFGS's direct update with s <-> y, B <-> H."""
    H, (s, y) = spd(rng, 5), curvature_pair(rng, 5)
    np.testing.assert_allclose(dfp_inverse_update(H, s, y), bfgs_update(H, y, s), rtol=1e-12)
    # ... and it is not the BFGS inverse update (the confusion the book warns of).
    assert not np.allclose(dfp_inverse_update(H, s, y), bfgs_inverse_update(H, s, y))


def test_dfp_inverse_inverts_the_dfp_direct_update_6_15(rng):
    B, (s, y) = spd(rng, 5), curvature_pair(rng, 5)
    rho = 1 / (y @ s)
    W = np.eye(5) - rho * np.outer(s, y)
    B_new = W.T @ B @ W + rho * np.outer(y, y)  # (6.15)
    H_new = dfp_inverse_update(np.linalg.inv(B), s, y)
    np.testing.assert_allclose(H_new @ B_new, np.eye(5), atol=1e-10)


# --- properties (hypothesis) -----------------------------------------------------

N = 4
entries = st.floats(-3, 3, allow_nan=False, allow_subnormal=False)
vec = arrays(np.float64, N, elements=entries)
mat = arrays(np.float64, (N, N), elements=entries)


@settings(max_examples=60, deadline=None)
@given(L=mat, s=vec, y=vec)
def test_bfgs_family_secant_symmetry_positive_definiteness(L, s, y):
    M = L @ L.T + np.eye(N)
    ns, ny = np.linalg.norm(s), np.linalg.norm(y)
    assume(ns > 1e-2 and ny > 1e-2 and y @ s > 0.1 * ns * ny)
    for rule, secant in (
        (bfgs_inverse_update, lambda H: (H @ y, s)),
        (dfp_inverse_update, lambda H: (H @ y, s)),
        (bfgs_update, lambda B: (B @ s, y)),
    ):
        new = rule(M, s, y)
        lhs, rhs = secant(new)
        scale = np.abs(new).max() * (ns + ny) + ns + ny
        np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-10 * scale)
        np.testing.assert_allclose(new, new.T, rtol=0, atol=1e-12 * np.abs(new).max())
        np.linalg.cholesky((new + new.T) / 2)  # raises unless positive definite


@settings(max_examples=60, deadline=None)
@given(L=mat, s=vec, y=vec)
def test_sr1_secant_and_symmetry(L, s, y):
    B = L + L.T  # SR1 allows indefinite B
    v = y - B @ s
    assume(abs(v @ s) > 0.1 * np.linalg.norm(s) * np.linalg.norm(v) > 1e-3)
    new = sr1_update(B, s, y)
    scale = np.abs(new).max() * np.linalg.norm(s) + np.linalg.norm(y) + 1
    np.testing.assert_allclose(new @ s, y, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(new, new.T, rtol=0, atol=1e-12 * np.abs(new).max())


@pytest.mark.parametrize("rule", [bfgs_inverse_update, bfgs_update, dfp_inverse_update])
@pytest.mark.parametrize(
    ("s", "y"),
    [
        ([1.0, 2.0, 0.0], [-1.0, -1.5, 0.3]),  # y.s < 0
        ([1.0, 0.0, 0.0], [0.0, 1.0, 2.0]),  # y.s = 0 exactly
        ([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),  # no step
    ],
    ids=["negative", "zero", "zero_step"],
)
def test_bfgs_family_skips_without_curvature(rule, s, y, rng):
    """Common mistake: y.s <= 0 (possible after backtracking) -> the input, unchanged."""
    M = spd(rng, 3)
    s, y = np.array(s), np.array(y)
    assert y @ s <= 0
    before = M.copy()
    out = rule(M, s, y)
    np.testing.assert_array_equal(out, before)
    np.testing.assert_array_equal(M, before)


@pytest.mark.parametrize("r", [1e-8, 1e-4])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_sr1_skips_near_zero_denominator(r, scale, rng):
    """(6.26): B unchanged iff |s.v| < r ||s|| ||v||, v = y - B s. The pair is
    built so that s.v / (||s|| ||v||) is exactly 0.5 r (skip) or 2 r (update),
    at several scales of s (the test is scale invariant)."""
    B = spd(rng, 4)
    s = scale * rng.standard_normal(4)
    w = rng.standard_normal(4)
    w = 1e3 * (w - (w @ s) / (s @ s) * s)  # orthogonal to s
    for ratio, skipped in ((0.5 * r, True), (2 * r, False)):
        # v = a s/||s|| + w has cos(s, v) = a / sqrt(a^2 + ||w||^2) = ratio.
        a = ratio * np.linalg.norm(w) / np.sqrt(1 - ratio**2)
        v = a * s / np.linalg.norm(s) + w
        y = B @ s + v
        out = sr1_update(B, s, y, r=r)
        if skipped:
            np.testing.assert_array_equal(out, B)
        else:
            assert not np.allclose(out, B)
            np.testing.assert_allclose(out @ s, y, rtol=1e-3)


def test_sr1_exact_secant_is_unchanged_not_nan(rng):
    B, s = spd(rng, 3), rng.standard_normal(3)
    out = sr1_update(B, s, B @ s)
    np.testing.assert_array_equal(out, B)


@pytest.mark.parametrize("definite", [True, False])
def test_sr1_recovers_a_quadratic_hessian_in_n_steps(definite, rng):
    """N&W Theorem 6.1: with linearly independent steps, B_n = A exactly, even
    for an indefinite A (so SR1 can be indefinite)."""
    n = 5
    M = rng.standard_normal((n, n))
    A = spd(rng, n) if definite else M + M.T
    B = np.eye(n)
    for s in rng.standard_normal((n, n)):
        B_next = sr1_update(B, s, A @ s)
        assert not np.array_equal(B_next, B)  # no skips along the way
        B = B_next
    np.testing.assert_allclose(B, A, atol=1e-8)
    if not definite:
        assert np.linalg.eigvalsh(B)[0] < 0


def test_bfgs_inverse_recovers_inverse_hessian_with_conjugate_steps(rng):
    """Hereditary property: with A-conjugate steps (as exact line searches on a
    quadratic produce) and y = A s, each update keeps H y_j = s_j for the
    earlier pairs, so n BFGS updates of H_0 = I give H_n = A^{-1}."""
    n = 4
    A = spd(rng, n)
    # A-conjugate directions: Gram-Schmidt in the A inner product.
    dirs = []
    for v in rng.standard_normal((n, n)):
        for d in dirs:
            v = v - (v @ A @ d) / (d @ A @ d) * d
        dirs.append(v)
    H = np.eye(n)
    for s in dirs:
        H = bfgs_inverse_update(H, s, A @ s)
    np.testing.assert_allclose(H, np.linalg.inv(A), atol=1e-10)


# --- shapes, back ends, mutation ----------------------------------------------------

ALL_RULES = [bfgs_inverse_update, bfgs_update, dfp_inverse_update, sr1_update]


@pytest.mark.parametrize("rule", ALL_RULES)
def test_shape_errors(rule):
    with pytest.raises(ValueError, match=r"must be an n x n matrix matching s and y \(n = 3\)"):
        rule(np.eye(2), np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match=r"s\(3,\), y\(2,\)"):
        rule(np.eye(3), np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="1-D"):
        rule(np.eye(3), np.ones((3, 1)), np.ones((3, 1)))


@pytest.mark.parametrize("rule", ALL_RULES)
@pytest.mark.parametrize("skip", [False, True])
def test_numpy_and_torch_agree_and_inputs_unchanged(rule, skip, rng):
    M_np = spd(rng, 4)
    s_np, y_np = curvature_pair(rng, 4)
    if skip:
        y_np = -y_np if rule is not sr1_update else M_np @ s_np
    want = rule(M_np.copy(), s_np.copy(), y_np.copy())
    for backend in BACKENDS:
        M, s, y = to_backend(backend, M_np, s_np, y_np)
        out = rule(M, s, y)
        assert type(out) is type(M)
        np.testing.assert_allclose(to_numpy(out), want, rtol=0, atol=1e-10)
        for a, a_np in ((M, M_np), (s, s_np), (y, y_np)):
            np.testing.assert_array_equal(to_numpy(a), a_np)


@pytest.mark.parametrize("rule", ALL_RULES)
def test_float32_torch_dtype_preserved(rule):
    M = torch.eye(3)
    s = torch.tensor([1.0, 0.0, 0.0])
    y = torch.tensor([2.0, 1.0, 0.0])
    assert rule(M, s, y).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
@pytest.mark.parametrize("rule", ALL_RULES)
def test_stays_on_cuda(rule):
    M = torch.eye(3, device="cuda", dtype=torch.float64)
    s = torch.tensor([1.0, 0.0, 0.0], device="cuda", dtype=torch.float64)
    y = torch.tensor([2.0, 1.0, 0.0], device="cuda", dtype=torch.float64)
    out = rule(M, s, y)
    assert out.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), rule(M.cpu(), s.cpu(), y.cpu()))
