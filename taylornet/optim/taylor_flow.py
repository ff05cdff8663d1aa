r"""Truncated Taylor series of the (preconditioned) gradient flow as an optimizer.

One step follows :math:`x' = -D\,\nabla f(x)` for unit time, where
:math:`D = \operatorname{diag}(\eta_{\text{group}})` holds each parameter
group's ``lr`` on that group's block. With :math:`u = D g`,

.. math::
    x' = -u, \qquad x'' = D H u, \qquad x''' = -D\bigl(H D H u + D^3 f[u, u]\bigr),

so the step is :func:`taylornet.rules.taylor_step` with ``lr=1`` applied to
``g=u``, ``Hg=DHu``, ``H2g=DHDHu`` and ``T3gg=D D^3f[u,u]``, truncated at
``order`` 1, 2 or 3 (Barrett & Dherin, ICLR 2021; note the **plus** sign of
the second-order term; see the book's Common mistakes appendix: the wrong sign
of the second-order term). With one group (:math:`D = \eta I`) this
is exactly ``taylor_step(x, eta, g, Hg, H2g, T3gg)``: gradient descent for
order 1. Products with :math:`H` are double-backward Hessian-vector products;
:math:`D^3 f[u, u] = \nabla_x\bigl(u^\top H(x) u\bigr)` is a third reverse
pass through the graph of :math:`H(x) u` (never ``third_grad * (g @ g)``,
which is dimensionally wrong; see the book's Common mistakes appendix:
third-order code with the wrong shape).

Non-finite values: the step is checked once (one host read of a flag); a step
whose own entries are non-finite is not taken, and a step whose new point gives
a non-finite loss is undone at the start of the next ``step`` (see
:mod:`taylornet.optim._base`).
"""

from __future__ import annotations

import torch

from ..rules import taylor_step
from ._base import ClosureOptimizer
from ._distributed import average


class TaylorFlow(ClosureOptimizer):
    r"""Order-1, 2 or 3 Taylor step of the gradient flow, one per ``step(closure)``.

    Parameters
    ----------
    params : iterable of tensors or parameter groups; each group may set its own
        ``lr`` (the preconditioner :math:`D` above); ``order`` must be the same
        in every group.
    lr : float > 0, the flow time per step (:math:`\eta`).
    order : 1, 2 or 3.
    """

    _uniform = ("order",)

    def __init__(self, params, lr=1e-2, order=2):
        if not lr > 0:
            raise ValueError(f"TaylorFlow: lr must be > 0 (got {lr!r})")
        if order not in (1, 2, 3):
            raise ValueError(f"TaylorFlow: order must be 1, 2 or 3 (got {order!r})")
        super().__init__(params, dict(lr=lr, order=order))

    def _check_group_lrs(self):
        for i, group in enumerate(self.param_groups):
            if not group["lr"] > 0:
                raise ValueError(f"TaylorFlow: lr of parameter group {i} must be > 0")

    def step(self, closure=None):
        """One Taylor step; returns the loss at the start of the step."""
        self._check_group_lrs()
        order = self._option("order")
        evaluation, ok = self._begin(closure, create_graph=order >= 2)
        if not ok:
            return self._skip(evaluation)
        x = self._flat.get()
        D = self._flat.per_group([group["lr"] for group in self.param_groups])
        u = D * evaluation.grad
        terms = {}
        if order >= 2:
            local_Hu = self._local_hvp(evaluation, u, create_graph=order >= 3)
            (Hu,) = average(self._flat.flatten(local_Hu).detach())
            terms["Hg"] = D * Hu
        if order >= 3:
            terms["H2g"] = D * self._hvp(evaluation, terms["Hg"])
            terms["T3gg"] = D * self._third_derivative(local_Hu, u)
        x_new = taylor_step(x, 1.0, u, **terms)
        if not self._finite(evaluation.loss, x_new):
            self._reject("the Taylor step has non-finite entries (overflow in H g?); not taken")
            self._end(self._status["last_rejection"])
            return evaluation.loss
        self._flat.set_(x_new)
        self._memory["x_finite"] = x  # restored if the loss at x_new is not finite
        self._end(f"order-{order} Taylor step taken")
        return evaluation.loss

    def _third_derivative(self, local_Hu, u):
        r""":math:`D^3 f[u, u] = \nabla_x (u^\top H(x) u)` (``u`` constant), rank-averaged."""
        us = self._flat.unflatten(u)
        with torch.enable_grad():
            uHu = sum((h * ui).sum() for h, ui in zip(local_Hu, us, strict=True)
                      if h is not None and h.requires_grad)
            if not torch.is_tensor(uHu):  # H(x) u does not depend on x: D^3 f = 0
                return torch.zeros_like(u)
            t3 = torch.autograd.grad(uHu, self._flat.params, allow_unused=True)
        (t3,) = average(self._flat.flatten(t3, "third derivative").detach())
        return t3
