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

from .._array import dot, namespace, norm, reject_half_precision
from ..core._checks import check_gradient, check_radius
from ..core.hessian_modification import is_positive_definite
from ..core.steihaug import SteihaugResult, boundary_roots, steihaug

__all__ = ["SteihaugResult", "cauchy_point", "dogleg_step", "steihaug_cg"]


def _check_matrix(xp, func, B, n):
    if tuple(B.shape) != (n, n):
        raise ValueError(f"{func}: B must have shape ({n}, {n}) to match g (got {tuple(B.shape)})")
    if not bool(xp.all(xp.isfinite(B))):
        raise ValueError(f"{func}: B contains non-finite values")



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
    radius = check_radius(func, radius)
    check_gradient(xp, func, g)
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
    radius = check_radius(func, radius)
    check_gradient(xp, func, g)
    _check_matrix(xp, func, B, g.shape[0])
    reject_half_precision(func, g=g, B=B)
    if not is_positive_definite(B):
        raise ValueError(f"{func}: B must be positive definite")

    p_B = -xp.linalg.solve(B, g)
    if float(norm(xp, p_B)) <= radius:
        return p_B
    g_norm = float(norm(xp, g))
    p_U = -(g_norm**2 / float(dot(xp, g, B @ g))) * g
    if float(norm(xp, p_U)) >= radius:
        return -(radius / g_norm) * g
    _, s = boundary_roots(xp, p_U, p_B - p_U, radius)  # s = tau - 1 in [0, 1]
    return p_U + s * (p_B - p_U)


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
    Cauchy point, so :math:`m(p) \le m(p^C)`. The iteration is
    :func:`taylornet.core.steihaug`, which also reports why it stopped.
    """
    return steihaug(g, hvp, radius, tol=tol, max_iter=max_iter).p


# The bookkeeping version lives in the core; the old private name stays for callers.
_steihaug_cg = steihaug
