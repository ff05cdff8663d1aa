"""``minimize``: one driver loop for every method.

Each iteration: stopping test ``||grad||_inf <= gtol`` (the same for every
method, so iteration counts compare), then either

* a line-search method: direction ``p``, step ``alpha`` (fixed, Armijo
  backtracking or strong Wolfe), curvature pair ``(s, y)`` back to the method;
* a model method: step ``p`` inside the region, ratio ``rho`` of actual to
  predicted reduction (N&W eq. 4.4), accept if ``rho`` is large enough,
  adjust the region.

Bad states end the run with a status, never with NaN parameters.
"""

from __future__ import annotations

import math

import numpy as np

from .. import linesearch
from .. import trust_region as tr
from .._array import dot, reject_half_precision, to_host
from .methods import METHODS
from .methods.base import LineSearchMethod
from .objective import inf_norm
from .result import OptimizeResult, Status

DEFAULT_MAX_ITER = 1000
# A line search fails "at the precision of f" when the decrease it could find is
# below this many units in the last place of f (an evaluation of f is itself
# rounded by a few units, so smaller decreases cannot be told apart from noise).
PRECISION_ULPS = 100


def minimize(fun, x0, method, jac=None, hess=None, hessp=None, gtol=1e-6, max_iter=None,
             callback=None, progress=False, **options):
    r"""Minimise ``fun`` from ``x0`` with one of the book's methods.

    Parameters
    ----------
    fun : callable ``x -> f(x)`` (a scalar); for ``"gauss-newton"`` and
        ``"levenberg-marquardt"`` it returns the residual vector ``r(x)`` and
        the objective is ``||r||^2 / 2``.
    x0 : 1-D NumPy array or torch tensor (any device); the result has its kind.
    method : one of ``gd, momentum, nesterov, adam, rmsprop, taylor2, taylor3,
        newton, newton-cg, bfgs, lbfgs, dfp, sr1, cg, trust-dogleg, trust-ncg,
        gauss-newton, levenberg-marquardt``.
    jac, hess, hessp : derivatives (``hessp(x, v) = H(x) v``); those not given
        come from torch autograd, in which case ``fun`` must accept tensors.
    gtol : stop when ``||grad f(x)||_inf <= gtol``.
    max_iter : iteration limit (default 1000); reaching it is a status, not an error.
    callback : called after each iteration with an :class:`OptimizeResult`
        holding ``x, fun, grad, nit``; returning ``True`` (or raising
        ``StopIteration``) stops the run.
    progress : show a tqdm progress bar.
    **options : method options, e.g. ``lr`` (first-order and Taylor), ``m``
        (L-BFGS memory), ``beta`` (CG variant), ``initial_radius``,
        ``hess_inv0`` (BFGS and DFP: the starting inverse Hessian, as scipy's).

    Returns
    -------
    OptimizeResult with ``x, fun, grad, nit, nfev, ngev`` (also as scipy's
    ``njev``), ``nhev, success, status, message, history``; ``hess_inv`` for
    ``bfgs``, ``dfp`` (the dense matrix) and ``lbfgs`` (an operator with
    ``@``/``matvec`` and ``todense()``, as scipy's L-BFGS-B).

    Evaluations of ``fun``, ``jac``, ``hess`` at one point are cached (by the
    value of ``x``) and counted once; a ``hess`` without ``hessp`` is
    evaluated once per iterate however many products a method takes.
    """
    name = str(method).lower()
    if name not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if not gtol >= 0:
        raise ValueError(f"gtol must be >= 0 (got {gtol!r})")
    max_iter = DEFAULT_MAX_ITER if max_iter is None else int(max_iter)
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0 (got {max_iter})")
    _check_x0(x0)

    cls = METHODS[name]
    obj = cls.objective(fun, x0, jac=jac, hess=hess, hessp=hessp, needs=cls.needs)
    x = obj.x0
    f, g = obj.value_and_grad(x)
    _check_start(x, f, g)
    impl = cls(obj, x, **options)
    run = _Run(obj, impl, x, f, g, callback, progress, max_iter)
    return run.solve(gtol)


