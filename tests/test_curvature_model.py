"""Curvature of real models: GGN products, the Hessian operator, BatchNorm train vs eval.

References are independent: dense matrices from ``torch.func.hessian`` /
``torch.func.jacrev`` of a functional loss, ``torch.linalg.eigvalsh``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call, hessian, jacrev

from taylornet.curvature import (
    GaussNewtonOperator,
    HessianOperator,
    density_on_grid,
    gauss_newton_vector_product,
)
from taylornet.curvature.hutchinson import _hutchinson_samples

DT = torch.float64


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny tensors: extra intra-op threads only add contention on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _mlp(n_in=3, hidden=4, n_out=2, seed=0, batchnorm=False):
    torch.manual_seed(seed)
    layers = [nn.Linear(n_in, hidden)]
    if batchnorm:
        layers.append(nn.BatchNorm1d(hidden))
    layers += [nn.Tanh(), nn.Linear(hidden, n_out)]
    return nn.Sequential(*layers).to(DT)


def _data(n=7, n_in=3, n_out=2, seed=1, classes=False):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, n_in, generator=g, dtype=DT)
    if classes:
        y = torch.randint(0, n_out, (n,), generator=g)
    else:
        y = torch.randn(n, n_out, generator=g, dtype=DT)
    return X, y


def _flat_functional(model, X):
    """``theta -> model(X)`` for a flat parameter vector ``theta`` (buffers as constants)."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    sizes = [p.numel() for _, p in model.named_parameters()]
    buffers = {n: b.clone() for n, b in model.named_buffers()}

    def f(theta):
        parts = [t.reshape(s) for t, s in zip(torch.split(theta, sizes), shapes, strict=True)]
        return functional_call(model, ({**dict(zip(names, parts, strict=True)), **buffers},), (X,))

    theta0 = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    return f, theta0


def _mse(outputs, targets):
    """MSE written out: torch 2.13 has no forward-mode rule for F.mse_loss's backward."""
    return ((outputs - targets) ** 2).mean()


LOSSES = {
    "mse": (_mse, False),
    "cross_entropy": (nn.functional.cross_entropy, True),
}


# --- Gauss-Newton-vector products ------------------------------------------------------


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_ggn_product_matches_explicit_jt_hl_j(loss_name):
    """G v equals J^T H_L J v with J from jacrev and H_L from torch.func.hessian."""
    loss_fn, classes = LOSSES[loss_name]
    model = _mlp(n_out=3)
    X, y = _data(n_out=3, classes=classes)
    f, theta = _flat_functional(model, X)
    out_shape = f(theta).shape
    J = jacrev(lambda t: f(t).reshape(-1))(theta)                      # (m, n)
    z = f(theta).detach().reshape(-1)
    H_L = hessian(lambda zz: loss_fn(zz.reshape(out_shape), y))(z)     # (m, m)
    G = J.T @ H_L @ J

    params = list(model.parameters())
    outputs = model(X)
    loss = loss_fn(outputs, y)
    g = torch.Generator().manual_seed(3)
    for _ in range(3):
        v = torch.randn(theta.numel(), generator=g, dtype=DT)
        vs = [t.reshape(p.shape) for t, p in zip(torch.split(v, [p.numel() for p in params]),
                                                  params, strict=True)]
        Gv = torch.cat([t.reshape(-1) for t in
                        gauss_newton_vector_product(outputs, loss, params, vs)])
        torch.testing.assert_close(Gv, G @ v, rtol=1e-10, atol=1e-12)
    # PITFALL 8: for cross-entropy J^T J is a different matrix.
    if loss_name == "cross_entropy":
        assert not torch.allclose(J.T @ J @ v, G @ v, rtol=1e-3)


def test_ggn_equals_hessian_for_linear_model_and_mse():
    """With z linear in theta the second term of the Hessian vanishes: G = H exactly."""
    torch.manual_seed(0)
    model = nn.Linear(3, 2).to(DT)
    X, y = _data()
    f, theta = _flat_functional(model, X)
    H = hessian(lambda t: nn.functional.mse_loss(f(t), y))(theta)
    params = list(model.parameters())
    out = model(X)
    loss = nn.functional.mse_loss(out, y)
    for i in range(theta.numel()):
        e = torch.zeros(theta.numel(), dtype=DT)
        e[i] = 1
        es = [t.reshape(p.shape) for t, p in zip(torch.split(e, [p.numel() for p in params]),
                                                  params, strict=True)]
        col = torch.cat([t.reshape(-1) for t in gauss_newton_vector_product(out, loss, params, es)])
        torch.testing.assert_close(col, H[:, i], rtol=1e-12, atol=1e-13)


