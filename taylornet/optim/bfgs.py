r"""Dense BFGS on the inverse Hessian approximation, for small models (N&W Algorithm 6.1).

Each ``step`` is one iteration: with :math:`s = x_k - x_{k-1}` and
:math:`y = g_k - g_{k-1}` from the previous step, :math:`H` is updated by
:func:`taylornet.rules.bfgs_inverse_update` (N&W 6.17; skipped when
:math:`y^\top s \le 0`), :math:`H_0 = I` scaled to :math:`(y^\top s / y^\top y) I`
just before the first update (N&W 6.20; without this scaling dense BFGS needs
far more iterations), then :math:`p = -H g` and a line search from
:func:`taylornet.linesearch` (strong Wolfe, ``c2=0.9``, by default). The first
trial step is ``lr`` (:math:`\min(1, 1/\|g\|)\cdot` ``lr``
before the first update, as :func:`taylornet.minimize` does). Memory and work
are :math:`O(n^2)` per step: use :class:`~taylornet.optim.LBFGS` for networks.

Because ``step`` re-evaluates the closure, :math:`y` uses the gradients at the
starts of consecutive steps; with a fixed full batch they equal the line
search's. A failed line search (or a direction that is not a descent
direction) resets :math:`H` to the identity.
"""

from __future__ import annotations

import torch

from ..rules import bfgs_inverse_update
from ._base import LINE_SEARCHES, ClosureOptimizer


class BFGS(ClosureOptimizer):
    """Dense inverse BFGS with a line search, one iteration per ``step(closure)``.

    ``line_search``: ``"strong_wolfe"`` (default), ``"backtracking"`` (Armijo;
    then :math:`y^\\top s > 0` is not guaranteed and updates may be skipped) or
    ``None`` (fixed step ``lr``). All options are shared by all groups.
    """

    _uniform = ("lr", "line_search")

    def __init__(self, params, lr=1.0, line_search="strong_wolfe"):
        if not lr > 0:
            raise ValueError(f"BFGS: lr must be > 0 (got {lr!r})")
        if line_search not in LINE_SEARCHES:
            raise ValueError(f"BFGS: line_search must be one of {LINE_SEARCHES} "
                             f"(got {line_search!r})")
        super().__init__(params, dict(lr=lr, line_search=line_search))

    def step(self, closure=None):
        """One BFGS iteration; returns the loss at the start of the step."""
        evaluation, ok = self._begin(closure)
        if not ok:
            return self._skip(evaluation)
        mem = self._memory
        lr = self._option("lr")
        x, g = self._flat.get(), evaluation.grad
        H = mem.get("H")
        if H is None:
            H = torch.eye(self._flat.n, dtype=g.dtype, device=g.device)
            mem["n_updates"] = 0
        if mem.get("x_prev") is not None:
            s, y = x - mem["x_prev"], g - mem["g_prev"]
            ys = y @ s
            if ys > 0:
                if mem["n_updates"] == 0:  # N&W (6.20)
                    H = (ys / (y @ y)) * H
                H = bfgs_inverse_update(H, s, y)  # N&W (6.17)
                mem["n_updates"] += 1
        p = -(H @ g)
        if not g @ p < 0:  # H lost positive definiteness to rounding: restart
            H = torch.eye(self._flat.n, dtype=g.dtype, device=g.device)
            mem["n_updates"] = 0
            p = -g
        if g.abs().max() == 0:
            mem.update(H=H, x_prev=x, g_prev=g)
            self._end("converged: the gradient is zero")
            return evaluation.loss
        alpha0 = lr * min(1.0, 1.0 / float(g.norm())) if mem["n_updates"] == 0 else lr
        result = self._line_search(closure, self._option("line_search"), x,
                                   float(evaluation.loss), g, p, alpha0)
        if result.alpha == 0.0:
            mem.update(H=None, x_prev=None, g_prev=None)
            self._end(f"line search failed ({result.message}); H reset to I")
        else:
            mem.update(H=H, x_prev=x, g_prev=g)
            self._end(f"step taken (alpha={result.alpha:.3g}): {result.message}")
        return evaluation.loss
