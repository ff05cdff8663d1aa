r"""What every ``taylornet.optim`` optimizer shares: the closure, counters, rejection.

Closure convention
------------------
``loss = opt.step(closure)`` where ``closure()`` re-evaluates the model and
**returns the loss without calling** ``backward()``::

    def closure():
        return loss_fn(model(X), y)

The optimizer differentiates it itself with :func:`torch.autograd.grad`
(``create_graph=True`` where it needs curvature products). For
``NewtonCG(curvature="gauss-newton")`` the closure returns
``(loss, outputs)``, the network outputs the loss was computed from.
First-order optimizers (:class:`LBFGS`, :class:`BFGS`, :class:`NonlinearCG`,
``TaylorFlow(order=1)``) also accept a :class:`torch.optim.LBFGS`-style
closure that calls ``zero_grad()`` and ``backward()`` itself: the optimizer
clears every ``.grad`` before each call and, if the closure filled them in,
reads them instead of differentiating. ``.grad`` is therefore not preserved
across ``step``.

Non-finite values
-----------------
A candidate point whose loss or gradient is NaN or infinite is never kept:
line-search trials are rejected by the search, a Newton-CG step is undone, and
a non-finite loss at the start of a step (for example after a Taylor step, or
from a bad batch) restores the last parameters that had a finite loss and
gradient and skips the step. Each such point adds one to
``state["taylornet"]["rejected_steps"]``; ``last_rejection`` keeps the
message, and one :class:`RuntimeWarning` per ``step`` call reports it.
``step`` then returns the (non-finite) loss it saw, so the caller sees it too.

Host reads
----------
Everything stays on the parameters' device; the only values read back to the
host are the decisions: the line searches' :math:`f` and :math:`\phi'`
(two per trial), the stopping and curvature tests of L-BFGS (as
:class:`torch.optim.LBFGS`), one finiteness flag per ``step`` (TaylorFlow),
and in Newton-CG one residual norm and one :math:`p^\top A p` per CG
iteration (each guarding a curvature product, which costs far more). The
two-loop recursion, the BFGS update and the Taylor terms read nothing back.

Several parameter groups
------------------------
The direction is always computed for the concatenation of all parameters
(curvature couples them). Only :class:`TaylorFlow` has per-group step sizes
(a diagonal preconditioner); the others take one step length along one
direction, so they require every option, ``lr`` included, to be equal in all
groups and raise ``ValueError`` otherwise (scaling blocks of a quasi-Newton
direction separately would not keep it a descent direction).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import torch

from ..linesearch import LineSearchResult, backtracking, strong_wolfe
from . import _distributed
from ._flat import FlatParams

LINE_SEARCHES = ("strong_wolfe", "backtracking", None)


class Evaluation(NamedTuple):
    """One call of the closure at the current parameters.

    ``loss`` (0-d) and ``grad`` (flat) are detached and averaged over ranks;
    ``local_grads`` are this rank's per-parameter gradients with their graph
    (only when evaluated with ``create_graph=True``), for curvature products;
    ``outputs`` is what a ``(loss, outputs)`` closure returned, else ``None``;
    ``local_loss`` is this rank's loss with its graph.
    """

    loss: torch.Tensor
    grad: torch.Tensor
    local_grads: Any
    outputs: Any
    local_loss: Any


class ClosureOptimizer(torch.optim.Optimizer):
    """Base class: flat parameter vector, closure evaluation, counters and rejection.

    ``_uniform`` names the options that must be equal in every parameter
    group: methods that compute one direction and one step length for the
    concatenation of all parameters have no per-group meaning for them.
    """

    _uniform: tuple = ()

    def __init__(self, params, defaults):
        super().__init__(params, defaults)
        self._rebuild()
        self.state["taylornet"] = {
            "n_steps": 0,
            "n_function_evals": 0,
            "n_grad_evals": 0,
            "n_hvp": 0,
            "rejected_steps": 0,
            "last_rejection": None,
            "last_status": "no step taken yet",
        }

    # -- parameter groups ------------------------------------------------------
    def add_param_group(self, param_group):
        super().add_param_group(param_group)
        if hasattr(self, "_flat"):  # a group added after construction
            self._rebuild()

    def _rebuild(self):
        name = type(self).__name__
        for key in self._uniform:
            values = [group[key] for group in self.param_groups]
            if any(v != values[0] for v in values[1:]):
                raise ValueError(
                    f"{name}: option {key!r} differs between parameter groups ({values}); "
                    f"{name} computes one direction and one step for all parameters together, "
                    f"so {key!r} must be the same in every group (TaylorFlow is the optimizer "
                    "with a per-group lr)"
                )
        self._flat = FlatParams(self.param_groups, name)
        self.state.pop(self._flat.params[0], None)  # algorithm memory starts afresh

    @property
    def _memory(self):
        """The algorithm's memory (history, last direction, ...), kept like torch.optim.LBFGS's."""
        return self.state[self._flat.params[0]]

    @property
    def _status(self):
        return self.state["taylornet"]

    def _option(self, key):
        return self.param_groups[0][key]

    # -- closure ------------------------------------------------------------------
    def _require_closure(self, closure):
        if closure is None:
            raise ValueError(
                f"{type(self).__name__}.step needs a closure that re-evaluates the model and "
                "returns the loss, e.g. opt.step(lambda: loss_fn(model(X), y))"
            )
        if not callable(closure):
            raise TypeError(f"{type(self).__name__}.step: closure must be callable")
        return closure

    def _call(self, closure):
        """Run the closure with autograd on; returns ``(loss, outputs, filled_grads)``."""
        params = self._flat.params
        for p in params:
            p.grad = None
        with torch.enable_grad():
            result = closure()
        outputs = None
        if isinstance(result, (tuple, list)):
            if len(result) != 2:
                raise ValueError(
                    f"{type(self).__name__}: the closure must return the loss or (loss, outputs); "
                    f"got a sequence of length {len(result)}"
                )
            result, outputs = result
        if not isinstance(result, torch.Tensor) or result.numel() != 1:
            raise TypeError(
                f"{type(self).__name__}: the closure must return the loss as a one-element "
                f"tensor; got {type(result).__name__}"
                + (f" of shape {tuple(result.shape)}" if isinstance(result, torch.Tensor) else "")
            )
        legacy = any(p.grad is not None for p in params)
        return result.reshape(()), outputs, legacy

    def _evaluate(self, closure, x=None, *, create_graph=False, retain_graph=False):
        """Set the parameters to ``x`` (if given), call the closure: an :class:`Evaluation`."""
        if x is not None:
            self._flat.set_(x)
        loss, outputs, legacy = self._call(closure)
        status = self._status
        status["n_function_evals"] += 1
        status["n_grad_evals"] += 1
        local_grads = None
        if legacy:
            if create_graph or retain_graph:
                raise ValueError(
                    f"{type(self).__name__} needs second derivatives, so its closure must return "
                    "the loss without calling backward() (the optimizer differentiates it)"
                )
            grad = self._flat.flatten([p.grad for p in self._flat.params])
        else:
            if not loss.requires_grad:
                raise ValueError(
                    f"{type(self).__name__}: the loss returned by the closure does not depend on "
                    "the parameters (no autograd graph); was it computed under torch.no_grad()?"
                )
            with torch.enable_grad():
                local_grads = torch.autograd.grad(
                    loss, self._flat.params, create_graph=create_graph,
                    retain_graph=create_graph or retain_graph, allow_unused=True
                )
            grad = self._flat.flatten(local_grads)
            if create_graph:
                local_grads = tuple(
                    torch.zeros_like(p) if gi is None else gi
                    for gi, p in zip(local_grads, self._flat.params, strict=True)
                )
            else:
                local_grads = None
        mean_loss, mean_grad = _distributed.average(loss.detach(), grad.detach())
        return Evaluation(mean_loss, mean_grad, local_grads, outputs, loss)

    def _loss_at(self, closure, x):
        """``f(x)`` only (no gradient), averaged over ranks; a 0-d tensor."""
        self._flat.set_(x)
        for p in self._flat.params:
            p.grad = None
        with torch.no_grad():
            result = closure()
        if isinstance(result, (tuple, list)):
            result = result[0]
        self._status["n_function_evals"] += 1
        (loss,) = _distributed.average(result.detach().reshape(()))
        return loss

    def _local_hvp(self, evaluation, v, create_graph=False):
        r"""This rank's :math:`\nabla^2 f_r\, v` per parameter, by double backward.

        Differentiates :math:`\nabla f(x)^\top v` with ``v`` held constant
        (N&W section 8.1, "automatic differentiation" of :math:`\nabla f^\top v`).
        """
        with torch.enable_grad():
            dot = sum((gi * vi).sum() for gi, vi in
                      zip(evaluation.local_grads, self._flat.unflatten(v), strict=True))
            hv = torch.autograd.grad(dot, self._flat.params, retain_graph=True,
                                     create_graph=create_graph, allow_unused=True)
        self._status["n_hvp"] += 1
        return hv

    def _hvp(self, evaluation, v):
        r""":math:`\nabla^2 f(x)\, v` as a flat vector, averaged over ranks."""
        hv = self._flat.flatten(self._local_hvp(evaluation, v), "Hessian-vector product")
        (hv,) = _distributed.average(hv.detach())
        return hv

    # -- line search ----------------------------------------------------------------
    def _line_search_fun_and_grad(self, closure):
        """``z -> (f(z), grad f(z))`` for :func:`strong_wolfe`, with ``f`` a 0-d tensor.

        Nothing is read back here: the search reads the loss together with the
        slope (one host read per trial) and counts the non-finite trials, which
        :meth:`_note_nonfinite_trials` then records.
        """
        def fun_and_grad(z):
            trial = self._evaluate(closure, z)
            return trial.loss.detach(), trial.grad

        return fun_and_grad

    def _note_nonfinite_trials(self, result):
        for _ in range(result.n_nonfinite):
            self._reject("non-finite loss or gradient at a line-search trial; "
                         "the search shortened the step")

    def _line_search(self, closure, kind, x, f, g, p, alpha0, c2=0.9):
        """Step along ``p`` from ``x`` with :mod:`taylornet.linesearch`; sets the parameters.

        ``kind`` is ``"strong_wolfe"`` (N&W Algs. 3.5-3.6), ``"backtracking"``
        (Armijo, N&W Alg. 3.1) or ``None`` (the fixed step ``alpha0``). Trial
        points with a non-finite loss or gradient are rejected (and counted).
        Returns the :class:`~taylornet.linesearch.LineSearchResult`; on failure
        (``alpha == 0``) the parameters are back at ``x``.
        """
        def fun(z):
            value = float(self._loss_at(closure, z))
            if not math.isfinite(value):
                self._reject(f"non-finite loss ({value:.3g}) at a trial step; step shortened")
            return value

        fun_and_grad = self._line_search_fun_and_grad(closure)
        if kind == "strong_wolfe":
            result = strong_wolfe(fun_and_grad, x, f, g, p, alpha0=alpha0, c2=c2)
            self._note_nonfinite_trials(result)
        elif kind == "backtracking":
            result = backtracking(fun, x, f, g, p, alpha0=alpha0)
        else:
            x_new = x + alpha0 * p
            f_new = fun(x_new)
            ok = math.isfinite(f_new)
            result = LineSearchResult(alpha0 if ok else 0.0, x_new if ok else x,
                                      f_new if ok else f, None, 1, 0, ok,
                                      "fixed step" if ok else "fixed step gave a non-finite loss")
        self._flat.set_(result.x)
        return result

    # -- non-finite values ------------------------------------------------------------
    @staticmethod
    def _finite(loss, grad=None):
        """One host read: whether the loss (and gradient) are all finite."""
        ok = torch.isfinite(loss)
        if grad is not None:
            ok = ok & torch.isfinite(grad).all()
        return bool(ok)

    def _reject(self, message):
        """Count one rejected candidate point and remember why (warned at the end of step)."""
        status = self._status
        status["rejected_steps"] += 1
        status["last_rejection"] = message
        self._step_rejections.append(message)

    def _begin(self, closure, *, create_graph=False, retain_graph=False):
        """Common start of ``step``: evaluate at the current point, reject it if non-finite.

        Returns ``(evaluation, ok)``; after a rejection (``ok`` false) the
        parameters are back at the last point with a finite loss and gradient
        and the caller returns :meth:`_skip`.
        """
        closure = self._require_closure(closure)
        self._step_rejections = []
        self._status["n_steps"] += 1
        evaluation = self._evaluate(closure, create_graph=create_graph,
                                    retain_graph=retain_graph)
        if self._finite(evaluation.loss, evaluation.grad):
            self._memory["x_finite"] = None  # the current parameters are the fallback
            return evaluation, True
        restored = self._memory.get("x_finite")
        if restored is not None:
            self._flat.set_(restored)
        what = "loss" if not self._finite(evaluation.loss) else "gradient"
        self._reject(
            f"non-finite {what} ({float(evaluation.loss):.3g}) at the start of step "
            f"{self._status['n_steps']}; "
            + ("parameters restored to the last point with finite values"
               if restored is not None else "parameters left unchanged")
            + ", step skipped"
        )
        return evaluation, False

    def _skip(self, evaluation):
        """End a step rejected at its start: report, and return the non-finite loss seen."""
        self._end(self._status["last_rejection"])
        return evaluation.loss

    def _end(self, status_message):
        """Common end of ``step``: record the status and warn about rejections."""
        self._status["last_status"] = status_message
        if self._step_rejections:
            count = len(self._step_rejections)
            warnings.warn(
                f"{type(self).__name__}: {count} candidate point(s) with non-finite loss or "
                f"gradient rejected in this step; last: {self._step_rejections[-1]}",
                RuntimeWarning,
                stacklevel=3,
            )
