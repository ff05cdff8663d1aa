"""``OptimizeResult`` and the status codes every solver run ends with.

Follows scipy's convention (``scipy.optimize.OptimizeResult``): a dict whose
keys are also attributes, a numeric ``status`` and a human ``message``.
"""

from __future__ import annotations

import enum


class Status(enum.IntEnum):
    """Why a run stopped. ``success`` is ``CONVERGED`` or ``PRECISION_LIMIT``."""

    CONVERGED = 0
    MAX_ITER = 1
    LINE_SEARCH_FAILED = 2
    NON_FINITE = 3
    CALLBACK = 4
    RADIUS_COLLAPSED = 5
    PRECISION_LIMIT = 6

    @property
    def message(self) -> str:
        return _MESSAGES[self]

    @property
    def success(self) -> bool:
        """Converged, or as close as the precision of ``f`` lets a line search get."""
        return self in (Status.CONVERGED, Status.PRECISION_LIMIT)


_MESSAGES = {
    Status.CONVERGED: "Optimization converged: ||grad||_inf <= gtol.",
    Status.MAX_ITER: "Maximum number of iterations reached before ||grad||_inf <= gtol.",
    Status.LINE_SEARCH_FAILED: (
        "Line search failed: no step satisfying the line-search conditions was found "
        "(also after restarting from steepest descent)."
    ),
    Status.NON_FINITE: (
        "Non-finite function or gradient value encountered; "
        "returning the best finite iterate."
    ),
    Status.CALLBACK: "Stopped by the callback.",
    Status.RADIUS_COLLAPSED: (
        "Trust-region radius (or Levenberg-Marquardt damping) reached its limit without "
        "progress; the model no longer predicts the function."
    ),
    Status.PRECISION_LIMIT: (
        "No further decrease possible at the precision of f: the decrease left along the "
        "search direction is below the rounding of f (scipy: 'Desired error not necessarily "
        "achieved due to precision loss')."
    ),
}


class OptimizeResult(dict):
    """Result of :func:`taylornet.minimize`.

    Attributes
    ----------
    x : the final (best finite) iterate, same kind as ``x0`` (NumPy or torch)
    fun, grad : ``f(x)`` and ``grad f(x)``
    nit : iterations taken
    nfev, ngev, nhev : function, gradient and Hessian (or Hessian-vector) evaluations
        that really happened (cached repeats are free); ``njev`` is ``ngev``
        under scipy's name
    success, status, message : how the run ended (:class:`Status`)
    hess_inv : (``bfgs``, ``dfp``) the final inverse-Hessian approximation, a
        dense matrix; (``lbfgs``) an operator with ``@``, ``matvec`` and
        ``todense()``, like scipy's ``LbfgsInvHessProduct``
    history : dict of per-iteration lists ``f``, ``grad_norm`` (inf-norm),
        ``step_norm``, ``alpha``, ``nfev``, ``ngev``, ``nhev`` (cumulative);
        entry 0 describes ``x0``.
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    __setattr__ = dict.__setitem__
    __delattr__ = dict.__delitem__

    def __repr__(self) -> str:
        keys = ["message", "success", "status", "fun", "nit", "nfev", "ngev", "njev", "nhev"]
        lines = [f"{k:>8}: {self[k]!r}" for k in keys if k in self]
        lines.append(f"{'x':>8}: {self.get('x')!r}")
        return "\n".join(lines)

    def __dir__(self):
        return list(self.keys())
