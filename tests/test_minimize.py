"""``taylornet.minimize`` against scipy.optimize and against bad input.

Every Newton, quasi-Newton, CG and trust-region method must reach the one
stopping test ``||grad||_inf <= 1e-6`` on the standard problems and land on
the same minimiser as scipy.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.optimize as so
import torch

from taylornet import OptimizeResult, minimize
from taylornet.problems import (
    beale,
    curve_fit_problem,
    logistic_regression,
    quadratic,
    rosenbrock_chained,
    rosenbrock_mgh21,
)

SECOND_ORDER = ["newton", "newton-cg", "bfgs", "lbfgs", "dfp", "sr1", "cg",
                "trust-dogleg", "trust-ncg"]
GTOL = 1e-6


def run(problem, method, **kw):
    return minimize(problem.fun, problem.x0, method, jac=problem.grad, hess=problem.hess,
                    hessp=problem.hessp, gtol=GTOL, **kw)


def assert_converged(res, x_ref, atol=1e-4):
    assert res.success, res.message
    assert res.status == 0
    assert np.max(np.abs(res.grad)) <= GTOL
    np.testing.assert_allclose(res.x, x_ref, atol=atol)
    # The history is consistent with the counters.
    assert len(res.history["f"]) == res.nit + 1
    assert res.history["nfev"][-1] == res.nfev
    assert res.history["f"][-1] == res.fun


@pytest.mark.parametrize("method", SECOND_ORDER)
def test_rosenbrock_2d_matches_scipy(method):
    p = rosenbrock_chained(2)
    res = run(p, method, max_iter=5000 if method == "dfp" else 1000)
    ref = so.minimize(p.fun, p.x0, method="BFGS", jac=p.grad, options={"gtol": 1e-10})
    assert_converged(res, ref.x)
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-5)


@pytest.mark.parametrize("method", SECOND_ORDER)
def test_beale_matches_scipy(method):
    p = beale()
    res = run(p, method, max_iter=5000 if method == "dfp" else 1000)
    ref = so.minimize(p.fun, p.x0, method="BFGS", jac=p.grad, options={"gtol": 1e-10})
    assert_converged(res, ref.x)


@pytest.mark.parametrize("method", [m for m in SECOND_ORDER if m != "dfp"])
def test_mgh21_n100(method):
    p = rosenbrock_mgh21(100)
    res = run(p, method, max_iter=3000)
    assert_converged(res, np.ones(100))


@pytest.mark.parametrize("method", ["lbfgs", "newton-cg", "trust-ncg", "cg", "newton"])
def test_mgh21_n1000(method):
    p = rosenbrock_mgh21(1000)
    res = run(p, method, max_iter=3000)
    assert_converged(res, np.ones(1000))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["bfgs", "sr1", "trust-dogleg"])
def test_mgh21_n1000_dense_quasi_newton(method):
    p = rosenbrock_mgh21(1000)
    res = run(p, method, max_iter=3000)
    assert_converged(res, np.ones(1000))


def test_dfp_mgh21_n100_progresses():
    """DFP is the weak dual of BFGS (N&W section 6.1): it converges, slowly."""
    p = rosenbrock_mgh21(100)
    res = run(p, "dfp", max_iter=20000)
    assert_converged(res, np.ones(100))
    assert res.nit > run(p, "bfgs").nit


@pytest.mark.parametrize("method", SECOND_ORDER)
def test_logistic_regression_matches_scipy(method):
    p = logistic_regression(n_samples=200, n_features=5, seed=0)
    res = run(p, method)
    ref = so.minimize(p.fun, p.x0, method="L-BFGS-B", jac=p.grad,
                      options={"gtol": 1e-12, "ftol": 0, "maxiter": 10000})
    assert_converged(res, ref.x, atol=1e-5)


@pytest.mark.parametrize("method", ["gauss-newton", "levenberg-marquardt"])
def test_least_squares_matches_scipy(method):
    p = curve_fit_problem()
    res = minimize(p.residual, p.x0, method, jac=p.jac, gtol=1e-8)
    ref = so.least_squares(p.residual, p.x0, jac=p.jac, xtol=1e-15, ftol=1e-15, gtol=1e-15)
    assert res.success, res.message
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-6)
    np.testing.assert_allclose(res.fun, 0.5 * np.sum(ref.fun**2), rtol=1e-8)


def test_least_squares_autograd_jacobian():
    p = curve_fit_problem()
    with_jac = minimize(p.residual, p.x0, "levenberg-marquardt", jac=p.jac, gtol=1e-8)
    without = minimize(p.residual, p.x0, "levenberg-marquardt", gtol=1e-8)
    np.testing.assert_allclose(without.x, with_jac.x, rtol=1e-8)
    assert isinstance(without.x, np.ndarray)


def test_quadratic_newton_one_step():
    p = quadratic([1.0, 10.0, 100.0], seed=1)
    res = run(p, "newton")
    assert res.nit == 1
    np.testing.assert_allclose(res.x, p.x_star, atol=1e-10)


def test_gradient_descent_rate_on_quadratic():
    """GD with lr = 1/L contracts the error by (1 - 1/kappa) per step at least (N&W 3.29)."""
    eig = np.array([1.0, 4.0])
    p = quadratic(eig, seed=2)
    res = minimize(p.fun, p.x0, "gd", jac=p.grad, lr=1 / eig.max(), max_iter=50, gtol=0)
    err = [np.linalg.norm(p.x0 - p.x_star)]
    assert res.status == 1  # max iterations: gtol=0 never met
    assert np.linalg.norm(res.x - p.x_star) <= (1 - eig.min() / eig.max()) ** 50 * err[0] * 1.0001


@pytest.mark.parametrize("method", ["gd", "momentum", "nesterov", "adam", "rmsprop",
                                    "taylor2", "taylor3"])
def test_first_order_and_taylor_methods_decrease(method):
    p = quadratic([1.0, 3.0], seed=3)
    res = minimize(p.fun, torch.tensor(p.x0), method, lr=0.05, max_iter=200)
    assert isinstance(res.x, torch.Tensor)
    assert res.fun < p.fun(p.x0) * 0.01
    assert all(np.diff(res.history["nfev"]) >= 0)


def test_torch_and_numpy_agree():
    p = rosenbrock_chained(4)
    a = minimize(p.fun, p.x0, "lbfgs", jac=p.grad)
    b = minimize(p.fun, torch.tensor(p.x0), "lbfgs")  # autograd gradients
    assert isinstance(b.x, torch.Tensor) and b.x.dtype == torch.float64
    np.testing.assert_allclose(b.x.numpy(), a.x, atol=1e-7)
    assert a.nit == b.nit


def test_numpy_x0_with_autograd_returns_numpy():
    p = beale()
    res = minimize(p.fun, p.x0, "trust-ncg")
    assert isinstance(res.x, np.ndarray) and res.success
    assert res.nhev > 0


# -- honest endings -------------------------------------------------------------

def test_max_iter_is_a_status_not_an_exception():
    p = rosenbrock_chained(2)
    res = run(p, "gd", lr=1e-4, max_iter=5)
    assert (res.status, res.success, res.nit) == (1, False, 5)
    assert "Maximum number of iterations" in res.message


def test_nan_mid_run_returns_best_finite_iterate():
    def fun(x):
        return np.sum(x**2) if np.all(np.abs(x) < 3) else np.nan

    def grad(x):
        return 2 * x

    res = minimize(fun, np.array([1.0, -1.0]), "gd", jac=grad, lr=1.6, max_iter=100)
    assert res.status == 3 and not res.success
    assert np.all(np.isfinite(res.x)) and math.isfinite(res.fun)
    assert "Non-finite" in res.message


def test_line_search_survives_nan_region():
    """A line search meets NaN beyond the minimiser's basin and backs off."""
    def fun(x):
        return float(np.sum((x - 1) ** 2)) if x[0] < 1.5 else np.nan

    res = minimize(fun, np.array([-3.0, 0.0]), "bfgs", jac=lambda x: 2 * (x - 1))
    assert res.success and np.allclose(res.x, 1.0)


