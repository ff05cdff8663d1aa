r"""Nonlinear conjugate gradients (N&W Algorithm 5.4 with the :math:`\beta` variants).

Each ``step`` is one iteration :math:`p_k = -g_k + \beta_k p_{k-1}` with
:math:`\beta_k` from :func:`taylornet.rules.cg_beta` (``"pr+"``, N&W 5.45, by
default; ``"fr"``, ``"pr"``, ``"hs"``), then the strong Wolfe search with
``c2=0.1``: Fletcher-Reeves needs :math:`c_2 < 1/2` (N&W Lemma 5.6; see the
book's Common mistakes appendix: Fletcher-Reeves with the quasi-Newton line
search).
A direction that is not a descent direction is replaced by :math:`-g`
(restart). Initial trial step (:mod:`taylornet.core`, times ``lr``):
:func:`~taylornet.core.first_trial_step` on the first iteration and after
restarts, afterwards :func:`~taylornet.core.slope_ratio_step`, N&W (3.60)
(the conventions of :func:`taylornet.minimize` with ``method="cg"``).
The strong Wolfe search's last :math:`(f, \nabla f)` starts the next
``step`` (see :mod:`taylornet.optim._base`, "Evaluations are not repeated").
"""

from __future__ import annotations

from .._array import namespace, to_host
from ..core import first_trial_step, slope_ratio_step
from ..rules import cg_beta
from ..rules.conjugate_gradient import CG_BETA_KINDS
from ._base import LINE_SEARCHES, ClosureOptimizer

_C2 = 0.1


class NonlinearCG(ClosureOptimizer):
    """Nonlinear CG with a strong Wolfe line search, one iteration per ``step(closure)``.

    ``beta`` is one of ``"fr"``, ``"pr"``, ``"pr+"``, ``"hs"``; ``line_search``
    one of ``"strong_wolfe"`` (default), ``"backtracking"``, ``None``;
    ``reuse_evaluations`` carries the line search's last evaluation to the next
    step (default). All options are shared by all groups.
    """

    _uniform = ("lr", "beta", "line_search", "reuse_evaluations")

    def __init__(self, params, lr=1.0, beta="pr+", line_search="strong_wolfe",
                 reuse_evaluations=True):
        if not lr > 0:
            raise ValueError(f"NonlinearCG: lr must be > 0 (got {lr!r})")
        if beta not in CG_BETA_KINDS:
            raise ValueError(f"NonlinearCG: beta must be one of {CG_BETA_KINDS} (got {beta!r})")
        if line_search not in LINE_SEARCHES:
            raise ValueError(f"NonlinearCG: line_search must be one of {LINE_SEARCHES} "
                             f"(got {line_search!r})")
        super().__init__(params, dict(lr=lr, beta=beta, line_search=line_search,
                                      reuse_evaluations=bool(reuse_evaluations)))

    def step(self, closure=None):
        """One nonlinear-CG iteration; returns the loss at the start of the step."""
        evaluation, ok = self._begin(closure)
        if not ok:
            return self._skip(evaluation)
        mem = self._memory
        lr = self._option("lr")
        x, g = self._flat.get(), evaluation.grad
        xp = namespace(g)
        p = -g
        restarted = mem.get("p_prev") is None
        if not restarted:
            beta = cg_beta(g, mem["g_prev"], mem["p_prev"], kind=self._option("beta"))
            p = -g + beta * mem["p_prev"]
        slope, g_max, g_norm = to_host(xp, g @ p, g.abs().max(), g.norm())
        if g_max == 0:
            self._carry_evaluation(closure, evaluation.loss, g)
            self._end("converged: the gradient is zero")
            return evaluation.loss
        if not slope < 0:  # not a descent direction: restart with steepest descent
            p, restarted, slope = -g, True, -g_norm**2
        if restarted:
            alpha0 = first_trial_step(g_norm)
        else:  # N&W (3.60)
            alpha0 = slope_ratio_step(mem["slope_step"], slope)
        result = self._line_search(closure, self._option("line_search"), x,
                                   float(evaluation.loss), g, p, lr * alpha0, c2=_C2,
                                   slope0=slope)
        if result.alpha == 0.0:
            mem.update(p_prev=None, g_prev=None, slope_step=None)
            self._end(f"line search failed ({result.message}); restarting")
        else:
            # alpha_k g_k^T p_k for the next initial step (3.60)
            mem.update(p_prev=p, g_prev=g, slope_step=result.alpha * slope)
            self._end(f"step taken (alpha={result.alpha:.3g}): {result.message}")
        return evaluation.loss
