"""taylornet.optim: state_dict() / load_state_dict() continue training exactly."""

import copy

import pytest
import torch

from taylornet.optim import BFGS, LBFGS, Newton, NewtonCG, NonlinearCG, TaylorFlow

OPTIMIZERS = {
    "TaylorFlow1": lambda p: TaylorFlow(p, lr=0.3, order=1),
    "TaylorFlow3": lambda p: TaylorFlow(p, lr=0.3, order=3),
    "Newton": lambda p: Newton(p),
    "NewtonCG": lambda p: NewtonCG(p, max_cg_iters=6),
    "NewtonCG-GN": lambda p: NewtonCG(p, curvature="gauss-newton", max_cg_iters=6),
    "BFGS": lambda p: BFGS(p),
    "LBFGS": lambda p: LBFGS(p, max_iter=3, history_size=4),
    "NonlinearCG": lambda p: NonlinearCG(p),
}


def problem():
    g = torch.Generator().manual_seed(1)
    X = torch.randn(40, 3, generator=g, dtype=torch.float64)
    y = torch.tanh(X[:, :1] - 0.5 * X[:, 1:2]) + 0.1 * X[:, 2:]
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    return model.double(), X, y


def closure_for(model, X, y, gauss_newton):
    def closure():
        out = model(X)
        loss = torch.nn.functional.mse_loss(out, y)
        return (loss, out) if gauss_newton else loss

    return closure


def flat(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_dict_round_trip_continues_identically(name):
    """k steps, save, load into a new optimizer on a copy of the model, k more steps."""
    make, k, gn = OPTIMIZERS[name], 4, name.endswith("GN")
    model, X, y = problem()
    opt = make(model.parameters())
    closure = closure_for(model, X, y, gn)
    for _ in range(k):
        opt.step(closure)
    saved = copy.deepcopy(opt.state_dict())
    model2 = copy.deepcopy(model)
    # uninterrupted run
    losses = [float(opt.step(closure)) for _ in range(k)]
    # a new model and optimizer, loaded from the saved state
    opt2 = make(model2.parameters())
    opt2.load_state_dict(saved)
    closure2 = closure_for(model2, X, y, gn)
    losses2 = [float(opt2.step(closure2)) for _ in range(k)]
    torch.testing.assert_close(flat(model2), flat(model), rtol=1e-12, atol=1e-14)
    assert losses2 == pytest.approx(losses, rel=1e-12)
    assert losses[-1] < losses[0]  # training went on (not a trivial comparison)
    assert opt2.state["taylornet"]["n_steps"] == opt.state["taylornet"]["n_steps"] == 2 * k
    for key in ("damping", "last_rho"):  # Newton-CG's adapted damping came along
        assert opt2.state["taylornet"].get(key) == opt.state["taylornet"].get(key)
    # loading copies the counters: the saved dict is not updated by the new optimizer
    assert saved["state"]["taylornet"]["n_steps"] == k


@pytest.mark.parametrize("name", ["BFGS", "LBFGS", "NonlinearCG"])
def test_state_is_tensors_that_follow_the_parameters(name):
    """The memory is tensors, so load_state_dict moves it to the parameters' device/dtype."""
    model, X, y = problem()
    opt = OPTIMIZERS[name](model.parameters())
    for _ in range(3):
        opt.step(closure_for(model, X, y, False))
    memory = opt.state_dict()["state"][0]
    tensors = [v for v in memory.values() if torch.is_tensor(v)]
    tensors += [t for v in memory.values() if isinstance(v, list) for t in v]
    assert tensors and all(t.dtype == torch.float64 for t in tensors)
    assert not any(hasattr(v, "__array__") and not torch.is_tensor(v) for v in memory.values())
    model32 = copy.deepcopy(model).float()
    opt32 = OPTIMIZERS[name](model32.parameters())
    opt32.load_state_dict(opt.state_dict())
    loaded = opt32.state_dict()["state"][0]
    for key, value in loaded.items():
        if torch.is_tensor(value) and value.is_floating_point():
            assert value.dtype == torch.float32, key
    X32, y32 = X.float(), y.float()

    def loss32():
        with torch.no_grad():
            return float(torch.nn.functional.mse_loss(model32(X32), y32))

    before = loss32()
    opt32.step(closure_for(model32, X32, y32, False))
    assert loss32() < before
