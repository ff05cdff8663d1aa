"""First-order rules against torch.optim, the independent reference.

Each rule is run for several steps on NumPy and on torch inputs next to the
matching ``torch.optim`` optimizer fed the same gradient sequence; the iterates
must agree to 1e-12 in float64. Inputs must never be mutated.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import BACKENDS, to_backend, to_numpy
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from taylornet.rules import (
    adam_step,
    clip_grad_norm,
    gd_step,
    momentum_step,
    nesterov_step,
    rmsprop_step,
)

N_STEPS = 7
DIM = 5


def gradient_sequence(rng, n=N_STEPS, dim=DIM):
    """Gradients spanning several magnitudes, so eps placement matters."""
    scales = 10.0 ** rng.uniform(-6, 1, size=(n, 1))
    return rng.standard_normal((n, dim)) * scales


def torch_reference(optimizer_cls, x0, grads, **kwargs):
    """Iterates of a torch.optim optimizer fed the given gradients."""
    p = torch.nn.Parameter(torch.tensor(x0, dtype=torch.float64))
    opt = optimizer_cls([p], **kwargs)
    out = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(p.detach().clone().numpy())
    return out


def snapshot(*arrays):
    return [to_numpy(a).copy() for a in arrays]


def assert_unchanged(before, *arrays):
    for b, a in zip(before, arrays, strict=True):
        np.testing.assert_array_equal(to_numpy(a), b)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gd_matches_torch_sgd(backend, rng):
    x0 = rng.standard_normal(DIM)
    grads = gradient_sequence(rng)
    expected = torch_reference(torch.optim.SGD, x0, grads, lr=0.3)
    x = to_backend(backend, x0)
    for g_np, want in zip(grads, expected, strict=True):
        g = to_backend(backend, g_np)
        before = snapshot(x, g)
        x_new = gd_step(x, g, 0.3)
        assert_unchanged(before, x, g)
        assert type(x_new) is type(x)
        x = x_new
        np.testing.assert_allclose(to_numpy(x), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("rule", "nesterov"), [(momentum_step, False), (nesterov_step, True)]
)
def test_momentum_family_matches_torch_sgd(backend, rule, nesterov, rng):
    x0 = rng.standard_normal(DIM)
    grads = gradient_sequence(rng)
    expected = torch_reference(
        torch.optim.SGD, x0, grads, lr=0.1, momentum=0.9, nesterov=nesterov
    )
    x, v = to_backend(backend, x0, np.zeros(DIM))
    for g_np, want in zip(grads, expected, strict=True):
        g = to_backend(backend, g_np)
        before = snapshot(x, v, g)
        x_new, v_new = rule(x, v, g, 0.1, 0.9)
        assert_unchanged(before, x, v, g)
        x, v = x_new, v_new
        np.testing.assert_allclose(to_numpy(x), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_adam_matches_torch_adam(backend, rng):
    x0 = rng.standard_normal(DIM)
    grads = gradient_sequence(rng)
    kw = dict(lr=1e-2, betas=(0.8, 0.95), eps=1e-8)
    expected = torch_reference(torch.optim.Adam, x0, grads, **kw)
    x, m, v = to_backend(backend, x0, np.zeros(DIM), np.zeros(DIM))
    for t, (g_np, want) in enumerate(zip(grads, expected, strict=True), start=1):
        g = to_backend(backend, g_np)
        before = snapshot(x, m, v, g)
        x_new, m_new, v_new = adam_step(x, m, v, g, t, 1e-2, beta1=0.8, beta2=0.95, eps=1e-8)
        assert_unchanged(before, x, m, v, g)
        x, m, v = x_new, m_new, v_new
        np.testing.assert_allclose(to_numpy(x), want, rtol=0, atol=1e-12)


def test_adam_first_step_is_lr_times_sign():
    """With m0 = v0 = 0 the corrected first step is lr*g/(|g| + eps): about lr*sign(g).

    Correcting with a total iteration count T > 1 (the pitfall) instead gives
    a much smaller first step; this test fails for that bug.
    """
    g = np.array([3.0, -0.5, 1e-3])
    x, _, _ = adam_step(np.zeros(3), np.zeros(3), np.zeros(3), g, 1, 0.1)
    np.testing.assert_allclose(x, -0.1 * g / (np.abs(g) + 1e-8), rtol=1e-12)


def test_adam_rejects_step_count_zero():
    with pytest.raises(ValueError, match="t must be >= 1"):
        adam_step(np.zeros(2), np.zeros(2), np.zeros(2), np.ones(2), 0, 0.1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rmsprop_matches_torch_rmsprop(backend, rng):
    x0 = rng.standard_normal(DIM)
    grads = gradient_sequence(rng)
    expected = torch_reference(torch.optim.RMSprop, x0, grads, lr=1e-2, alpha=0.9, eps=1e-8)
    x, s = to_backend(backend, x0, np.zeros(DIM))
    for g_np, want in zip(grads, expected, strict=True):
        g = to_backend(backend, g_np)
        before = snapshot(x, s, g)
        x_new, s_new = rmsprop_step(x, s, g, 1e-2, alpha=0.9, eps=1e-8)
        assert_unchanged(before, x, s, g)
        x, s = x_new, s_new
        np.testing.assert_allclose(to_numpy(x), want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("max_norm", [0.5, 2.0, 100.0])
def test_clip_grad_norm_matches_torch(backend, max_norm, rng):
    g_np = rng.standard_normal(DIM) * 3
    p = torch.nn.Parameter(torch.zeros(DIM, dtype=torch.float64))
    p.grad = torch.tensor(g_np)
    total = torch.nn.utils.clip_grad_norm_([p], max_norm).item()
    # torch divides by (||g|| + 1e-6): undo that documented difference exactly.
    want = p.grad.numpy()
    if total > max_norm:
        want = want * (total + 1e-6) / total
    g = to_backend(backend, g_np)
    before = snapshot(g)
    clipped = clip_grad_norm(g, max_norm)
    assert_unchanged(before, g)
    np.testing.assert_allclose(to_numpy(clipped), want, rtol=0, atol=1e-12)
    assert np.linalg.norm(to_numpy(clipped)) <= max_norm * (1 + 1e-12)


def test_clip_grad_norm_zero_vector_and_zero_norm():
    np.testing.assert_array_equal(clip_grad_norm(np.zeros(3), 1.0), np.zeros(3))
    np.testing.assert_array_equal(clip_grad_norm(np.ones(3), 0.0), np.zeros(3))
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm(np.ones(3), -1.0)


finite = st.floats(-1e3, 1e3, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(g=arrays(np.float64, 6, elements=finite), max_norm=st.floats(1e-3, 1e3))
def test_clip_grad_norm_properties(g, max_norm):
    """Within the ball: unchanged. Outside: same direction, norm exactly max_norm."""
    c = clip_grad_norm(g, max_norm)
    n = np.linalg.norm(g)
    if n <= max_norm:
        np.testing.assert_array_equal(c, g)
    else:
        np.testing.assert_allclose(np.linalg.norm(c), max_norm, rtol=1e-12)
        np.testing.assert_allclose(c * n / max_norm, g, rtol=1e-9, atol=1e-12)


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"shape mismatch: x\(3,\), g\(2,\)"):
        gd_step(np.zeros(3), np.zeros(2), 0.1)


def test_float32_cuda_like_dtype_preserved():
    x = torch.zeros(4, dtype=torch.float32)
    g = torch.ones(4, dtype=torch.float32)
    out = adam_step(x, torch.zeros_like(x), torch.zeros_like(x), g, 1, 0.1)
    assert all(o.dtype == torch.float32 for o in out)
    assert clip_grad_norm(g, 0.5).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_rules_stay_on_cuda():
    x = torch.zeros(4, device="cuda")
    g = torch.ones(4, device="cuda")
    assert gd_step(x, g, 0.1).device.type == "cuda"
    assert clip_grad_norm(g, 0.5).device.type == "cuda"
    assert adam_step(x, x, x, g, 1, 0.1)[0].device.type == "cuda"
