r"""What every ``taylornet.optim`` optimizer shares: the closure, counters, rejection.

Closure conventions
-------------------
``loss = opt.step(closure)`` accepts the closures of ``torch.optim`` as well
as its own. The closure may

1. **return the loss without calling** ``backward()``::

       def closure():
           return loss_fn(model(X), y)

   and the optimizer differentiates it with :func:`torch.autograd.grad`
   (``create_graph=True`` where it needs curvature products);
2. call ``zero_grad()`` and ``loss.backward()`` and return the loss, as for
   :class:`torch.optim.LBFGS` (first-order information: :class:`LBFGS`,
   :class:`BFGS`, :class:`NonlinearCG`, ``TaylorFlow(order=1)``);
3. call ``loss.backward(create_graph=True)`` and return the loss, the
   convention of second-order optimizers such as AdaHessian: the gradients in
   ``.grad`` keep their graph, and :class:`Newton`, :class:`NewtonCG` and
   :class:`TaylorFlow` take their curvature products from them (any optimizer
   accepts it).

For ``NewtonCG(curvature="gauss-newton")`` the closure returns
``(loss, outputs)``, the network outputs the loss was computed from. The
optimizer clears every ``.grad`` before each call and reads them afterwards;
gradients with a graph are detached there (which breaks the reference cycle
that ``backward(create_graph=True)`` creates). A closure that returns anything
but a one-element tensor (or ``(loss, outputs)``) is refused with a
``TypeError``; a plain ``backward()`` closure given to an optimizer that needs
second derivatives with a ``ValueError`` that names the two closures that work.

Evaluations are not repeated
----------------------------
A line search ends with the loss and gradient at the accepted point. When
the next ``step`` is called with the same closure object and the parameters
have not been modified in between (their autograd version counters are
unchanged), that evaluation is used again instead of calling the closure at
the start of the step, and the counters do not count it twice. A closure
whose data change between calls (a new mini-batch read from outside) should
be a new closure object per step, e.g. ``opt.step(lambda: loss_fn(model(xb), yb))``,
or the optimizer built with ``reuse_evaluations=False``.

State
-----
``state_dict()`` / ``load_state_dict()`` follow :mod:`torch.optim`: the
algorithm's memory (histories, matrices, directions; tensors, so loading moves
them to the parameters' device) is the state of the first parameter, and the
counters are ``state["taylornet"]``. A loaded optimizer continues exactly as
the saved one would have (it evaluates the closure once at its first step,
since the saved evaluation is not part of the state).

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


class _Call(NamedTuple):
    """What one closure call gave: the loss, the outputs, and the ``.grad`` it filled in."""

    loss: torch.Tensor
    outputs: Any
    grads: Any  # None when the closure did not call backward(); else per-parameter tensors
    with_graph: bool  # backward(create_graph=True): the gradients can be differentiated


def _same_callable(a, b):
    """``a is b``, or two bound methods of one function on one object (``opt.step(obj.loss)``)."""
    if a is b:
        return True
    func_a, func_b = getattr(a, "__func__", None), getattr(b, "__func__", None)
    return (func_a is not None and func_a is func_b
            and getattr(a, "__self__", None) is getattr(b, "__self__", None))


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
            "n_reused_evals": 0,
            "rejected_steps": 0,
            "last_rejection": None,
            "last_status": "no step taken yet",
        }

    # -- parameter groups and state ----------------------------------------------
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
        self._forget_evaluation()

    def load_state_dict(self, state_dict):
        """As :meth:`torch.optim.Optimizer.load_state_dict`; the counters are copied, not shared."""
        state_dict = dict(state_dict)
        state = dict(state_dict["state"])
        if isinstance(state.get("taylornet"), dict):
            state["taylornet"] = dict(state["taylornet"])
        state_dict["state"] = state
        super().load_state_dict(state_dict)
        self._forget_evaluation()

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
        """Run the closure with autograd on and sort out which convention it follows."""
        name = type(self).__name__
        params = self._flat.params
        for p in params:
            p.grad = None
        with torch.enable_grad():
            result = closure()
        outputs = None
        if isinstance(result, (tuple, list)):
            if len(result) != 2:
                raise TypeError(
                    f"{name}: the closure must return the loss or (loss, outputs); "
                    f"got a sequence of length {len(result)}"
                )
            result, outputs = result
        if not isinstance(result, torch.Tensor) or result.numel() != 1:
            raise TypeError(
                f"{name}: the closure must return the loss as a one-element tensor "
                "(a scalar), or (loss, outputs); got "
                + (f"a tensor of shape {tuple(result.shape)} (reduce it, e.g. with .mean())"
                   if isinstance(result, torch.Tensor) else type(result).__name__)
            )
        if not result.is_floating_point():
            raise TypeError(f"{name}: the closure returned a loss of dtype {result.dtype}; "
                            "a floating-point loss is needed")
        grads = [p.grad for p in params]
        self._closure_calls_backward = any(gi is not None for gi in grads)
        if not self._closure_calls_backward:
            return _Call(result.reshape(()), outputs, None, False)
        with_graph = any(gi is not None and gi.requires_grad for gi in grads)
        if with_graph:  # backward(create_graph=True): keep the graph here, not in .grad
            for p in params:
                if p.grad is not None:
                    p.grad = p.grad.detach()
        return _Call(result.reshape(()), outputs, grads, with_graph)

    def _evaluate(self, closure, x=None, *, create_graph=False, retain_graph=False):
        """Set the parameters to ``x`` (if given), call the closure: an :class:`Evaluation`."""
        if x is not None:
            self._flat.set_(x)
        call = self._call(closure)
        loss, outputs = call.loss, call.outputs
        status = self._status
        status["n_function_evals"] += 1
        status["n_grad_evals"] += 1
        local_grads = None
        if call.grads is not None:  # the closure called backward() itself
            if create_graph and not call.with_graph:
                raise ValueError(
                    f"{type(self).__name__} needs second derivatives, but the closure called "
                    "loss.backward() without create_graph=True, so the graph is gone. Either "
                    "return the loss without calling backward() (the optimizer differentiates "
                    "it) or call loss.backward(create_graph=True) in the closure"
                )
            if retain_graph and not call.with_graph:
                raise ValueError(
                    f"{type(self).__name__}(curvature='gauss-newton') needs the graph of the "
                    "loss, which loss.backward() frees. Return (loss, outputs) without calling "
                    "backward(), or call loss.backward(create_graph=True) in the closure"
                )
            grad = self._flat.flatten(call.grads)
            if create_graph:
                local_grads = tuple(call.grads)
        else:
            if not loss.requires_grad:
                raise ValueError(
                    f"{type(self).__name__}: the loss returned by the closure does not depend on "
                    "the parameters (no autograd graph); was it computed under torch.no_grad()?"
                )
            with torch.enable_grad():
                grads = torch.autograd.grad(
                    loss, self._flat.params, create_graph=create_graph,
                    retain_graph=create_graph or retain_graph, allow_unused=True
                )
            grad = self._flat.flatten(grads)
            if create_graph:
                local_grads = grads
        mean_loss, mean_grad = _distributed.average(loss.detach(), grad.detach())
        return Evaluation(mean_loss, mean_grad, local_grads, outputs, loss)

    def _loss_at(self, closure, x):
        """``f(x)`` only, averaged over ranks; a 0-d tensor.

        A closure that returns the loss runs under :func:`torch.no_grad` (a
        forward pass only); one that calls ``backward()`` itself needs autograd
        and then costs a gradient too, which is counted.
        """
        self._flat.set_(x)
        if getattr(self, "_closure_calls_backward", False):
            result = self._call(closure).loss
            self._status["n_grad_evals"] += 1
        else:
            for p in self._flat.params:
                p.grad = None
            with torch.no_grad():
                result = closure()
            if isinstance(result, (tuple, list)):
                result = result[0]
        self._status["n_function_evals"] += 1
        (loss,) = _distributed.average(result.detach().reshape(()))
        return loss

    # -- evaluations carried over to the next step ---------------------------------
    def _versions(self):
        """The parameters' autograd version counters (they change with every in-place write)."""
        return tuple(p._version for p in self._flat.params)

    def _forget_evaluation(self):
        self._carried = None

    def _carry_evaluation(self, closure, loss, grad):
        """Keep ``(f, g)`` at the current parameters for the next ``step`` with this closure."""
        if self.param_groups[0].get("reuse_evaluations", True):
            self._carried = (closure, self._versions(), loss, grad)
        else:
            self._carried = None

    def _carried_evaluation(self, closure):
        """The kept evaluation when ``closure`` and the parameters are unchanged, else ``None``."""
        carried, self._carried = getattr(self, "_carried", None), None
        if (carried is None or not _same_callable(carried[0], closure)
                or carried[1] != self._versions()):
            return None
        self._status["n_reused_evals"] += 1
        return Evaluation(carried[2], carried[3], None, None, None)

    # -- curvature products --------------------------------------------------------
    def _local_hvp(self, evaluation, v, create_graph=False):
        r"""This rank's :math:`\nabla^2 f_r\, v` per parameter, by double backward.

        The vector-Jacobian product of the recorded gradient
        :math:`\nabla f(x)` with ``v`` (N&W section 8.1, "automatic
        differentiation" of :math:`\nabla f^\top v`): the gradient's graph is
        built once per step and every product is one backward pass through it.
        """
        outputs, vs = [], []
        for gi, vi in zip(evaluation.local_grads, self._flat.unflatten(v), strict=True):
            if gi is not None and gi.requires_grad:  # other blocks of H v get nothing from gi
                outputs.append(gi)
                vs.append(vi)
        self._status["n_hvp"] += 1
        if not outputs:  # the gradient does not depend on x: H = 0
            return tuple(None for _ in self._flat.params)
        with torch.enable_grad():
            return torch.autograd.grad(outputs, self._flat.params, grad_outputs=vs,
                                       retain_graph=True, create_graph=create_graph,
                                       allow_unused=True)

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
        :meth:`_note_nonfinite_trials` then records. The loss tensor of each
        trial is kept (by the identity of the trial point) so that the
        accepted point's evaluation can be carried to the next step.
        """
        self._trial_losses = []

        def fun_and_grad(z):
            trial = self._evaluate(closure, z)
            self._trial_losses.append((z, trial.loss))
            return trial.loss, trial.grad

        return fun_and_grad

    def _trial_loss(self, result):
        """The loss tensor of the search's accepted point (``None`` if it was not a trial)."""
        for z, loss in reversed(getattr(self, "_trial_losses", [])):
            if z is result.x:
                return loss
        return None

    def _note_nonfinite_trials(self, result):
        for _ in range(result.n_nonfinite):
            self._reject("non-finite loss or gradient at a line-search trial; "
                         "the search shortened the step")

    def _line_search(self, closure, kind, x, f, g, p, alpha0, c2=0.9, slope0=None):
        """Step along ``p`` from ``x`` with :mod:`taylornet.linesearch`; sets the parameters.

        ``kind`` is ``"strong_wolfe"`` (N&W Algs. 3.5-3.6), ``"backtracking"``
        (Armijo, N&W Alg. 3.1) or ``None`` (the fixed step ``alpha0``). Trial
        points with a non-finite loss or gradient are rejected (and counted).
        Returns the :class:`~taylornet.linesearch.LineSearchResult`; on failure
        (``alpha == 0``) the parameters are back at ``x``. After a strong Wolfe
        search that moved, ``(f, g)`` at the new point is carried to the next
        step (see "Evaluations are not repeated" above).
        """
        def fun(z):
            value = float(self._loss_at(closure, z))
            if not math.isfinite(value):
                self._reject(f"non-finite loss ({value:.3g}) at a trial step; step shortened")
            return value

        if kind == "strong_wolfe":
            fun_and_grad = self._line_search_fun_and_grad(closure)
            result = strong_wolfe(fun_and_grad, x, f, g, p, alpha0=alpha0, c2=c2,
                                  slope0=slope0)
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
        if result.alpha > 0.0 and result.g is not None:
            loss = self._trial_loss(result)
            if loss is not None:
                self._carry_evaluation(closure, loss, result.g)
        self._trial_losses = []
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
        and the caller returns :meth:`_skip`. An evaluation carried over from
        the last step's line search is used when it is valid (it is finite).
        """
        closure = self._require_closure(closure)
        self._step_rejections = []
        self._status["n_steps"] += 1
        evaluation = None
        if not (create_graph or retain_graph):
            evaluation = self._carried_evaluation(closure)
        else:
            self._forget_evaluation()
        if evaluation is not None:
            self._memory["x_finite"] = None
            return evaluation, True
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
