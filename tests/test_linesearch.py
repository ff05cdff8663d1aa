"""``taylornet.linesearch``: strong Wolfe and Armijo backtracking.

Every accepted step is re-checked from scratch (a fresh evaluation of f and
grad f at ``x + alpha p``) against the conditions of N&W (3.4) and (3.7), next
to ``scipy.optimize.line_search`` (also a strong Wolfe search). Failures must
come back as ``success=False`` with a finite point, never as an exception or a
NaN.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.optimize as so
import torch
from conftest import BACKENDS, to_backend, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st

from taylornet.linesearch import LineSearchResult, backtracking, strong_wolfe

C1 = 1e-4


# -- independent checks ----------------------------------------------------------


def wolfe_holds(f, grad, x, p, alpha, c1=C1, c2=0.9):
    """(sufficient decrease, strong curvature) recomputed in NumPy from scratch."""
    x, p = to_numpy(x), to_numpy(p)
    slope0 = float(to_numpy(grad(x)) @ p)
    x_new = x + alpha * p
    f_new, slope = float(f(x_new)), float(to_numpy(grad(x_new)) @ p)
    armijo = f_new <= float(f(x)) + c1 * alpha * slope0
    curvature = abs(slope) <= c2 * abs(slope0)
    return armijo, curvature


def spd_matrix(rng, n, log_cond=3.0):
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    eigs = 10.0 ** rng.uniform(0.0, log_cond, n)
    return (q * eigs) @ q.T


def quadratic(a, b):
    def f(x):
        return 0.5 * x @ (a @ x) - b @ x

    def grad(x):
        return a @ x - b

    return f, grad


def counted(f, grad):
    """``fun_and_grad`` that counts its calls."""
    calls = []

    def fun_and_grad(x):
        calls.append(1)
        return f(x), grad(x)

    return fun_and_grad, calls


def assert_consistent(res, f, grad, x, p):
    """The result's x, f and g belong to its alpha and are finite."""
    assert isinstance(res, LineSearchResult)
    assert math.isfinite(res.f)
    np.testing.assert_allclose(to_numpy(res.x), to_numpy(x) + res.alpha * to_numpy(p))
    assert res.f == pytest.approx(float(f(to_numpy(res.x))), rel=1e-12, abs=1e-14)
    if res.g is not None:
        assert np.all(np.isfinite(to_numpy(res.g)))
        np.testing.assert_allclose(to_numpy(res.g), grad(to_numpy(res.x)), rtol=1e-12, atol=1e-10)


# -- strong Wolfe ----------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_newton_step_on_quadratic_accepted_with_one_evaluation(backend, rng):
    a = spd_matrix(rng, 6)
    b = rng.standard_normal(6)
    f, grad = quadratic(a, b)
    x = rng.standard_normal(6)
    g = grad(x)
    p = -np.linalg.solve(a, g)
    fg, calls = counted(*quadratic(*to_backend(backend, a, b)))
    xb, gb, pb = to_backend(backend, x, g, p)
    res = strong_wolfe(fg, xb, f(x), gb, pb)
    assert res.success and res.alpha == 1.0
    assert res.nfev == res.ngev == len(calls) == 1
    np.testing.assert_allclose(to_numpy(res.x), np.linalg.solve(a, b), rtol=1e-10)
    assert type(res.x) is type(xb) and type(res.g) is type(xb)
    assert_consistent(res, f, grad, x, p)


@pytest.mark.parametrize("c2", [0.9, 0.1])
def test_rosenbrock_steps_satisfy_strong_wolfe_like_scipy(c2, rng):
    total_ours = total_scipy = 0
    for trial in range(40):
        n = int(rng.integers(2, 8))
        x = rng.uniform(-2.0, 2.0, n)
        g = so.rosen_der(x)
        if trial % 3 == 0:
            p = -g
        elif trial % 3 == 1:
            p = -g / np.linalg.norm(g)
        else:  # a modified-Newton direction, usually well scaled
            w, v = np.linalg.eigh(so.rosen_hess(x))
            p = -(v / np.maximum(np.abs(w), 1e-2)) @ (v.T @ g)
        fg, calls = counted(so.rosen, so.rosen_der)
        res = strong_wolfe(fg, x, so.rosen(x), g, p, c2=c2)
        assert res.success, res.message
        assert res.nfev == len(calls)
        assert wolfe_holds(so.rosen, so.rosen_der, x, p, res.alpha, c2=c2) == (True, True)
        assert_consistent(res, so.rosen, so.rosen_der, x, p)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alpha, fc, gc, *_ = so.line_search(
                so.rosen, so.rosen_der, x, p, g, so.rosen(x), c1=C1, c2=c2, maxiter=30
            )
        if alpha is not None:
            assert wolfe_holds(so.rosen, so.rosen_der, x, p, alpha, c2=c2) == (True, True)
        total_ours += res.nfev
        total_scipy += max(fc, gc)
    # Not more evaluations than scipy's search over the same set (seeded).
    assert total_ours <= total_scipy