@pytest.mark.parametrize("bad", [np.array([1.0, np.nan]), np.array([np.inf, 0.0])])
def test_non_finite_x0_names_the_problem(bad):
    with pytest.raises(ValueError, match="x0 contains NaN or inf at indices"):
        minimize(lambda x: np.sum(x**2), bad, "bfgs", jac=lambda x: 2 * x)


def test_mismatched_gradient_shape():
    with pytest.raises(ValueError, match="gradient has shape"):
        minimize(lambda x: np.sum(x**2), np.ones(3), "bfgs", jac=lambda x: np.ones(2))


def test_two_dimensional_x0_rejected():
    with pytest.raises(ValueError, match="1-D"):
        minimize(lambda x: np.sum(x**2), np.ones((2, 2)), "bfgs")


def test_unknown_method_and_option():
    with pytest.raises(ValueError, match="unknown method 'newtonish'"):
        minimize(lambda x: np.sum(x**2), np.ones(2), "newtonish")
    with pytest.raises(TypeError, match="unknown option"):
        minimize(lambda x: np.sum(x**2), np.ones(2), "bfgs", jac=lambda x: 2 * x, lr=0.1)


def test_singular_and_indefinite_hessians_are_handled():
    """Near the saddle at the origin H is indefinite; modified Newton escapes it.

    (Started exactly on the line x = 0, every gradient method stays on it and
    can only reach the saddle, so start a hair off it.)
    """
    def fun(x):
        return x[0] ** 4 + x[1] ** 2 + 0.5 * x[0] ** 2 * x[1] - 0.1 * x[0] ** 2

    res = minimize(fun, torch.tensor([1e-3, 1.0], dtype=torch.float64), "newton")
    assert res.success
    # a minimum, not the saddle at the origin: Hessian positive definite there
    H = torch.func.hessian(fun)(res.x)
    assert torch.linalg.eigvalsh(H).min() > 0
    assert res.fun < fun(torch.zeros(2, dtype=torch.float64))


