"""What would break or mislead on a GPU, tested on the CPU.

* Out-of-memory and device errors are never mistaken for linear-algebra
  failures (no silent fallback that turns one batched product into ``n``).
* The dtype policy: float16 / bfloat16 is refused with one clear ``TypeError``
  by the rules that factorise or solve, by ``minimize`` and by the optimizers.
* Randomised curvature estimators tell the caller to pass ``like=`` when an
  ``hvp`` of torch tensors is handed NumPy probes.
* Epsilons follow the dtype (a float32 run uses float32's machine epsilon).
* Host reads (what a GPU synchronises on; counted by ``tests/_host_reads.py``):
  the pure update rules read nothing back; the quasi-Newton updates and the
  Newton direction read one scalar, to validate their input; the loops (CG,
  Steihaug, power iteration, ``optim.LBFGS``, ``NewtonCG``, ``minimize``) stay
  within a budget per iteration.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _host_reads import HostReads, host_reads

import taylornet
from taylornet import rules
from taylornet._array import namespace
from taylornet.curvature import hutchinson_trace, lanczos, power_iteration, spectral_density
from taylornet.optim import BFGS, LBFGS, Newton, NewtonCG, NonlinearCG, TaylorFlow
from taylornet.rules.conjugate_gradient import _conjugate_gradient
from taylornet.solvers.methods.lbfgs import LBFGS as LBFGSMethod
from taylornet.solvers.methods.newton import modified_cholesky_shift

HALF = [torch.float16, torch.bfloat16]
OPTIMIZERS = [BFGS, LBFGS, Newton, NewtonCG, NonlinearCG, TaylorFlow]


def spd(n, seed=0):
    a = torch.randn(n, n, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return a @ a.T + n * torch.eye(n, dtype=torch.float64)


# -- errors that are not ours propagate ----------------------------------------------

def _tiny_model():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    X, y = torch.randn(16, 3), torch.randn(16, 1)
    return model, (lambda: torch.nn.functional.mse_loss(model(X), y))


def _batched_grad_raising(error):
    real_grad = torch.autograd.grad

    def grad(*args, **kwargs):
        if kwargs.get("is_grads_batched"):
            raise error
        return real_grad(*args, **kwargs)
    return grad


def test_newton_out_of_memory_propagates(monkeypatch):
    model, closure = _tiny_model()
    opt = Newton(model.parameters())
    monkeypatch.setattr(torch.autograd, "grad",
                        _batched_grad_raising(torch.OutOfMemoryError("CUDA out of memory")))
    with pytest.raises(torch.OutOfMemoryError):
        opt.step(closure)


def test_newton_other_runtime_errors_propagate(monkeypatch):
    model, closure = _tiny_model()
    opt = Newton(model.parameters())
    monkeypatch.setattr(torch.autograd, "grad",
                        _batched_grad_raising(RuntimeError("CUDA error: an illegal memory access")))
    with pytest.raises(RuntimeError, match="illegal memory access"):
        opt.step(closure)


def test_newton_missing_batching_rule_falls_back_to_single_products(monkeypatch):
    model, closure = _tiny_model()
    expected_model, expected_closure = _tiny_model()
    expected = Newton(expected_model.parameters())
    expected.step(expected_closure)
    opt = Newton(model.parameters())
    monkeypatch.setattr(torch.autograd, "grad", _batched_grad_raising(
        RuntimeError("Batching rule not implemented for aten::foo; vmap fallback")))
    opt.step(closure)
    n = sum(p.numel() for p in model.parameters())
    assert opt.state["taylornet"]["n_hvp"] == n  # one product per row, none batched
    fallback = torch.cat([p.detach().flatten() for p in model.parameters()])
    batched = torch.cat([p.detach().flatten() for p in expected.param_groups[0]["params"]])
    assert torch.allclose(fallback, batched, rtol=1e-5, atol=1e-6)  # the same Newton step


def test_hessian_modification_lets_out_of_memory_through(monkeypatch):
    H = spd(4)
    xp = namespace(H)

    def cholesky(A):
        raise torch.OutOfMemoryError("CUDA out of memory")
    monkeypatch.setattr(xp.linalg, "cholesky", cholesky)
    with pytest.raises(torch.OutOfMemoryError):
        modified_cholesky_shift(H)


def test_hessian_modification_still_shifts_an_indefinite_matrix():
    H = torch.diag(torch.tensor([-2.0, 1.0, 3.0], dtype=torch.float64))
    tau = modified_cholesky_shift(H)
    assert tau > 2.0 and torch.linalg.eigvalsh(H + tau * torch.eye(3, dtype=H.dtype)).min() > 0


# -- the dtype policy ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", HALF, ids=str)
def test_rules_that_factorise_refuse_half_precision(dtype):
    g = torch.ones(3, dtype=dtype)
    B = torch.eye(3, dtype=dtype)
    J, r = torch.ones(4, 3, dtype=dtype), torch.ones(4, dtype=dtype)
    for call in (lambda: rules.newton_direction(g, B),
                 lambda: rules.damped_newton_direction(g, B, 0.1),
                 lambda: rules.dogleg_step(g, B, 1.0),
                 lambda: rules.gauss_newton_direction(J, r),
                 lambda: rules.levenberg_marquardt_direction(J, r, 0.1),
                 lambda: modified_cholesky_shift(B)):
        with pytest.raises(TypeError, match="float32 or float64"):
            call()


def test_numpy_float16_is_refused_too():
    with pytest.raises(TypeError, match="float16"):
        rules.newton_direction(np.ones(2, np.float16), np.eye(2, dtype=np.float16))


@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("method", ["newton", "bfgs", "lbfgs", "trust-dogleg"])
def test_minimize_refuses_half_precision(method, dtype):
    x0 = torch.ones(3, dtype=dtype)
    with pytest.raises(TypeError, match="minimize: x0 is"):
        taylornet.minimize(lambda x: (x**2).sum(), x0, method)


@pytest.mark.parametrize("dtype", HALF, ids=str)
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda c: c.__name__)
def test_optimizers_refuse_half_precision(optimizer, dtype):
    model = torch.nn.Linear(3, 1).to(dtype)
    with pytest.raises(TypeError, match=f"{optimizer.__name__}: parameter 0 is"):
        optimizer(model.parameters())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_full_precision_still_works(dtype):
    res = taylornet.minimize(lambda x: ((x - 1) ** 2).sum(), torch.zeros(3, dtype=dtype),
                             "newton")
    assert res.success and res.x.dtype == dtype


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
def test_lbfgs_curvature_test_uses_the_dtypes_epsilon(dtype):
    method = LBFGSMethod(None, torch.zeros(3, dtype=dtype))
    assert method.eps == torch.finfo(dtype).eps
    # a pair with y.s just above float64's threshold but below float32's is refused
    s_pair = torch.tensor([1.0, 0.0, 0.0], dtype=dtype)
    y_pair = torch.tensor([1e-9, 1.0, 0.0], dtype=dtype)  # y.s = 1e-9, y.y ~ 1
    method.update(s_pair, y_pair, None)
    assert len(method.s_hist) == (1 if dtype == torch.float64 else 0)


# -- probes on the hvp's device ------------------------------------------------------

def _torch_hvp():
    H = torch.diag(torch.arange(1.0, 7.0, dtype=torch.float64))
    return H, (lambda v: H @ v)


@pytest.mark.parametrize("estimator", [
    lambda hvp, **kw: hutchinson_trace(hvp, 6, 4, seed=0, **kw),
    lambda hvp, **kw: lanczos(hvp, 6, 3, seed=0, **kw),
    lambda hvp, **kw: spectral_density(hvp, 6, 2, 3, seed=0, **kw),
], ids=["hutchinson", "lanczos", "slq"])
def test_torch_hvp_without_like_asks_for_like(estimator):
    H, hvp = _torch_hvp()
    with pytest.raises(TypeError, match="like="):
        estimator(hvp)
    estimator(hvp, like=H)  # and with like= it runs


def test_hutchinson_with_like_is_exact_on_a_diagonal():
    H, hvp = _torch_hvp()
    assert hutchinson_trace(hvp, 6, 3, seed=1, like=H) == pytest.approx(21.0, abs=1e-12)


# -- host reads ----------------------------------------------------------------------

def _rule_calls():
    n = 6
    gen = torch.Generator().manual_seed(3)
    x, g, m, v = (torch.randn(n, dtype=torch.float64, generator=gen) for _ in range(4))
    v = v.abs()
    A = spd(n)
    S = [torch.randn(n, dtype=torch.float64, generator=gen) for _ in range(3)]
    Y = [A @ s for s in S]
    return {
        "gd_step": (rules.gd_step, (x, g, 0.1)),
        "momentum_step": (rules.momentum_step, (x, m, g, 0.1, 0.9)),
        "nesterov_step": (rules.nesterov_step, (x, m, g, 0.1, 0.9)),
        "adam_step": (rules.adam_step, (x, m, v, g, 3, 0.1)),
        "rmsprop_step": (rules.rmsprop_step, (x, v, g, 0.1)),
        "clip_grad_norm": (rules.clip_grad_norm, (g, 0.5)),
        "lbfgs_direction": (rules.lbfgs_direction, (g, S, Y)),
        "cg_beta": (rules.cg_beta, (g, 2 * g + x, m, "pr+")),
        "taylor_step": (rules.taylor_step, (x, 0.1, g, A @ g)),
    }, {
        "bfgs_inverse_update": (rules.bfgs_inverse_update, (A, S[0], Y[0])),
        "bfgs_update": (rules.bfgs_update, (A, S[0], Y[0])),
        "dfp_inverse_update": (rules.dfp_inverse_update, (A, S[0], Y[0])),
        "sr1_update": (rules.sr1_update, (A, S[0], Y[0])),
        "newton_direction": (rules.newton_direction, (g, A)),
    }


PURE, VALIDATING = (list(d) for d in _rule_calls())


@pytest.mark.parametrize("name", PURE)
def test_pure_rules_never_read_back_to_the_host(name):
    f, args = _rule_calls()[0][name]
    assert host_reads(f, *args) == 0


@pytest.mark.parametrize("name", VALIDATING)
def test_validating_rules_read_one_scalar(name):
    f, args = _rule_calls()[1][name]
    assert host_reads(f, *args) <= 1


def test_the_counter_counts():
    assert host_reads(lambda t: float(t.sum()) + t.max().item(), torch.ones(3)) == 2
    assert host_reads(lambda t: (t.tolist(), t.numpy(), np.asarray(t)), torch.ones(3)) == 3


# -- host reads of the loops: budgets per iteration -----------------------------------

def _spd_problem(n=40):
    A = spd(n, seed=5)
    b = torch.linspace(-1, 1, n, dtype=torch.float64)
    return A, b


@pytest.mark.parametrize("k", [4, 12])
def test_cg_reads_one_scalar_per_iteration(k):
    A, b = _spd_problem()
    reads = host_reads(_conjugate_gradient, lambda v: A @ v, b, tol=0.0, max_iter=k)
    assert reads == k + 1  # ||b|| and finiteness together, then p.Ap with the next r.r


@pytest.mark.parametrize("k", [4, 12])
def test_steihaug_reads_one_scalar_per_iteration(k):
    A, b = _spd_problem()
    reads = host_reads(rules.steihaug_cg, b, lambda v: A @ v, 1e6, tol=0.0, max_iter=k)
    assert reads <= k + 2


@pytest.mark.parametrize("k", [4, 12])
def test_power_iteration_reads_one_scalar_per_iteration(k):
    A, _ = _spd_problem()
    reads = host_reads(power_iteration, lambda v: A @ v,
                       torch.ones(A.shape[0], dtype=A.dtype), num_iters=k, tol=0.0)
    assert reads <= k + 2


def _mlp_and_closure():
    torch.manual_seed(0)
    X, y = torch.randn(64, 5), torch.randn(64, 1)
    model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    return model, (lambda: torch.nn.functional.mse_loss(model(X), y))


def test_optim_lbfgs_host_read_budget():
    """Per iteration: g.d, the search's slope, one read per trial, the stopping tests."""
    model, closure = _mlp_and_closure()
    opt = LBFGS(model.parameters(), max_iter=10, tolerance_grad=0.0, tolerance_change=0.0)
    with HostReads() as reads:
        opt.step(closure)
    n_evals = opt.state["taylornet"]["n_function_evals"]
    assert reads.count <= 3 * 10 + n_evals + 3
    assert reads.count <= 4.5 * 10  # torch.optim.LBFGS reads 2m + 7 per iteration


def test_newton_cg_host_read_budget():
    model, closure = _mlp_and_closure()
    opt = NewtonCG(model.parameters(), cg_tol=0.0, max_cg_iters=8)
    opt.step(closure)
    with HostReads() as reads:
        opt.step(closure)
    k = opt.state["taylornet"]["last_cg_iters"]
    assert k >= 2 and reads.count <= k + 5


def test_minimize_lbfgs_host_read_budget():
    def f(x):
        return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()

    x0 = torch.tensor([-1.2, 1.0] * 5, dtype=torch.float64)
    with HostReads() as reads:
        res = taylornet.minimize(f, x0, "lbfgs", max_iter=10)
    assert res.nit == 10
    # per iteration: g.p, the history, the pair test; per evaluation: f and the slope
    assert reads.count <= 3 * res.nit + 2 * res.nfev + 4
