r"""Reference solutions of the graded exercises that are not part of :mod:`taylornet.rules`.

The contract's update rules are graded against :mod:`taylornet.rules` and
:mod:`taylornet.curvature`. Problem set 3 (Hessian geometry) also asks for two
functions the package does not need, and their hidden tests compare with the
references here. :mod:`taylornet.grading` guards this module like the rules: a
student function that calls one of these scores nothing.

NumPy only: the exercises feed NumPy arrays.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STATIONARY_POINT_KINDS", "classify_stationary_point", "fd_hvp"]

#: The four answers of :func:`classify_stationary_point`.
STATIONARY_POINT_KINDS = ("minimum", "maximum", "saddle", "degenerate")


def classify_stationary_point(H, tol=1e-8):
    r"""Classify a stationary point by the eigenvalues of its (symmetric) Hessian ``H``.

    The second-order conditions (N&W Theorems 2.3 and 2.4), with eigenvalues
    :math:`\lambda_1 \le \dots \le \lambda_n` and a zero threshold ``tol``:

    - ``"minimum"``: :math:`\lambda_1 > \text{tol}` (positive definite, a strict local minimiser);
    - ``"maximum"``: :math:`\lambda_n < -\text{tol}` (negative definite);
    - ``"saddle"``: :math:`\lambda_1 < -\text{tol}` and :math:`\lambda_n > \text{tol}`
      (directions of ascent and of descent, whatever the other eigenvalues);
    - ``"degenerate"``: otherwise: an eigenvalue within ``tol`` of zero and no
      eigenvalues of both signs, so second-order information cannot decide.
    """
    eigenvalues = np.linalg.eigvalsh(np.asarray(H, dtype=float))
    smallest, largest = eigenvalues[0], eigenvalues[-1]
    if smallest > tol:
        return "minimum"
    if largest < -tol:
        return "maximum"
    if smallest < -tol and largest > tol:
        return "saddle"
    return "degenerate"


def fd_hvp(grad, x, v, eps=1e-5):
    r"""Hessian-vector product by a central difference of the gradient (N&W section 8.1):

    .. math::
        \nabla^2 f(x)\, v \approx
        \frac{\nabla f(x + \epsilon v) - \nabla f(x - \epsilon v)}{2\epsilon}

    Two gradient evaluations, error :math:`O(\epsilon^2)` (the one-sided
    difference :math:`(\nabla f(x + \epsilon v) - \nabla f(x))/\epsilon` has error
    :math:`O(\epsilon)`). ``eps`` is used as given, not rescaled by :math:`\|v\|`.
    """
    forward = grad(x + eps * v)
    backward = grad(x - eps * v)
    return (forward - backward) / (2 * eps)
