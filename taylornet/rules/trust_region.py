r"""Trust-region subproblems: approximate minimisers of the quadratic model in a ball.

.. math:: \min_p\ m(p) = g^\top p + \tfrac12\, p^\top B p
          \quad\text{subject to}\quad \|p\| \le \Delta

(N&W chapter 4 and section 7.1). The Cauchy point and the dogleg use the matrix
:math:`B`; CG-Steihaug sees :math:`B` only through products :math:`v \mapsto B v`.
Scalars (norms, curvatures, step lengths) are Python floats: the branches of
the algorithms need them on the host anyway. Vectors keep the input's kind,
dtype and device.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from .._array import dot, namespace, norm, reject_half_precision, to_host


def _check_radius(func, radius):
    r = float(radius)
    if not (math.isfinite(r) and r > 0):
        raise ValueError(f"{func}: radius must be a finite number > 0 (got {radius!r})")
    return r


def _check_gradient(xp, func, g):
    if g.ndim != 1:
        raise ValueError(f"{func}: g must be a 1-D vector (got shape {tuple(g.shape)})")
    if not bool(xp.all(xp.isfinite(g))):
        raise ValueError(f"{func}: g contains non-finite values")


def _check_matrix(xp, func, B, n):
    if tuple(B.shape) != (n, n):
        raise ValueError(f"{func}: B must have shape ({n}, {n}) to match g (got {tuple(B.shape)})")
    if not bool(xp.all(xp.isfinite(B))):
        raise ValueError(f"{func}: B contains non-finite values")


def _boundary_roots(xp, z, d, radius):
    r"""Roots :math:`\tau_- < 0 < \tau_+` of :math:`\|z + \tau d\| = \Delta`.

    Needs :math:`\|z\| < \Delta`. The quadratic :math:`a\tau^2 + b\tau + c` with
    :math:`a = d^\top d`, :math:`b = 2 z^\top d`, :math:`c = z^\top z - \Delta^2 < 0`,
    solved without cancellation: :math:`q = -\tfrac12 (b + \operatorname{sign}(b)\sqrt{b^2 - 4ac})`,
    roots :math:`q/a` and :math:`c/q`.
    """
    a = float(dot(xp, d, d))
    b = 2 * float(dot(xp, z, d))
    c = float(dot(xp, z, z)) - radius**2
    q = -0.5 * (b + math.copysign(math.sqrt(b * b - 4 * a * c), b))
    tau_minus, tau_plus = sorted((q / a, c / q))
    return tau_minus, tau_plus


def cauchy_point(g, B, radius):
    r"""The Cauchy point: the model's minimiser along :math:`-g` within the ball (N&W 4.11-4.12).

    .. math::
        p^C = -\tau \frac{\Delta}{\|g\|}\, g, \qquad
        \tau = \begin{cases} 1 & g^\top B g \le 0 \\
               \min\bigl(\|g\|^3 / (\Delta\, g^\top B g),\ 1\bigr) & \text{otherwise}
               \end{cases}

    ``g = 0`` gives ``p = 0``. ``B`` need not be positive definite.
    """
    func = "cauchy_point"
    xp = namespace(g, B)
    radius = _check_radius(func, radius)
    _check_gradient(xp, func, g)
    _check_matrix(xp, func, B, g.shape[0])
    g_norm = float(norm(xp, g))
    if g_norm == 0:
        return xp.zeros_like(g)
    gBg = float(dot(xp, g, B @ g))
    if gBg <= 0:
        tau = 1.0
    else:
        tau = min(g_norm**3 / (radius * gBg), 1.0)
    return -(tau * radius / g_norm) * g


def dogleg_step(g, B, radius):
    r"""The dogleg step (N&W section 4.1) for a positive definite :math:`B`.

    The path runs from 0 to the unconstrained minimiser along :math:`-g`,
    :math:`p^U = -\frac{g^\top g}{g^\top B g}\, g` (4.15), then to the full step
    :math:`p^B = -B^{-1} g`. The step is where it leaves the ball:

    - :math:`p^B` if :math:`\|p^B\| \le \Delta`;
    - :math:`-\Delta\, g/\|g\|` (steepest descent to the boundary) if :math:`\|p^U\| \ge \Delta`;
    - otherwise :math:`p^U + (\tau - 1)(p^B - p^U)` with :math:`\tau \in [1, 2]` solving
      :math:`\|p^U + (\tau - 1)(p^B - p^U)\|^2 = \Delta^2` (4.16).

    ``ValueError`` when ``B`` is not positive definite (use :func:`steihaug_cg`).
    """
    func = "dogleg_step"
    xp = namespace(g, B)
    radius = _check_radius(func, radius)
    _check_gradient(xp, func, g)
    _check_matrix(xp, func, B, g.shape[0])
    reject_half_precision(func, g=g, B=B)
    try:
        xp.linalg.cholesky(B)
    except xp.linalg.LinAlgError as err:  # numpy's and torch's; OOM and device errors pass
        raise ValueError(f"{func}: B must be positive definite") from err

    p_B = -xp.linalg.solve(B, g)
    if float(norm(xp, p_B)) <= radius:
        return p_B
    g_norm = float(norm(xp, g))
    p_U = -(g_norm**2 / float(dot(xp, g, B @ g))) * g
    if float(norm(xp, p_U)) >= radius:
        return -(radius / g_norm) * g
    _, s = _boundary_roots(xp, p_U, p_B - p_U, radius)  # s = tau - 1 in [0, 1]
    return p_U + s * (p_B - p_U)


class SteihaugResult(NamedTuple):
    """What :func:`_steihaug_cg` found, for the trust-region driver.

    ``status``: ``"converged"`` (``||r|| <= tol*||g||``), ``"boundary"`` (the
    next iterate left the ball), ``"negative_curvature"`` (``d.Bd <= 0``) or
    ``"max_iter"``. ``n_hvp`` counts calls of ``hvp``. ``model_value`` is
    :math:`m(p)`, tracked through the iteration at no extra product, so the
    predicted reduction is ``-model_value``.
    """

    p: Any
    status: str
    n_hvp: int
    model_value: float

    @property
    def hits_boundary(self):
        return self.status in ("boundary", "negative_curvature")


def steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None):
    r"""CG-Steihaug, truncated CG for the trust-region subproblem (N&W Alg. 7.2).

    CG on :math:`B p = -g` from :math:`z_0 = 0`, with residual
    :math:`r_j = B z_j + g` and directions :math:`d_0 = -g`, stopped early:

    - :math:`d_j^\top B d_j \le 0` (negative curvature): return :math:`z_j + \tau d_j`
      on the boundary, :math:`\|z_j + \tau d_j\| = \Delta`, with the root
      :math:`\tau` of lower model value;
    - :math:`\|z_{j+1}\| \ge \Delta`: return :math:`z_j + \tau d_j`, :math:`\tau \ge 0`,
      on the boundary;
    - :math:`\|r_{j+1}\| \le` ``tol`` :math:`\cdot \|g\|`: return :math:`z_{j+1}`;
    - after ``max_iter`` products (default: the dimension): return the last iterate.

    ``tol`` is *relative* to :math:`\|g\|`: N&W's
    :math:`\epsilon_k = \min(0.5, \sqrt{\|g\|})\,\|g\|` is ``tol = min(0.5, sqrt(||g||))``.
    ``hvp`` is a callable ``v -> B v``; :math:`B` may be indefinite. The model
    decreases along the iterates (N&W Theorem 7.3), and the first one is the
    Cauchy point, so :math:`m(p) \le m(p^C)`.
    """
    return _steihaug_cg(g, hvp, radius, tol=tol, max_iter=max_iter).p


def _steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None):
    """:func:`steihaug_cg` with its bookkeeping: returns a :class:`SteihaugResult`."""
    func = "steihaug_cg"
    xp = namespace(g)
    radius = _check_radius(func, radius)
    _check_gradient(xp, func, g)
    if not tol >= 0:
        raise ValueError(f"{func}: tol must be >= 0 (got {tol!r})")
    max_iter = g.shape[0] if max_iter is None else max_iter
    if not max_iter >= 0:
        raise ValueError(f"{func}: max_iter must be >= 0 (got {max_iter!r})")

    z = xp.zeros_like(g)
    r = g
    d = -r
    rr = float(dot(xp, r, r))
    eps = tol * math.sqrt(rr)
    m = 0.0  # the model value m(z), tracked without extra products
    if rr == 0:
        return SteihaugResult(z, "converged", 0, m)

    rr_dev = dot(xp, r, r)
    # One host read per iteration: d.Bd, r.d, ||z_next||^2 and the next r.r come back
    # together; the CG step is computed before d.Bd is known and used only if d.Bd > 0.
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
            tau_minus, tau_plus = _boundary_roots(xp, z, d, radius)
            m_minus = m + tau_minus * rd + 0.5 * tau_minus**2 * dBd
            m_plus = m + tau_plus * rd + 0.5 * tau_plus**2 * dBd
            tau, m = (tau_plus, m_plus) if m_plus <= m_minus else (tau_minus, m_minus)
            return SteihaugResult(z + tau * d, "negative_curvature", j + 1, m)
        alpha = rr / dBd
        if math.sqrt(zz_next) >= radius:
            _, tau = _boundary_roots(xp, z, d, radius)
            m = m + tau * rd + 0.5 * tau**2 * dBd
            return SteihaugResult(z + tau * d, "boundary", j + 1, m)
        m = m + alpha * rd + 0.5 * alpha**2 * dBd
        z, r = z_next, r_next
        if math.sqrt(rr_new) <= eps:
            return SteihaugResult(z, "converged", j + 1, m)
        d = -r + (rr_next_dev / rr_dev) * d
        rr, rr_dev = rr_new, rr_next_dev
    return SteihaugResult(z, "max_iter", max_iter, m)
