r"""Derivatives of :math:`f:\mathbb{R}^n \to \mathbb{R}` by automatic differentiation.

Every function takes ``f`` mapping a flat 1-D tensor to a scalar tensor, written
with torch operations or with the array API (``xp = namespace(x)``), which is
how :mod:`taylornet.problems` writes its test functions.

Back ends: a NumPy ``x`` (and ``v``, ``u``) is converted to a float64 torch
tensor on the CPU and the results come back as NumPy arrays (a value as a
Python ``float``); torch inputs keep their device and dtype and give tensors.
Torch results are not detached, so these functions compose with
:mod:`torch.func` transforms.

All derivatives come from :mod:`torch.func`:

* gradient: reverse mode, ``torch.func.grad``;
* Hessian-vector product :math:`H(x)v`: forward-over-reverse,
  ``jvp(grad(f), (x,), (v,))``: the directional derivative of the gradient map,
  one forward-mode pass over the gradient computation, costing a small
  constant times one gradient, with no second backward pass and no
  :math:`n\times n` matrix (Pearlmutter, *Fast exact multiplication by the
  Hessian*, Neural Computation 1994);
* third-order contraction :math:`D^3 f(x)[u, v]`: the derivative of
  :math:`x \mapsto H(x)v` along :math:`u`, a jvp of an hvp (never
  ``third_grad * (g @ g)``, which is dimensionally wrong; see the book's
  Common mistakes appendix: third-order code with the wrong shape).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.func import grad as _torch_grad
from torch.func import grad_and_value, jvp
from torch.func import hessian as _torch_hessian

from ._torch_quiet import load_forward_ad_quietly

load_forward_ad_quietly()

__all__ = ["grad", "hessian", "hvp", "hvp_and_third_order", "taylor_terms", "third_order",
           "value_and_grad"]


def _prepare(x, *others):
    """``(x, *others)`` as torch tensors, and whether the caller gave NumPy."""
    if isinstance(x, torch.Tensor):
        rest = tuple(torch.as_tensor(o, dtype=x.dtype, device=x.device) for o in others)
        return (x, *rest), False
    tensors = tuple(torch.as_tensor(np.asarray(a, dtype=np.float64)) for a in (x, *others))
    return tensors, True


def _out(t, numpy_out, dtype):
    """Back to NumPy when the caller gave NumPy; else in the caller's dtype.

    The cast is needed because forward-mode AD in torch can promote a Python
    float times a 0-d float32 tensor (``2.0 * x[0]``) to float64 in the tangent.
    """
    if numpy_out:
        return t.detach().cpu().numpy()
    return t if t.dtype == dtype else t.to(dtype)


def _grad_t(f, x):
    return _torch_grad(f)(x)


def _hvp_t(f, x, v):
    # Forward-over-reverse: tangent of grad f at x in the direction v.
    return jvp(lambda y: _torch_grad(f)(y), (x,), (v,))[1]


def value_and_grad(f, x):
    r"""``(f(x), \nabla f(x))`` from one reverse-mode pass."""
    (xt,), numpy_out = _prepare(x)
    g, value = grad_and_value(f)(xt)
    if numpy_out:
        return float(value), _out(g, True, xt.dtype)
    return value, g


def grad(f, x):
    r"""The gradient :math:`\nabla f(x)` (reverse mode)."""
    (xt,), numpy_out = _prepare(x)
    return _out(_grad_t(f, xt), numpy_out, xt.dtype)


def hvp(f, x, v):
    r"""Hessian-vector product :math:`H(x)\,v = \frac{d}{dt}\nabla f(x + t v)\big|_{t=0}`.

    Forward-over-reverse (Pearlmutter 1994): one jvp through the gradient
    computation, about the cost of two gradients, never forming :math:`H`.
    """
    (xt, vt), numpy_out = _prepare(x, v)
    return _out(_hvp_t(f, xt, vt), numpy_out, xt.dtype)


def hessian(f, x):
    r"""The dense Hessian :math:`H(x)_{ij} = \partial^2 f / \partial x_i \partial x_j`.

    ``torch.func.hessian`` (forward-over-reverse Jacobian of the gradient):
    :math:`n` Hessian-vector products, so only for small :math:`n`.
    """
    (xt,), numpy_out = _prepare(x)
    return _out(_torch_hessian(f)(xt), numpy_out, xt.dtype)


def third_order(f, x, u, v):
    r"""The contraction :math:`D^3 f(x)[u, v]_i = \sum_{jk} \partial_{ijk} f(x)\, u_j v_k`.

    Computed as the derivative of :math:`x \mapsto H(x) v` along :math:`u`
    (a jvp of an hvp); symmetric in :math:`(u, v)`.
    """
    (xt, ut, vt), numpy_out = _prepare(x, u, v)
    t3 = jvp(lambda y: _hvp_t(f, y, vt), (xt,), (ut,))[1]
    return _out(t3, numpy_out, xt.dtype)


def hvp_and_third_order(f, x, v):
    r"""The pair :math:`(H v,\ D^3 f(x)[v, v])` from one jvp of ``y -> H(y) v`` along ``v``.

    The primal output of that jvp is :math:`H v`, its tangent is
    :math:`D^3 f[v, v]`: one forward-over-reverse pass gives both, where calling
    :func:`hvp` and :func:`third_order` separately would compute :math:`H v` twice.
    """
    (xt, vt), numpy_out = _prepare(x, v)
    hv, t3 = jvp(lambda y: _hvp_t(f, y, vt), (xt,), (vt,))
    return _out(hv, numpy_out, xt.dtype), _out(t3, numpy_out, xt.dtype)


def taylor_terms(f, x, order):
    r"""The derivatives the order-``order`` gradient-flow Taylor step needs.

    The flow :math:`x' = -\nabla f(x)` has the series (note the **plus** sign
    of the second-order term; see the book's Common mistakes appendix)

    .. math:: x(h) = x - h g + \tfrac{h^2}{2} H g
              - \tfrac{h^3}{6}\bigl(H^2 g + D^3 f[g, g]\bigr) + O(h^4).

    Returns a dict of keyword arguments for
    :func:`taylornet.rules.taylor_step`, ``taylor_step(x, lr, **terms)``:
    ``{"g"}`` for order 1, ``{"g", "Hg"}`` for order 2 and
    ``{"g", "Hg", "H2g", "T3gg"}`` for order 3, with :math:`Hg = H g`,
    :math:`H2g = H(Hg)` and :math:`T3gg = D^3 f[g, g]`. At order 3, ``Hg`` and
    ``T3gg`` come out of one jvp of the hvp ``y -> H(y) g`` along ``g``.
    """
    if order not in (1, 2, 3):
        raise ValueError(f"order must be 1, 2 or 3, got {order!r}")
    (xt,), numpy_out = _prepare(x)
    g = _grad_t(f, xt)
    terms = {"g": g}
    if order == 2:
        terms["Hg"] = _hvp_t(f, xt, g)
    elif order == 3:
        hg, t3gg = jvp(lambda y: _hvp_t(f, y, g), (xt,), (g,))
        hg = hg.to(xt.dtype)
        terms["Hg"] = hg
        terms["H2g"] = _hvp_t(f, xt, hg)
        terms["T3gg"] = t3gg
    return {k: _out(t, numpy_out, xt.dtype) for k, t in terms.items()}
