r"""The quadratic model :math:`m(p) = g^\top p + \tfrac12 p^\top B p` and how well it predicted."""

from __future__ import annotations

import math

from .._array import dot, namespace


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
