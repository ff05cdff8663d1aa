r"""Conjugate gradients: the linear solver (N&W Alg. 5.2) and the nonlinear ``beta`` rules.

Linear CG minimises :math:`\phi(x) = \tfrac12 x^\top A x - b^\top x` for a
symmetric positive definite :math:`A`, i.e. it solves :math:`A x = b`, touching
:math:`A` only through products :math:`A p`. Nonlinear CG (N&W section 5.2)
replaces the residual by the gradient; the choice of :math:`\beta` names the method.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .._array import check_same_shape, dot, namespace, norm, to_host

CG_BETA_KINDS = ("fr", "pr", "pr+", "hs")


def _check_finite(xp, func, **arrays):
    for name, a in arrays.items():
        if not bool(xp.all(xp.isfinite(a))):
            raise ValueError(f"{func}: {name} contains non-finite values")


class CGResult(NamedTuple):
    """What :func:`_conjugate_gradient` found, for drivers that need the counts.

    ``status`` is ``"converged"`` (``||r|| <= tol*||b||``), ``"max_iter"`` or
    ``"negative_curvature"`` (only with ``stop_on_negative_curvature=True``;
    ``x`` is then the last iterate, before the offending direction).
    ``residual`` is ``r = A x - b`` at the returned ``x`` (``None`` when
    ``b = 0``), so a caller can evaluate the quadratic model
    ``phi(x) = x.(r - b) / 2`` without another product with ``A``.
    """

    x: Any
    status: str
    n_iter: int
    n_matvec: int
    residual_norm: float
    residual: Any = None


def conjugate_gradient(A, b, x0=None, tol=1e-10, max_iter=None):
    r"""Solve :math:`A x = b` for symmetric positive definite :math:`A` (N&W Alg. 5.2).

    .. math::
        r_0 = A x_0 - b,\quad p_0 = -r_0, \qquad
        \alpha_k = \frac{r_k^\top r_k}{p_k^\top A p_k},\quad
        x_{k+1} = x_k + \alpha_k p_k,\quad r_{k+1} = r_k + \alpha_k A p_k, \\
        \beta_{k+1} = \frac{r_{k+1}^\top r_{k+1}}{r_k^\top r_k},\quad
        p_{k+1} = -r_{k+1} + \beta_{k+1} p_k

    ``A`` is an ``(n, n)`` matrix or a callable ``v -> A v``. Stops when
    :math:`\|r_k\| \le` ``tol`` :math:`\cdot \|b\|` or after ``max_iter`` steps
    (default ``n``: in exact arithmetic CG terminates in at most ``n`` steps,
    N&W Theorem 5.1). ``x0=None`` starts from zero and then costs no product for
    :math:`r_0 = -b`, so ``k`` steps use exactly ``k`` products with ``A``.
    ``b = 0`` returns zeros. Raises ``ValueError`` when a direction has
    :math:`p^\top A p \le 0` (``A`` is not positive definite).
    """
    return _conjugate_gradient(A, b, x0=x0, tol=tol, max_iter=max_iter).x


def _conjugate_gradient(A, b, x0=None, tol=1e-10, max_iter=None, stop_on_negative_curvature=False):
    """:func:`conjugate_gradient` with its bookkeeping: returns a :class:`CGResult`.

    With ``stop_on_negative_curvature=True`` a direction with ``p.Ap <= 0``
    ends the iteration (status ``"negative_curvature"``) instead of raising,
    as truncated Newton-CG (N&W Alg. 7.1) needs.
    """
    func = "conjugate_gradient"
    xp = namespace(b, x0) if callable(A) else namespace(A, b, x0)
    if b.ndim != 1:
        raise ValueError(f"{func}: b must be a 1-D vector (got shape {tuple(b.shape)})")
    n = b.shape[0]
    if not callable(A) and tuple(A.shape) != (n, n):
        raise ValueError(f"{func}: A must have shape ({n}, {n}) to match b (got {tuple(A.shape)})")
    if x0 is not None:
        check_same_shape(x0=x0, b=b)
    if not tol >= 0:
        raise ValueError(f"{func}: tol must be >= 0 (got {tol!r})")
    max_iter = n if max_iter is None else max_iter
    if not max_iter >= 0:
        raise ValueError(f"{func}: max_iter must be >= 0 (got {max_iter!r})")
    if x0 is not None:
        _check_finite(xp, func, x0=x0)
    if not callable(A):
        _check_finite(xp, func, A=A)

    def matvec(v):
        return A(v) if callable(A) else A @ v

    bb = dot(xp, b, b)
    b_max, bb_host = to_host(xp, xp.max(xp.abs(b)), bb)  # one read: finiteness and ||b||
    if not math.isfinite(b_max):
        raise ValueError(f"{func}: b contains non-finite values")
    b_norm = math.sqrt(bb_host) if math.isfinite(bb_host) else float(norm(xp, b))
    if b_norm == 0:
        return CGResult(xp.zeros_like(b), "converged", 0, 0, 0.0)

    n_matvec = 0
    if x0 is None:
        x = xp.zeros_like(b)
        r = -b
    else:
        x = xp.asarray(x0, copy=True)
        r = matvec(x) - b
        n_matvec += 1
    p = -r
    if x0 is None:  # r = -b: r.r is b.b, already read
        rr, rr_host = bb, bb_host
    else:
        rr = dot(xp, r, r)
        rr_host = float(rr)

    # One host read per iteration: p.Ap and the next r.r come back together; the
    # step is computed before p.Ap is known and discarded if p.Ap <= 0.
    k = 0
    status = "max_iter"
    while True:
        if math.sqrt(rr_host) <= tol * b_norm:
            status = "converged"
            break
        if k >= max_iter:
            break
        Ap = matvec(p)
        n_matvec += 1
        pAp = dot(xp, p, Ap)
        alpha = rr / pAp
        x_next = x + alpha * p
        r_next = r + alpha * Ap
        rr_next = dot(xp, r_next, r_next)
        pAp_host, rr_next_host = to_host(xp, pAp, rr_next)
        if not math.isfinite(pAp_host):
            raise ValueError(f"{func}: A p is not finite at iteration {k}")
        if pAp_host <= 0:
            if stop_on_negative_curvature:
                status = "negative_curvature"
                break
            raise ValueError(
                f"{func}: A is not positive definite "
                f"(p.Ap = {pAp_host:.3g} <= 0 at iteration {k})"
            )
        x, r = x_next, r_next
        p = -r + (rr_next / rr) * p
        rr, rr_host = rr_next, rr_next_host
        k += 1
    return CGResult(x, status, k, n_matvec, math.sqrt(rr_host), r)


def cg_beta(g_new, g_old, p_old, kind="pr+"):
    r"""The nonlinear-CG coefficient :math:`\beta` in :math:`p_{k+1} = -g_{k+1} + \beta\, p_k`.

    With :math:`y_k = g_{k+1} - g_k`:

    - ``"fr"``  Fletcher-Reeves (5.41a): :math:`\beta = \dfrac{g_{k+1}^\top g_{k+1}}{g_k^\top g_k}`
    - ``"pr"``  Polak-Ribiere (5.44): :math:`\beta = \dfrac{g_{k+1}^\top y_k}{g_k^\top g_k}`
    - ``"pr+"`` PR+ (5.45): :math:`\beta = \max(\beta^{PR}, 0)`, which restarts with
      steepest descent instead of going uphill
    - ``"hs"``  Hestenes-Stiefel (5.46): :math:`\beta = \dfrac{g_{k+1}^\top y_k}{y_k^\top p_k}`

    Returns a 0-d array of the inputs' kind, dtype and device (a NumPy scalar
    for NumPy inputs), so no host-device synchronisation happens; ``float(beta)``
    gives a Python number. ``p_old`` is used by ``"hs"`` only. A zero
    denominator (``g_old = 0``, or ``y.p_old = 0`` for ``"hs"``) is not caught
    and gives ``inf``/``nan``: restart with ``beta = 0`` there.
    """
    if kind not in CG_BETA_KINDS:
        expected = ", ".join(repr(k) for k in CG_BETA_KINDS)
        raise ValueError(f"cg_beta: unknown kind {kind!r}; expected one of {expected}")
    check_same_shape(g_new=g_new, g_old=g_old, p_old=p_old)
    xp = namespace(g_new, g_old, p_old)
    y = g_new - g_old
    if kind == "fr":
        return dot(xp, g_new, g_new) / dot(xp, g_old, g_old)
    if kind == "hs":
        return dot(xp, g_new, y) / dot(xp, y, p_old)
    beta_pr = dot(xp, g_new, y) / dot(xp, g_old, g_old)
    if kind == "pr":
        return beta_pr
    return xp.maximum(beta_pr, xp.zeros_like(beta_pr))
