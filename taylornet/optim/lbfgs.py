r"""Limited-memory BFGS as a ``torch.optim`` optimizer (N&W Algorithm 7.5).

Each iteration takes the two-loop direction :math:`p_k = -H_k g_k` (N&W
Alg. 7.4, with :math:`H_k^0 = \gamma_k I`, :math:`\gamma_k = s^\top y / y^\top y`
of the newest pair, N&W 7.20) from :class:`taylornet.core.LBFGSHistory`, which
stores a pair only when :func:`taylornet.core.pair_accepted` holds, and a step
length from the strong Wolfe search (:func:`taylornet.linesearch.strong_wolfe`,
N&W Algs. 3.5-3.6, ``c1=1e-4``, ``c2=0.9``), which guarantees :math:`y^\top s > 0`.

The keywords and their meaning are :class:`torch.optim.LBFGS`'s, so the two
are interchangeable: one ``step`` runs up to ``max_iter`` iterations and
``max_eval`` closure calls; after ``lr`` the trial step is ``lr``; the
stopping tests are :math:`\|g\|_\infty \le` ``tolerance_grad``,
:math:`\|\alpha p\|_\infty \le` ``tolerance_change`` and
:math:`|f_{k+1} - f_k| <` ``tolerance_change``. Differences, all from the
shared core or the line search:

* the very first trial step is :func:`taylornet.core.first_trial_step`
  :math:`\cdot` ``lr`` (:math:`\min(1, 1/\|g\|_2)`; torch uses
  :math:`\|g\|_1`, which shrinks the step by up to :math:`\sqrt n`);
* a pair is stored when :math:`y^\top s > \varepsilon \|s\| \|y\|`
  (torch: :math:`y^\top s > 10^{-10}`, which depends on the scale of :math:`f`);
* the line search is strong Wolfe by default, and it is taylornet's (a
  failed search leaves the parameters unchanged and restarts the memory); as
  in torch, zooming stops once the bracket moves :math:`x` by less than
  ``tolerance_change`` in the max norm;
* the loss and gradient where a ``step`` ended start the next ``step`` when
  the closure and the parameters are unchanged (torch calls the closure
  again at the same point; see :mod:`taylornet.optim._base`).
"""

from __future__ import annotations

import torch

from .._array import namespace, to_host
from ..core import LBFGSHistory, first_trial_step
from ..linesearch import strong_wolfe
from ._base import ClosureOptimizer

_MAX_GROWTH = 9.0  # extrapolate to at most 10x the last trial, as torch.optim.LBFGS does
# A line search under way may use this many evaluations even beyond max_eval: cut short
# before it finds a decrease it would fail, restart from the same trial step and fail again.
_MIN_SEARCH_EVALS = 10


