"""``OptimizeResult`` and the status codes every solver run ends with.

Follows scipy's convention (``scipy.optimize.OptimizeResult``): a dict whose
keys are also attributes, a numeric ``status`` and a human ``message``.
"""

from __future__ import annotations

import enum


class Status(enum.IntEnum):
    """Why a run stopped. ``success`` is ``status == CONVERGED``."""

    CONVERGED = 0
    MAX_ITER = 1
    LINE_SEARCH_FAILED = 2
    NON_FINITE = 3
    CALLBACK = 4
    RADIUS_COLLAPSED = 5

    @property
    def message(self) -> str:
        return _MESSAGES[self]


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
}


class OptimizeResult(dict):
    """Result of :func:`taylornet.minimize`.

    Attributes
    ----------
    x : the final (best finite) iterate, same kind as ``x0`` (NumPy or torch)
    fun, grad : ``f(x)`` and ``grad f(x)``
    nit : iterations taken
    nfev, ngev, nhev : function, gradient and Hessian (or Hessian-vector) evaluations
    success, status, message : how the run ended (:class:`Status`)
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
        keys = ["message", "success", "status", "fun", "nit", "nfev", "ngev", "nhev"]
        lines = [f"{k:>8}: {self[k]!r}" for k in keys if k in self]
        lines.append(f"{'x':>8}: {self.get('x')!r}")
        return "\n".join(lines)

    def __dir__(self):
        return list(self.keys())