def test_ggn_keeps_callers_graph_and_rejects_bad_vectors():
    model = _mlp()
    X, y = _data()
    params = list(model.parameters())
    out = model(X)
    loss = nn.functional.mse_loss(out, y)
    v = [torch.ones_like(p) for p in params]
    gauss_newton_vector_product(out, loss, params, v)
    with pytest.raises(ValueError, match="tensors"):
        gauss_newton_vector_product(out, loss, params, v[:-1])
    with pytest.raises(ValueError, match="shape"):
        gauss_newton_vector_product(out, loss, params, [v[1], *v[1:]])
    bad = [t.clone() for t in v]
    bad[0][0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        gauss_newton_vector_product(out, loss, params, bad)
    with pytest.raises(ValueError, match="float32"):
        gauss_newton_vector_product(out, loss, params, [t.float() for t in v])
    loss.backward()  # the caller's graph survives the products
    assert all(p.grad is not None for p in params)


# --- Hessian operator ------------------------------------------------------------------


def _dense_reference(model, loss_fn, X, y):
    """The Hessian of theta -> loss_fn(model_theta(X), y) from torch.func.hessian."""
    f, theta = _flat_functional(model, X)
    return hessian(lambda t: loss_fn(f(t), y))(theta)


@pytest.mark.parametrize("mode", HessianOperator.modes)
@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_hessian_operator_matches_torch_func_hessian(mode, loss_name):
    loss_fn, classes = LOSSES[loss_name]
    model = _mlp(n_out=3).eval()
    X, y = _data(n_out=3, classes=classes)
    H_ref = _dense_reference(model, loss_fn, X, y)
    op = HessianOperator(model, loss_fn, (X, y), mode=mode)
    assert op.shape == H_ref.shape and op.dim == H_ref.shape[0]
    assert op.dtype == DT and op.device == H_ref.device
    H = op.to_dense()  # the (n, n) identity as a matrix of columns
    torch.testing.assert_close(H, H_ref, rtol=0, atol=1e-8)
    assert op.n_products == op.dim
    v = torch.randn(op.dim, dtype=DT, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(op @ v, H_ref @ v, rtol=0, atol=1e-8)
    torch.testing.assert_close(op.loss, loss_fn(model(X), y).detach())


def test_jvp_mode_with_torch_mse_loss_works_or_says_why():
    """Where torch's forward-over-reverse lacks a rule the error names the way out."""
    model = _mlp().eval()
    X, y = _data()
    op = HessianOperator(model, nn.functional.mse_loss, (X, y), mode="jvp")
    v = torch.ones(op.dim, dtype=DT)
    try:
        hv = op @ v
    except NotImplementedError as err:
        assert "double_backward" in str(err)
    else:
        torch.testing.assert_close(hv, _dense_reference(model, _mse, X, y) @ v)


def test_hessian_modes_agree_in_float32():
    """The two product implementations are the same linear map (rounding aside)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 30), nn.Tanh(), nn.Linear(30, 5))
    X = torch.randn(16, 20)
    y = torch.randint(0, 5, (16,))
    ops = [HessianOperator(model, nn.functional.cross_entropy, (X, y), mode=m)
           for m in HessianOperator.modes]
    v = torch.randn(ops[0].dim)
    a, b = (op @ v for op in ops)
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def spectral_case():
    """An 83-parameter tanh network, its operator and its dense Hessian's eigenvalues."""
    model = _mlp(n_in=5, hidden=8, n_out=3, seed=2).eval()
    X, y = _data(n=20, n_in=5, n_out=3, classes=True, seed=4)
    loss_fn = nn.functional.cross_entropy
    op = HessianOperator(model, loss_fn, (X, y))
    H = _dense_reference(model, loss_fn, X, y)
    return op, H, torch.linalg.eigvalsh(H).numpy()


def test_lanczos_extreme_eigenvalues_match_eigvalsh(spectral_case):
    op, _, eigs = spectral_case
    assert eigs[0] < 0 < eigs[-1]  # indefinite: a test of the signs too
    top = op.eigenvalues(3, which="largest", num_steps=op.dim, seed=0)
    np.testing.assert_allclose(top, eigs[-3:], rtol=0, atol=1e-8 * abs(eigs).max())
    both = op.eigenvalues(2, which="both", num_steps=op.dim, seed=1)
    np.testing.assert_allclose(both, np.r_[eigs[:2], eigs[-2:]], rtol=0,
                               atol=1e-8 * abs(eigs).max())
    # With far fewer steps than n the largest Ritz value has already converged.
    np.testing.assert_allclose(op.eigenvalues(1, num_steps=40, seed=0), eigs[-1:], rtol=1e-6)


def test_power_iteration_finds_largest_magnitude(spectral_case):
    op, H, eigs = spectral_case
    lam, vec = op.power_iteration(num_iters=2000, tol=1e-10, seed=0)
    dominant = eigs[np.argmax(abs(eigs))]
    assert lam == pytest.approx(dominant, rel=1e-6)
    torch.testing.assert_close(H @ vec, lam * vec, rtol=0, atol=1e-6 * abs(lam))


def test_slq_density_integrates_to_one_and_mean_is_trace_over_n(spectral_case):
    op, H, eigs = spectral_case
    n, num_probes = op.dim, 30
    nodes, weights = op.spectral_density(num_probes=num_probes, num_steps=25, seed=7)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert nodes.min() >= eigs[0] - 1e-8 and nodes.max() <= eigs[-1] + 1e-8  # interlacing
    sigma = 0.02 * (eigs[-1] - eigs[0])
    grid = np.linspace(eigs[0] - 10 * sigma, eigs[-1] + 10 * sigma, 4001)
    density = density_on_grid(nodes, weights, grid, sigma)
    assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-6)
    # Gauss quadrature is exact for f(t) = t: each probe's mean is z^T H z / n for the same
    # Rademacher z as Hutchinson's (same seed, same draws) ...
    per_probe = (nodes * weights).sum(axis=1)
    np.testing.assert_allclose(per_probe * n, _hutchinson_samples(op.matvec, n, num_probes, 7,
                                                                   like=torch.empty(0, dtype=DT)),
                               rtol=1e-9, atol=1e-9 * abs(eigs).max())
    # ... so the density's mean estimates trace(H)/n within its standard error.
    mean, se = per_probe.mean(), per_probe.std(ddof=1) / math.sqrt(num_probes)
    assert abs(mean - float(torch.trace(H)) / n) <= 4 * se


def test_hutchinson_within_four_standard_errors(spectral_case):
    """A statistical test with a fixed seed.

    By the central limit theorem the estimate minus tr(H), over its standard error,
    is nearly standard normal for m = 300 probes; |Z| > 4 has probability 6e-5, so the
    bound fails only for a biased estimator or a wrong standard error. The standard error
    itself is checked against the exact Rademacher variance 2 sum_{i != j} H_ij^2.
    """
    op, H, _ = spectral_case
    m = 300
    est, se = op.trace(m, seed=11, return_stderr=True)
    assert abs(est - float(torch.trace(H))) <= 4 * se
    exact_var = 2 * float((H**2).sum() - (torch.diagonal(H) ** 2).sum())
    assert 0.7 < se / math.sqrt(exact_var / m) < 1.3
    assert op.trace(m, seed=11) == est


# --- Gauss-Newton operator -------------------------------------------------------------


@pytest.mark.parametrize("mode", GaussNewtonOperator.modes)
@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_ggn_operator_is_explicit_jt_hl_j_and_psd(mode, loss_name):
    loss_fn, classes = LOSSES[loss_name]
    model = _mlp(n_in=4, hidden=6, n_out=3, seed=3).eval()
    X, y = _data(n=9, n_in=4, n_out=3, classes=classes, seed=6)
    f, theta = _flat_functional(model, X)
    out_shape = f(theta).shape
    J = jacrev(lambda t: f(t).reshape(-1))(theta)
    H_L = hessian(lambda z: loss_fn(z.reshape(out_shape), y))(f(theta).detach().reshape(-1))
    G_ref = J.T @ H_L @ J
    op = GaussNewtonOperator(model, loss_fn, (X, y), mode=mode)
    G = op.to_dense()
    torch.testing.assert_close(G, G_ref, rtol=0, atol=1e-10)
    torch.testing.assert_close(G, G.T, rtol=0, atol=1e-12)
    eig = torch.linalg.eigvalsh(G)
    assert eig.min() >= -1e-10 * eig.max()  # convex loss in the outputs: PSD
    assert op.eigenvalues(1, which="smallest", num_steps=op.dim, seed=0)[0] >= -1e-8
    # The Hessian of the same loss is indefinite here, the GGN is not.
    assert torch.linalg.eigvalsh(_dense_reference(model, loss_fn, X, y)).min() < -1e-6


# --- BatchNorm: train vs eval ----------------------------------------------------------


def _bn_model():
    model = _mlp(n_in=3, hidden=4, n_out=2, seed=8, batchnorm=True)
    with torch.no_grad():  # non-trivial running statistics and affine parameters
        model.train()
        for s in range(5):
            model(torch.randn(10, 3, dtype=DT, generator=torch.Generator().manual_seed(s)) * 2 + 1)
        model[1].weight.uniform_(0.5, 1.5, generator=torch.Generator().manual_seed(9))
        model[1].bias.uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(10))
    return model


