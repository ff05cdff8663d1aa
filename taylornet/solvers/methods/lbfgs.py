"""Limited-memory BFGS (N&W Alg. 7.5) with the two-loop recursion (Alg. 7.4)."""

from __future__ import annotations

from collections import deque

from ... import rules
from ..._array import dot, namespace, norm, to_host
from .base import LineSearchMethod


class LBFGS(LineSearchMethod):
    """``p = -H_k g`` from the last ``m`` pairs; ``H_0 = (s^T y / y^T y) I`` (eq. 7.20).

    A pair is stored only if ``y^T s > eps * y^T y`` (the curvature condition,
    with ``eps`` the machine epsilon of ``x0``'s dtype, as in L-BFGS-B).
    """

    search = "wolfe"

    def __init__(self, obj, x0, m=10, **options):
        super().__init__(obj, x0, **options)
        if int(m) < 1:
            raise ValueError(f"lbfgs history size m must be >= 1 (got {m!r})")
        self.xp = namespace(x0)
        self.s_hist, self.y_hist = deque(maxlen=int(m)), deque(maxlen=int(m))
        self.eps = float(self.xp.finfo(x0.dtype).eps)  # float32 runs: float32's epsilon

    def reset(self):
        self.s_hist.clear()
        self.y_hist.clear()

    def direction(self, x, f, g):
        return rules.lbfgs_direction(g, list(self.s_hist), list(self.y_hist))

    def initial_step(self, k, g, p):
        return 1.0 if self.s_hist else min(1.0, 1.0 / float(norm(self.xp, g)))

    def update(self, s, y, g_new):
        ys, yy = to_host(self.xp, dot(self.xp, y, s), dot(self.xp, y, y))
        if ys > self.eps * yy:
            self.s_hist.append(s)
            self.y_hist.append(y)
