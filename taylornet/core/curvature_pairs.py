r"""Curvature pairs :math:`s_k = x_{k+1} - x_k`, :math:`y_k = \nabla f_{k+1} - \nabla f_k`:
when to use one, and the initial scaling they give (N&W chapters 6-7).
"""

from __future__ import annotations

import math

from .._array import check_same_shape, dot, namespace, to_host


def pair_accepted(s, y) -> bool:
    r"""Whether the pair :math:`(s, y)` may update a BFGS-type approximation.

    .. math:: y^\top s > \varepsilon\, \|s\|_2\, \|y\|_2

    with :math:`\varepsilon` the machine epsilon of the pair's dtype. BFGS keeps
    its approximation positive definite exactly when :math:`y^\top s > 0` (the
    curvature condition, N&W 6.7); this asks that :math:`y^\top s` be positive
    beyond the rounding error of the computed inner product, which is of order
    :math:`\varepsilon\, |y|^\top |s| \le \varepsilon \|y\| \|s\|` (Higham,
    *Accuracy and Stability of Numerical Algorithms*, 2nd ed., section 3.1).
    Equivalently the angle between :math:`s` and :math:`y` has
    :math:`\cos\theta > \varepsilon`. The test is scale-invariant: multiplying
    :math:`f` by :math:`c > 0`, or :math:`x` by :math:`c \neq 0`, or rotating
    :math:`x` changes neither side's ratio (an absolute threshold such as
    :math:`10^{-10}`, or :math:`\varepsilon\, y^\top y`, is not invariant).
    A pair with a NaN or infinite entry is refused. One host read.
    """
    check_same_shape(s=s, y=y)
    xp = namespace(s, y)
    eps = float(xp.finfo(s.dtype).eps)
    ys, ss, yy = to_host(xp, dot(xp, y, s), dot(xp, s, s), dot(xp, y, y))
    return ys > eps * math.sqrt(ss) * math.sqrt(yy)  # False for NaN


def inverse_hessian_scaling(s, y):
    r"""N&W (6.20) and (7.20): :math:`\gamma = \dfrac{s^\top y}{y^\top y}`, so that
    :math:`H_0 = \gamma I` (the inverse Hessian's size along :math:`y`).

    Returns a 0-d array of the pair's kind and device (no host read); the
    direct form :math:`B_0 = \gamma^{-1} I` is its reciprocal.
    """
    check_same_shape(s=s, y=y)
    xp = namespace(s, y)
    return dot(xp, s, y) / dot(xp, y, y)
