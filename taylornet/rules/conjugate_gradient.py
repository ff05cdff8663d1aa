r"""Conjugate gradients: the linear solver (N&W Alg. 5.2) and the nonlinear ``beta`` rules.

Linear CG minimises :math:`\phi(x) = \tfrac12 x^\top A x - b^\top x` for a
symmetric positive definite :math:`A`, i.e. it solves :math:`A x = b`, touching
:math:`A` only through products :math:`A p`. Nonlinear CG (N&W section 5.2)
replaces the residual by the gradient; the choice of :math:`\beta` names the method.
"""

from __future__ import annotations

from .._array import check_same_shape, dot, namespace
from ..core.cg import CGResult, cg

CG_BETA_KINDS = ("fr", "pr", "pr+", "hs")

__all__ = ["CG_BETA_KINDS", "CGResult", "cg_beta", "conjugate_gradient"]


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
    The iteration is :func:`taylornet.core.cg`, which also reports its
    diagnostics (iterations, residual, stop reason) and takes a preconditioner.
    """
    return cg(A, b, x0=x0, tol=tol, max_iter=max_iter).x


# The bookkeeping version lives in the core; the old private name stays for callers.
_conjugate_gradient = cg


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
