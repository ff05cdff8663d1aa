"""``taylornet.problems``: analytic derivatives against finite differences and torch autograd.

Also: the chained Rosenbrock is scipy's ``rosen`` exactly, MGH 21 is a
different function (PITFALL 11), known minimisers are stationary, and NumPy
and torch give the same numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize as so
import torch
from conftest import to_numpy

from taylornet.problems import (
    HIMMELBLAU_MAXIMISER,
    HIMMELBLAU_MINIMISERS,
    Problem,
    beale,
    curve_fit_problem,
    exponential_decay_fit,
    himmelblau,
    logistic_regression,
    mlp_regression,
    quadratic,
    rosenbrock_chained,
    rosenbrock_mgh21,
)

# torch 2.x warns once from inside its own forward-mode AD set-up (torch._decomp).
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)

PROBLEMS = {
    "quadratic": lambda: quadratic([0.5, 1.0, 4.0, 20.0, 100.0], seed=3),
    "rosenbrock_chained_2": lambda: rosenbrock_chained(2),
    "rosenbrock_chained_7": lambda: rosenbrock_chained(7),
    "rosenbrock_mgh21_6": lambda: rosenbrock_mgh21(6),
    "beale": beale,
    "himmelblau": himmelblau,
    "exponential_decay_fit": exponential_decay_fit,
    "logistic_regression": lambda: logistic_regression(n_samples=60, n_features=4, seed=1),
    "mlp_1d": lambda: mlp_regression(n_samples=20, hidden=(5,), seed=2),
    "mlp_2d": lambda: mlp_regression(n_samples=20, hidden=(4, 3), n_inputs=2, seed=3),
}


@pytest.fixture(params=list(PROBLEMS), scope="module")
def problem(request):
    return PROBLEMS[request.param]()


def sample_points(problem, seed=0):
    """x0 and a nearby random point."""
    rng = np.random.default_rng(seed)
    return [problem.x0, problem.x0 + 0.3 * rng.standard_normal(problem.n)]


def central_differences(fun, x, h):
    """Jacobian of ``fun`` (scalar or vector valued) by central differences, column j = d/dx_j."""
    cols = [
        (np.asarray(fun(x + h * e)) - np.asarray(fun(x - h * e))) / (2 * h) for e in np.eye(x.size)
    ]
    return np.stack(cols, axis=-1)


def autograd_grad(fun, x):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(fun(xt), xt)
    return g.numpy()


# -- derivatives ---------------------------------------------------------------------


def test_problem_record(problem):
    assert isinstance(problem, Problem) and problem.name
    assert problem.x0.dtype == np.float64 and problem.x0.ndim == 1
    assert problem.grad is not None and problem.hess is not None and problem.hessp is not None
    assert np.isfinite(problem.fun(problem.x0))


def test_grad_matches_finite_differences_and_autograd(problem):
    for x in sample_points(problem):
        g = problem.grad(x)
        assert g.shape == x.shape
        scale = 1.0 + np.max(np.abs(g))
        np.testing.assert_allclose(g, central_differences(problem.fun, x, 1e-6), atol=2e-6 * scale)
        np.testing.assert_allclose(g, autograd_grad(problem.fun, x), rtol=1e-11, atol=1e-11 * scale)


def test_hess_matches_differences_of_grad(problem):
    for x in sample_points(problem):
        H = problem.hess(x)
        np.testing.assert_allclose(H, H.T, atol=1e-12 * (1 + np.abs(H).max()))
        fd = central_differences(problem.grad, x, 1e-6)
        np.testing.assert_allclose(H, fd, atol=2e-6 * (1.0 + np.abs(H).max()))
        p = np.random.default_rng(1).standard_normal(problem.n)
        np.testing.assert_allclose(problem.hessp(x, p), H @ p, rtol=1e-12, atol=1e-10)


def test_known_minimisers_are_stationary(problem):
    if problem.x_star is None:
        pytest.skip("no known minimiser (non-convex MLP)")
    g = problem.grad(problem.x_star)
    assert np.max(np.abs(g)) <= 1e-9
    assert problem.fun(problem.x_star) == pytest.approx(problem.f_star, abs=1e-12)
    assert np.all(np.linalg.eigvalsh(problem.hess(problem.x_star)) > 0)  # a strict minimum
    assert problem.f_star <= problem.fun(problem.x0)


def test_numpy_and_torch_agree(problem):
    x = sample_points(problem)[1]
    xt = torch.tensor(x, dtype=torch.float64)
    p = np.linspace(-1.0, 1.0, problem.n)
    pt = torch.tensor(p, dtype=torch.float64)
    f_t = problem.fun(xt)
    assert isinstance(f_t, torch.Tensor) and f_t.ndim == 0
    assert float(f_t) == pytest.approx(float(problem.fun(x)), rel=1e-13, abs=1e-15)
    for name in ("grad", "hess"):
        out = getattr(problem, name)(xt)
        assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
        np.testing.assert_allclose(to_numpy(out), getattr(problem, name)(x), rtol=1e-12, atol=1e-12)
    hp = problem.hessp(xt, pt)
    assert isinstance(hp, torch.Tensor)
    np.testing.assert_allclose(to_numpy(hp), problem.hessp(x, p), rtol=1e-12, atol=1e-12)
    # float32 stays float32
    f32 = problem.fun(xt.float())
    assert f32.dtype == torch.float32 and problem.grad(xt.float()).dtype == torch.float32


# -- Rosenbrock: which one is which (PITFALL 11) -------------------------------------


@pytest.mark.parametrize("n", [2, 3, 6, 11])
def test_chained_rosenbrock_is_scipy_rosen(n, rng):
    p = rosenbrock_chained(n)
    for x in (p.x0, rng.uniform(-2, 2, n)):
        assert p.fun(x) == pytest.approx(so.rosen(x), rel=1e-15)
        np.testing.assert_allclose(p.grad(x), so.rosen_der(x), rtol=1e-14, atol=1e-12)
        np.testing.assert_allclose(p.hess(x), so.rosen_hess(x), rtol=1e-14, atol=1e-12)
        v = rng.standard_normal(n)
        np.testing.assert_allclose(p.hessp(x, v), so.rosen_hess_prod(x, v), rtol=1e-12)


@pytest.mark.parametrize("n", [4, 6, 10])
def test_mgh21_differs_from_chained(n, rng):
    chained, mgh = rosenbrock_chained(n), rosenbrock_mgh21(n)
    assert mgh.fun(np.ones(n)) == 0.0 and chained.fun(np.ones(n)) == 0.0
    np.testing.assert_array_equal(mgh.x0, chained.x0)
    x = rng.uniform(-2, 2, n)
    assert mgh.fun(x) != pytest.approx(chained.fun(x), rel=1e-3)
    assert mgh.fun(mgh.x0) != pytest.approx(chained.fun(chained.x0), rel=1e-3)
    # MGH 21 is n/2 independent 2-D Rosenbrock functions
    pairs = x.reshape(-1, 2)
    assert mgh.fun(x) == pytest.approx(sum(so.rosen(q) for q in pairs), rel=1e-14)
    H = mgh.hess(x)
    other_pair = np.arange(n)[:, None] // 2 != np.arange(n)[None, :] // 2
    assert np.all(H[other_pair] == 0.0)  # block diagonal
    assert chained.hess(x)[1, 2] != 0.0  # tridiagonal couples neighbours


def test_rosenbrock_2d_forms_coincide():
    x = np.array([0.3, -0.7])
    assert rosenbrock_mgh21(2).fun(x) == rosenbrock_chained(2).fun(x)
    np.testing.assert_array_equal(rosenbrock_chained(2).x0, [-1.2, 1.0])
    with pytest.raises(ValueError):
        rosenbrock_mgh21(5)


def test_large_rosenbrock_fast_and_correct():
    """n = 1000: the analytic gradient is vectorised (benchmarks compare with scipy)."""
    x = np.random.default_rng(0).uniform(-2, 2, 1000)
    p = rosenbrock_chained(1000)
    np.testing.assert_allclose(p.grad(x), so.rosen_der(x), rtol=1e-14, atol=1e-11)
    q = rosenbrock_mgh21(1000)
    np.testing.assert_allclose(q.hessp(x, x), q.hess(x) @ x, rtol=1e-12, atol=1e-9)


# -- the other problems ------------------------------------------------------------


def test_himmelblau_four_minimisers():
    p = himmelblau()
    for x_star in HIMMELBLAU_MINIMISERS:
        assert p.fun(x_star) <= 1e-26
        assert np.max(np.abs(p.grad(x_star))) <= 1e-12
        assert np.all(np.linalg.eigvalsh(p.hess(x_star)) > 0)
    assert np.max(np.abs(p.grad(HIMMELBLAU_MAXIMISER))) <= 1e-12
    assert np.all(np.linalg.eigvalsh(p.hess(HIMMELBLAU_MAXIMISER)) < 0)
    assert len({tuple(np.round(m, 3)) for m in HIMMELBLAU_MINIMISERS}) == 4


def test_beale_minimiser():
    p = beale()
    assert p.fun(np.array([3.0, 0.5])) == 0.0
    np.testing.assert_array_equal(p.grad(np.array([3.0, 0.5])), [0.0, 0.0])


def test_quadratic_spectrum_and_minimiser():
    eigs = [0.01, 1.0, 3.0, 100.0]
    p = quadratic(eigs, seed=4)
    A = p.hess(p.x0)
    np.testing.assert_allclose(np.linalg.eigvalsh(A), eigs, rtol=1e-12)
    np.testing.assert_allclose(A @ p.x_star, -p.grad(np.zeros(4)), rtol=1e-10)
    assert quadratic([-1.0, 2.0], seed=0).x_star is None  # indefinite: no minimiser
    np.testing.assert_array_equal(quadratic(eigs, seed=4).hess(np.zeros(4)), A)  # seeded


def test_least_squares_residual_and_jacobian(rng):
    p = exponential_decay_fit(seed=5)
    assert curve_fit_problem is exponential_decay_fit
    for x in (p.x0, p.x_star, rng.standard_normal(3)):
        r, J = p.residual(x), p.jac(x)
        assert r.shape == (40,) and J.shape == (40, 3)
        np.testing.assert_allclose(J, central_differences(p.residual, x, 1e-6), atol=1e-7)
        assert p.fun(x) == pytest.approx(0.5 * r @ r, rel=1e-14)
        np.testing.assert_allclose(p.grad(x), J.T @ r, rtol=1e-14)
    ref = so.least_squares(p.residual, p.x0, jac=p.jac, xtol=1e-15, ftol=1e-15, gtol=1e-15)
    np.testing.assert_allclose(p.x_star, ref.x, rtol=1e-8)
    np.testing.assert_allclose(p.x_star, [2.5, 1.3, 0.5], atol=0.15)  # near the truth


def test_logistic_regression_minimiser_matches_scipy():
    p = logistic_regression(n_samples=100, n_features=3, seed=7, l2=0.1)
    ref = so.minimize(p.fun, p.x0, jac=p.grad, method="BFGS", options={"gtol": 1e-12})
    np.testing.assert_allclose(p.x_star, ref.x, atol=1e-7)
    # large |z| does not overflow
    w = 1e3 * np.ones(3)
    assert np.isfinite(p.fun(w)) and np.all(np.isfinite(p.grad(w)))
    assert logistic_regression(n_samples=50, n_features=1000, solve=False).x_star is None


def test_mlp_grad_is_backprop_of_fun():
    p = mlp_regression(n_samples=30, hidden=(8, 8), seed=4)
    assert p.n == (1 * 8 + 8) + (8 * 8 + 8) + (8 * 1 + 1)
    assert p.x_star is None and p.f_star is None
    x = p.x0
    np.testing.assert_allclose(p.grad(x), autograd_grad(p.fun, x), rtol=1e-12, atol=1e-14)


def test_hessp_twice_inside_torch_func_transforms():
    """Regression: converting a problem's data inside a transform must not be cached."""
    from taylornet.problems import mlp_regression

    p = mlp_regression(hidden=(4,))
    v = np.ones(p.n)
    first = p.hessp(p.x0, v)
    np.testing.assert_array_equal(p.hessp(p.x0, v), first)


def test_logistic_autodiff_hessian_at_zero_weights():
    """Regression: softplus written with |z| lost the 1/4 curvature at z = 0 under autograd."""
    from taylornet import autodiff
    from taylornet.problems import logistic_regression

    p = logistic_regression(n_samples=50, n_features=4, seed=1)
    np.testing.assert_allclose(autodiff.hessian(p.fun, p.x0), p.hess(p.x0), atol=1e-12)
