r"""Dense BFGS on the inverse Hessian approximation, for small models (N&W Algorithm 6.1).

Each ``step`` is one iteration: with :math:`s = x_k - x_{k-1}` and
:math:`y = g_k - g_{k-1}` from the previous step, :math:`H` is updated by the
inverse BFGS formula (N&W 6.17) held in :class:`taylornet.core.QuasiNewtonMatrix`,
which skips pairs that fail :func:`taylornet.core.pair_accepted` and scales
:math:`H_0 = I` to :math:`(y^\top s / y^\top y) I` just before the first update
(N&W 6.20; without this scaling dense BFGS needs far more iterations). Then
:math:`p = -H g` and a line search from :func:`taylornet.linesearch` (strong
Wolfe, ``c2=0.9``, by default). The first trial step is ``lr``, and
:func:`taylornet.core.first_trial_step` :math:`\cdot` ``lr`` before the first
update, as :func:`taylornet.minimize` does. Memory and work are
:math:`O(n^2)` per step: use :class:`~taylornet.optim.LBFGS` for networks.

The strong Wolfe search ends with :math:`f` and :math:`\nabla f` at the new
point; the next ``step`` uses them instead of calling the closure again (see
:mod:`taylornet.optim._base`, "Evaluations are not repeated"), so one
iteration costs the line search's evaluations only. A failed line search (or
a direction that is not a descent direction) resets :math:`H` to the identity.
"""

from __future__ import annotations

from .._array import namespace, to_host
from ..core import QuasiNewtonMatrix, first_trial_step
from ._base import LINE_SEARCHES, ClosureOptimizer


class BFGS(ClosureOptimizer):
    """Dense inverse BFGS with a line search, one iteration per ``step(closure)``.

    ``line_search``: ``"strong_wolfe"`` (default), ``"backtracking"`` (Armijo;
    then :math:`y^\\top s > 0` is not guaranteed and updates may be skipped) or
    ``None`` (fixed step ``lr``). ``reuse_evaluations``: carry the line search's
    last evaluation to the next step (default). All options are shared by all groups.
    The state (``state_dict()``) holds :math:`H` as ``"H"``.
    """

    _uniform = ("lr", "line_search", "reuse_evaluations")

    def __init__(self, params, lr=1.0, line_search="strong_wolfe", reuse_evaluations=True):
        if not lr > 0:
            raise ValueError(f"BFGS: lr must be > 0 (got {lr!r})")
        if line_search not in LINE_SEARCHES:
            raise ValueError(f"BFGS: line_search must be one of {LINE_SEARCHES} "
                             f"(got {line_search!r})")
        super().__init__(params, dict(lr=lr, line_search=line_search,
                                      reuse_evaluations=bool(reuse_evaluations)))

    def _matrix(self, x):
        """The :class:`~taylornet.core.QuasiNewtonMatrix` of the state (a fresh one at first)."""
        mem = self._memory
        H = QuasiNewtonMatrix(x, "bfgs")
        if mem.get("H") is not None:
            H.M, H.n_updates, H.scaled = mem["H"], mem["n_updates"], mem["scaled"]
        return H

    def _keep(self, H, x, g):
        """Store the matrix and the point for the next step's pair (``None``: start afresh)."""
        if H is None:
            self._memory.update(H=None, n_updates=0, scaled=False, x_prev=None, g_prev=None)
        else:
            self._memory.update(H=H.M, n_updates=H.n_updates, scaled=H.scaled, x_prev=x,
                                g_prev=g)

    def step(self, closure=None):
        """One BFGS iteration; returns the loss at the start of the step."""
        evaluation, ok = self._begin(closure)
        if not ok:
            return self._skip(evaluation)
        mem = self._memory
        lr = self._option("lr")
        x, g = self._flat.get(), evaluation.grad
        H = self._matrix(x)
        if mem.get("x_prev") is not None:
            H.update(x - mem["x_prev"], g - mem["g_prev"])  # N&W (6.17), (6.20), skip
        p = H.direction(g)
        slope, g_max = to_host(namespace(g), g @ p, g.abs().max())
        if not slope < 0:  # H lost positive definiteness to rounding: restart
            H.reset()
            p = -g
            slope = -float(g @ g)
        if g_max == 0:
            self._keep(H, x, g)
            self._carry_evaluation(closure, evaluation.loss, g)
            self._end("converged: the gradient is zero")
            return evaluation.loss
        alpha0 = lr * (first_trial_step(g.norm()) if not H.scaled else 1.0)
        result = self._line_search(closure, self._option("line_search"), x,
                                   float(evaluation.loss), g, p, alpha0, slope0=slope)
        if result.alpha == 0.0:
            self._keep(None, x, g)
            self._end(f"line search failed ({result.message}); H reset to I")
        else:
            self._keep(H, x, g)
            self._end(f"step taken (alpha={result.alpha:.3g}): {result.message}")
        return evaluation.loss
