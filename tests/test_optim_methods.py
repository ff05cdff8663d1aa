"""taylornet.optim: each optimizer against an independent reference, and training an MLP."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch

import taylornet
from taylornet.optim import BFGS, LBFGS, Newton, NewtonCG, NonlinearCG, TaylorFlow
from taylornet.rules import damped_newton_direction, taylor_step

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                  reason="CUDA not available")),
]


# -- a small MLP regression problem -----------------------------------------------------
def mlp_problem(device, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(48, 3, generator=g, dtype=torch.float64)
    y = torch.sin(X.sum(1, keepdim=True))
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 1))
    return model.to(device=device, dtype=dtype), X.to(device, dtype), y.to(device, dtype)


# name: (constructor, steps, required final/initial loss ratio)
OPTIMIZERS = {
    "TaylorFlow1": (lambda p: TaylorFlow(p, lr=0.5, order=1), 60, 0.4),
    "TaylorFlow2": (lambda p: TaylorFlow(p, lr=0.3, order=2), 60, 0.4),
    "TaylorFlow3": (lambda p: TaylorFlow(p, lr=0.5, order=3), 40, 0.4),
    "Newton": (lambda p: Newton(p), 12, 0.05),
    "NewtonCG": (lambda p: NewtonCG(p, max_cg_iters=20), 12, 0.05),
    "NewtonCG-GN": (lambda p: NewtonCG(p, curvature="gauss-newton", max_cg_iters=20), 12, 0.05),
    "BFGS": (lambda p: BFGS(p), 40, 0.05),
    "LBFGS": (lambda p: LBFGS(p, max_iter=10), 5, 0.05),
    "NonlinearCG": (lambda p: NonlinearCG(p), 60, 0.05),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_trains_mlp_to_target(name, device, dtype):
    make, steps, ratio = OPTIMIZERS[name]
    model, X, y = mlp_problem(device, dtype)
    opt = make(model.parameters())
    gauss_newton = name.endswith("GN")

    def closure():
        out = model(X)
        loss = torch.nn.functional.mse_loss(out, y)
        return (loss, out) if gauss_newton else loss

    with torch.no_grad():
        initial = float(torch.nn.functional.mse_loss(model(X), y))
    losses = [float(opt.step(closure)) for _ in range(steps)]
    with torch.no_grad():
        final = float(torch.nn.functional.mse_loss(model(X), y))
    assert losses[0] == pytest.approx(initial, rel=1e-5)
    assert math.isfinite(final)
    assert final < ratio * initial, (name, initial, final)
    assert all(p.device.type == device and p.dtype == dtype for p in model.parameters())
    status = opt.state["taylornet"]
    assert status["rejected_steps"] == 0
    assert status["n_function_evals"] >= steps and status["n_grad_evals"] >= steps
    if name.startswith(("Newton", "TaylorFlow2", "TaylorFlow3")):
        assert status["n_hvp"] > 0


# -- quadratics: Newton and Newton-CG ---------------------------------------------------
def quadratic(n=6, seed=1, device="cpu"):
    rng = np.random.default_rng(seed)
    Q = rng.standard_normal((n, n))
    A = torch.tensor(Q @ Q.T + n * np.eye(n), device=device)
    b = torch.tensor(rng.standard_normal(n), device=device)
    return A, b


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("curvature", ["hessian", "gauss-newton"])
def test_newton_cg_on_quadratic_is_the_newton_step(device, curvature):
    A, b = quadratic(device=device)
    L = torch.linalg.cholesky(A)
    x = torch.zeros(6, dtype=torch.float64, device=device, requires_grad=True)
    opt = NewtonCG([x], damping=0.0, adapt_damping=False, cg_tol=1e-13, max_cg_iters=6,
                   curvature=curvature)

    def closure():
        # f = 1/2 |L^T x|^2 - b.x: the Gauss-Newton matrix of the outputs z = L^T x is A too.
        z = L.T @ x
        loss = 0.5 * z @ z - b @ x
        return (loss, z) if curvature == "gauss-newton" else loss

    opt.step(closure)
    torch.testing.assert_close(x.detach(), torch.linalg.solve(A, b), rtol=1e-10, atol=1e-12)
    assert opt.state["taylornet"]["last_rho"] == pytest.approx(1.0, abs=1e-8)  # model exact


def test_newton_cg_damped_step_and_martens_adaptation():
    A, b = quadratic()
    x0 = torch.randn(6, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    x = x0.clone().requires_grad_()
    lam = 2.0
    opt = NewtonCG([x], damping=lam, cg_tol=1e-13, max_cg_iters=6)
    opt.step(lambda: 0.5 * x @ A @ x - b @ x)
    g = A @ x0 - b
    expected = x0 + damped_newton_direction(g, A, lam)  # (A + lam I) p = -g
    torch.testing.assert_close(x.detach(), expected, rtol=1e-10, atol=1e-12)
    # On a quadratic the undamped model is exact, rho = 1 > 3/4: lambda <- 2/3 lambda.
    assert opt.state["taylornet"]["last_rho"] == pytest.approx(1.0, abs=1e-10)
    assert opt.state["taylornet"]["damping"] == pytest.approx(lam * 2 / 3)


def test_newton_cg_stops_at_negative_curvature():
    """f = x0^2 - x1^2 + x1^4 is indefinite near x1 = 0; minima at (0, +-1/sqrt 2)."""
    x = torch.tensor([1.0, 0.1], dtype=torch.float64, requires_grad=True)
    opt = NewtonCG([x], damping=0.0, max_cg_iters=10)

    def f():
        return x[0] ** 2 - x[1] ** 2 + x[1] ** 4

    losses, cg_status = [], []
    for _ in range(10):
        losses.append(float(opt.step(f)))
        cg_status.append(opt.state["taylornet"]["last_cg_status"])
    assert "negative_curvature" in cg_status  # CG stopped instead of raising
    assert all(b <= a for a, b in zip(losses, losses[1:], strict=False))  # monotone
    torch.testing.assert_close(x.detach(), torch.tensor([0.0, 0.5**0.5], dtype=torch.float64),
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_newton_one_step_on_quadratic_and_modification_when_indefinite(device):
    A, b = quadratic(device=device)
    x = torch.zeros(6, dtype=torch.float64, device=device, requires_grad=True)
    opt = Newton([x], damping=0.0)
    opt.step(lambda: 0.5 * x @ A @ x - b @ x)
    torch.testing.assert_close(x.detach(), torch.linalg.solve(A, b), rtol=1e-10, atol=1e-12)
    assert opt.state["taylornet"]["last_shift"] == 0.0
    # indefinite Hessian: the shift makes it positive definite and the loss decreases
    y = torch.tensor([0.5, 0.3], dtype=torch.float64, device=device, requires_grad=True)
    opt = Newton([y])

    def saddle():
        return y[0] ** 2 - y[1] ** 2 + 0.25 * y[1] ** 4

    f0 = float(saddle().detach())
    opt.step(saddle)
    assert opt.state["taylornet"]["last_shift"] > 1.73  # lambda_min(H) = -2 + 3 y1^2 = -1.73
    assert float(saddle().detach()) < f0


def test_newton_hessian_matches_torch_func():
    model, X, y = mlp_problem("cpu", torch.float64)
    opt = Newton(model.parameters())
    names = [n for n, _ in model.named_parameters()]
    params = {n: p.detach() for n, p in model.named_parameters()}
    shapes = [p.shape for p in params.values()]

    def flat_loss(z):
        parts = torch.split(z, [math.prod(s) for s in shapes])
        new = {n: t.view(s) for n, t, s in zip(names, parts, shapes, strict=True)}
        out = torch.func.functional_call(model, new, (X,))
        return torch.nn.functional.mse_loss(out, y)

    z = torch.cat([p.reshape(-1) for p in params.values()])
    H_ref = torch.func.hessian(flat_loss)(z)
    evaluation = opt._evaluate(lambda: torch.nn.functional.mse_loss(model(X), y),
                               create_graph=True)
    torch.testing.assert_close(opt._hessian(evaluation), H_ref, rtol=1e-10, atol=1e-12)


# -- BFGS and nonlinear CG against taylornet.minimize ------------------------------------
def rosenbrock(z):
    """Chained Rosenbrock in 3 variables (scipy.optimize.rosen's form)."""
    return sum((1 - z[i]) ** 2 + 100 * (z[i + 1] - z[i] ** 2) ** 2 for i in range(2))


@pytest.mark.parametrize(("cls", "method", "options"), [
    (BFGS, "bfgs", {}),
    (NonlinearCG, "cg", {"beta": "pr+"}),
    (NonlinearCG, "cg", {"beta": "fr"}),
])
def test_iterates_match_taylornet_minimize(cls, method, options):
    x0 = torch.tensor([-1.2, 1.0, 0.8], dtype=torch.float64)
    z = x0.clone().requires_grad_()
    opt = cls([z], **options)
    for k in range(1, 9):
        opt.step(lambda: rosenbrock(z))
        ref = taylornet.minimize(rosenbrock, x0, method, max_iter=k, gtol=0.0, **options)
        assert ref.nit == k
        torch.testing.assert_close(z.detach(), ref.x, rtol=1e-9, atol=1e-11)


def test_bfgs_reaches_scipy_minimum():
    scipy_optimize = pytest.importorskip("scipy.optimize")
    x0 = np.array([-1.2, 1.0, 0.8])
    assert rosenbrock(torch.tensor(x0)).item() == pytest.approx(scipy_optimize.rosen(x0))
    ref = scipy_optimize.minimize(scipy_optimize.rosen, x0, jac=scipy_optimize.rosen_der,
                                  method="BFGS", options={"gtol": 1e-10})
    assert ref.success
    z = torch.tensor(x0, requires_grad=True)
    opt = BFGS([z])
    for _ in range(200):
        opt.step(lambda: rosenbrock(z))
    np.testing.assert_allclose(z.detach().numpy(), ref.x, atol=1e-5)


# -- TaylorFlow against the rule and the exact flow -------------------------------------
def test_taylor_flow_equals_taylor_step_rule():
    def f(v):
        return 0.5 * (v**2).sum() + 0.1 * (v**4).sum() + v[0] * v[1] * v[2]

    x0 = torch.tensor([0.3, -0.5, 0.8], dtype=torch.float64)
    g, H = torch.func.grad(f)(x0), torch.func.hessian(f)(x0)
    T = torch.func.jacfwd(torch.func.hessian(f))(x0)  # third derivatives, independently
    T3gg = torch.einsum("ijk,j,k->i", T, g, g)
    lr = 0.1
    expected = {1: taylor_step(x0, lr, g), 2: taylor_step(x0, lr, g, H @ g),
                3: taylor_step(x0, lr, g, H @ g, H @ H @ g, T3gg)}
    for order, ref in expected.items():
        x = x0.clone().requires_grad_()
        TaylorFlow([x], lr=lr, order=order).step(lambda x=x: f(x))
        torch.testing.assert_close(x.detach(), ref, rtol=1e-13, atol=1e-15)


def test_taylor_flow_converges_to_exact_flow_on_quadratic():
    """On f = x'Ax/2 - b'x the flow is exact: x(t) - x = -A^{-1}(I - e^{-tA}) g."""
    A, b = quadratic()
    x0 = torch.zeros(6, dtype=torch.float64)
    g = A @ x0 - b
    errors = {}
    for order in (1, 2, 3):
        errs = []
        for lr in (0.02, 0.01):
            decay = torch.eye(6, dtype=torch.float64) - torch.tensor(
                scipy.linalg.expm(-lr * A.numpy()))
            exact = x0 - torch.linalg.solve(A, decay @ g)
            x = x0.clone().requires_grad_()
            TaylorFlow([x], lr=lr, order=order).step(lambda x=x: 0.5 * x @ A @ x - b @ x)
            errs.append(float((x.detach() - exact).norm()))
        errors[order] = errs
        # local error O(lr^{order+1}): halving lr divides it by about 2^{order+1}
        assert errs[0] / errs[1] == pytest.approx(2 ** (order + 1), rel=0.15)
    assert errors[3][1] < errors[2][1] < errors[1][1]


def test_taylor_flow_per_group_lr_is_a_diagonal_preconditioner():
    """Two groups with lrs a, b: the series of x' = -D grad f with D = diag(a I, b I)."""
    def f(v):
        return 0.5 * (v**2).sum() + 0.1 * (v**4).sum() + v[0] * v[2]

    x0 = torch.tensor([0.3, -0.5, 0.8], dtype=torch.float64)
    a, c = 0.1, 0.02
    D = torch.diag(torch.tensor([a, a, c], dtype=torch.float64))
    g, H = torch.func.grad(f)(x0), torch.func.hessian(f)(x0)
    expected = x0 - D @ g + 0.5 * D @ H @ D @ g
    x = x0.clone()
    p1, p2 = x[:2].clone().requires_grad_(), x[2:].clone().requires_grad_()
    opt = TaylorFlow([{"params": [p1], "lr": a}, {"params": [p2], "lr": c}], order=2)
    opt.step(lambda: f(torch.cat([p1, p2])))
    torch.testing.assert_close(torch.cat([p1, p2]).detach(), expected, rtol=1e-13, atol=1e-15)