class LBFGS(ClosureOptimizer):
    r"""L-BFGS with a strong Wolfe line search; drop-in for :class:`torch.optim.LBFGS`.

    Parameters
    ----------
    params : iterable of tensors or of dicts (parameter groups)
        All on one device with one floating dtype. Several groups are allowed,
        but every option must be equal in all of them (one direction and one
        step length for the concatenated vector); ``ValueError`` otherwise.
    lr : float
        Initial trial step length of each line search (1 is the quasi-Newton step).
    max_iter, max_eval, tolerance_grad, tolerance_change, history_size :
        As in :class:`torch.optim.LBFGS` (``max_eval`` defaults to ``max_iter * 5 // 4``).
        A line search may use what is left of ``max_eval`` but at least 10
        evaluations, so that it is never cut off before it finds a decrease
        (torch's search, given no budget, takes its first trial step blindly).
    line_search_fn : ``"strong_wolfe"`` (default) or ``None`` (fixed step ``lr``).
    reuse_evaluations : bool
        Start a ``step`` from the loss and gradient where the last one ended
        (default; see :mod:`taylornet.optim._base`).

    ``step(closure)`` returns the loss at the start of the step. Under
    :mod:`torch.distributed` the loss and gradient are averaged over ranks
    (see :mod:`taylornet.optim._distributed`). The state (``state_dict()``)
    holds the pairs as ``"s_hist"``, ``"y_hist"``, ``"rho"``.
    """

    _uniform = (
        "lr", "max_iter", "max_eval", "tolerance_grad", "tolerance_change", "history_size",
        "line_search_fn", "reuse_evaluations",
    )

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn="strong_wolfe",
                 reuse_evaluations=True):
        if not lr > 0:
            raise ValueError(f"LBFGS: lr must be > 0 (got {lr!r})")
        if not (isinstance(max_iter, int) and max_iter >= 1):
            raise ValueError(f"LBFGS: max_iter must be an integer >= 1 (got {max_iter!r})")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        if not max_eval >= 1:
            raise ValueError(f"LBFGS: max_eval must be >= 1 (got {max_eval!r})")
        if not (isinstance(history_size, int) and history_size >= 1):
            raise ValueError(f"LBFGS: history_size must be an integer >= 1 (got {history_size!r})")
        if not (tolerance_grad >= 0 and tolerance_change >= 0):
            raise ValueError("LBFGS: tolerance_grad and tolerance_change must be >= 0")
        if line_search_fn not in ("strong_wolfe", None):
            raise ValueError(
                f"LBFGS: line_search_fn must be 'strong_wolfe' or None (got {line_search_fn!r})"
            )
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn,
                        reuse_evaluations=bool(reuse_evaluations))
        super().__init__(params, defaults)

    def step(self, closure=None):
        """Run up to ``max_iter`` L-BFGS iterations; return the loss at the start."""
        evaluation, ok = self._begin(closure)
        if not ok:
            return self._skip(evaluation)
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        mem = self._memory
        history = LBFGSHistory(group["history_size"], mem.get("s_hist", ()),
                               mem.get("y_hist", ()), mem.get("rho"))
        mem.setdefault("n_iter", 0)

        orig_loss = loss_t = evaluation.loss
        g = evaluation.grad
        xp = namespace(g)
        x = self._flat.get()
        g_max, g_norm = to_host(xp, g.abs().max(), g.norm())
        loss = float(orig_loss)
        if g_max <= tol_grad:
            self._carry_evaluation(closure, loss_t, g)
            return self._done(orig_loss, "converged: ||g||_inf <= tolerance_grad")

        fun_and_grad = self._line_search_fun_and_grad(closure)
        n_iter, n_evals, message = 0, 1, f"max_iter={max_iter} iterations done"
        d, t, prev_g = mem.get("d"), mem.get("t"), mem.get("prev_g")
        evaluated = True  # (loss_t, g) is the evaluation at x
        while n_iter < max_iter:
            n_iter += 1
            mem["n_iter"] += 1
            if mem["n_iter"] == 1:
                history.clear()
                d = -g
                t = first_trial_step(g_norm) * lr
            else:
                history.push(d * t, g - prev_g)  # N&W (6.5): s_k, y_k; stored if accepted
                d = history.direction(g)  # N&W Alg. 7.4
                t = lr
            prev_g, prev_loss = g, loss
            slope, d_inf = to_host(xp, g @ d, d.abs().max())
            if slope > -tol_change:
                message = "stopped: directional derivative g.p > -tolerance_change"
                break
            if group["line_search_fn"] == "strong_wolfe":
                # The search may use what is left of max_eval (torch.optim.LBFGS's budget),
                # but at least _MIN_SEARCH_EVALS.
                budget = max(_MIN_SEARCH_EVALS, max_eval - n_evals)
                # Zooming ends when the bracket moves x by less than tolerance_change
                # (torch.optim.LBFGS's rule): a narrower bracket changes only rounding.
                result = strong_wolfe(fun_and_grad, x, loss, g, d, alpha0=t, max_iter=budget,
                                      max_growth=_MAX_GROWTH, slope0=slope,
                                      min_bracket=tol_change / d_inf)  # d != 0: slope < 0
                n_evals += result.nfev
                self._note_nonfinite_trials(result)
                if result.alpha == 0.0:
                    mem["n_iter"] = 0  # restart from steepest descent next time
                    t = 0.0
                    message = f"line search failed: {result.message}"
                    break
                t, x, loss, g = result.alpha, result.x, result.f, result.g
                loss_t = self._trial_loss(result)
            else:  # fixed step, as torch.optim.LBFGS(line_search_fn=None)
                x_prev, x = x, x + t * d
                if n_iter == max_iter:  # not evaluated here: checked at the next step's start
                    mem["x_finite_next"] = x_prev
                    evaluated = False
                else:
                    trial = self._evaluate(closure, x)
                    n_evals += 1
                    all_finite = torch.isfinite(trial.loss) & torch.isfinite(trial.grad).all()
                    loss_host, finite = to_host(xp, trial.loss, all_finite)
                    if not finite:
                        self._reject(f"non-finite loss ({loss_host:.3g}) after a fixed "
                                     "step; step undone")
                        x, t = x_prev, 0.0
                        mem["n_iter"] = 0
                        message = "a fixed step gave a non-finite loss; undone"
                        break
                    loss, g, loss_t = loss_host, trial.grad, trial.loss
            if n_iter == max_iter:
                break
            if n_evals >= max_eval:
                message = f"max_eval={max_eval} closure evaluations reached"
                break
            # The three stopping tests in one host read.
            g_max, step_max = to_host(xp, g.abs().max(), (d * t).abs().max())
            if g_max <= tol_grad:
                message = "converged: ||g||_inf <= tolerance_grad"
                break
            if step_max <= tol_change:
                message = "stopped: step ||alpha p||_inf <= tolerance_change"
                break
            if abs(loss - prev_loss) < tol_change:
                message = "stopped: loss change < tolerance_change"
                break
        self._flat.set_(x)
        self._trial_losses = []
        mem.update(d=d, t=t, prev_g=prev_g, s_hist=history.s, y_hist=history.y,
                   rho=history.rho)
        mem["x_finite"] = mem.pop("x_finite_next", None)
        if evaluated and loss_t is not None:
            self._carry_evaluation(closure, loss_t, g)
        return self._done(orig_loss, message)

    def _done(self, orig_loss, message):
        self._end(message)
        return orig_loss