def test_singular_hessian_at_start():
    """f = x^4 has H(0.0...) singular along one axis and zero gradient there."""
    def fun(x):
        return (x[0] - 1) ** 2 + x[1] ** 4

    res = minimize(fun, torch.tensor([3.0, 0.5], dtype=torch.float64), "newton", gtol=1e-8)
    assert res.success


def test_callback_can_stop_and_sees_iterates():
    seen = []

    def cb(info):
        seen.append(info.nit)
        return info.nit == 3

    p = rosenbrock_chained(2)
    res = run(p, "lbfgs", callback=cb)
    assert res.status == 4 and seen == [1, 2, 3] and res.nit == 3


def test_result_is_attribute_dict():
    p = quadratic([1.0, 2.0], seed=0)
    res = run(p, "bfgs")
    assert isinstance(res, OptimizeResult)
    assert res["x"] is res.x
    assert "message" in repr(res)


def test_progress_bar(capsys):
    """progress=True draws a tqdm bar named after the method, with f and ||g|| shown."""
    p = quadratic([1.0, 2.0], seed=0)
    run(p, "gd", lr=0.1, progress=True, max_iter=20)
    drawn = capsys.readouterr().err
    assert "GradientDescent" in drawn and "f=" in drawn
    run(p, "gd", lr=0.1, max_iter=20)
    assert "GradientDescent" not in capsys.readouterr().err


def test_bfgs_initial_scaling_cuts_iterations():
    """Common mistake: the N&W (6.20) scaling of H_0 matters on MGH-21."""
    p = rosenbrock_mgh21(100)
    scaled = run(p, "bfgs", max_iter=3000)
    unscaled = run(p, "bfgs", max_iter=3000, scale_initial=False)
    assert scaled.success
    assert scaled.nit < unscaled.nit


