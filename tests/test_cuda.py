"""The modules that claim CUDA support, run on a GPU (skipped without one).

Each result is compared with the same computation on the CPU, and the loops
that should not synchronise run under ``torch.cuda.set_sync_debug_mode("warn")``
so that a host read shows up in the test output.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import taylornet
from taylornet import autodiff
from taylornet.curvature import (
    GaussNewtonOperator,
    HessianOperator,
    hutchinson_trace,
    lanczos_eigenvalues,
)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")


def rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def x0(device):
    return torch.tensor([-1.2, 1.0] * 5, dtype=torch.float64, device=device)


@pytest.mark.parametrize("method", ["bfgs", "lbfgs", "newton", "newton-cg", "trust-ncg", "cg"])
def test_minimize_on_cuda_matches_cpu(method):
    cpu = taylornet.minimize(rosenbrock, x0("cpu"), method, max_iter=2000)
    gpu = taylornet.minimize(rosenbrock, x0("cuda"), method, max_iter=2000)
    assert gpu.success and gpu.x.device.type == "cuda"
    torch.testing.assert_close(gpu.x.cpu(), cpu.x, rtol=1e-6, atol=1e-8)


def test_autodiff_on_cuda_matches_cpu():
    v = torch.linspace(-1, 1, 10, dtype=torch.float64)
    for f in (autodiff.grad, autodiff.hessian):
        torch.testing.assert_close(f(rosenbrock, x0("cuda")).cpu(), f(rosenbrock, x0("cpu")))
    torch.testing.assert_close(autodiff.hvp(rosenbrock, x0("cuda"), v.cuda()).cpu(),
                               autodiff.hvp(rosenbrock, x0("cpu"), v))


def _model_and_batch(device):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    X, y = torch.randn(32, 5), torch.randint(0, 3, (32,))
    return model.double().to(device), (X.double().to(device), y.to(device))


@pytest.mark.parametrize("operator", [HessianOperator, GaussNewtonOperator])
def test_curvature_operators_on_cuda_match_cpu(operator):
    loss = torch.nn.functional.cross_entropy
    ops = {d: operator(*_model_and_batch(d)[:1], loss, _model_and_batch(d)[1])
           for d in ("cpu", "cuda")}
    v = torch.randn(ops["cpu"].shape[0], dtype=torch.float64)
    torch.testing.assert_close((ops["cuda"] @ v.cuda()).cpu(), ops["cpu"] @ v)
    eigs = {d: op.eigenvalues(3, seed=0) for d, op in ops.items()}
    np.testing.assert_allclose(eigs["cuda"], eigs["cpu"], rtol=1e-6, atol=1e-9)


def test_lanczos_and_hutchinson_on_cuda():
    H = torch.diag(torch.arange(1.0, 65.0, dtype=torch.float64, device="cuda"))
    torch.cuda.set_sync_debug_mode("warn")
    try:
        top = lanczos_eigenvalues(H.__matmul__, 64, 2, which="largest", seed=0, like=H)
        trace = hutchinson_trace(H.__matmul__, 64, 4, seed=0, like=H)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    np.testing.assert_allclose(np.sort(np.asarray(top)), [63.0, 64.0], rtol=1e-8)
    assert trace == pytest.approx(float(torch.arange(1, 65).sum()), rel=1e-12)


def test_pure_rules_do_not_synchronise_on_cuda():
    """The rules that read nothing back on the CPU count run under sync debug mode "error"."""
    from taylornet import rules

    gen = torch.Generator(device="cuda").manual_seed(0)
    x, g, m = (torch.randn(8, dtype=torch.float64, device="cuda", generator=gen)
               for _ in range(3))
    v = m.abs()
    S = [torch.randn(8, dtype=torch.float64, device="cuda", generator=gen) for _ in range(3)]
    Y = [2.0 * s + 0.1 * x for s in S]
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        rules.gd_step(x, g, 0.1)
        rules.momentum_step(x, m, g, 0.1, 0.9)
        rules.nesterov_step(x, m, g, 0.1, 0.9)
        rules.adam_step(x, m, v, g, 3, 0.1)
        rules.rmsprop_step(x, v, g, 0.1)
        rules.clip_grad_norm(g, 0.5)
        rules.lbfgs_direction(g, S, Y)
        rules.cg_beta(g, 2 * g + x, m, "pr+")
    finally:
        torch.cuda.set_sync_debug_mode("default")
