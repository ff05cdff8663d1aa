r"""A dense quasi-Newton approximation with its first-step scaling and skip (N&W chapter 6).

The secant formulas themselves are the one-equation rules of
:mod:`taylornet.rules.quasi_newton`; this is the state around them that both
:func:`taylornet.minimize` and :mod:`taylornet.optim` keep.
"""

from __future__ import annotations

from .._array import eye_like, namespace
from ..rules.quasi_newton import (
    bfgs_inverse_update,
    bfgs_update,
    dfp_inverse_update,
    sr1_update,
)
from .curvature_pairs import inverse_hessian_scaling, pair_accepted

#: name -> (secant formula, approximates the inverse Hessian?)
FORMULAS = {
    "bfgs": (bfgs_inverse_update, True),  # H, N&W (6.17)
    "dfp": (dfp_inverse_update, True),  # H, N&W (6.15)
    "bfgs-direct": (bfgs_update, False),  # B, N&W (6.19)
    "sr1": (sr1_update, False),  # B, N&W (6.24), skipped by (6.26)
}


class QuasiNewtonMatrix:
    r"""A dense :math:`H \approx \nabla^2 f^{-1}` (``"bfgs"``, ``"dfp"``) or
    :math:`B \approx \nabla^2 f` (``"bfgs-direct"``, ``"sr1"``), held in ``M``.

    * Start: ``M0`` if given (e.g. scipy's ``hess_inv0``), else :math:`I`.
    * First accepted pair, when ``M0`` was not given and ``scale_first``: scale
      :math:`H_0 \leftarrow \gamma I` (N&W 6.20) or :math:`B_0 \leftarrow \gamma^{-1} I`,
      :math:`\gamma = s^\top y / y^\top y` (:func:`~taylornet.core.inverse_hessian_scaling`),
      just before the update.
    * Skip: BFGS and DFP update only with pairs that pass
      :func:`~taylornet.core.pair_accepted`; SR1 updates with any pair its own
      rule (6.26) accepts, since it needs no positive curvature.

    ``update(s, y)`` returns whether ``M`` changed; ``n_updates`` counts the
    secant updates since the last ``reset()`` (``scaled`` says whether the
    first-pair scaling happened). ``direction(g)`` is :math:`-H g`, or the
    solution of :math:`B p = -g` for the direct forms.
    """

    def __init__(self, x, formula="bfgs", M0=None, scale_first=True):
        if formula not in FORMULAS:
            raise ValueError(f"QuasiNewtonMatrix: unknown formula {formula!r}; "
                             f"choose from {', '.join(FORMULAS)}")
        self.formula, self.inverse = FORMULAS[formula]
        self.kind = formula
        self.xp = namespace(x)
        self._like = x
        if M0 is not None:
            n = x.shape[0]
            if tuple(M0.shape) != (n, n):
                raise ValueError(f"QuasiNewtonMatrix: M0 must have shape ({n}, {n}) "
                                 f"(got {tuple(M0.shape)})")
            M0 = self.xp.asarray(M0, dtype=x.dtype, device=getattr(x, "device", None), copy=True)
        self.M0 = M0
        self.scale_first = bool(scale_first) and M0 is None
        self.reset()

    def reset(self) -> None:
        """Back to ``M0`` (or :math:`I`); the next accepted pair scales again."""
        self.M = eye_like(self.xp, self._like) if self.M0 is None else self.M0
        self.n_updates = 0
        self.scaled = False

    def direction(self, g):
        r""":math:`p = -H g`, or :math:`p` solving :math:`B p = -g`."""
        if self.inverse:
            return -(self.M @ g)
        return self.xp.linalg.solve(self.M, -g)

    def update(self, s, y) -> bool:
        """Absorb the pair ``(s, y)``; ``True`` when the approximation changed."""
        accepted = pair_accepted(s, y)
        if not accepted and self.kind != "sr1":
            return False
        scaled_now = self.scale_first and not self.scaled and accepted
        if scaled_now:
            gamma = inverse_hessian_scaling(s, y)
            self.M = gamma * self.M if self.inverse else self.M / gamma
            self.scaled = True
        M_new = self.formula(self.M, s, y)
        updated = M_new is not self.M
        self.M = M_new
        self.n_updates += updated
        return updated or scaled_now
