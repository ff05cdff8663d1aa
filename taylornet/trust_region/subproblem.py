r"""Approximate minimisers of the trust-region subproblem (N&W chapter 4, section 7.1).

.. math:: \min_p\ m(p) = g^\top p + \tfrac12\, p^\top B p
          \quad\text{subject to}\quad \|p\| \le \Delta

The Cauchy point and the dogleg are the graded rules
(:func:`taylornet.rules.cauchy_point`, :func:`taylornet.rules.dogleg_step`);
CG-Steihaug is :func:`taylornet.core.steihaug`.
"""

from __future__ import annotations

from .._array import namespace, norm
from ..core.forcing import forcing_term
from ..core.steihaug import steihaug
from ..rules.trust_region import cauchy_point, dogleg_step
from .model import quadratic_model

SUBPROBLEM_METHODS = ("cauchy", "dogleg", "steihaug")


def solve_subproblem(method, g, radius, B=None, hvp=None, tol=None, max_iter=None):
    r"""Approximately minimise the model :math:`m(p)` in the ball :math:`\|p\| \le \Delta`.

    ``method`` is ``"cauchy"`` (:func:`~taylornet.rules.cauchy_point`, needs ``B``),
    ``"dogleg"`` (:func:`~taylornet.rules.dogleg_step`, needs a positive definite
    ``B``) or ``"steihaug"`` (CG-Steihaug, needs ``hvp`` or ``B``).

    Returns ``(p, predicted_reduction, n_hvp)``: the step, :math:`-m(p)` as a
    Python float, and the number of calls of ``hvp`` (0 for the matrix methods).
    For ``"steihaug"``, ``tol`` (relative to :math:`\|g\|`) defaults to the
    forcing term :math:`\min(0.5, \sqrt{\|g\|})` (N&W 7.3,
    :func:`taylornet.core.forcing_term`), which gives superlinear convergence
    (N&W section 7.1); ``max_iter`` defaults to the dimension. The Steihaug
    model value is tracked inside the CG loop, so it costs no extra product.
    """
    if method not in SUBPROBLEM_METHODS:
        expected = ", ".join(repr(m) for m in SUBPROBLEM_METHODS)
        raise ValueError(f"solve_subproblem: unknown method {method!r}; expected one of {expected}")
    if method in ("cauchy", "dogleg"):
        if B is None:
            raise ValueError(f"solve_subproblem: method {method!r} needs the matrix B")
        step = cauchy_point if method == "cauchy" else dogleg_step
        p = step(g, B, radius)
        return p, -quadratic_model(g, B, p), 0

    if hvp is None and B is None:
        raise ValueError("solve_subproblem: method 'steihaug' needs hvp or B")
    if hvp is None:
        def hvp(v):
            return B @ v
    if tol is None:
        tol = forcing_term(norm(namespace(g), g))
    result = steihaug(g, hvp, radius, tol=tol, max_iter=max_iter)
    return result.p, -result.model_value, result.n_hvp
