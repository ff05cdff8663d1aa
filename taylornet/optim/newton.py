r"""Damped Newton with a dense Hessian, for small models (N&W sections 3.3-3.4).

Each ``step`` forms the Hessian :math:`H` of the loss in all parameters, its
rows :math:`H e_i` computed together by one batched double-backward pass
(``torch.autograd.grad(..., is_grads_batched=True)``, which vectorises the
Hessian-vector product with :func:`torch.func.vmap`; a plain loop over
:math:`e_i` is the fallback for operations without a batching rule), then the
damped Newton direction (:func:`taylornet.rules.damped_newton_direction`),

.. math:: (H + \tau I)\, p = -g, \qquad \tau = \tau_0 + \tau_{\text{mod}},

where :math:`\tau_0` is ``damping`` and :math:`\tau_{\text{mod}} \ge 0` is the
smallest shift of N&W Algorithm 3.3 (Cholesky with added multiple of the
identity, :func:`taylornet.core.cholesky_with_added_identity`) that makes
:math:`H + \tau_0 I + \tau_{\text{mod}} I` positive definite, so :math:`p` is a
descent direction, solved with the Cholesky factor that the shift search
found (with an indefinite Hessian the
plain Newton step may go uphill; see the book's Common mistakes appendix: the
Newton step where the Hessian is indefinite). The step length
comes from ``line_search`` (backtracking by default, from ``lr``).
:math:`O(n^2)` memory and :math:`O(n^3)` work: small models only.
"""

from __future__ import annotations

import math

import torch

from ..core import cholesky_with_added_identity
from ._base import LINE_SEARCHES, ClosureOptimizer
from ._distributed import average

MAX_PARAMETERS = 20_000


def _missing_batching_rule(err: RuntimeError) -> bool:
    r"""True for vmap's "no batching rule" errors, the one failure with a fallback.

    ``torch.OutOfMemoryError`` and ``torch.AcceleratorError`` are ``RuntimeError``\ s
    too: they must reach the caller, not turn into ``n`` slow single products.
    """
    fatal = tuple(getattr(torch, name) for name in ("OutOfMemoryError", "AcceleratorError")
                  if hasattr(torch, name))
    if isinstance(err, fatal):
        return False
    message = str(err).lower()
    return "batching rule" in message or "vmap" in message


class Newton(ClosureOptimizer):
    """Damped Newton with a dense Hessian and a line search, one iteration per ``step``.

    ``lr`` is the first trial step, ``damping`` :math:`\\tau_0 \\ge 0`,
    ``line_search`` one of ``"backtracking"`` (default), ``"strong_wolfe"``,
    ``None``. Raises ``ValueError`` for more than 20,000 parameters (the
    Hessian would not fit comfortably). All options are shared by all groups.
    """

    _uniform = ("lr", "damping", "line_search")

    def __init__(self, params, lr=1.0, damping=1e-3, line_search="backtracking"):
        if not lr > 0:
            raise ValueError(f"Newton: lr must be > 0 (got {lr!r})")
        if not 0 <= damping < math.inf:
            raise ValueError(f"Newton: damping must be finite and >= 0 (got {damping!r})")
        if line_search not in LINE_SEARCHES:
            raise ValueError(f"Newton: line_search must be one of {LINE_SEARCHES} "
                             f"(got {line_search!r})")
        super().__init__(params, dict(lr=lr, damping=damping, line_search=line_search))
        if self._flat.n > MAX_PARAMETERS:
            raise ValueError(f"Newton: {self._flat.n} parameters is too many for a dense "
                             f"Hessian (limit {MAX_PARAMETERS}); use NewtonCG or LBFGS")
        self._status["last_shift"] = None

    def _hessian(self, evaluation):
        """The dense, symmetrised, rank-averaged Hessian (``n`` Hessian-vector products)."""
        n, flat = self._flat.n, self._flat
        eye = torch.eye(n, dtype=flat.dtype, device=flat.device)
        g_local = flat.flatten(evaluation.local_grads)
        if not g_local.requires_grad:  # the gradient does not depend on x: H = 0
            (H,) = average(torch.zeros(n, n, dtype=flat.dtype, device=flat.device))
            return H
        try:
            with torch.enable_grad():
                rows = torch.autograd.grad(g_local, flat.params, grad_outputs=eye,
                                           retain_graph=True, is_grads_batched=True,
                                           allow_unused=True)
            H = torch.cat([
                torch.zeros(n, p.numel(), dtype=flat.dtype, device=flat.device) if r is None
                else r.reshape(n, -1) for r, p in zip(rows, flat.params, strict=True)
            ], dim=1)
            self._status["n_hvp"] += n
        except RuntimeError as err:
            if not _missing_batching_rule(err):  # out of memory, device faults: not ours
                raise
            # an operation without a vmap rule: one product at a time
            H = torch.stack([flat.flatten(self._local_hvp(evaluation, e)) for e in eye])
        (H,) = average(H.detach())
        return 0.5 * (H + H.T)

    def step(self, closure=None):
        """One damped Newton iteration; returns the loss at the start of the step."""
        evaluation, ok = self._begin(closure, create_graph=True)
        if not ok:
            return self._skip(evaluation)
        damping = self._option("damping")
        x, g = self._flat.get(), evaluation.grad
        if g.abs().max() == 0:
            self._end("converged: the gradient is zero")
            return evaluation.loss
        H = self._hessian(evaluation)
        eye = torch.eye(self._flat.n, dtype=H.dtype, device=H.device)
        shift, L = cholesky_with_added_identity(H + damping * eye)  # N&W Alg. 3.3
        self._status["last_shift"] = damping + shift
        p = -torch.cholesky_solve(g.unsqueeze(1), L).squeeze(1)  # (H + tau I) p = -g
        result = self._line_search(closure, self._option("line_search"), x,
                                   float(evaluation.loss), g, p, self._option("lr"))
        if result.alpha == 0.0:
            self._end(f"line search failed ({result.message}); parameters unchanged")
        else:
            self._end(f"step taken (alpha={result.alpha:.3g}, tau={damping + shift:.3g})")
        return evaluation.loss
