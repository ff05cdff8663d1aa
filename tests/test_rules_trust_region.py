"""Trust-region subproblem rules: Cauchy point, dogleg, CG-Steihaug (N&W ch. 4, Alg. 7.2).

Independent references: the minimiser along -g found by
``scipy.optimize.minimize_scalar``, the Newton step from ``numpy.linalg.solve``,
the model evaluated directly in NumPy, and N&W's guarantees: every step stays
in the ball and achieves the Cauchy decrease (4.20)
``m(0) - m(p) >= ||g||/2 * min(radius, ||g||/||B||)``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import BACKENDS, to_backend, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from taylornet.rules import cauchy_point, dogleg_step, steihaug_cg
from taylornet.rules.trust_region import _steihaug_cg

N = 6


def model(g, B, p):
    """m(p) = g.p + p.B p / 2, in NumPy."""
    g, B, p = (np.asarray(to_numpy(a), dtype=np.float64) for a in (g, B, p))
    return g @ p + 0.5 * p @ B @ p


def random_symmetric(rng, eigenvalues):
    n = len(eigenvalues)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (Q * np.asarray(eigenvalues)) @ Q.T


def cauchy_decrease(g, B, radius):
    """The right-hand side of N&W (4.20), with ||B|| the spectral norm."""
    g_norm = np.linalg.norm(g)
    return 0.5 * g_norm * min(radius, g_norm / np.linalg.norm(B, 2))


class CountingHvp:
    def __init__(self, B):
        self.B = B
        self.calls = 0

    def __call__(self, v):
        self.calls += 1
        return self.B @ v


def snapshot(*arrays):
    return [to_numpy(a).copy() for a in arrays]


def assert_unchanged(before, *arrays):
    for b, a in zip(before, arrays, strict=True):
        np.testing.assert_array_equal(to_numpy(a), b)


@pytest.fixture
def spd(rng):
    B = random_symmetric(rng, np.linspace(1, 8, N))
    g = rng.standard_normal(N)
    return g, B


@pytest.fixture
def indefinite(rng):
    B = random_symmetric(rng, [-2.0, -0.5, 1.0, 2.0, 4.0, 8.0])
    g = rng.standard_normal(N)
    return g, B


# --- Cauchy point --------------------------------------------------------------


def minimiser_along_minus_g(g, B, radius):
    """argmin of m(-t g/||g||) over t in [0, radius], by bounded Brent search."""
    u = -g / np.linalg.norm(g)
    res = minimize_scalar(
        lambda t: model(g, B, t * u), bounds=(0, radius), method="bounded",
        options={"xatol": 1e-12},
    )
    t = res.x
    # Brent never evaluates the end points exactly; the minimiser may lie on one.
    t = min((0.0, t, radius), key=lambda s: model(g, B, s * u))
    return t * u


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("radius", [0.05, 0.3, 1.0, 10.0])
@pytest.mark.parametrize("case", ["spd", "indefinite"])
def test_cauchy_point_is_the_minimiser_along_minus_g(backend, radius, case, request):
    g_np, B_np = request.getfixturevalue(case)
    g, B = to_backend(backend, g_np, B_np)
    before = snapshot(g, B)
    p = cauchy_point(g, B, radius)
    assert_unchanged(before, g, B)
    assert type(p) is type(g)
    want = minimiser_along_minus_g(g_np, B_np, radius)
    np.testing.assert_allclose(to_numpy(p), want, rtol=0, atol=1e-7)
    assert np.linalg.norm(to_numpy(p)) <= radius * (1 + 1e-12)
    assert model(g, B, p) < 0


def test_cauchy_point_negative_curvature_goes_to_the_boundary():
    g = np.array([1.0, 0.0])
    B = np.diag([-1.0, 3.0])  # g.Bg < 0: tau = 1
    np.testing.assert_allclose(cauchy_point(g, B, 0.7), [-0.7, 0.0], rtol=1e-15)


def test_cauchy_point_closed_form_interior():
    # g.Bg = 4, ||g|| = 1: the unconstrained minimiser along -g is -g/4; inside radius 1.
    g = np.array([1.0, 0.0])
    B = np.diag([4.0, 1.0])
    np.testing.assert_allclose(cauchy_point(g, B, 1.0), [-0.25, 0.0], rtol=1e-15)
    np.testing.assert_allclose(cauchy_point(g, B, 0.1), [-0.1, 0.0], rtol=1e-15)


def test_cauchy_point_zero_gradient():
    np.testing.assert_array_equal(cauchy_point(np.zeros(3), np.eye(3), 1.0), np.zeros(3))


# --- dogleg --------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_dogleg_large_radius_is_the_newton_step(backend, spd):
    g_np, B_np = spd
    g, B = to_backend(backend, g_np, B_np)
    before = snapshot(g, B)
    p = dogleg_step(g, B, 1e3)
    assert_unchanged(before, g, B)
    assert type(p) is type(g)
    np.testing.assert_allclose(to_numpy(p), np.linalg.solve(B_np, -g_np), rtol=1e-12, atol=1e-14)


def test_dogleg_small_radius_is_scaled_steepest_descent(spd):
    g, B = spd
    radius = 1e-3
    p = dogleg_step(g, B, radius)
    np.testing.assert_allclose(p, -radius * g / np.linalg.norm(g), rtol=1e-13)
    np.testing.assert_allclose(p, cauchy_point(g, B, radius), rtol=1e-13)


def on_dogleg_path(g, B, p, atol=1e-10):
    """Whether p = -t g with 0 <= t <= t_U, or p = p_U + s (p_B - p_U) with 0 <= s <= 1."""
    p_U = -(g @ g) / (g @ B @ g) * g
    p_B = np.linalg.solve(B, -g)
    t = -(p @ g) / (g @ g)
    if 0 <= t <= 1 + 1e-12 and np.linalg.norm(p + t * g) <= atol * (1 + np.linalg.norm(g)):
        if np.linalg.norm(p) <= np.linalg.norm(p_U) + atol:
            return True
    d = p_B - p_U
    s = ((p - p_U) @ d) / (d @ d)
    return -1e-12 <= s <= 1 + 1e-12 and np.linalg.norm(p_U + s * d - p) <= atol


def test_dogleg_path_is_continuous_in_the_radius(spd):
    g, B = spd
    p_B = np.linalg.solve(B, -g)
    radii = np.linspace(1e-3, 1.5 * np.linalg.norm(p_B), 2001)
    steps = np.array([dogleg_step(g, B, r) for r in radii])
    norms = np.linalg.norm(steps, axis=1)
    # On the boundary until the full step fits, then the full step (N&W Lemma 4.2:
    # ||p|| increases along the path, so the boundary is met at most once).
    np.testing.assert_allclose(norms, np.minimum(radii, np.linalg.norm(p_B)), rtol=1e-12)
    assert all(on_dogleg_path(g, B, p) for p in steps)
    # No jumps: consecutive steps are close when consecutive radii are.
    jumps = np.linalg.norm(np.diff(steps, axis=0), axis=1)
    assert jumps.max() <= 20 * (radii[1] - radii[0])


def test_dogleg_decrease_at_least_the_cauchy_point(spd):
    g, B = spd
    p_B = np.linalg.solve(B, -g)
    for radius in np.linspace(0.01, 1.2, 60) * np.linalg.norm(p_B):
        p = dogleg_step(g, B, radius)
        assert model(g, B, p) <= model(g, B, cauchy_point(g, B, radius)) + 1e-14


def test_dogleg_rejects_indefinite_B(indefinite):
    g, B = indefinite
    with pytest.raises(ValueError, match="positive definite"):
        dogleg_step(g, B, 1.0)


# --- CG-Steihaug ---------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_steihaug_large_radius_is_the_newton_step(backend, spd):
    g_np, B_np = spd
    g, B = to_backend(backend, g_np, B_np)
    before = snapshot(g, B)
    hvp = CountingHvp(B)
    result = _steihaug_cg(g, hvp, 1e3)
    assert_unchanged(before, g, B)
    assert type(result.p) is type(g)
    assert result.status == "converged"
    assert result.n_hvp == hvp.calls <= N
    np.testing.assert_allclose(to_numpy(result.p), np.linalg.solve(B_np, -g_np), rtol=1e-9)
    np.testing.assert_allclose(result.model_value, model(g, B, result.p), rtol=1e-10)
    p_public = steihaug_cg(g, lambda v: B @ v, 1e3)
    np.testing.assert_array_equal(to_numpy(p_public), to_numpy(result.p))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fraction", [0.05, 0.5, 0.95])
def test_steihaug_small_radius_lands_on_the_boundary(backend, fraction, spd):
    g_np, B_np = spd
    radius = fraction * np.linalg.norm(np.linalg.solve(B_np, g_np))
    g, B = to_backend(backend, g_np, B_np)
    result = _steihaug_cg(g, lambda v: B @ v, radius)
    assert result.status == "boundary"
    assert result.hits_boundary
    assert abs(np.linalg.norm(to_numpy(result.p)) - radius) <= 1e-10 * radius
    np.testing.assert_allclose(result.model_value, model(g, B, result.p), rtol=1e-10)
    assert model(g, B, result.p) <= model(g, B, cauchy_point(g, B, radius)) + 1e-14


def test_steihaug_stops_at_negative_curvature():
    """B = diag(1, 2, ..., -1): CG first sees positive curvature, then the negative one.

    The boundary step found there is better than the Cauchy point.
    """
    B = np.diag([1.0, 2.0, 3.0, -1.0])
    g = np.array([1.0, 1.0, 1.0, 0.1])
    radius = 5.0
    hvp = CountingHvp(B)
    result = _steihaug_cg(g, hvp, radius)
    assert result.status == "negative_curvature"
    assert result.n_hvp == hvp.calls > 1
    assert abs(np.linalg.norm(result.p) - radius) <= 1e-10 * radius
    np.testing.assert_allclose(result.model_value, model(g, B, result.p), rtol=1e-10)
    assert model(g, B, result.p) < model(g, B, cauchy_point(g, B, radius)) - 1e-3
    # An indefinite B with a large radius still ends on the boundary, never at a saddle.
    far = _steihaug_cg(g, B.__matmul__, 1e3)
    assert far.status == "negative_curvature"
    assert abs(np.linalg.norm(far.p) - 1e3) <= 1e-7


def test_steihaug_first_direction_with_negative_curvature_is_the_cauchy_point():
    g = np.array([1.0, 0.5])
    B = np.diag([-1.0, -2.0])
    p = steihaug_cg(g, B.__matmul__, 0.3)
    np.testing.assert_allclose(p, cauchy_point(g, B, 0.3), rtol=1e-13)


def test_steihaug_tolerance_is_relative_to_the_gradient(rng):
    """Scaling g by c scales the whole CG iteration: same number of products, p scaled by c."""
    n = 30
    g = rng.standard_normal(n)
    B = np.diag(np.logspace(0, 1, n))  # tol=1e-3 stops well before n steps
    base = _steihaug_cg(g, B.__matmul__, 1e6, tol=1e-3)
    scaled = _steihaug_cg(1e6 * g, B.__matmul__, 1e12, tol=1e-3)
    assert base.status == scaled.status == "converged"
    assert base.n_hvp == scaled.n_hvp < n
    np.testing.assert_allclose(scaled.p, 1e6 * base.p, rtol=1e-9)
    r = B @ base.p + g
    assert np.linalg.norm(r) <= 1e-3 * np.linalg.norm(g)


def test_steihaug_max_iter_and_zero_gradient(spd):
    g, B = spd
    hvp = CountingHvp(B)
    result = _steihaug_cg(g, hvp, 1e3, max_iter=2)
    assert result.status == "max_iter"
    assert hvp.calls == result.n_hvp == 2
    zero = _steihaug_cg(np.zeros(N), hvp, 1.0)
    assert zero.n_hvp == 0 and zero.status == "converged"
    np.testing.assert_array_equal(zero.p, np.zeros(N))


# --- all three: properties, back ends, errors ----------------------------------


@st.composite
def subproblems(draw, definite):
    """A random symmetric B (SPD or not), a gradient and a radius."""
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(1, 8))
    rng = np.random.default_rng(seed)
    low = 0.1 if definite else -5.0
    eigenvalues = rng.uniform(low, 5.0, n) * 10.0 ** draw(st.integers(-2, 2))
    B = random_symmetric(rng, eigenvalues)
    g = rng.standard_normal(n) * 10.0 ** draw(st.integers(-3, 3))
    radius = 10.0 ** draw(st.floats(-3, 3))
    return g, B, radius


def round_off(g, B, radius):
    """A bound on the round-off in model values of steps with ||p|| <= radius."""
    return 1e-9 * (np.linalg.norm(g) * radius + np.linalg.norm(B, 2) * radius**2)


def assert_good_step(g, B, p, radius):
    assert np.linalg.norm(p) <= radius * (1 + 1e-9)
    assert -model(g, B, p) >= cauchy_decrease(g, B, radius) - round_off(g, B, radius)


@settings(max_examples=60, deadline=None)
@given(problem=subproblems(definite=True))
def test_property_spd_steps_stay_in_the_ball_and_decrease_the_model(problem):
    g, B, radius = problem
    p_cauchy = cauchy_point(g, B, radius)
    p_dogleg = dogleg_step(g, B, radius)
    p_steihaug = steihaug_cg(g, B.__matmul__, radius)
    for p in (p_cauchy, p_dogleg, p_steihaug):
        assert_good_step(g, B, p, radius)
    m_cauchy = model(g, B, p_cauchy)
    tol = round_off(g, B, radius)
    assert model(g, B, p_dogleg) <= m_cauchy + tol
    assert model(g, B, p_steihaug) <= m_cauchy + tol


@settings(max_examples=60, deadline=None)
@given(problem=subproblems(definite=False))
def test_property_indefinite_steps_stay_in_the_ball_and_decrease_the_model(problem):
    g, B, radius = problem
    p_cauchy = cauchy_point(g, B, radius)
    result = _steihaug_cg(g, B.__matmul__, radius)
    for p in (p_cauchy, result.p):
        assert_good_step(g, B, p, radius)
    tol = round_off(g, B, radius)
    assert model(g, B, result.p) <= model(g, B, p_cauchy) + tol
    if result.status in ("boundary", "negative_curvature"):
        assert abs(np.linalg.norm(result.p) - radius) <= 1e-9 * radius


@pytest.mark.parametrize("radius", [0.1, 0.6, 5.0])
def test_numpy_and_torch_agree(radius, indefinite, spd):
    for g_np, B_np in (spd, indefinite):
        g_t, B_t = to_backend("torch", g_np, B_np)
        pairs = [
            (cauchy_point(g_np, B_np, radius), cauchy_point(g_t, B_t, radius)),
            (steihaug_cg(g_np, B_np.__matmul__, radius), steihaug_cg(g_t, B_t.__matmul__, radius)),
        ]
        if np.all(np.linalg.eigvalsh(B_np) > 0):
            pairs.append((dogleg_step(g_np, B_np, radius), dogleg_step(g_t, B_t, radius)))
        for p_np, p_t in pairs:
            assert isinstance(p_t, torch.Tensor) and p_t.dtype == torch.float64
            np.testing.assert_allclose(p_t.numpy(), p_np, rtol=0, atol=1e-10)


def test_float32_preserved(spd):
    g, B = (torch.tensor(a, dtype=torch.float32) for a in spd)
    assert cauchy_point(g, B, 0.5).dtype == torch.float32
    assert dogleg_step(g, B, 0.5).dtype == torch.float32
    assert steihaug_cg(g, B.__matmul__, 0.5).dtype == torch.float32


@pytest.mark.parametrize("radius", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_radius_is_an_error(radius, spd):
    g, B = spd
    for call in (
        lambda: cauchy_point(g, B, radius),
        lambda: dogleg_step(g, B, radius),
        lambda: steihaug_cg(g, B.__matmul__, radius),
    ):
        with pytest.raises(ValueError, match="radius"):
            call()


def test_shape_and_finiteness_errors(spd):
    g, B = spd
    with pytest.raises(ValueError, match="B must have shape"):
        cauchy_point(g, B[:-1], 1.0)
    with pytest.raises(ValueError, match="B must have shape"):
        dogleg_step(g[:-1], B, 1.0)
    with pytest.raises(ValueError, match="1-D"):
        steihaug_cg(B, B.__matmul__, 1.0)
    g_bad = g.copy()
    g_bad[0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        cauchy_point(g_bad, B, 1.0)
    with pytest.raises(ValueError, match="non-finite"):
        steihaug_cg(g_bad, B.__matmul__, 1.0)
    with pytest.raises(ValueError, match="non-finite"):
        dogleg_step(g, B * np.inf, 1.0)
    with pytest.raises(ValueError, match="non-finite"):
        steihaug_cg(g, lambda v: v * np.nan, 1.0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_trust_region_rules_stay_on_cuda():
    g = torch.tensor([1.0, -2.0, 0.5], device="cuda")
    B = torch.diag(torch.tensor([1.0, 2.0, 3.0], device="cuda"))
    assert cauchy_point(g, B, 0.5).device.type == "cuda"
    assert dogleg_step(g, B, 0.5).device.type == "cuda"
    assert steihaug_cg(g, B.__matmul__, 0.5).device.type == "cuda"