@pytest.mark.parametrize("scale", [1e-6, 1e-2, 1.0, 1e3])
def test_quadratic_any_scale_like_scipy(scale, rng):
    """Directions far too short (extrapolation) or too long (zoom)."""
    a = spd_matrix(rng, 8)
    b = rng.standard_normal(8)
    f, grad = quadratic(a, b)
    x = rng.standard_normal(8)
    g = grad(x)
    p = -scale * g
    res = strong_wolfe(counted(f, grad)[0], x, f(x), g, p)
    assert res.success, res.message
    assert wolfe_holds(f, grad, x, p, res.alpha) == (True, True)
    assert_consistent(res, f, grad, x, p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alpha = so.line_search(f, grad, x, p, g, f(x), maxiter=30)[0]
    if alpha is not None:
        assert wolfe_holds(f, grad, x, p, alpha) == (True, True)


def test_extrapolation_is_efficient():
    """phi(alpha) = (alpha - 1000)^2 / 2 along p: needs alpha near 1000, few evaluations."""
    x = np.zeros(1)
    p = np.ones(1)

    def fg(z):
        return 0.5 * float((z[0] - 1000.0) ** 2), z - 1000.0

    res = strong_wolfe(fg, x, *fg(x), p, c2=0.1)
    assert res.success and abs(res.alpha - 1000.0) <= 100.0
    assert res.nfev <= 8


def test_max_growth_bounds_each_extrapolation():
    """phi'(alpha) stays negative up to alpha = 1e4: every trial grows by at most max_growth."""
    x, p = np.zeros(1), np.ones(1)
    trials = []

    def fg(z):
        trials.append(float(z[0]))
        return 0.5 * float((z[0] - 1e4) ** 2), z - 1e4

    for growth in (4.0, 9.0):
        trials.clear()
        res = strong_wolfe(fg, x, *fg(x), p, alpha0=1e-3, c2=0.1, max_growth=growth)
        steps = [t for t in trials[1:] if t > 0]
        assert res.success
        ratios = [(b - a) / (a - a0)
                  for a0, a, b in zip([0.0, *steps[:-2]], steps[:-1], steps[1:], strict=True)]
        assert max(ratios) <= growth + 1e-9
        if growth == 4.0:
            evaluations_at_4 = res.nfev
    assert res.nfev < evaluations_at_4  # larger growth, fewer extrapolations
    with pytest.raises(ValueError, match="max_growth"):
        strong_wolfe(fg, x, *fg(x), p, max_growth=1.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_beyond_a_barrier_is_never_returned(backend):
    """f = ||x - c||^2 / 2 for x[0] < 1.5 and NaN beyond; the unit step lands at x[0] = 2."""
    c = np.array([2.0, -1.0, 0.5])

    def f(z):
        z = to_numpy(z)
        return 0.5 * float((z - c) @ (z - c)) if z[0] < 1.5 else math.nan

    def grad(z):
        z = to_numpy(z)
        return z - c if z[0] < 1.5 else np.full_like(z, math.nan)

    def fg(z):
        return f(z), to_backend(backend, grad(z))

    x = np.zeros(3)
    p = c - x
    xb, gb, pb = to_backend(backend, x, grad(x), p)
    res = strong_wolfe(fg, xb, f(x), gb, pb)
    assert res.success, res.message
    assert 0.0 < res.alpha < 0.75
    assert wolfe_holds(f, grad, x, p, res.alpha) == (True, True)
    assert np.all(np.isfinite(to_numpy(res.x))) and np.all(np.isfinite(to_numpy(res.g)))

    # with c2 = 0.1 the search must close in on the barrier without crossing it
    res = strong_wolfe(fg, xb, f(x), gb, pb, c2=0.1)
    assert math.isfinite(res.f) and to_numpy(res.x)[0] < 1.5


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_everywhere_but_the_start_fails_cleanly(bad):
    x = np.array([1.0, 2.0])
    g = np.array([1.0, -1.0])

    def fg(z):
        return bad, np.full_like(z, bad)

    res = strong_wolfe(fg, x, 3.0, g, -g, max_iter=20)
    assert not res.success and res.alpha == 0.0
    assert res.x is x and res.f == 3.0 and res.g is g
    assert res.nfev == 20
    assert "x is unchanged" in res.message


def test_wrong_gradient_gives_failure_not_exception(rng):
    """g0 has the wrong sign, so p 'descends' only on paper: no step can be accepted."""
    a = spd_matrix(rng, 4, log_cond=1.0)
    b = rng.standard_normal(4)
    f, grad = quadratic(a, b)
    x = rng.standard_normal(4)
    wrong_g = -grad(x)
    res = strong_wolfe(counted(f, grad)[0], x, f(x), wrong_g, -wrong_g)
    assert not res.success
    assert res.alpha == 0.0 and res.x is x and math.isfinite(res.f)
    assert res.nfev <= 30 and res.message


def test_failure_returns_best_sufficient_decrease_point():
    """f unbounded below along p: alpha_max is reached, the last point is returned."""
    x = np.zeros(2)
    p = np.array([1.0, 0.0])

    def fg(z):
        return -float(z[0]), np.array([-1.0, 0.0])

    res = strong_wolfe(fg, x, 0.0, np.array([-1.0, 0.0]), p, alpha_max=100.0)
    assert not res.success and res.alpha == 100.0 and res.f == -100.0
    assert "alpha_max" in res.message


def test_max_iter_reached_keeps_best_point():
    """A zoom that runs out of evaluations returns its best sufficient-decrease point."""
    x = np.zeros(1)
    p = np.ones(1)

    def fg(z):  # phi(alpha) = (alpha - 0.3)^2 - 0.01 cos(200 alpha): wiggly
        a = float(z[0])
        return (a - 0.3) ** 2 - 0.01 * math.cos(200 * a), np.array(
            [2 * (a - 0.3) + 2.0 * math.sin(200 * a)]
        )

    f0, g0 = fg(x)
    res = strong_wolfe(fg, x, f0, g0, p, c2=1e-3, max_iter=3)
    assert res.nfev <= 3
    if not res.success:
        assert res.alpha == 0.0 or res.f <= f0 + C1 * res.alpha * float(g0 @ p)


def test_ascent_direction_raises():
    x = np.zeros(2)
    g = np.array([1.0, 2.0])
    fg = counted(lambda z: float(z @ z), lambda z: 2 * z)[0]
    for p in (g, np.zeros(2), np.array([2.0, -1.0])):
        with pytest.raises(ValueError, match="descent"):
            strong_wolfe(fg, x, 0.0, g, p)
    with pytest.raises(ValueError):
        strong_wolfe(fg, x, 0.0, g, -g, c1=0.5, c2=0.4)
    with pytest.raises(ValueError):
        strong_wolfe(fg, x, math.nan, g, -g)


@pytest.mark.parametrize("backend", BACKENDS)
def test_torch_and_numpy_agree(backend, rng):
    x = rng.uniform(-1.5, 1.5, 5)
    g = so.rosen_der(x)

    def fg(z):
        z_np = to_numpy(z)
        return so.rosen(z_np), to_backend(backend, so.rosen_der(z_np))

    xb, gb, pb = to_backend(backend, x, g, -g)
    res = strong_wolfe(fg, xb, so.rosen(x), gb, pb)
    ref = strong_wolfe(lambda z: (so.rosen(z), so.rosen_der(z)), x, so.rosen(x), g, -g)
    assert res.success
    assert res.alpha == pytest.approx(ref.alpha, rel=1e-12) and res.nfev == ref.nfev
    assert isinstance(res.x, torch.Tensor) == (backend == "torch")


def test_torch_autograd_objective():
    """fun_and_grad built on torch autograd, f returned as a 0-d tensor."""
    from taylornet import autodiff

    def f(z):
        return torch.sum((1.0 - z[:-1]) ** 2 + 100.0 * (z[1:] - z[:-1] ** 2) ** 2)

    x = torch.tensor([-1.2, 1.0, -1.2, 1.0], dtype=torch.float64)
    f0, g0 = autodiff.value_and_grad(f, x)
    res = strong_wolfe(lambda z: autodiff.value_and_grad(f, z), x, f0, g0, -g0)
    assert res.success and isinstance(res.f, float) and isinstance(res.g, torch.Tensor)
    ok = wolfe_holds(so.rosen, so.rosen_der, x.numpy(), -g0.numpy(), res.alpha)
    assert ok == (True, True)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 8),
    log_cond=st.floats(0.0, 4.0),
    log_scale=st.floats(-4.0, 3.0),
    c2=st.sampled_from([0.9, 0.5, 0.1]),
)
def test_property_random_convex_quadratics(seed, n, log_cond, log_scale, c2):
    """Random SPD quadratic, random descent direction p = -M g (M SPD), any scale."""
    rng = np.random.default_rng(seed)
    a = spd_matrix(rng, n, log_cond)
    b = rng.standard_normal(n)
    f, grad = quadratic(a, b)
    x = rng.standard_normal(n)
    g = grad(x)
    if np.linalg.norm(g) < 1e-8:
        return
    p = -(10.0**log_scale) * (spd_matrix(rng, n, 1.0) @ g)
    res = strong_wolfe(counted(f, grad)[0], x, f(x), g, p, c2=c2)
    assert res.success, res.message
    assert wolfe_holds(f, grad, x, p, res.alpha, c2=c2) == (True, True)
    assert_consistent(res, f, grad, x, p)


