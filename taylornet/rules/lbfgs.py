r"""Limited-memory BFGS: the search direction from the last ``m`` curvature pairs."""

from __future__ import annotations

from .._array import check_same_shape
from ..core.lbfgs import two_loop


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
    rule's skip; :class:`taylornet.core.LBFGSHistory` keeps those that pass
    :func:`taylornet.core.pair_accepted`). An empty history gives :math:`p = -g`.
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
    return -two_loop(g, s_hist, y_hist)  # taylornet.core.two_loop: H_k g by Alg. 7.4
