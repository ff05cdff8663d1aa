"""Argument checks and scalar helpers shared by the line searches."""

from __future__ import annotations

import math

from .._array import check_same_shape, dot, namespace


def directional_derivative(x, g0, p, slope=None):
    r"""``(xp, g0 . p)`` after checking shapes; ``ValueError`` unless :math:`g_0^\top p < 0`.

    ``slope``, when given, is :math:`g_0^\top p` as the caller computed it.
    """
    xp = namespace(x, g0, p)
    check_same_shape(x=x, g0=g0, p=p)
    slope = float(dot(xp, g0, p)) if slope is None else float(slope)
    if not slope < 0.0:  # also rejects NaN
        raise ValueError(
            f"p is not a descent direction: g0.p = {slope!r} (a line search needs g0.p < 0)"
        )
    return xp, slope


def check_finite_value(f0):
    f0 = float(f0)
    if not math.isfinite(f0):
        raise ValueError(f"f0 must be finite, got {f0!r}")
    return f0