# -- backtracking ----------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_backtracking_first_armijo_step(backend, rng):
    a = spd_matrix(rng, 5)
    b = rng.standard_normal(5)
    f, grad = quadratic(a, b)
    x = rng.standard_normal(5)
    g = grad(x)
    p = -g
    fb = quadratic(*to_backend(backend, a, b))[0]
    xb, gb, pb = to_backend(backend, x, g, p)
    res = backtracking(fb, xb, f(x), gb, pb, alpha0=1.0, rho=0.5)
    assert res.success and res.g is None and res.ngev == 0
    # it is the first of 1, 1/2, 1/4, ... with sufficient decrease
    k = next(k for k in range(60) if f(x + 0.5**k * p) <= f(x) + C1 * 0.5**k * (g @ p))
    assert res.alpha == 0.5**k and res.nfev == k + 1
    assert type(res.x) is type(xb)


def test_backtracking_rejects_nan_and_reports_failure():
    x = np.zeros(2)
    g = np.array([-1.0, 0.0])

    def f(z):  # NaN beyond x[0] = 0.1, decreasing before
        return -float(z[0]) if z[0] < 0.1 else math.nan

    res = backtracking(f, x, 0.0, g, -g)
    assert res.success and res.alpha == 0.0625 and math.isfinite(res.f)

    res = backtracking(lambda z: math.nan, x, 0.0, g, -g, max_iter=5)
    assert not res.success and res.alpha == 0.0 and res.x is x and res.nfev == 6
    assert "NaN" in res.message

    with pytest.raises(ValueError, match="descent"):
        backtracking(f, x, 0.0, g, g)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6), log_scale=st.floats(-3.0, 4.0))
def test_property_backtracking_armijo(seed, n, log_scale):
    rng = np.random.default_rng(seed)
    a = spd_matrix(rng, n)
    b = rng.standard_normal(n)
    f, grad = quadratic(a, b)
    x = rng.standard_normal(n)
    g = grad(x)
    if np.linalg.norm(g) < 1e-8:
        return
    p = -(10.0**log_scale) * g
    res = backtracking(f, x, f(x), g, p)
    assert res.success
    assert wolfe_holds(f, grad, x, p, res.alpha)[0]
    # the previous (longer) trial, if any, failed
    if res.alpha < 1.0:
        assert not f(x + 2 * res.alpha * p) <= f(x) + C1 * 2 * res.alpha * (g @ p)
