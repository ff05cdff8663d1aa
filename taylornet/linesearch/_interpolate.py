r"""Minimisers of interpolating polynomials for step-length selection (N&W 3.5).

Both return ``None`` when the model has no finite minimiser, so the caller can
fall back to a safer choice (a quadratic, then bisection).
"""

from __future__ import annotations

import math


def cubic_minimizer(a, fa, da, b, fb, db):
    r"""Minimiser of the cubic matching :math:`\phi, \phi'` at ``a`` and ``b`` (N&W 3.59).

    .. math::
        d_1 = \phi'(a) + \phi'(b) - 3\frac{\phi(a) - \phi(b)}{a - b}, \quad
        d_2 = \operatorname{sign}(b - a)\sqrt{d_1^2 - \phi'(a)\phi'(b)},

        \alpha = b - (b - a)\,\frac{\phi'(b) + d_2 - d_1}{\phi'(b) - \phi'(a) + 2 d_2}.
    """
    if a == b:
        return None
    d1 = da + db - 3.0 * (fa - fb) / (a - b)
    radicand = d1 * d1 - da * db
    if not radicand >= 0.0:  # no real critical point (or NaN)
        return None
    d2 = math.copysign(math.sqrt(radicand), b - a)
    denom = db - da + 2.0 * d2
    if denom == 0.0:
        return None
    alpha = b - (b - a) * (db + d2 - d1) / denom
    return alpha if math.isfinite(alpha) else None


def quadratic_minimizer(a, fa, da, b, fb):
    r"""Minimiser of the quadratic matching :math:`\phi(a), \phi'(a), \phi(b)` (N&W 3.57).

    :math:`q(t) = \phi(a) + \phi'(a)(t - a) + C (t - a)^2` with
    :math:`C = (\phi(b) - \phi(a) - \phi'(a)(b - a))/(b - a)^2`; the minimiser
    :math:`a - \phi'(a)/(2C)` exists when :math:`C > 0`.
    """
    if a == b:
        return None
    h = b - a
    curvature = (fb - fa - da * h) / (h * h)
    if not curvature > 0.0:
        return None
    alpha = a - da / (2.0 * curvature)
    return alpha if math.isfinite(alpha) else None
