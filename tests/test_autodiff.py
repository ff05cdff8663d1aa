"""``taylornet.autodiff`` against exact SymPy derivatives, finite differences and torch.func.

The SymPy reference differentiates a polynomial-plus-exponential in three
variables exactly; autodiff must agree to 1e-10. The third-order contraction
is also checked against the explicit third-derivative tensor contracted with
``einsum``, which is what PITFALL 2's ``third_grad * (g @ g)`` gets wrong.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
from conftest import BACKENDS, to_backend, to_numpy

from taylornet import autodiff
from taylornet._array import namespace

# torch 2.x warns once from inside its own forward-mode AD set-up (torch._decomp).
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)

X0 = np.array([0.7, -0.4, 1.3])


def f_poly_exp(x):
    """x^2 y + y^3 z - 2 x z^2 + x y z + exp(0.3 x - 0.2 y + 0.1 z), array API."""
    xp = namespace(x)
    a, b, c = x[0], x[1], x[2]
    return a**2 * b + b**3 * c - 2.0 * a * c**2 + a * b * c + xp.exp(0.3 * a - 0.2 * b + 0.1 * c)


def _sympy_reference(point):
    """Exact gradient, Hessian and third-derivative tensor of ``f_poly_exp`` at ``point``."""
    a, b, c = syms = sp.symbols("a b c")
    f = (
        a**2 * b
        + b**3 * c
        - 2 * a * c**2
        + a * b * c
        + sp.exp(sp.Rational(3, 10) * a - sp.Rational(1, 5) * b + sp.Rational(1, 10) * c)
    )
    at = dict(zip(syms, (sp.Float(v, 30) for v in point), strict=True))
    value = float(f.subs(at))
    g = np.array([float(sp.diff(f, s).subs(at)) for s in syms])
    H = np.array([[float(sp.diff(f, s, t).subs(at)) for t in syms] for s in syms])
    T = np.array(
        [[[float(sp.diff(f, s, t, u).subs(at)) for u in syms] for t in syms] for s in syms]
    )
    return value, g, H, T


@pytest.fixture(scope="module")
def exact():
    return _sympy_reference(X0)


def f_smooth(x):
    """A non-polynomial test function of any dimension, array API."""
    xp = namespace(x)
    n = x.shape[0]
    w = xp.asarray(np.linspace(0.5, 1.5, n), dtype=x.dtype)
    return xp.sum(xp.log(1.0 + x**2)) + xp.sum(w * x) ** 3 / 6.0 + xp.sum(xp.sin(x[:-1] * x[1:]))


def fd_grad(f, x, h=1e-6):
    e = np.eye(x.size)
    return np.array([(float(f(x + h * ei)) - float(f(x - h * ei))) / (2 * h) for ei in e])


# -- exact values (SymPy) ------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_value_grad_hvp_hessian_match_sympy(backend, exact, rng):
    value, g_ref, H_ref, _ = exact
    x = to_backend(backend, X0)
    v = rng.standard_normal(3)
    f, g = autodiff.value_and_grad(f_poly_exp, x)
    assert float(f) == pytest.approx(value, abs=1e-12)
    np.testing.assert_allclose(to_numpy(g), g_ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(to_numpy(autodiff.grad(f_poly_exp, x)), g_ref, atol=1e-10)
    np.testing.assert_allclose(to_numpy(autodiff.hessian(f_poly_exp, x)), H_ref, atol=1e-10)
    hv = autodiff.hvp(f_poly_exp, x, to_backend(backend, v))
    np.testing.assert_allclose(to_numpy(hv), H_ref @ v, atol=1e-10)


@pytest.mark.parametrize("backend", BACKENDS)
def test_third_order_matches_sympy_tensor(backend, exact, rng):
    _, g_ref, _, T = exact
    u, v = rng.standard_normal((2, 3))
    x = to_backend(backend, X0)
    t3 = autodiff.third_order(f_poly_exp, x, *to_backend(backend, u, v))
    np.testing.assert_allclose(to_numpy(t3), np.einsum("ijk,j,k->i", T, u, v), atol=1e-10)
    # the contraction the Taylor step needs, D3f[g, g]
    t3gg = autodiff.third_order(f_poly_exp, x, *to_backend(backend, g_ref, g_ref))
    expected = np.einsum("ijk,j,k->i", T, g_ref, g_ref)
    np.testing.assert_allclose(to_numpy(t3gg), expected, rtol=1e-12, atol=1e-10)
    # PITFALL 2: "third_grad * (g @ g)" is a different (and dimensionally wrong) object
    assert not np.allclose(expected, T.sum(axis=(1, 2)) * (g_ref @ g_ref))


@pytest.mark.parametrize("backend", BACKENDS)
def test_hvp_and_third_order_is_the_pair_from_one_jvp(backend, exact, rng):
    _, _, H, T = exact
    v = rng.standard_normal(3)
    hv, t3 = autodiff.hvp_and_third_order(f_poly_exp, to_backend(backend, X0),
                                          to_backend(backend, v))
    np.testing.assert_allclose(to_numpy(hv), H @ v, atol=1e-10)
    np.testing.assert_allclose(to_numpy(t3), np.einsum("ijk,j,k->i", T, v, v), atol=1e-10)


def test_taylor_terms_match_sympy(exact):
    _, g_ref, H_ref, T = exact
    t1 = autodiff.taylor_terms(f_poly_exp, X0, 1)
    assert set(t1) == {"g"}
    t2 = autodiff.taylor_terms(f_poly_exp, X0, 2)
    assert set(t2) == {"g", "Hg"}
    t3 = autodiff.taylor_terms(f_poly_exp, X0, 3)
    assert set(t3) == {"g", "Hg", "H2g", "T3gg"}
    for terms in (t1, t2, t3):
        np.testing.assert_allclose(terms["g"], g_ref, atol=1e-10)
    for terms in (t2, t3):
        np.testing.assert_allclose(terms["Hg"], H_ref @ g_ref, atol=1e-10)
    np.testing.assert_allclose(t3["H2g"], H_ref @ H_ref @ g_ref, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(
        t3["T3gg"], np.einsum("ijk,j,k->i", T, g_ref, g_ref), rtol=1e-12, atol=1e-10
    )
    with pytest.raises(ValueError):
        autodiff.taylor_terms(f_poly_exp, X0, 4)


def test_taylor_terms_feed_taylor_step():
    """The dict plugs into the rule: ``taylor_step(x, lr, **terms)``."""
    from taylornet.rules import taylor_step

    terms = autodiff.taylor_terms(f_poly_exp, X0, 3)
    lr = 0.01
    x_new = taylor_step(X0, lr, **terms)
    expected = X0 - lr * terms["g"] + lr**2 / 2 * terms["Hg"]
    expected = expected - lr**3 / 6 * (terms["H2g"] + terms["T3gg"])
    np.testing.assert_allclose(x_new, expected, rtol=1e-14)


# -- finite differences and torch.func -----------------------------------------


def test_grad_and_hvp_match_central_differences(rng):
    x = rng.standard_normal(6)
    v = rng.standard_normal(6)
    np.testing.assert_allclose(autodiff.grad(f_smooth, x), fd_grad(f_smooth, x), rtol=1e-7)
    h = 1e-5
    fd_hv = (autodiff.grad(f_smooth, x + h * v) - autodiff.grad(f_smooth, x - h * v)) / (2 * h)
    np.testing.assert_allclose(autodiff.hvp(f_smooth, x, v), fd_hv, rtol=1e-7, atol=1e-8)


def test_third_order_matches_differences_of_hvp(rng):
    x, u, v = rng.standard_normal((3, 5))
    h = 1e-5
    fd = (autodiff.hvp(f_smooth, x + h * u, v) - autodiff.hvp(f_smooth, x - h * u, v)) / (2 * h)
    np.testing.assert_allclose(autodiff.third_order(f_smooth, x, u, v), fd, rtol=1e-6, atol=1e-8)


def test_hessian_and_hvp_match_torch_func_hessian(rng):
    x = torch.tensor(rng.standard_normal(7), dtype=torch.float64)
    H_ref = torch.func.jacrev(torch.func.jacrev(f_smooth))(x)  # reverse-over-reverse
    torch.testing.assert_close(autodiff.hessian(f_smooth, x), H_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(torch.func.hessian(f_smooth)(x), H_ref, rtol=1e-12, atol=1e-12)
    for i in range(7):
        e = torch.zeros(7, dtype=torch.float64)
        e[i] = 1.0
        hv = autodiff.hvp(f_smooth, x, e)
        torch.testing.assert_close(hv, H_ref[:, i], rtol=1e-12, atol=1e-12)


def test_third_order_is_symmetric_and_bilinear(rng):
    x, u, v, w = rng.standard_normal((4, 5))
    uv = autodiff.third_order(f_smooth, x, u, v)
    np.testing.assert_allclose(uv, autodiff.third_order(f_smooth, x, v, u), rtol=1e-12, atol=1e-12)
    lhs = autodiff.third_order(f_smooth, x, 2.0 * u + w, v)
    rhs = 2.0 * uv + autodiff.third_order(f_smooth, x, w, v)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-11, atol=1e-11)
    # and it is the gradient of <u, H(x) v> ... i.e. T_ijk u_j v_k with T from jacfwd(hessian)
    T = torch.func.jacfwd(torch.func.hessian(f_smooth))(torch.tensor(x)).numpy()
    np.testing.assert_allclose(uv, np.einsum("jki,j,k->i", T, u, v), rtol=1e-11, atol=1e-11)


# -- back ends -----------------------------------------------------------------


def test_numpy_in_numpy_out():
    v = np.array([1.0, 0.0, -1.0])
    f, g = autodiff.value_and_grad(f_poly_exp, X0)
    assert isinstance(f, float)
    outputs = [
        g,
        autodiff.grad(f_poly_exp, X0),
        autodiff.hvp(f_poly_exp, X0, v),
        autodiff.hessian(f_poly_exp, X0),
        autodiff.third_order(f_poly_exp, X0, v, v),
        *autodiff.taylor_terms(f_poly_exp, X0, 3).values(),
    ]
    for out in outputs:
        assert isinstance(out, np.ndarray) and out.dtype == np.float64
    # lists and float32 arrays are promoted to float64
    g32 = autodiff.grad(f_poly_exp, X0.astype(np.float32))
    assert g32.dtype == np.float64
    np.testing.assert_allclose(autodiff.grad(f_poly_exp, list(X0)), g)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_torch_in_torch_out_keeps_dtype(dtype):
    x = torch.tensor(X0, dtype=dtype)
    v = np.array([1.0, 0.0, -1.0])  # a NumPy direction is converted to x's dtype
    f, g = autodiff.value_and_grad(f_poly_exp, x)
    assert isinstance(f, torch.Tensor) and f.dtype == dtype and f.ndim == 0
    for out in (
        g,
        autodiff.hvp(f_poly_exp, x, v),
        autodiff.hessian(f_poly_exp, x),
        autodiff.third_order(f_poly_exp, x, v, v),
        *autodiff.taylor_terms(f_poly_exp, x, 3).values(),
    ):
        assert isinstance(out, torch.Tensor) and out.dtype == dtype
    ref = autodiff.hvp(f_poly_exp, X0, v)
    np.testing.assert_allclose(autodiff.hvp(f_poly_exp, x, v).double().numpy(), ref, rtol=1e-5)


def test_torch_function_and_composition():
    """A plain torch ``f`` works, and the results compose with torch.func."""

    def f(x):
        return torch.sum(torch.cos(x) * x**2)

    x = torch.linspace(-1.0, 1.0, 4, dtype=torch.float64)
    g = autodiff.grad(f, x)
    torch.testing.assert_close(g, -torch.sin(x) * x**2 + 2 * x * torch.cos(x))
    # d/dx of <grad f(x), 1> equals the Hessian row sums
    row_sums = torch.func.grad(lambda y: autodiff.grad(f, y).sum())(x)
    torch.testing.assert_close(row_sums, autodiff.hessian(f, x).sum(dim=1))
