r"""Quasi-Newton updates of a Hessian (``B``) or inverse-Hessian (``H``) approximation.

Notation of N&W chapter 6: :math:`s = x_{k+1} - x_k`, :math:`y = g_{k+1} - g_k`,
:math:`\rho = 1/(y^\top s)`. Every update satisfies the secant equation,
:math:`B_{k+1} s = y` or :math:`H_{k+1} y = s`.

BFGS and DFP need the curvature condition :math:`y^\top s > 0` (N&W 6.7): it
keeps the approximation positive definite. A Wolfe line search guarantees it,
backtracking does not, so these rules return their input unchanged (the same
object, not a copy) when :math:`y^\top s \le 0`. SR1 skips when its
denominator is tiny, N&W (6.26), and may become indefinite (use it with a trust
region). DFP is the dual of BFGS: swap :math:`s \leftrightarrow y` and
:math:`H \leftrightarrow B` (confusing the two, or applying a :math:`B`-formula
to :math:`H`, is a common error; see the book's Common mistakes appendix: DFP
written where BFGS was meant).

The updates are written as rank-one/rank-two corrections (``O(n^2)`` work);
where N&W print a product form, the docstring gives it and the comment shows
the expansion.
"""

from __future__ import annotations

from .._array import dot, namespace, norm


def _check_update(name, M, mname, s, y):
    if s.ndim != 1 or tuple(y.shape) != tuple(s.shape):
        raise ValueError(
            f"{name}: s and y must be 1-D vectors of the same length; "
            f"got s{tuple(s.shape)}, y{tuple(y.shape)}"
        )
    n = s.shape[0]
    if tuple(M.shape) != (n, n):
        raise ValueError(
            f"{name}: {mname} must be an n x n matrix matching s and y (n = {n}); "
            f"got {mname}{tuple(M.shape)}"
        )


def bfgs_inverse_update(H, s, y):
    r"""BFGS update of the inverse Hessian approximation, N&W (6.17):

    .. math::
        H_{k+1} = (I - \rho\, s y^\top)\, H_k\, (I - \rho\, y s^\top) + \rho\, s s^\top,
        \qquad \rho = \frac{1}{y^\top s}.

    Returns ``H`` unchanged when :math:`y^\top s \le 0`.
    """
    _check_update("bfgs_inverse_update", H, "H", s, y)
    xp = namespace(H, s, y)
    ys = dot(xp, y, s)
    if ys <= 0:
        return H
    rho = 1 / ys
    outer = xp.linalg.outer
    Hy = H @ y
    yH = y @ H
    # (I - rho s y^T) H (I - rho y s^T)
    #   = H - rho s (y^T H) - rho (H y) s^T + rho^2 (y^T H y) s s^T
    return H - rho * (outer(s, yH) + outer(Hy, s)) + (rho**2 * dot(xp, y, Hy) + rho) * outer(s, s)


def bfgs_update(B, s, y):
    r"""BFGS update of the Hessian approximation, N&W (6.19):

    .. math::
        B_{k+1} = B_k - \frac{B_k s s^\top B_k}{s^\top B_k s} + \frac{y y^\top}{y^\top s}.

    It is the inverse of :func:`bfgs_inverse_update` (Sherman-Morrison-Woodbury).
    Returns ``B`` unchanged when :math:`y^\top s \le 0`.
    """
    _check_update("bfgs_update", B, "B", s, y)
    xp = namespace(B, s, y)
    ys = dot(xp, y, s)
    if ys <= 0:
        return B
    outer = xp.linalg.outer
    Bs = B @ s
    sB = s @ B
    return B - outer(Bs, sB) / dot(xp, s, Bs) + outer(y, y) / ys


def dfp_inverse_update(H, s, y):
    r"""DFP update of the inverse Hessian approximation, N&W (6.15):

    .. math::
        H_{k+1} = H_k - \frac{H_k y y^\top H_k}{y^\top H_k y} + \frac{s s^\top}{y^\top s}.

    This is :func:`bfgs_update` (6.19) with :math:`s \leftrightarrow y` and
    :math:`B \leftrightarrow H`, and is computed as exactly that. Returns ``H``
    unchanged when :math:`y^\top s \le 0`.
    """
    _check_update("dfp_inverse_update", H, "H", s, y)
    return bfgs_update(H, y, s)  # (6.19) with s <-> y, B <-> H


def sr1_update(B, s, y, r=1e-8):
    r"""Symmetric-rank-one update of the Hessian approximation, N&W (6.24):

    .. math:: B_{k+1} = B_k + \frac{(y - B_k s)(y - B_k s)^\top}{(y - B_k s)^\top s},

    applied only when the denominator is safely away from zero, N&W (6.26):

    .. math:: |s^\top (y - B_k s)| \ge r\, \|s\|\, \|y - B_k s\| ;

    otherwise ``B`` is returned unchanged. When :math:`y = B_k s` exactly, the
    secant equation already holds and ``B`` is returned unchanged too (the
    update would be 0/0). The result may be indefinite, so use SR1 with a trust
    region (see the book's Common mistakes appendix: SR1 without the skipping
    rule).
    """
    _check_update("sr1_update", B, "B", s, y)
    xp = namespace(B, s, y)
    v = y - B @ s
    denominator = dot(xp, v, s)
    if denominator == 0 or xp.abs(denominator) < r * norm(xp, s) * norm(xp, v):
        return B
    return B + xp.linalg.outer(v, v) / denominator
