r"""Line search for the strong Wolfe conditions, N&W Algorithms 3.5 and 3.6.

With :math:`\phi(\alpha) = f(x + \alpha p)` and :math:`\phi'(0) = \nabla f(x)^\top p < 0`,
a step is accepted when (N&W 3.7)

.. math::
    \phi(\alpha) \le \phi(0) + c_1 \alpha \phi'(0)
    \qquad\text{and}\qquad
    |\phi'(\alpha)| \le c_2 |\phi'(0)|, \qquad 0 < c_1 < c_2 < 1 .

Phase 1 (Alg. 3.5) tries :math:`\alpha_0` first (quasi-Newton steps are
accepted at once) and extrapolates until an interval is known to contain
acceptable steps; phase 2, ``zoom`` (Alg. 3.6), shrinks that interval with
safeguarded cubic interpolation (N&W 3.59). The curvature condition makes
:math:`y^\top s > 0`, which BFGS and L-BFGS need (backtracking does not
guarantee it; see the book's Common mistakes appendix: the wrong line search for
a quasi-Newton update); nonlinear CG with Fletcher-Reeves needs ``c2 < 1/2``
(see the same appendix: Fletcher-Reeves with the quasi-Newton line search).

Departures from the book's pseudo-code, in the spirit of Moré & Thuente
(ACM TOMS 20, 1994):

* A trial step where :math:`f` or :math:`\nabla f` is NaN or infinite is
  treated as "too long": it becomes the far end of the bracket and the next
  trial bisects toward the last finite point. A non-finite point is never
  returned.
* Extrapolation uses the cubic through the last two points (or the secant
  zero of :math:`\phi'` when the cubic has no minimiser beyond), kept within
  :math:`[\alpha_i + 1.1\,\delta, \alpha_i + 4\,\delta]`, :math:`\delta = \alpha_i - \alpha_{i-1}`
  (and below ``alpha_max``), rather than a fixed doubling; ``max_growth``
  replaces the 4.
* Interpolation safeguards: the cubic minimiser is used when it lies inside
  the bracket, then the quadratic (N&W 3.57), else bisection; the trial is
  kept at least a tenth of the bracket away from both ends, and the search
  bisects when the bracket has not shrunk by a third in two trials.
* Failure is reported, never raised: ``success=False``, a message, and the
  finite point with sufficient decrease and lowest :math:`f` seen (or
  ``alpha=0`` with ``x`` unchanged when there is none).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .._array import dot, to_host
from ..core.line_search_conditions import curvature_condition, sufficient_decrease
from ._checks import check_finite_value, directional_derivative
from ._interpolate import cubic_minimizer, quadratic_minimizer
from .result import LineSearchResult

# Extrapolation range, as multiples of the last step increment (Moré & Thuente).
_EXTRAP_LOWER = 1.1
_EXTRAP_UPPER = 4.0
# A zoom trial stays this fraction of the bracket away from its ends.
_MARGIN = 0.1
# Bisect when the bracket did not shrink below this fraction in two trials.
_SLOW_SHRINK = 0.66
# Stop when the bracket is this small relative to the step (rounding level).
_XTOL = 1e-10


class _Trial(NamedTuple):
    alpha: float
    f: float
    d: float  # phi'(alpha) = g(x + alpha p) . p
    x: Any
    g: Any

    @property
    def finite(self):
        return math.isfinite(self.f) and math.isfinite(self.d)


def strong_wolfe(
    fun_and_grad,
    x,
    f0,
    g0,
    p,
    alpha0=1.0,
    c1=1e-4,
    c2=0.9,
    alpha_max=1e8,
    max_iter=30,
    max_growth=_EXTRAP_UPPER,
    *,
    slope0=None,
    min_bracket=0.0,
):
    r"""Find a step satisfying the strong Wolfe conditions (N&W 3.7, Algs. 3.5-3.6).

    Parameters
    ----------
    fun_and_grad : callable
        ``fun_and_grad(x) -> (f, g)``: ``f`` a scalar (Python float, 0-d array
        or 0-d tensor), ``g`` a 1-D array of the same back end as ``x``.
    x, g0, p : 1-D arrays (NumPy or torch)
        Current point, gradient :math:`\nabla f(x)` and search direction.
    f0 : float
        :math:`f(x)`, finite.
    alpha0 : float
        First trial step; ``1`` for Newton and quasi-Newton directions.
    c1, c2 : float
        Constants of the conditions, :math:`0 < c_1 < c_2 < 1` (``c2=0.9`` for
        quasi-Newton, ``0.1`` to ``0.45`` for nonlinear CG).
    alpha_max : float
        Largest step tried.
    max_iter : int
        At most this many evaluations of ``fun_and_grad``.
    max_growth : float
        An extrapolation trial lies at most ``max_growth`` step increments
        beyond the last trial (4, Moré & Thuente's bound, by default;
        :class:`taylornet.optim.LBFGS` uses 9, i.e. at most ten times the
        first trial, as ``torch.optim.LBFGS`` does, which saves evaluations
        when the first trial is tiny).
    slope0 : float, optional
        :math:`g_0^\top p` when the caller has already read it (it is not
        computed again: one host read fewer on a GPU).
    min_bracket : float
        Stop zooming once the bracket is shorter than this (in units of
        :math:`\alpha`), returning its best end, as ``torch.optim.LBFGS`` does
        when the bracket times :math:`\|p\|_\infty` falls below its
        ``tolerance_change``. ``0`` (default): only the rounding-level stop.

    Returns
    -------
    LineSearchResult
        ``alpha``, ``x + alpha p``, its ``f`` (a float) and ``g``, ``nfev`` and
        ``ngev`` (equal: each evaluation gives both), ``success`` and
        ``message``. Never raises on failure; raises ``ValueError`` for bad
        arguments, in particular when :math:`g_0^\top p \ge 0`.
    """
    if not 0.0 < c1 < c2 < 1.0:
        raise ValueError(f"need 0 < c1 < c2 < 1, got c1={c1!r}, c2={c2!r}")
    if not alpha0 > 0.0:
        raise ValueError(f"need alpha0 > 0, got {alpha0!r}")
    if not alpha_max > 0.0:
        raise ValueError(f"need alpha_max > 0, got {alpha_max!r}")
    if max_iter < 1:
        raise ValueError(f"need max_iter >= 1, got {max_iter!r}")
    if not min_bracket >= 0.0:
        raise ValueError(f"need min_bracket >= 0, got {min_bracket!r}")
    if not max_growth > _EXTRAP_LOWER:
        raise ValueError(f"need max_growth > {_EXTRAP_LOWER}, got {max_growth!r}")
    f0 = check_finite_value(f0)
    xp, d0 = directional_derivative(x, g0, p, slope0)
    start = _Trial(0.0, f0, d0, x, g0)
    search = _StrongWolfe(fun_and_grad, xp, start, p, c1, c2, alpha_max, max_iter, max_growth,
                          min_bracket)
    return search.run(min(float(alpha0), float(alpha_max)))


class _StrongWolfe:
    """State of one search: the constants and the evaluation count."""

    def __init__(self, fun_and_grad, xp, start, p, c1, c2, alpha_max, max_iter, max_growth,
                 min_bracket=0.0):
        self.fun_and_grad = fun_and_grad
        self.min_bracket = float(min_bracket)
        self.xp, self.start, self.p = xp, start, p
        self.c1, self.c2 = c1, c2
        self.alpha_max = float(alpha_max)
        self.max_iter = max_iter
        self.max_growth = float(max_growth)
        self.nfev = 0
        self.n_nonfinite = 0

    # -- the two conditions --------------------------------------------------
    def sufficient_decrease(self, t):
        return t.finite and sufficient_decrease(t.f, self.start.f, t.alpha, self.start.d, self.c1)

    def curvature(self, t):
        return curvature_condition(t.d, self.start.d, self.c2)

    # -- evaluations and results ---------------------------------------------
    def evaluate(self, alpha):
        x_new = self.start.x + alpha * self.p
        f, g = self.fun_and_grad(x_new)
        self.nfev += 1
        if isinstance(f, (int, float)):
            f = float(f)
            d = float(dot(self.xp, g, self.p)) if math.isfinite(f) else math.nan
        else:  # a 0-d array (a loss on a GPU): value and slope in one host read
            f, d = to_host(self.xp, f, dot(self.xp, g, self.p))
        # phi'(alpha) is finite exactly when every entry of g is (p is finite)
        trial = _Trial(alpha, f, d if math.isfinite(f) else math.nan, x_new, g)
        self.n_nonfinite += not trial.finite
        return trial

    def success(self, t):
        return LineSearchResult(t.alpha, t.x, t.f, t.g, self.nfev, self.nfev, True,
                                "strong Wolfe conditions hold", self.n_nonfinite)

    def failure(self, best, reason):
        if best.alpha > 0.0:
            message = (
                f"{reason}; returning the best step with sufficient decrease "
                f"(alpha={best.alpha:.6g}), which fails the curvature condition"
            )
            return LineSearchResult(best.alpha, best.x, best.f, best.g, self.nfev, self.nfev,
                                    False, message, self.n_nonfinite)
        s = self.start
        message = f"{reason}; no step with sufficient decrease was found, x is unchanged"
        return LineSearchResult(0.0, s.x, s.f, s.g, self.nfev, self.nfev, False, message,
                                self.n_nonfinite)

    # -- phase 1: bracketing (N&W Alg. 3.5) ----------------------------------
    def run(self, alpha):
        prev = self.start
        while self.nfev < self.max_iter:
            cur = self.evaluate(alpha)
            if not self.sufficient_decrease(cur) or (prev.alpha > 0.0 and cur.f >= prev.f):
                return self.zoom(prev, cur)
            if self.curvature(cur):
                return self.success(cur)
            if cur.d >= 0.0:
                return self.zoom(cur, prev)
            if cur.alpha >= self.alpha_max:
                return self.failure(
                    cur, f"reached alpha_max={self.alpha_max:.3g} with f still decreasing"
                )
            alpha = self.extrapolate(prev, cur)
            prev = cur
        return self.failure(prev, f"no acceptable step within max_iter={self.max_iter} evaluations")

    def extrapolate(self, prev, cur):
        r"""Next, longer trial, kept within [1.1, 4] step increments beyond ``cur``.

        The cubic's minimiser when it lies beyond ``cur``; else the secant zero
        of :math:`\phi'` when the slope is rising; else the far end.
        """
        delta = cur.alpha - prev.alpha
        lower = cur.alpha + _EXTRAP_LOWER * delta
        upper = cur.alpha + self.max_growth * delta
        c = cubic_minimizer(prev.alpha, prev.f, prev.d, cur.alpha, cur.f, cur.d)
        if c is None or c <= cur.alpha:
            if cur.d > prev.d:  # secant on phi': zero of the line through the slopes
                c = cur.alpha - cur.d * delta / (cur.d - prev.d)
            else:  # slope not rising: no model of a minimiser, go far
                c = upper
        return min(max(c, lower), upper, self.alpha_max)

    # -- phase 2: zoom (N&W Alg. 3.6) ----------------------------------------
    def zoom(self, lo, hi):
        """Shrink the bracket between ``lo`` (best sufficient-decrease point) and ``hi``.

        Invariants (N&W p. 61): ``lo`` has sufficient decrease and the lowest
        ``f`` of such points, and :math:`\\phi'(\\alpha_{lo})(\\alpha_{hi} - \\alpha_{lo}) < 0`.
        """
        widths = []
        while self.nfev < self.max_iter:
            a, b = sorted((lo.alpha, hi.alpha))
            width = b - a
            if width <= _XTOL * b:
                return self.failure(lo, "the bracket shrank to rounding level")
            if width < self.min_bracket:
                return self.failure(lo, f"the bracket is shorter than {self.min_bracket:.3g}")
            cur = self.evaluate(self.zoom_trial(lo, hi, a, b, widths))
            if not self.sufficient_decrease(cur) or cur.f >= lo.f:
                hi = cur
            else:
                if self.curvature(cur):
                    return self.success(cur)
                if cur.d * (hi.alpha - lo.alpha) >= 0.0:
                    hi = lo
                lo = cur
        return self.failure(lo, f"no acceptable step within max_iter={self.max_iter} evaluations")

    @staticmethod
    def zoom_trial(lo, hi, a, b, widths):
        """Safeguarded interpolation inside the bracket ``[a, b]``."""
        width = b - a
        slow = len(widths) >= 2 and width > _SLOW_SHRINK * widths[-2]
        widths.append(width)
        middle = a + 0.5 * width
        if slow or not math.isfinite(hi.f):  # no model beyond a non-finite point
            return middle
        c = None
        if hi.finite:
            c = cubic_minimizer(lo.alpha, lo.f, lo.d, hi.alpha, hi.f, hi.d)
        if c is None or not a < c < b:
            c = quadratic_minimizer(lo.alpha, lo.f, lo.d, hi.alpha, hi.f)
        if c is None or not a < c < b:
            return middle
        margin = _MARGIN * width
        return min(max(c, a + margin), b - margin)
