"""The trust-region machinery of N&W Alg. 4.1: ratio, acceptance, radius update, subproblem.

Each branch of the radius update is checked on its own; the pieces together
then run Alg. 4.1 on scipy's Rosenbrock and must take exactly as many
iterations as ``scipy.optimize.minimize`` (``trust-ncg`` and ``dogleg``), which
uses the same constants (1/4, 3/4, eta = 0.15, radius 1, max radius 1000).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import to_numpy
from scipy.optimize import minimize, rosen, rosen_der, rosen_hess, rosen_hess_prod

from taylornet.rules import cauchy_point, dogleg_step, steihaug_cg
from taylornet.trust_region import (
    ETA,
    accept_step,
    quadratic_model,
    reduction_ratio,
    solve_subproblem,
    update_radius,
)

# --- update_radius ---------------------------------------------------------------


@pytest.mark.parametrize("rho", [-math.inf, -3.0, 0.0, 0.1, 0.2499])
def test_poor_agreement_shrinks_to_a_quarter(rho):
    assert update_radius(2.0, rho, 2.0, 100.0) == 0.5
    assert update_radius(2.0, rho, 0.3, 100.0) == 0.5


def test_nan_ratio_shrinks():
    assert update_radius(2.0, math.nan, 2.0, 100.0) == 0.5


def test_very_good_agreement_on_the_boundary_doubles():
    assert update_radius(2.0, 0.9, 2.0, 100.0) == 4.0
    assert update_radius(2.0, 1.0, 2.0 * (1 - 1e-9), 100.0) == 4.0  # round-off below the radius
    assert update_radius(2.0, 3.0, 2.0, 100.0) == 4.0  # rho > 1: the model underestimates


def test_expansion_is_capped_at_max_radius():
    assert update_radius(60.0, 0.9, 60.0, 100.0) == 100.0
    assert update_radius(100.0, 0.9, 100.0, 100.0) == 100.0


def test_very_good_agreement_inside_keeps_the_radius():
    """An interior step (the full Newton step fits) says nothing about a larger radius."""
    assert update_radius(2.0, 0.9, 1.0, 100.0) == 2.0
    assert update_radius(2.0, 0.9, 2.0 * 0.99, 100.0) == 2.0


@pytest.mark.parametrize("rho", [0.25, 0.5, 0.75])
def test_fair_agreement_keeps_the_radius(rho):
    assert update_radius(2.0, rho, 2.0, 100.0) == 2.0


def test_custom_thresholds():
    assert update_radius(2.0, 0.3, 2.0, 100.0, eta1=0.4) == 0.5
    assert update_radius(2.0, 0.6, 2.0, 100.0, eta2=0.5) == 4.0


def test_update_radius_accepts_torch_scalars():
    out = update_radius(torch.tensor(2.0), torch.tensor(0.9), torch.tensor(2.0), 100.0)
    assert out == 4.0 and isinstance(out, float)


@pytest.mark.parametrize(
    ("radius", "max_radius"),
    [(0.0, 1.0), (-1.0, 1.0), (2.0, 1.0), (math.nan, 1.0), (math.inf, math.inf)],
)
def test_update_radius_rejects_bad_radius(radius, max_radius):
    with pytest.raises(ValueError, match="radius"):
        update_radius(radius, 0.5, 0.1, max_radius)


def test_update_radius_rejects_bad_thresholds():
    with pytest.raises(ValueError, match="eta1"):
        update_radius(1.0, 0.5, 0.1, 10.0, eta1=0.8, eta2=0.75)


# --- reduction_ratio and accept_step ---------------------------------------------


def test_reduction_ratio_is_actual_over_predicted():
    assert reduction_ratio(0.3, 0.4) == pytest.approx(0.75)
    assert reduction_ratio(-0.1, 0.4) == pytest.approx(-0.25)  # f went up
    assert reduction_ratio(np.float64(1.0), torch.tensor(2.0)) == 0.5


@pytest.mark.parametrize("predicted", [0.0, -1e-12, -3.0, math.nan])
def test_no_predicted_decrease_rejects_the_step(predicted):
    assert reduction_ratio(0.5, predicted) == -math.inf


@pytest.mark.parametrize("actual", [math.nan, math.inf, -math.inf])
def test_non_finite_actual_reduction_rejects_the_step(actual):
    rho = reduction_ratio(actual, 1.0)
    assert rho == -math.inf
    assert not accept_step(rho)
    assert update_radius(1.0, rho, 1.0, 10.0) == 0.25


def test_accept_step_threshold():
    assert ETA == 0.15
    assert accept_step(0.16) and not accept_step(0.15) and not accept_step(-1.0)
    assert accept_step(1e-6, eta=0.0) and not accept_step(0.0, eta=0.0)
    assert not accept_step(math.nan)
    for eta in (-0.1, 0.25, 0.5):
        with pytest.raises(ValueError, match="eta"):
            accept_step(0.5, eta=eta)


# --- solve_subproblem ------------------------------------------------------------


@pytest.fixture
def problem(rng):
    n = 5
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    B = (Q * np.linspace(1, 6, n)) @ Q.T
    return rng.standard_normal(n), B


class CountingHvp:
    def __init__(self, B):
        self.B = B
        self.calls = 0

    def __call__(self, v):
        self.calls += 1
        return self.B @ v


@pytest.mark.parametrize("radius", [0.05, 0.4, 50.0])
def test_solve_subproblem_dispatches_and_predicts(radius, problem):
    g, B = problem
    for method, rule_step in [
        ("cauchy", cauchy_point(g, B, radius)),
        ("dogleg", dogleg_step(g, B, radius)),
        ("steihaug", steihaug_cg(g, B.__matmul__, radius, tol=1e-10)),
    ]:
        hvp = CountingHvp(B)
        kwargs = {"hvp": hvp, "tol": 1e-10} if method == "steihaug" else {"B": B}
        p, predicted, n_hvp = solve_subproblem(method, g, radius, **kwargs)
        np.testing.assert_allclose(p, rule_step, rtol=0, atol=1e-14)
        assert isinstance(predicted, float)
        assert predicted == pytest.approx(-(g @ p + 0.5 * p @ B @ p), rel=1e-10)
        assert predicted > 0
        assert n_hvp == hvp.calls


def test_steihaug_default_tolerance_is_the_forcing_term(rng):
    """tol defaults to min(0.5, sqrt(||g||)), relative: loose far away, tight near a minimum."""
    n = 40
    B = np.diag(np.logspace(0, 1, n))
    g = rng.standard_normal(n)
    for scale in (1.0, 1e-6):
        gs = scale * g
        tol = min(0.5, math.sqrt(np.linalg.norm(gs)))
        p, _, n_hvp = solve_subproblem("steihaug", gs, 1e6, B=B)
        np.testing.assert_array_equal(p, steihaug_cg(gs, B.__matmul__, 1e6, tol=tol))
        assert np.linalg.norm(B @ p + gs) <= tol * np.linalg.norm(gs)
        if scale == 1.0:
            loose = n_hvp
    assert n_hvp > loose


def test_quadratic_model(problem):
    g, B = problem
    p = np.arange(5.0)
    want = g @ p + 0.5 * p @ B @ p
    assert quadratic_model(g, B, p) == pytest.approx(want, rel=1e-14)
    assert quadratic_model(g, B.__matmul__, p) == pytest.approx(want, rel=1e-14)


def test_solve_subproblem_errors(problem):
    g, B = problem
    with pytest.raises(ValueError, match="'cauchy', 'dogleg', 'steihaug'"):
        solve_subproblem("exact", g, 1.0, B=B)
    with pytest.raises(ValueError, match="needs the matrix B"):
        solve_subproblem("dogleg", g, 1.0, hvp=B.__matmul__)
    with pytest.raises(ValueError, match="needs hvp or B"):
        solve_subproblem("steihaug", g, 1.0)


def test_solve_subproblem_torch(problem):
    g, B = (torch.tensor(a) for a in problem)
    p, predicted, _ = solve_subproblem("steihaug", g, 0.3, hvp=B.__matmul__)
    assert isinstance(p, torch.Tensor)
    p_np, predicted_np, _ = solve_subproblem("steihaug", g.numpy(), 0.3, B=B.numpy())
    np.testing.assert_allclose(to_numpy(p), p_np, rtol=0, atol=1e-12)
    assert predicted == pytest.approx(predicted_np, rel=1e-12)


# --- N&W Alg. 4.1 assembled, against scipy -------------------------------------------


def trust_region_loop(x0, method, gtol=1e-8, max_iter=200):
    """N&W Alg. 4.1 with this module's pieces; stops when ||grad|| < gtol, as scipy does."""
    x, radius, nit = np.asarray(x0, dtype=float), 1.0, 0
    while np.linalg.norm(rosen_der(x)) >= gtol and nit < max_iter:
        g = rosen_der(x)
        if method == "steihaug":
            hvp = lambda v, x=x: rosen_hess_prod(x, v)  # noqa: E731
            p, predicted, _ = solve_subproblem(method, g, radius, hvp=hvp)
        else:
            p, predicted, _ = solve_subproblem(method, g, radius, B=rosen_hess(x))
        rho = reduction_ratio(rosen(x) - rosen(x + p), predicted)
        if accept_step(rho):
            x = x + p
        radius = update_radius(radius, rho, np.linalg.norm(p), max_radius=1000.0)
        nit += 1
    return x, nit


