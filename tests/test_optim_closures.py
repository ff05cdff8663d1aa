"""taylornet.optim: the closures of torch.optim work, and no evaluation is paid twice."""

import pytest
import torch

from taylornet.optim import BFGS, LBFGS, Newton, NewtonCG, NonlinearCG, TaylorFlow

FIRST_ORDER = {
    "BFGS": lambda p, **kw: BFGS(p, **kw),
    "LBFGS": lambda p, **kw: LBFGS(p, max_iter=4, **kw),
    "NonlinearCG": lambda p, **kw: NonlinearCG(p, **kw),
    "TaylorFlow1": lambda p: TaylorFlow(p, lr=0.3, order=1),
}
SECOND_ORDER = {
    "Newton": lambda p: Newton(p),
    "NewtonCG": lambda p: NewtonCG(p, max_cg_iters=8),
    "NewtonCG-GN": lambda p: NewtonCG(p, curvature="gauss-newton", max_cg_iters=8),
    "TaylorFlow2": lambda p: TaylorFlow(p, lr=0.3, order=2),
    "TaylorFlow3": lambda p: TaylorFlow(p, lr=0.3, order=3),
}
ALL = {**FIRST_ORDER, **SECOND_ORDER}
WITH_LINE_SEARCH = ("BFGS", "LBFGS", "NonlinearCG")


def problem():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(40, 3, generator=g, dtype=torch.float64)
    y = torch.sin(X @ torch.tensor([1.0, -0.5, 0.3], dtype=torch.float64)).unsqueeze(1)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    return model.double(), X, y


def make_closure(convention, opt, model, X, y, outputs=False, calls=None):
    """A closure in one of the three conventions; ``calls`` counts its calls."""
    def closure():
        if calls is not None:
            calls[0] += 1
        if convention != "returns loss":
            opt.zero_grad()
        out = model(X)
        loss = torch.nn.functional.mse_loss(out, y)
        if convention == "backward":
            loss.backward()
        elif convention == "backward(create_graph=True)":
            loss.backward(create_graph=True)
        return (loss, out) if outputs else loss

    return closure


def train(name, convention, steps=4):
    model, X, y = problem()
    opt = ALL[name](model.parameters())
    closure = make_closure(convention, opt, model, X, y, outputs=name.endswith("GN"))
    losses = [float(opt.step(closure)) for _ in range(steps)]
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]), losses, model


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
@pytest.mark.parametrize("convention", ["backward", "backward(create_graph=True)"])
@pytest.mark.parametrize("name", list(ALL))
def test_torch_optim_closures_give_the_same_steps(name, convention):
    if convention == "backward" and name in SECOND_ORDER:
        # second derivatives need the graph, which a plain backward() frees
        with pytest.raises(ValueError, match=r"backward\(create_graph=True\)"):
            train(name, convention, steps=1)
        return
    x_ref, losses_ref, _ = train(name, "returns loss")
    x, losses, model = train(name, convention)
    torch.testing.assert_close(x, x_ref, rtol=1e-12, atol=1e-14)
    assert losses == pytest.approx(losses_ref, rel=1e-12)
    assert losses[-1] < losses[0]
    # gradients left in .grad carry no graph (no parameter <-> gradient reference cycle)
    assert all(p.grad is None or not p.grad.requires_grad for p in model.parameters())


@pytest.mark.parametrize("name", list(ALL))
@pytest.mark.parametrize(("returned", "match"), [
    (None, "NoneType"),
    (1.5, "float"),
    (torch.ones(3, dtype=torch.float64), r"shape \(3,\)"),
    ((1, 2, 3), "length 3"),
])
def test_closure_must_return_a_scalar_tensor(name, returned, match):
    model, _, _ = problem()
    opt = ALL[name](model.parameters())
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(TypeError, match=match):
        opt.step(lambda: returned)
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before, strict=True))


@pytest.mark.parametrize("name", WITH_LINE_SEARCH)
def test_the_line_search_evaluation_starts_the_next_step(name):
    """One closure object: each step after the first starts from the search's last (f, g)."""
    runs = {}
    for reuse in (True, False):
        model, X, y = problem()
        opt = FIRST_ORDER[name](model.parameters(), reuse_evaluations=reuse)
        calls = [0]
        closure = make_closure("returns loss", opt, model, X, y, calls=calls)
        losses = [float(opt.step(closure)) for _ in range(6)]
        runs[reuse] = (torch.cat([p.detach().reshape(-1) for p in model.parameters()]),
                       losses, calls[0], dict(opt.state["taylornet"]))
    (x, losses, calls, status), (x_ref, losses_ref, calls_ref, status_ref) = runs[True], runs[False]
    torch.testing.assert_close(x, x_ref, rtol=0, atol=0)  # the same steps ...
    assert losses == losses_ref
    assert status["n_reused_evals"] == 5 and status_ref["n_reused_evals"] == 0
    assert calls == status["n_function_evals"] == calls_ref - 5  # ... one call fewer per step
    assert calls_ref == status_ref["n_function_evals"]


@pytest.mark.parametrize("name", WITH_LINE_SEARCH)
def test_no_reuse_after_the_parameters_or_the_closure_changed(name):
    model, X, y = problem()
    opt = FIRST_ORDER[name](model.parameters())
    calls = [0]
    closure = make_closure("returns loss", opt, model, X, y, calls=calls)
    opt.step(closure)
    with torch.no_grad():  # the parameters moved outside the optimizer
        next(model.parameters()).mul_(0.9)
        moved = float(torch.nn.functional.mse_loss(model(X), y))
    before = calls[0]
    loss = opt.step(closure)
    assert calls[0] > before and opt.state["taylornet"]["n_reused_evals"] == 0
    assert float(loss) == moved  # the step started from the moved point's own loss
    other = make_closure("returns loss", opt, model, X, y)  # a new closure: new data, maybe
    opt.step(other)
    assert opt.state["taylornet"]["n_reused_evals"] == 0


def test_bfgs_counts_match_a_hand_count_on_rosenbrock():
    """n_function_evals is the number of closure calls, each line-search trial counted once."""
    z = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    opt = BFGS([z])
    calls = [0]

    def rosen():
        calls[0] += 1
        return (1 - z[0]) ** 2 + 100 * (z[1] - z[0] ** 2) ** 2

    for _ in range(60):
        opt.step(rosen)
    status = opt.state["taylornet"]
    assert calls[0] == status["n_function_evals"] == status["n_grad_evals"]
    assert status["n_reused_evals"] == 59
    torch.testing.assert_close(z.detach(), torch.ones(2, dtype=torch.float64), atol=1e-8, rtol=0)


def test_a_bound_method_is_the_same_closure_at_every_step():
    """``opt.step(trainer.closure)`` makes a new bound-method object per call: still reused."""
    class Trainer:
        def __init__(self):
            self.model, self.X, self.y = problem()

        def closure(self):
            return torch.nn.functional.mse_loss(self.model(self.X), self.y)

    trainer = Trainer()
    opt = NonlinearCG(trainer.model.parameters())
    for _ in range(3):
        opt.step(trainer.closure)
    assert opt.state["taylornet"]["n_reused_evals"] == 2
    other = Trainer()  # the same function on another object is another closure
    other.model = trainer.model
    opt.step(other.closure)
    assert opt.state["taylornet"]["n_reused_evals"] == 2
