r"""Trust-region machinery around the subproblem rules (N&W Alg. 4.1).

One trust-region iteration, as the driver runs it::

    p, predicted, n_hvp = solve_subproblem(method, g, radius, B=B, hvp=hvp)
    rho = reduction_ratio(f(x) - f(x + p), predicted)
    if accept_step(rho):
        x = x + p
    radius = update_radius(radius, rho, ||p||, max_radius)

The defaults are N&W's and scipy's (``scipy.optimize.minimize(method="trust-ncg")``):
shrink below :math:`\rho = 1/4`, expand above :math:`3/4` on the boundary,
accept above :math:`\eta = 0.15`, so runs can be compared with scipy's.
"""

from __future__ import annotations

import math

from ._array import dot, namespace, norm
from .rules.trust_region import _steihaug_cg, cauchy_point, dogleg_step

ETA = 0.15  # default acceptance threshold eta in [0, 1/4) of N&W Alg. 4.1 (scipy's value)

SUBPROBLEM_METHODS = ("cauchy", "dogleg", "steihaug")


def quadratic_model(g, B, p):
    r"""The model value :math:`m(p) = g^\top p + \tfrac12\, p^\top B p` as a Python float.

    ``B`` is a matrix or a callable ``v -> B v``.
    """
    xp = namespace(g, p)
    Bp = B(p) if callable(B) else B @ p
    return float(dot(xp, g, p) + 0.5 * dot(xp, p, Bp))


def reduction_ratio(actual, predicted):
    r"""The ratio of actual to predicted reduction (N&W 4.4).

    .. math:: \rho_k = \frac{f(x_k) - f(x_k + p_k)}{m_k(0) - m_k(p_k)}

    Returns a Python float. A non-finite ``actual`` (the function overflowed or
    returned NaN at the trial point) and a ``predicted <= 0`` (the model
    promises no decrease, e.g. ``g = 0`` or round-off) both give
    :math:`\rho = -\infty`, so the step is rejected and the radius shrinks.
    """
    actual, predicted = float(actual), float(predicted)
    if not math.isfinite(actual) or not predicted > 0:
        return -math.inf
    return actual / predicted


def accept_step(rho, eta=ETA):
    r"""Whether N&W Alg. 4.1 takes the step: :math:`\rho_k > \eta`, with :math:`\eta \in [0, 1/4)`.

    The default :math:`\eta = 0.15` is scipy's; ``eta = 0`` accepts any decrease.
    A NaN ``rho`` is rejected.
    """
    if not 0 <= eta < 0.25:
        raise ValueError(f"accept_step: eta must be in [0, 1/4) (got {eta!r})")
    return float(rho) > eta


def update_radius(
    radius, rho, step_norm, max_radius, eta1=0.25, eta2=0.75, boundary_rtol=1e-6
):
    r"""The radius update of N&W Alg. 4.1.

    .. math::
        \Delta_{k+1} = \begin{cases}
            \Delta_k / 4 & \rho_k < \eta_1 \\
            \min(2\Delta_k, \hat\Delta) & \rho_k > \eta_2 \text{ and } \|p_k\| = \Delta_k \\
            \Delta_k & \text{otherwise}
        \end{cases}

    with :math:`\eta_1 = 1/4`, :math:`\eta_2 = 3/4` and :math:`\hat\Delta` = ``max_radius``.
    The step counts as on the boundary when ``step_norm >= (1 - boundary_rtol) * radius``;
    the default ``1e-6`` leaves room for the round-off of float32 norms. A NaN
    ``rho`` shrinks the radius, as a rejected step should.
    """
    radius, max_radius, rho = float(radius), float(max_radius), float(rho)
    if not (math.isfinite(radius) and 0 < radius <= max_radius):
        raise ValueError(
            f"update_radius: need 0 < radius <= max_radius (got {radius!r}, {max_radius!r})"
        )
    if not 0 < eta1 <= eta2 < 1:
        raise ValueError(f"update_radius: need 0 < eta1 <= eta2 < 1 (got {eta1!r}, {eta2!r})")
    if math.isnan(rho) or rho < eta1:
        return radius / 4
    if rho > eta2 and float(step_norm) >= (1 - boundary_rtol) * radius:
        return min(2 * radius, max_radius)
    return radius


def solve_subproblem(method, g, radius, B=None, hvp=None, tol=None, max_iter=None):
    r"""Approximately minimise the model :math:`m(p)` in the ball :math:`\|p\| \le \Delta`.

    .. math:: m(p) = g^\top p + \tfrac12\, p^\top B p

    ``method`` is ``"cauchy"`` (:func:`~taylornet.rules.cauchy_point`, needs ``B``),
    ``"dogleg"`` (:func:`~taylornet.rules.dogleg_step`, needs a positive definite
    ``B``) or ``"steihaug"`` (CG-Steihaug, needs ``hvp`` or ``B``).

    Returns ``(p, predicted_reduction, n_hvp)``: the step, :math:`-m(p)` as a
    Python float, and the number of calls of ``hvp`` (0 for the matrix methods).
    For ``"steihaug"``, ``tol`` (relative to :math:`\|g\|`) defaults to N&W's
    forcing term :math:`\min(0.5, \sqrt{\|g\|})`, which gives superlinear
    convergence (N&W section 7.1); ``max_iter`` defaults to the dimension.
    The Steihaug model value is tracked inside the CG loop, so it costs no
    extra product.
    """
    if method not in SUBPROBLEM_METHODS:
        expected = ", ".join(repr(m) for m in SUBPROBLEM_METHODS)
        raise ValueError(f"solve_subproblem: unknown method {method!r}; expected one of {expected}")
    if method in ("cauchy", "dogleg"):
        if B is None:
            raise ValueError(f"solve_subproblem: method {method!r} needs the matrix B")
        step = cauchy_point if method == "cauchy" else dogleg_step
        p = step(g, B, radius)
        return p, -quadratic_model(g, B, p), 0

    if hvp is None and B is None:
        raise ValueError("solve_subproblem: method 'steihaug' needs hvp or B")
    if hvp is None:
        def hvp(v):
            return B @ v
    if tol is None:
        tol = min(0.5, math.sqrt(float(norm(namespace(g), g))))
    result = _steihaug_cg(g, hvp, radius, tol=tol, max_iter=max_iter)
    return result.p, -result.model_value, result.n_hvp
