"""taylornet.optim: non-finite losses are rejected and reported; bad input gives clear errors."""

import math

import pytest
import torch

from taylornet.optim import BFGS, LBFGS, Newton, NewtonCG, NonlinearCG, TaylorFlow

ALL = {
    "TaylorFlow1": lambda p: TaylorFlow(p, lr=0.3, order=1),
    "TaylorFlow3": lambda p: TaylorFlow(p, lr=0.3, order=3),
    "Newton": lambda p: Newton(p),
    "NewtonCG": lambda p: NewtonCG(p, max_cg_iters=10),
    "BFGS": lambda p: BFGS(p),
    "LBFGS": lambda p: LBFGS(p, max_iter=3),
    "NonlinearCG": lambda p: NonlinearCG(p),
}


def problem(dtype=torch.float64):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(32, 2, generator=g, dtype=dtype)
    y = torch.tanh(X[:, :1] - X[:, 1:])
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    return model.to(dtype), X, y


def flat(model):
    return torch.cat([p.detach().reshape(-1).clone() for p in model.parameters()])


@pytest.mark.parametrize("name", list(ALL))
def test_nan_loss_mid_training_is_rejected_and_reported(name):
    """The closure returns NaN on its 6th call (start of a step or inside a line search)."""
    model, X, y = problem()
    opt = ALL[name](model.parameters())
    calls = {"n": 0}

    def closure():
        calls["n"] += 1
        loss = torch.nn.functional.mse_loss(model(X), y)
        return loss * float("nan") if calls["n"] == 6 else loss

    seen = []
    with pytest.warns(RuntimeWarning, match="non-finite"):
        for _ in range(6):
            before = flat(model)
            loss = opt.step(closure)
            assert torch.isfinite(flat(model)).all()
            seen.append((before, loss))
    status = opt.state["taylornet"]
    assert status["rejected_steps"] == 1
    assert "non-finite" in status["last_rejection"]
    # training went on afterwards and still made progress
    with torch.no_grad():
        final = float(torch.nn.functional.mse_loss(model(X), y))
    assert math.isfinite(final) and final < float(seen[0][1])


def test_taylor_step_to_nonfinite_point_is_undone():
    """A Taylor step that overflows the loss is undone at the next step: last finite point back."""
    x = torch.tensor([3.0], dtype=torch.float64, requires_grad=True)
    opt = TaylorFlow([x], lr=10.0, order=1)

    def f():
        return torch.where(x[0].abs() > 100, torch.tensor(float("inf"), dtype=torch.float64),
                           x[0] ** 2)

    opt.step(f)  # x <- 3 - 10*6 = -57
    assert float(x.detach()) == pytest.approx(-57.0)
    opt.step(f)  # x <- -57 + 1140 = 1083: the loss there is inf
    assert float(x.detach()) == pytest.approx(1083.0)
    with pytest.warns(RuntimeWarning, match="restored"):
        loss = opt.step(f)
    assert not torch.isfinite(loss)
    assert float(x.detach()) == pytest.approx(-57.0)  # the last point with a finite loss
    assert opt.state["taylornet"]["rejected_steps"] == 1


def test_newton_cg_step_to_inf_is_rejected_and_damping_raised():
    x = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    opt = NewtonCG([x], damping=1e-3)

    def f():  # infinite beyond |x| > 1.2: the Newton step on the quadratic part jumps past it
        q = 0.5 * (x - 5.0) @ (x - 5.0)
        return torch.where(x.abs().max() > 1.2, torch.tensor(float("inf"), dtype=x.dtype), q)

    with pytest.warns(RuntimeWarning, match="Newton-CG step"):
        opt.step(f)
    assert torch.equal(x.detach(), torch.tensor([1.0, 1.0], dtype=torch.float64))
    assert opt.state["taylornet"]["rejected_steps"] == 1
    assert opt.state["taylornet"]["damping"] == pytest.approx(1.5e-3)


def test_inf_data_point_keeps_parameters():
    model, X, y = problem()
    opt = LBFGS(model.parameters(), max_iter=2)
    y_bad = y.clone()
    y_bad[3, 0] = float("inf")
    opt.step(lambda: torch.nn.functional.mse_loss(model(X), y))
    before = flat(model)
    with pytest.warns(RuntimeWarning, match="at the start of step 2"):
        loss = opt.step(lambda: torch.nn.functional.mse_loss(model(X), y_bad))
    assert not torch.isfinite(loss)
    torch.testing.assert_close(flat(model), before, rtol=0, atol=0)


# -- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(ALL))
def test_closure_none_is_refused(name):
    model, _, _ = problem()
    with pytest.raises(ValueError, match="needs a closure"):
        ALL[name](model.parameters()).step()


@pytest.mark.parametrize("name", list(ALL))
def test_params_without_grad_are_refused(name):
    frozen = torch.zeros(3, requires_grad=False)
    with pytest.raises(ValueError, match="does not require grad"):
        ALL[name]([frozen])


def test_mixed_dtypes_and_empty_params_are_refused():
    with pytest.raises(ValueError, match="one dtype and device"):
        LBFGS([torch.zeros(2, requires_grad=True), torch.zeros(2, dtype=torch.float64,
                                                                requires_grad=True)])
    with pytest.raises(ValueError, match="empty"):
        BFGS([])


@pytest.mark.parametrize(("make", "match"), [
    (lambda p: LBFGS(p, lr=0), "lr must be > 0"),
    (lambda p: LBFGS(p, history_size=0), "history_size"),
    (lambda p: LBFGS(p, line_search_fn="armijo"), "line_search_fn"),
    (lambda p: TaylorFlow(p, order=4), "order must be 1, 2 or 3"),
    (lambda p: Newton(p, damping=-1.0), "damping"),
    (lambda p: NewtonCG(p, curvature="fisher"), "curvature"),
    (lambda p: NewtonCG(p, max_cg_iters=0), "max_cg_iters"),
    (lambda p: NonlinearCG(p, beta="dy"), "beta must be one of"),
    (lambda p: BFGS(p, line_search="wolfe"), "line_search must be one of"),
])
def test_invalid_options(make, match):
    with pytest.raises(ValueError, match=match):
        make([torch.zeros(2, requires_grad=True)])


def test_sparse_gradients_are_refused():
    emb = torch.nn.Embedding(5, 3, sparse=True)
    opt = LBFGS(emb.parameters())
    idx = torch.tensor([0, 2])

    def legacy():
        opt.zero_grad()
        loss = emb(idx).pow(2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="sparse"):
        opt.step(legacy)


def test_second_order_methods_need_a_closure_without_backward():
    model, X, y = problem()
    opt = NewtonCG(model.parameters())

    def legacy():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(X), y)
        loss.backward()
        return loss

    with pytest.raises(ValueError, match="without calling backward"):
        opt.step(legacy)


def test_gauss_newton_needs_outputs_and_closure_must_return_a_scalar():
    model, X, y = problem()
    opt = NewtonCG(model.parameters(), curvature="gauss-newton")
    with pytest.raises(ValueError, match=r"\(loss, outputs\)"):
        opt.step(lambda: torch.nn.functional.mse_loss(model(X), y))
    with pytest.raises(TypeError, match="one-element tensor"):
        LBFGS(model.parameters()).step(lambda: model(X))
    with pytest.raises(ValueError, match="does not depend on the parameters"):
        LBFGS(model.parameters()).step(lambda: torch.tensor(1.0, dtype=torch.float64))