@pytest.mark.parametrize("beta", ["fr", "pr", "pr+", "hs"])
def test_nonlinear_cg_variants_converge(beta):
    """Every beta of N&W (5.41a)-(5.46) converges under strong Wolfe with c2 = 0.1."""
    p = rosenbrock_chained(2)
    res = run(p, "cg", beta=beta, max_iter=5000)
    assert_converged(res, np.ones(2))


def test_nonlinear_cg_unknown_beta():
    p = rosenbrock_chained(2)
    with pytest.raises(ValueError, match="unknown CG beta 'xx'"):
        run(p, "cg", beta="xx")


# -- objectives: the evaluation cache, least squares, Hessian matrices ----------------

class Counted:
    """A callable that counts its calls."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, *args):
        self.calls += 1
        return self.fn(*args)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_cache_is_keyed_on_the_value_of_x(backend):
    from taylornet.solvers import Objective

    fun = Counted(lambda x: float((x * x).sum()))
    jac = Counted(lambda x: 2 * x)
    x = np.array([1.0, 2.0]) if backend == "numpy" else torch.tensor([1.0, 2.0])
    obj = Objective(fun, x, jac=jac)
    assert obj.value(x) == 5.0 and fun.calls == obj.nfev == 1
    same = x.copy() if backend == "numpy" else x.clone()
    assert obj.value(same) == 5.0 and fun.calls == 1  # the same point in a new array: a hit
    f, g = obj.value_and_grad(x)
    assert (f, fun.calls, jac.calls) == (5.0, 1, 1)  # only the gradient was missing
    x[0] = 3.0  # mutated in place: a miss
    assert obj.value(x) == 13.0 and fun.calls == obj.nfev == 2
    assert to_np(obj.gradient(x)).tolist() == [6.0, 4.0] and jac.calls == obj.ngev == 2


def to_np(a):
    return a.numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def test_least_squares_objective_shares_residual_and_jacobian():
    from taylornet.solvers import LeastSquaresObjective

    p = curve_fit_problem()
    fun, jac = Counted(p.residual), Counted(p.jac)
    res = minimize(fun, p.x0, "levenberg-marquardt", jac=jac, gtol=1e-8)
    assert res.success
    # one residual per trial point and one Jacobian per accepted point: nothing twice
    assert fun.calls == res.nfev == res.nit + 1
    assert jac.calls == res.ngev <= res.nit + 1
    obj = LeastSquaresObjective(p.residual, p.x0, jac=p.jac)
    r = p.residual(p.x0)
    assert obj.value(p.x0) == pytest.approx(0.5 * r @ r)
    np.testing.assert_allclose(obj.gradient(p.x0), p.jac(p.x0).T @ r)
    assert (obj.nfev, obj.ngev) == (1, 1)


@pytest.mark.parametrize("method", ["newton-cg", "trust-ncg", "trust-dogleg"])
def test_hessian_matrix_is_evaluated_once_per_iterate(method):
    p = rosenbrock_chained(10)
    hess = Counted(p.hess)
    res = minimize(p.fun, p.x0, method, jac=p.grad, hess=hess, gtol=GTOL)
    assert res.success, res.message
    assert hess.calls == res.nhev
    # at most one Hessian per point the run stood on (rejected trust-region steps reuse it)
    assert hess.calls <= res.ngev
    if method != "trust-dogleg":  # CG took several products per Hessian
        hessp = Counted(p.hessp)
        ref = minimize(p.fun, p.x0, method, jac=p.grad, hessp=hessp, gtol=GTOL)
        assert hessp.calls > hess.calls
        np.testing.assert_allclose(res.x, ref.x, atol=1e-6)


# -- scipy's conventions: hess_inv, hess_inv0, njev ----------------------------------

def _quadratic(n=5, seed=0, offset=0.0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A = (Q * np.linspace(1.0, 20.0, n)) @ Q.T
    b = rng.standard_normal(n)
    return A, (lambda x: 0.5 * x @ A @ x - b @ x + offset), (lambda x: A @ x - b)


def test_bfgs_hess_inv_approaches_the_inverse_hessian_as_scipys_does():
    A, f, g = _quadratic()
    A_inv = np.linalg.inv(A)
    x0 = np.zeros(5)
    res = minimize(f, x0, "bfgs", jac=g, gtol=1e-10)
    ref = so.minimize(f, x0, jac=g, method="BFGS", options={"gtol": 1e-10})
    assert res.success and ref.success
    assert res.njev == res.ngev
    assert res.hess_inv.shape == (5, 5)
    np.testing.assert_allclose(res.hess_inv, res.hess_inv.T, atol=1e-12)
    error = np.linalg.norm(res.hess_inv - A_inv) / np.linalg.norm(A_inv)
    error_scipy = np.linalg.norm(ref.hess_inv - A_inv) / np.linalg.norm(A_inv)
    assert error <= max(10 * error_scipy, 1e-2)


def test_hess_inv0_starts_from_the_given_matrix():
    A, f, g = _quadratic()
    res = minimize(f, np.zeros(5), "bfgs", jac=g, hess_inv0=np.linalg.inv(A), gtol=1e-10)
    assert res.success and res.nit == 1  # the Newton step
    with pytest.raises(ValueError, match="positive definite"):
        minimize(f, np.zeros(5), "bfgs", jac=g, hess_inv0=-np.eye(5))
    with pytest.raises(ValueError, match=r"\(5, 5\)"):
        minimize(f, np.zeros(5), "bfgs", jac=g, hess_inv0=np.eye(4))


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_lbfgs_hess_inv_is_an_operator(backend):
    A, f, g = _quadratic()
    x0 = np.zeros(5) if backend == "numpy" else torch.zeros(5, dtype=torch.float64)
    if backend == "torch":
        At = torch.tensor(A)
        f, g = (lambda x: 0.5 * x @ At @ x), (lambda x: At @ x)
        x0 = x0 + 1.0
    res = minimize(f, x0, "lbfgs", jac=g, m=20, gtol=1e-10)
    H = res.hess_inv
    dense = to_np(H.todense())
    v = np.arange(1.0, 6.0)
    v_in = v if backend == "numpy" else torch.tensor(v)
    np.testing.assert_allclose(to_np(H @ v_in), dense @ v, rtol=1e-10)
    np.testing.assert_allclose(dense, dense.T, atol=1e-10)
    # the newest pair's secant equation holds, and H is positive definite
    assert np.linalg.eigvalsh(0.5 * (dense + dense.T)).min() > 0
    A_inv = np.linalg.inv(A)
    assert np.linalg.norm(dense - A_inv) < 0.5 * np.linalg.norm(A_inv)


# -- a line search that fails only at the precision of f ---------------------------------

def test_precision_limited_line_search_is_reported_as_such():
    """f* = 1000: gtol = 1e-14 is below what the rounding of f lets CG reach."""
    A, f, g = _quadratic(offset=1e3)
    res = minimize(f, np.zeros(5), "cg", jac=g, gtol=1e-14, max_iter=500)
    x_star = np.linalg.solve(A, -g(np.zeros(5)))
    assert res.status == 6 and res.success
    assert "precision of f" in res.message
    # the decrease left is below the rounding of f
    assert res.fun - f(x_star) <= 1e3 * np.finfo(float).eps * abs(res.fun)
    np.testing.assert_allclose(res.x, x_star, atol=1e-5)


def test_a_real_line_search_failure_is_still_a_failure():
    # a wrong gradient: -jac is not a descent direction of f near 0
    res = minimize(lambda x: float(x @ x), np.ones(3), "bfgs", jac=lambda x: 2 * x + 1.0)
    assert res.status == 2 and not res.success
