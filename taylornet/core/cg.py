r"""Linear conjugate gradients with diagnostics (N&W Alg. 5.2, preconditioned Alg. 5.3).

Solves :math:`A x = b` for symmetric :math:`A`, touching :math:`A` only through
products :math:`A p`. The truncated variant of line-search Newton-CG (N&W
Alg. 7.1) stops at the first direction of non-positive curvature instead of
raising, and reports that direction.

One host read per iteration: :math:`p^\top A p`, the next :math:`r^\top y` and
:math:`r^\top r` come back together (``to_host``); the step is computed before
the curvature is known and discarded if :math:`p^\top A p \le 0`.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .._array import check_same_shape, dot, namespace, norm, to_host
from ._checks import check_finite, check_iteration_limits

CG_STATUSES = ("converged", "max_iter", "negative_curvature")


class CGResult(NamedTuple):
    """What :func:`cg` found.

    ``status`` is ``"converged"`` (``||r|| <= tol*||b||``), ``"max_iter"`` or
    ``"negative_curvature"`` (only with ``stop_on_negative_curvature=True``;
    ``x`` is then the last iterate, before the offending direction, and
    ``direction`` that direction ``p`` with ``curvature = p.Ap <= 0``).
    ``n_iter`` counts CG steps taken, ``n_matvec`` products with ``A``.
    ``residual`` is ``r = A x - b`` at the returned ``x`` (``None`` when
    ``b = 0``), so a caller can evaluate the quadratic model
    ``phi(x) = x.(r - b) / 2`` without another product.
    ``residual_norm`` is ``||r||`` as a Python float.
    """

    x: Any
    status: str
    n_iter: int
    n_matvec: int
    residual_norm: float
    residual: Any = None
    direction: Any = None
    curvature: float | None = None


def cg(A, b, x0=None, tol=1e-10, max_iter=None, *, precondition=None,
       stop_on_negative_curvature=False, func="conjugate_gradient"):
    r"""Conjugate gradients on :math:`A x = b` (N&W Alg. 5.2; Alg. 5.3 with ``precondition``).

    .. math::
        r_0 = A x_0 - b,\ y_0 = M^{-1} r_0,\ p_0 = -y_0, \qquad
        \alpha_k = \frac{r_k^\top y_k}{p_k^\top A p_k},\
        x_{k+1} = x_k + \alpha_k p_k,\ r_{k+1} = r_k + \alpha_k A p_k, \\
        y_{k+1} = M^{-1} r_{k+1},\
        \beta_{k+1} = \frac{r_{k+1}^\top y_{k+1}}{r_k^\top y_k},\
        p_{k+1} = -y_{k+1} + \beta_{k+1} p_k

    (:math:`M = I`, i.e. :math:`y = r`, without a preconditioner).

    Parameters
    ----------
    A : ``(n, n)`` matrix or callable ``v -> A v``.
    b : 1-D vector (NumPy or torch, any device).
    x0 : start (default zero, which costs no product: ``k`` steps use ``k`` products).
    tol : stop when :math:`\|r_k\| \le` ``tol`` :math:`\cdot \|b\|`.
    max_iter : at most this many steps (default ``n``, N&W Theorem 5.1).
    precondition : callable ``r -> M^{-1} r`` for a symmetric positive definite
        :math:`M` (N&W Alg. 5.3), or ``None``.
    stop_on_negative_curvature : with ``True`` a direction with
        :math:`p^\top A p \le 0` ends the iteration (status
        ``"negative_curvature"``, as truncated Newton-CG needs, N&W Alg. 7.1);
        with ``False`` it raises ``ValueError`` (``A`` is not positive definite).

    Returns a :class:`CGResult`. ``b = 0`` returns zeros (status ``"converged"``).
    """
    xp = namespace(b, x0) if callable(A) else namespace(A, b, x0)
    if b.ndim != 1:
        raise ValueError(f"{func}: b must be a 1-D vector (got shape {tuple(b.shape)})")
    n = b.shape[0]
    if not callable(A) and tuple(A.shape) != (n, n):
        raise ValueError(f"{func}: A must have shape ({n}, {n}) to match b (got {tuple(A.shape)})")
    if x0 is not None:
        check_same_shape(x0=x0, b=b)
    max_iter = check_iteration_limits(func, tol, max_iter, n)
    if x0 is not None:
        check_finite(xp, func, x0=x0)
    if not callable(A):
        check_finite(xp, func, A=A)

    def matvec(v):
        return A(v) if callable(A) else A @ v

    def solve_m(r):
        return r if precondition is None else precondition(r)

    bb = dot(xp, b, b)
    b_max, bb_host = to_host(xp, xp.max(xp.abs(b)), bb)  # one read: finiteness and ||b||
    if not math.isfinite(b_max):
        raise ValueError(f"{func}: b contains non-finite values")
    b_norm = math.sqrt(bb_host) if math.isfinite(bb_host) else float(norm(xp, b))
    if b_norm == 0:
        return CGResult(xp.zeros_like(b), "converged", 0, 0, 0.0)

    n_matvec = 0
    if x0 is None:
        x, r = xp.zeros_like(b), -b
        rr_host = bb_host
    else:
        x = xp.asarray(x0, copy=True)
        r = matvec(x) - b
        n_matvec += 1
        rr_host = float(dot(xp, r, r))
    y = solve_m(r)
    ry = dot(xp, r, y)  # r.y = r.r without a preconditioner
    p = -y

    k, status = 0, "max_iter"
    direction = curvature = None
    while True:
        if math.sqrt(rr_host) <= tol * b_norm:
            status = "converged"
            break
        if k >= max_iter:
            break
        Ap = matvec(p)
        n_matvec += 1
        pAp = dot(xp, p, Ap)
        # The next iterate is formed before p.Ap is checked, so that one host read
        # serves both; with p.Ap = 0 it is discarded below (hence no NumPy warning).
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = ry / pAp
            x_next = x + alpha * p
            r_next = r + alpha * Ap
            y_next = solve_m(r_next)
            ry_next = dot(xp, r_next, y_next)
            rr_next = ry_next if precondition is None else dot(xp, r_next, r_next)
        pAp_host, rr_next_host = to_host(xp, pAp, rr_next)
        if not math.isfinite(pAp_host):
            raise ValueError(f"{func}: A p is not finite at iteration {k}")
        if pAp_host <= 0:
            if stop_on_negative_curvature:
                status, direction, curvature = "negative_curvature", p, pAp_host
                break
            raise ValueError(
                f"{func}: A is not positive definite (p.Ap = {pAp_host:.3g} <= 0 at iteration {k})"
            )
        x, r = x_next, r_next
        p = -y_next + (ry_next / ry) * p
        ry, rr_host = ry_next, rr_next_host
        k += 1
    return CGResult(x, status, k, n_matvec, math.sqrt(rr_host), r, direction, curvature)
