r"""Newton directions: minimisers of the quadratic model :math:`g^\top p + \tfrac12 p^\top H p`.

Both rules solve a linear system (LU with partial pivoting via
``xp.linalg.solve``); neither forms an inverse. An exactly or numerically
singular matrix raises :class:`numpy.linalg.LinAlgError` (a ``ValueError``
subclass) for NumPy *and* torch inputs, so one ``except ValueError`` catches it.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import device

from .._array import namespace, reject_half_precision


def _check_system(name, g, M):
    reject_half_precision(name, g=g, H=M)
    if g.ndim != 1:
        raise ValueError(f"{name}: g must be a 1-D vector (got shape {tuple(g.shape)})")
    n = g.shape[0]
    if tuple(M.shape) != (n, n):
        raise ValueError(
            f"{name}: H must be an n x n matrix matching g (n = {n}); got H{tuple(M.shape)}"
        )


def _all_finite(xp, *arrays):
    return bool(xp.all(xp.stack([xp.all(xp.isfinite(a)) for a in arrays])))


def _solve(xp, name, A, b, g, H):
    """Solve ``A p = b``; turn non-finite data and a singular ``A`` into clear errors."""
    try:
        p = xp.linalg.solve(A, b)
    except xp.linalg.LinAlgError as err:
        if not _all_finite(xp, g, H):
            raise ValueError(f"{name}: g or H has non-finite (NaN or inf) entries") from err
        raise np.linalg.LinAlgError(
            f"{name}: the Hessian (system matrix) is singular; "
            "damp it (damped_newton_direction) or use a trust region"
        ) from err
    # One host-device synchronisation checks the data and the result together.
    if not _all_finite(xp, p, g, H):
        if not _all_finite(xp, g, H):
            raise ValueError(f"{name}: g or H has non-finite (NaN or inf) entries")
        raise np.linalg.LinAlgError(
            f"{name}: the Hessian (system matrix) is singular to working precision"
        )
    return p


def newton_direction(g, H):
    r"""The Newton direction, N&W (2.15): :math:`p = -H^{-1} g`, computed by solving

    .. math:: H\, p = -g

    (a linear solve, never an explicit inverse). ``p`` is a descent direction
    only when :math:`H` is positive definite (see the book's Common mistakes
    appendix: the Newton step where the Hessian is indefinite); otherwise use
    :func:`damped_newton_direction` or a trust region.
    """
    _check_system("newton_direction", g, H)
    xp = namespace(g, H)
    return _solve(xp, "newton_direction", H, -g, g, H)


def damped_newton_direction(g, H, damping):
    r"""Newton direction with a multiple of the identity added (N&W section 3.4):

    .. math:: (H + \tau I)\, p = -g, \qquad \tau = \text{damping} \ge 0.

    With :math:`\tau > -\lambda_{\min}(H)` the matrix is positive definite and
    ``p`` is a descent direction; :math:`\tau = 0` is Newton, and as
    :math:`\tau \to \infty`, :math:`p \to -g/\tau` (a short gradient step).
    """
    _check_system("damped_newton_direction", g, H)
    if not 0 <= float(damping) < float("inf"):
        raise ValueError(
            f"damped_newton_direction: damping must be finite and >= 0 (got {damping!r})"
        )
    xp = namespace(g, H)
    I = xp.eye(H.shape[0], dtype=H.dtype, device=device(H))
    return _solve(xp, "damped_newton_direction", H + damping * I, -g, g, H)