class _Run:
    """State of one run: iterate, counters, history, the best finite point."""

    def __init__(self, obj, impl, x, f, g, callback, progress, max_iter):
        self.obj, self.impl, self.xp = obj, impl, obj.xp
        self.x, self.f, self.g = x, f, g
        self.callback, self.max_iter = callback, max_iter
        self.history = {key: [] for key in
                        ("f", "grad_norm", "step_norm", "alpha", "nfev", "ngev", "nhev")}
        self._record(step_norm=0.0, alpha=0.0)
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=max_iter, desc=type(impl).__name__, leave=False)

    # -- the loop -------------------------------------------------------------
    def solve(self, gtol):
        line_search = isinstance(self.impl, LineSearchMethod)
        if not line_search:
            self.param = self.impl.initial_parameter(self.g)
        status, nit = None, 0
        try:
            for nit in range(1, self.max_iter + 1):
                if self.history["grad_norm"][-1] <= gtol:  # ||g||_inf, read by _record
                    status, nit = Status.CONVERGED, nit - 1
                    break
                status = self._line_search_iteration() if line_search else self._model_iteration()
                if status is None and self._callback_says_stop(nit):
                    status = Status.CALLBACK
                if self.bar is not None:
                    self.bar.update(1)
                    gnorm = self.history["grad_norm"][-1]
                    self.bar.set_postfix(f=f"{self.f:.3e}", g=f"{gnorm:.1e}")
                if status is not None:
                    break
            else:
                status = (Status.CONVERGED if self.history["grad_norm"][-1] <= gtol
                          else Status.MAX_ITER)
        finally:
            if self.bar is not None:
                self.bar.close()
        return self._result(status, nit)

    def _line_search_iteration(self):
        impl, x, f, g = self.impl, self.x, self.f, self.g
        p = impl.direction(x, f, g)
        if impl.search == "fixed":
            alpha = 1.0
            x_new = x + p
            f_new, g_new = self.obj.value_and_grad(x_new)
            if not (_finite(f_new) and self._all_finite(g_new)):
                return Status.NON_FINITE
        else:
            self.predicted_decrease = math.inf
            found = self._search(p, restart_allowed=True)
            if found is None:
                return (Status.PRECISION_LIMIT if self._below_precision_of_f()
                        else Status.LINE_SEARCH_FAILED)
            alpha, x_new, f_new, g_new = found
        s, y = x_new - x, g_new - g
        impl.update(s, y, g_new)
        self.x, self.f, self.g = x_new, f_new, g_new
        self._record(step_norm=self.xp.linalg.vector_norm(s), alpha=alpha)
        return None

    def _search(self, p, restart_allowed):
        """Line search along ``p``; on failure restart once from ``-g``."""
        impl, x, f, g = self.impl, self.x, self.f, self.g
        slope = float(dot(self.xp, g, p))  # non-finite if any entry of p is (g is finite)
        if not (slope < 0 and math.isfinite(slope)):  # not a descent direction: steepest descent
            impl.reset()
            p, slope = -g, None
            restart_allowed = False
        alpha0 = impl.initial_step(len(self.history["f"]), g, p)
        if slope is None:
            slope = float(dot(self.xp, g, p))
        # first-order decrease the search could hope for (the smallest over the tries)
        self.predicted_decrease = min(self.predicted_decrease, -alpha0 * slope)
        if impl.search == "armijo":
            res = linesearch.backtracking(self.obj.value, x, f, g, p, alpha0=alpha0)
            if res.success:
                g_new = self.obj.gradient(res.x)
                if self._all_finite(g_new):
                    return res.alpha, res.x, res.f, g_new
        else:
            res = linesearch.strong_wolfe(self._value_and_grad_on_device, x, f, g, p,
                                          alpha0=alpha0, c2=impl.c2, slope0=slope)
            if res.success:
                return res.alpha, res.x, res.f, res.g
        if restart_allowed:
            impl.reset()
            return self._search(-g, restart_allowed=False)
        return None

    def _value_and_grad_on_device(self, x):
        """``(f, g)`` with ``f`` left on the device: the search reads it with its slope."""
        return self.obj.value_and_grad(x, host_value=False)

    def _below_precision_of_f(self):
        r"""Whether a failed line search only met the rounding of ``f``.

        The first-order decrease of the first trial step,
        :math:`|\alpha_0 \nabla f^\top p|` (for Newton and quasi-Newton
        directions about twice :math:`f - f^*`), is below ``PRECISION_ULPS``
        units in the last place of ``f``: the sufficient-decrease test then
        compares values that differ only by rounding, and no step can pass it.
        """
        eps = float(self.xp.finfo(self.x.dtype).eps)
        return self.predicted_decrease <= PRECISION_ULPS * eps * abs(self.f)

    def _model_iteration(self):
        impl, x, f, g = self.impl, self.x, self.f, self.g
        p, predicted = impl.step(x, f, g, self.param)
        x_trial = x + p
        f_trial = self.obj.value(x_trial)
        rho = tr.reduction_ratio(f - f_trial, predicted)
        accepted = _finite(f_trial) and tr.accept_step(rho)
        g_trial = None
        if accepted or impl.update_on_reject and _finite(f_trial):
            g_trial = self.obj.gradient(x_trial)
            if not self._all_finite(g_trial):
                accepted, g_trial = False, None
        if g_trial is not None:
            impl.update(p, g_trial - g, g_trial)
        if accepted:
            self.x, self.f, self.g = x_trial, f_trial, g_trial
        self.param = impl.update_parameter(self.param, rho, p)
        step_norm = self.xp.linalg.vector_norm(p) if accepted else 0.0
        self._record(step_norm=step_norm, alpha=1.0 if accepted else 0.0)
        if impl.parameter_exhausted(self.param):
            return Status.RADIUS_COLLAPSED
        return None

    # -- bookkeeping ----------------------------------------------------------
    def _record(self, step_norm, alpha):
        """Append this iterate to the history; ``step_norm`` may be a 0-d array, read
        together with ``||g||_inf`` (one host read)."""
        h = self.history
        h["f"].append(self.f)
        if isinstance(step_norm, float):
            h["grad_norm"].append(inf_norm(self.xp, self.g))
        else:
            step_norm, g_max = to_host(self.xp, step_norm, self.xp.max(self.xp.abs(self.g)))
            h["grad_norm"].append(g_max)
        h["step_norm"].append(step_norm)
        h["alpha"].append(alpha)
        h["nfev"].append(self.obj.nfev)
        h["ngev"].append(self.obj.ngev)
        h["nhev"].append(self.obj.nhev)

    def _callback_says_stop(self, nit):
        if self.callback is None:
            return False
        info = OptimizeResult(x=self.obj.to_user(self.x), fun=self.f,
                              grad=self.obj.to_user(self.g), nit=nit)
        try:
            return self.callback(info) is True
        except StopIteration:
            return True

    def _all_finite(self, a):
        return bool(self.xp.all(self.xp.isfinite(a)))

    def _result(self, status, nit):
        to_user = self.obj.to_user
        return OptimizeResult(
            x=to_user(self.x), fun=self.f, grad=to_user(self.g), nit=nit,
            nfev=self.obj.nfev, ngev=self.obj.ngev, njev=self.obj.ngev, nhev=self.obj.nhev,
            success=status.success, status=int(status), message=status.message,
            history=self.history, method=type(self.impl).__name__,
            **self.impl.result_fields(),
        )


def _finite(value) -> bool:
    return math.isfinite(value)


def _check_x0(x0):
    reject_half_precision("minimize", x0=x0)
    shape = tuple(getattr(x0, "shape", np.shape(x0)))
    if len(shape) != 1:
        raise ValueError(f"x0 must be a 1-D array (got shape {shape}); flatten it first")
    if shape[0] == 0:
        raise ValueError("x0 is empty")
    values = x0.detach().cpu().numpy() if hasattr(x0, "detach") else np.asarray(x0, dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise ValueError(f"x0 contains NaN or inf at indices {bad[:10].tolist()}"
                         + (" ..." if bad.size > 10 else ""))


def _check_start(x, f, g):
    if tuple(g.shape) != tuple(x.shape):
        raise ValueError(f"the gradient has shape {tuple(g.shape)} but x0 has shape "
                         f"{tuple(x.shape)}")
    if not math.isfinite(f):
        raise ValueError(f"fun(x0) is not finite ({f}); start from a point where f is defined")
    if not bool(np.all(np.isfinite(np.asarray(g.detach().cpu() if hasattr(g, "detach") else g)))):
        raise ValueError("the gradient at x0 contains NaN or inf")