@pytest.mark.parametrize(
    ("method", "scipy_method", "x0"),
    [
        ("steihaug", "trust-ncg", [-1.2, 1.0]),
        ("steihaug", "trust-ncg", [-1.2, 1.0, -1.2, 1.0, 0.5]),
        ("dogleg", "dogleg", [-1.2, 1.0]),
    ],
)
def test_alg_4_1_matches_scipy_on_rosenbrock(method, scipy_method, x0):
    x, nit = trust_region_loop(x0, method)
    kwargs = {"hessp": rosen_hess_prod} if method == "steihaug" else {"hess": rosen_hess}
    ref = minimize(rosen, x0, jac=rosen_der, method=scipy_method, options={"gtol": 1e-8}, **kwargs)
    assert ref.success
    np.testing.assert_allclose(x, np.ones(len(x0)), atol=1e-8)
    np.testing.assert_allclose(x, ref.x, atol=1e-8)
    assert nit == ref.nit


# --- the methods of minimize use this package -------------------------------------------


@pytest.mark.parametrize("method", ["trust-ncg", "trust-dogleg", "sr1"])
def test_minimize_trust_region_methods_call_solve_subproblem(method, monkeypatch):
    import taylornet
    import taylornet.trust_region as tr

    calls = []
    original = tr.solve_subproblem

    def spy(kind, *args, **kwargs):
        calls.append(kind)
        return original(kind, *args, **kwargs)

    monkeypatch.setattr(tr, "solve_subproblem", spy)
    x0 = np.array([-1.2, 1.0])
    res = taylornet.minimize(rosen, x0, method, jac=rosen_der, hess=rosen_hess,
                             hessp=rosen_hess_prod, gtol=1e-8, max_iter=500)
    assert res.success, res.message
    assert len(calls) == res.nit
    assert set(calls) <= ({"dogleg", "cauchy"} if method == "trust-dogleg" else {"steihaug"})
