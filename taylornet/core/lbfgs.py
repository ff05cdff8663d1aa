r"""Limited-memory BFGS: a bounded history of curvature pairs and the two-loop
recursion (N&W section 7.2, Algorithms 7.4 and 7.5).
"""

from __future__ import annotations

from .._array import axpy_, dot, namespace
from .curvature_pairs import inverse_hessian_scaling, pair_accepted


def two_loop(v, s_hist, y_hist, rho=None, gamma=None):
    r"""The product :math:`H_k v` by the two-loop recursion, N&W Algorithm 7.4.

    ``s_hist`` and ``y_hist`` are ordered oldest to newest (non-empty),
    :math:`\rho_i = 1/(y_i^\top s_i)` (``rho``: their 0-d arrays when the caller
    keeps them), and :math:`H_k^0 = \gamma I` with, by default, the newest
    pair's :math:`\gamma = s^\top y / y^\top y` (N&W 7.20).

    .. math::
        &q \leftarrow v;\quad \text{for } i = k-1, \dots, k-m:\;
            \alpha_i = \rho_i s_i^\top q,\; q \leftarrow q - \alpha_i y_i \\
        &r \leftarrow \gamma q;\quad \text{for } i = k-m, \dots, k-1:\;
            \beta = \rho_i y_i^\top r,\; r \leftarrow r + s_i (\alpha_i - \beta)

    and :math:`r = H_k v`; the L-BFGS direction is :math:`p = -H_k g`. The
    scalars stay on the device (no host reads); ``q`` and ``r`` are updated in
    place in work copies, the inputs are never mutated.
    """
    xp = namespace(v, *s_hist, *y_hist)
    m = len(s_hist)
    if rho is None:
        rho = [1 / dot(xp, y, s) for s, y in zip(s_hist, y_hist, strict=True)]
    if gamma is None:
        gamma = inverse_hessian_scaling(s_hist[-1], y_hist[-1])
    q = xp.asarray(v, copy=True)
    alpha = [None] * m
    for i in reversed(range(m)):  # newest to oldest
        alpha[i] = rho[i] * dot(xp, s_hist[i], q)
        q = axpy_(q, -alpha[i], y_hist[i])  # q <- q - alpha_i y_i
    r = gamma * q
    for i in range(m):  # oldest to newest
        beta = rho[i] * dot(xp, y_hist[i], r)
        r = axpy_(r, alpha[i] - beta, s_hist[i])  # r <- r + s_i (alpha_i - beta)
    return r


class LBFGSHistory:
    r"""The last ``m`` accepted curvature pairs and their :math:`\rho_i = 1/(y_i^\top s_i)`.

    ``push(s, y)`` stores a pair that passes :func:`~taylornet.core.pair_accepted`
    and drops the oldest beyond ``m`` (N&W Alg. 7.5); ``direction(g)`` is
    :math:`-H_k g` (:func:`two_loop`), :math:`-g` while the history is empty.
    The lists ``s``, ``y``, ``rho`` are plain attributes (oldest first), so an
    optimizer can keep them in its ``state`` and rebuild the history from them.
    """

    def __init__(self, m=10, s=(), y=(), rho=None):
        if not (int(m) == m and m >= 1):
            raise ValueError(f"LBFGSHistory: history size m must be an integer >= 1 (got {m!r})")
        self.m = int(m)
        self.s, self.y = list(s)[-self.m:], list(y)[-self.m:]
        if len(self.s) != len(self.y):
            raise ValueError("LBFGSHistory: s and y must have the same length")
        if rho is None:
            rho = [1 / dot(namespace(si), yi, si) for si, yi in zip(self.s, self.y, strict=True)]
        self.rho = list(rho)[-self.m:]

    def __len__(self):
        return len(self.s)

    def push(self, s, y) -> bool:
        """Store ``(s, y)`` if it passes the acceptance test; return whether it did."""
        if not pair_accepted(s, y):
            return False
        self.s.append(s)
        self.y.append(y)
        self.rho.append(1 / dot(namespace(s), y, s))
        if len(self.s) > self.m:
            del self.s[0], self.y[0], self.rho[0]
        return True

    def clear(self) -> None:
        """Forget every pair (restart from steepest descent)."""
        self.s.clear()
        self.y.clear()
        self.rho.clear()

    def inverse_hessian_product(self, v):
        r""":math:`H_k v` (:math:`v` itself while the history is empty, :math:`H_k^0 = I`)."""
        if not self.s:
            return v
        return two_loop(v, self.s, self.y, self.rho)

    def direction(self, g):
        r"""The L-BFGS direction :math:`p = -H_k g`."""
        return -self.inverse_hessian_product(g)
