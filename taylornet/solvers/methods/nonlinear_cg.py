"""Nonlinear conjugate gradients (N&W section 5.2, Alg. 5.4 with the beta variants).

``p_{k+1} = -g_{k+1} + beta_{k+1} p_k`` with ``beta`` from
:func:`taylornet.rules.cg_beta` (``"pr+"`` by default, eq. 5.45). Strong Wolfe
with ``c2 = 0.1``: Fletcher-Reeves needs ``c2 < 1/2`` to guarantee descent
(N&W Lemma 5.6); a direction that is not a descent direction is replaced by
``-g`` (restart). First trials: :func:`taylornet.core.first_trial_step` after a
restart, N&W (3.60) (:func:`taylornet.core.slope_ratio_step`) otherwise.
"""

from __future__ import annotations

from ... import rules
from ..._array import dot, namespace, norm
from ...core import first_trial_step, slope_ratio_step
from ...rules.conjugate_gradient import CG_BETA_KINDS
from .base import LineSearchMethod


class NonlinearCG(LineSearchMethod):
    search = "wolfe"
    c2 = 0.1

    def __init__(self, obj, x0, beta="pr+", **options):
        super().__init__(obj, x0, **options)
        self.kind = beta
        if beta not in CG_BETA_KINDS:
            raise ValueError(f"unknown CG beta {beta!r}; choose from {', '.join(CG_BETA_KINDS)}")
        self.xp = namespace(x0)
        self.reset()

    def reset(self):
        self.g_old = self.p_old = None
        self.last_slope_step = None

    def direction(self, x, f, g):
        p = -g
        if self.p_old is not None:
            p = -g + rules.cg_beta(g, self.g_old, self.p_old, kind=self.kind) * self.p_old
            if float(dot(self.xp, g, p)) >= 0:  # not a descent direction: restart
                p = -g
        self._g, self._p = g, p
        return p

    def initial_step(self, k, g, p):
        if self.last_slope_step is None:
            return first_trial_step(norm(self.xp, g))
        return slope_ratio_step(self.last_slope_step, dot(self.xp, g, p))

    def update(self, s, y, g_new):
        self.last_slope_step = float(dot(self.xp, self._g, s))  # alpha_k g_k^T p_k
        self.g_old, self.p_old = self._g, self._p