def _bn_functional(model, X, train):
    """The network written out by hand; BN with batch statistics (train) or running ones."""
    lin1, bn, lin2 = model[0], model[1], model[3]
    shapes = [p.shape for p in model.parameters()]
    sizes = [p.numel() for p in model.parameters()]
    mean0, var0 = bn.running_mean.clone(), bn.running_var.clone()

    def f(theta):
        W1, b1, gamma, beta, W2, b2 = (t.reshape(s) for t, s in
                                        zip(torch.split(theta, sizes), shapes, strict=True))
        z = X @ W1.T + b1
        if train:
            mean, var = z.mean(0), z.var(0, unbiased=False)
        else:
            mean, var = mean0, var0
        h = torch.tanh((z - mean) / torch.sqrt(var + bn.eps) * gamma + beta)
        return h @ W2.T + b2

    assert all(p is q for p, q in zip(model.parameters(), [lin1.weight, lin1.bias, bn.weight,
                                                            bn.bias, lin2.weight, lin2.bias],
                                       strict=True))
    return f, torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def test_batchnorm_train_and_eval_hessians_differ_and_match_references():
    model = _bn_model().eval()
    X, y = _data(n=8, n_in=3, n_out=2, seed=12)
    X = 3 * X + 2  # far from the running statistics' distribution
    loss_fn = _mse
    state_before = {k: v.clone() for k, v in model.state_dict().items()}

    dense = {}
    for train in (True, False):
        f, theta = _bn_functional(model, X, train)
        H_ref = hessian(lambda t, f=f: loss_fn(f(t), y))(theta)
        J = jacrev(lambda t, f=f: f(t).reshape(-1))(theta)
        H_L = hessian(lambda z: loss_fn(z.reshape(-1, 2), y))(f(theta).detach().reshape(-1))
        for mode in HessianOperator.modes:
            op = HessianOperator(model, loss_fn, (X, y), mode=mode, train=train)
            assert op.train is train
            dense[train] = op.to_dense()
            torch.testing.assert_close(dense[train], H_ref, rtol=0, atol=1e-8)
        for mode in GaussNewtonOperator.modes:
            G_op = GaussNewtonOperator(model, loss_fn, (X, y), mode=mode, train=train)
            torch.testing.assert_close(G_op.to_dense(), J.T @ H_L @ J, rtol=0, atol=1e-10)

    # PITFALL 9: the two Hessians are different matrices.
    diff = torch.linalg.matrix_norm(dense[True] - dense[False])
    assert diff > 0.1 * torch.linalg.matrix_norm(dense[False])

    # Nothing about the model changed: buffers (running stats, num_batches_tracked),
    # parameters and the training flags of every module.
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, state_before[k], rtol=0, atol=0, msg=k)
    assert not any(m.training for m in model.modules())
    assert model[1].track_running_stats


