r"""Limited-memory BFGS: the search direction from the last ``m`` curvature pairs."""

from __future__ import annotations

from .._array import axpy_, check_same_shape, dot, namespace


def lbfgs_direction(g, s_hist, y_hist):
    r"""The L-BFGS direction :math:`p = -H_k g` by the two-loop recursion, N&W Algorithm 7.4.

    ``s_hist`` and ``y_hist`` are sequences of 1-D arrays ordered oldest to
    newest, :math:`\rho_i = 1/(y_i^\top s_i)`. The initial matrix is
    :math:`H_k^0 = \gamma I` with the newest pair's scaling, N&W (7.20):
    :math:`\gamma = s_{k-1}^\top y_{k-1} / y_{k-1}^\top y_{k-1}`.

    .. math::
        &q \leftarrow g;\quad \text{for } i = k-1, \dots, k-m:\;
            \alpha_i = \rho_i s_i^\top q,\; q \leftarrow q - \alpha_i y_i \\
        &r \leftarrow \gamma q;\quad \text{for } i = k-m, \dots, k-1:\;
            \beta = \rho_i y_i^\top r,\; r \leftarrow r + s_i (\alpha_i - \beta) \\
        &p = -r

    The result equals :math:`-H_k g` where :math:`H_k` is :math:`\gamma I`
    updated by :func:`~taylornet.rules.bfgs_inverse_update` with each pair in
    turn. The caller stores only pairs with :math:`y^\top s > 0` (the dense
    rule's skip). An empty history gives :math:`p = -g`.
    """
    s_hist, y_hist = list(s_hist), list(y_hist)
    if len(s_hist) != len(y_hist):
        raise ValueError(
            f"lbfgs_direction: s_hist and y_hist must have the same length "
            f"(got {len(s_hist)} and {len(y_hist)})"
        )
    for i, (s, y) in enumerate(zip(s_hist, y_hist, strict=True)):
        check_same_shape(g=g, **{f"s_hist[{i}]": s, f"y_hist[{i}]": y})
    if not s_hist:
        return -g
    xp = namespace(g, *s_hist, *y_hist)
    rho = [1 / dot(xp, y, s) for s, y in zip(s_hist, y_hist, strict=True)]

    # q and r are this function's own work vectors, updated in place (axpy_):
    # no temporaries and, for tensors, no host reads of alpha_i and beta.
    q = xp.asarray(g, copy=True)
    alpha = [None] * len(s_hist)
    for i in reversed(range(len(s_hist))):  # newest to oldest
        alpha[i] = rho[i] * dot(xp, s_hist[i], q)
        q = axpy_(q, -alpha[i], y_hist[i])  # q <- q - alpha_i y_i

    s_new, y_new = s_hist[-1], y_hist[-1]
    gamma = dot(xp, s_new, y_new) / dot(xp, y_new, y_new)
    r = gamma * q

    for i in range(len(s_hist)):  # oldest to newest
        beta = rho[i] * dot(xp, y_hist[i], r)
        r = axpy_(r, alpha[i] - beta, s_hist[i])  # r <- r + s_i (alpha_i - beta)
    return -r
