r"""CG-Steihaug: truncated CG for the trust-region subproblem (N&W Alg. 7.2).

.. math:: \min_p\ m(p) = g^\top p + \tfrac12\, p^\top B p
          \quad\text{subject to}\quad \|p\| \le \Delta

touching :math:`B` only through products :math:`v \mapsto B v`.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .._array import dot, namespace, to_host
from ._checks import check_gradient, check_iteration_limits, check_radius


def boundary_roots(xp, z, d, radius):
    r"""Roots :math:`\tau_- < 0 < \tau_+` of :math:`\|z + \tau d\| = \Delta` (Python floats).

    Needs :math:`\|z\| < \Delta`. The quadratic :math:`a\tau^2 + b\tau + c` with
    :math:`a = d^\top d`, :math:`b = 2 z^\top d`, :math:`c = z^\top z - \Delta^2 < 0`,
    solved without cancellation: :math:`q = -\tfrac12 (b + \operatorname{sign}(b)\sqrt{b^2 - 4ac})`,
    roots :math:`q/a` and :math:`c/q`.
    """
    a, zd, zz = to_host(xp, dot(xp, d, d), dot(xp, z, d), dot(xp, z, z))
    b = 2 * zd
    c = zz - radius**2
    q = -0.5 * (b + math.copysign(math.sqrt(b * b - 4 * a * c), b))
    tau_minus, tau_plus = sorted((q / a, c / q))
    return tau_minus, tau_plus


class SteihaugResult(NamedTuple):
    """What :func:`steihaug` found.

    ``status``: ``"converged"`` (``||r|| <= tol*||g||``), ``"boundary"`` (the
    next iterate left the ball), ``"negative_curvature"`` (``d.Bd <= 0``; ``p``
    then lies on the boundary along ``d``) or ``"max_iter"``. ``n_hvp`` counts
    calls of ``hvp`` (one per CG iteration). ``model_value`` is :math:`m(p)`,
    tracked through the iteration at no extra product, so the predicted
    reduction is ``-model_value``.
    """

    p: Any
    status: str
    n_hvp: int
    model_value: float

    @property
    def hits_boundary(self) -> bool:
        return self.status in ("boundary", "negative_curvature")

    @property
    def negative_curvature(self) -> bool:
        return self.status == "negative_curvature"

    @property
    def n_iter(self) -> int:
        return self.n_hvp


def steihaug(g, hvp, radius, tol=1e-10, max_iter=None, func="steihaug_cg"):
    r"""CG-Steihaug, N&W Algorithm 7.2; returns a :class:`SteihaugResult`.

    CG on :math:`B z = -g` from :math:`z_0 = 0` (residual :math:`r_j = B z_j + g`,
    directions :math:`d_0 = -g`), ended by whichever comes first: a direction of
    non-positive curvature (step to the boundary along it, the root of lower
    model value), an iterate leaving the ball (step to the boundary, forward
    root), the relative residual ``tol`` reached, or ``max_iter`` products
    (default: the dimension). The stopping rules, in the book's notation, are
    those of :func:`taylornet.rules.steihaug_cg`.

    ``tol`` is relative to :math:`\|g\|` (N&W's :math:`\epsilon_k = \eta_k \|g\|`,
    :math:`\eta_k` from :func:`~taylornet.core.forcing_term`). The model decreases
    along the iterates (N&W Theorem 7.3) and the first is the Cauchy point.
    One host read per iteration: :math:`d^\top B d`, :math:`r^\top d`,
    :math:`\|z_{j+1}\|^2` and the next :math:`r^\top r` together.
    """
    xp = namespace(g)
    radius = check_radius(func, radius)
    check_gradient(xp, func, g)
    max_iter = check_iteration_limits(func, tol, max_iter, g.shape[0])

    z = xp.zeros_like(g)
    r = g
    d = -r
    rr_dev = dot(xp, r, r)
    rr = float(rr_dev)
    eps = tol * math.sqrt(rr)
    m = 0.0  # the model value m(z), tracked without extra products
    if rr == 0:
        return SteihaugResult(z, "converged", 0, m)

    for j in range(max_iter):
        Bd = hvp(d)
        dBd_dev = dot(xp, d, Bd)
        alpha_dev = rr_dev / dBd_dev
        z_next = z + alpha_dev * d
        r_next = r + alpha_dev * Bd
        rr_next_dev = dot(xp, r_next, r_next)
        dBd, rd, zz_next, rr_new = to_host(xp, dBd_dev, dot(xp, r, d),
                                           dot(xp, z_next, z_next), rr_next_dev)
        if not math.isfinite(dBd):
            raise ValueError(f"{func}: hvp returned non-finite values at iteration {j}")

        # m(z + t d) = m(z) + t r.d + t^2/2 d.Bd, since r = Bz + g is the model's gradient at z
        if dBd <= 0:
            tau_minus, tau_plus = boundary_roots(xp, z, d, radius)
            m_minus = m + tau_minus * rd + 0.5 * tau_minus**2 * dBd
            m_plus = m + tau_plus * rd + 0.5 * tau_plus**2 * dBd
            tau, m = (tau_plus, m_plus) if m_plus <= m_minus else (tau_minus, m_minus)
            return SteihaugResult(z + tau * d, "negative_curvature", j + 1, m)
        alpha = rr / dBd
        if math.sqrt(zz_next) >= radius:
            _, tau = boundary_roots(xp, z, d, radius)
            m = m + tau * rd + 0.5 * tau**2 * dBd
            return SteihaugResult(z + tau * d, "boundary", j + 1, m)
        m = m + alpha * rd + 0.5 * alpha**2 * dBd
        z, r = z_next, r_next
        if math.sqrt(rr_new) <= eps:
            return SteihaugResult(z, "converged", j + 1, m)
        d = -r + (rr_next_dev / rr_dev) * d
        rr, rr_dev = rr_new, rr_next_dev
    return SteihaugResult(z, "max_iter", max_iter, m)
