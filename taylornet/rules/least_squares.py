r"""Directions for nonlinear least squares :math:`f(x) = \tfrac12 \|r(x)\|^2` (N&W section 10.3).

With the Jacobian :math:`J` of the residual :math:`r`, the gradient is
:math:`J^\top r` and the Gauss-Newton model replaces the Hessian by
:math:`J^\top J`. Both rules are computed as *linear least-squares problems*
through the SVD-based pseudo-inverse ``xp.linalg.pinv`` (the array API's
least-squares tool; NumPy and torch, CPU and CUDA). :math:`J^\top J` is never
formed: it would square the condition number of :math:`J`.

``pinv`` discards singular values below ``max(rows, cols) * eps * sigma_max``
(the array-API default, identical for NumPy and torch), so a rank-deficient
:math:`J` gives the *minimum-norm* least-squares solution, as
``scipy.linalg.lstsq`` does.
"""

from __future__ import annotations

from array_api_compat import device

from .._array import namespace, reject_half_precision


def _check_jacobian(name, J, r):
    reject_half_precision(name, J=J, r=r)
    if J.ndim != 2 or r.ndim != 1 or J.shape[0] != r.shape[0]:
        raise ValueError(
            f"{name}: J must be an m x n matrix and r a vector of length m; "
            f"got J{tuple(J.shape)}, r{tuple(r.shape)}"
        )


def gauss_newton_direction(J, r):
    r"""The Gauss-Newton direction (N&W section 10.3):

    .. math:: p = \arg\min_p \|J p + r\|_2, \quad\text{i.e.}\quad J^\top J\, p = -J^\top r,

    computed as :math:`p = -J^{+} r` with the pseudo-inverse :math:`J^{+}`.
    When :math:`J` is rank deficient the normal equations have many solutions
    and this is the one of least norm. For losses other than a sum of squares
    the Gauss-Newton matrix is :math:`J^\top H_L J`, not :math:`J^\top J`
    (see the book's Common mistakes appendix: :math:`J^\top J` as the
    Gauss-Newton matrix).
    """
    _check_jacobian("gauss_newton_direction", J, r)
    xp = namespace(J, r)
    return -(xp.linalg.pinv(J) @ r)


def levenberg_marquardt_direction(J, r, lam):
    r"""The Levenberg-Marquardt direction (N&W section 10.3):

    .. math:: (J^\top J + \lambda I)\, p = -J^\top r, \qquad \lambda \ge 0,

    solved as the equivalent, better conditioned, stacked least-squares problem

    .. math::
        \min_p \left\| \begin{bmatrix} J \\ \sqrt{\lambda} I \end{bmatrix} p
                     + \begin{bmatrix} r \\ 0 \end{bmatrix} \right\|_2 ,

    whose normal equations are exactly the system above. :math:`\lambda = 0`
    gives the (minimum-norm) Gauss-Newton direction; as :math:`\lambda \to \infty`,
    :math:`p \to -J^\top r / \lambda`, a short steepest-descent step.
    """
    _check_jacobian("levenberg_marquardt_direction", J, r)
    if not 0 <= float(lam) < float("inf"):
        raise ValueError(
            f"levenberg_marquardt_direction: lam must be finite and >= 0 (got {lam!r})"
        )
    xp = namespace(J, r)
    n = J.shape[1]
    I = xp.eye(n, dtype=J.dtype, device=device(J))
    J_stacked = xp.concat([J, lam**0.5 * I], axis=0)
    r_stacked = xp.concat([r, xp.zeros(n, dtype=r.dtype, device=device(r))], axis=0)
    return -(xp.linalg.pinv(J_stacked) @ r_stacked)