def test_batchnorm_model_left_in_train_mode_stays_there():
    model = _bn_model().train()
    X, y = _data(n=8, n_in=3, n_out=2, seed=13)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    op = HessianOperator(model, nn.functional.mse_loss, (X, y))  # train mode by default
    assert op.train
    op.trace(3, seed=0)
    op.eigenvalues(2, num_steps=10, seed=0)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0, msg=k)
    assert all(m.training for m in model.modules())


# --- bad input -------------------------------------------------------------------------


def test_operator_rejects_bad_input():
    model = _mlp().eval()
    X, y = _data()
    op = HessianOperator(model, nn.functional.mse_loss, (X, y))
    n = op.dim
    with pytest.raises(ValueError, match=rf"expected \({n},\)"):
        op @ torch.zeros(n + 1, dtype=DT)
    with pytest.raises(ValueError, match="non-finite"):
        op @ torch.full((n,), float("inf"), dtype=DT)
    with pytest.raises(ValueError, match="float32"):
        op @ torch.zeros(n, dtype=torch.float32)
    with pytest.raises(TypeError, match="torch tensor"):
        op @ np.zeros(n)
    with pytest.raises(ValueError, match="mode"):
        HessianOperator(model, nn.functional.mse_loss, (X, y), mode="finite_differences")
    with pytest.raises(ValueError, match="pair"):
        HessianOperator(model, nn.functional.mse_loss, X)
    dropout = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5)).to(DT).train()
    with pytest.raises(ValueError, match="dropout"):
        HessianOperator(dropout, nn.functional.mse_loss, (X, y))
    HessianOperator(dropout, nn.functional.mse_loss, (X, y), train=False)  # eval: allowed
    G = GaussNewtonOperator(model, nn.functional.mse_loss, (X, y))
    with pytest.raises(ValueError, match="non-finite"):
        G @ torch.full((n,), float("nan"), dtype=DT)
    with pytest.raises(ValueError, match="shape"):
        G @ torch.zeros(n, 2, 1, dtype=DT)
