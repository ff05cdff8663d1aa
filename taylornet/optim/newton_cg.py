r"""Hessian-free optimisation: truncated CG on curvature-vector products (Martens 2010).

Each step minimises the damped quadratic model of :math:`f` around :math:`x`,

.. math::
    q(p) = g^\top p + \tfrac12 p^\top (B + \lambda I)\, p ,

by conjugate gradients on :math:`(B + \lambda I) p = -g`
(:func:`taylornet.core.newton_cg_direction`, N&W Algs. 5.2 and 7.1), touching
:math:`B` only through products :math:`Bv`: the Hessian (double backward
through the gradient's graph, recorded once per step: N&W section 8.1) or
the generalised Gauss-Newton matrix :math:`J^\top H_L J`
(:func:`taylornet.curvature.gauss_newton_vector_product`; not :math:`J^\top J`
unless the loss is a sum of squares, see the book's Common mistakes appendix:
:math:`J^\top J` as the Gauss-Newton matrix). CG is
truncated as in line-search Newton-CG (N&W Alg. 7.1): at ``max_cg_iters``, at
the relative residual ``cg_tol`` (default: the forcing term
:math:`\min(0.5, \sqrt{\|g\|})`, N&W 7.3, :func:`taylornet.core.forcing_term`),
or at the first direction of non-positive curvature (then the last iterate,
or :math:`-g` if there is none).

The damping :math:`\lambda` is adapted by the Levenberg-Marquardt rule of
Martens (*Deep learning via Hessian-free optimization*, ICML 2010,
section 4.1) from the reduction ratio of the step :math:`\delta = \eta p`
(:math:`\eta` = ``lr``),

.. math::
    \rho = \frac{f(x + \delta) - f(x)}{M(\delta)}, \qquad
    M(\delta) = g^\top \delta + \tfrac12 \delta^\top B \delta ,

(:math:`M` the *undamped* model; :math:`\delta^\top B \delta` comes from CG's
final residual, no extra product): :math:`\rho < 1/4 \Rightarrow \lambda
\leftarrow \tfrac32 \lambda`, :math:`\rho > 3/4 \Rightarrow \lambda \leftarrow
\tfrac23 \lambda`. A step is kept only when :math:`\rho > 0` (the loss
decreased); a step to a non-finite loss is rejected and counted (see
:mod:`taylornet.optim._base`). CG starts from zero at every step (Martens'
warm start from the previous solution is not used).
"""

from __future__ import annotations

import math

from .._array import namespace, to_host
from ..core import newton_cg_direction
from ._base import ClosureOptimizer
from ._distributed import average

CURVATURES = ("hessian", "gauss-newton")


class NewtonCG(ClosureOptimizer):
    r"""Hessian-free Newton-CG with Martens' damping adaptation, one CG solve per ``step``.

    Parameters
    ----------
    lr : float > 0
        Scales the CG solution: the step is ``lr * p``.
    damping : float >= 0
        Initial :math:`\lambda` (the current value is ``state["taylornet"]["damping"]``).
    curvature : ``"hessian"`` or ``"gauss-newton"``; the latter needs a closure
        returning ``(loss, outputs)``.
    max_cg_iters : int >= 1; cg_tol : relative residual tolerance or ``None``.
    adapt_damping : bool, Martens' rule above (otherwise :math:`\lambda` stays fixed).

    All options are shared by all parameter groups (one solve for the whole
    vector). Under :mod:`torch.distributed` the loss, gradient, every curvature
    product and the trial loss are averaged over ranks.
    """

    _uniform = ("lr", "damping", "curvature", "max_cg_iters", "cg_tol", "adapt_damping")

    def __init__(self, params, lr=1.0, damping=1.0, curvature="hessian", max_cg_iters=50,
                 cg_tol=None, adapt_damping=True):
        if not lr > 0:
            raise ValueError(f"NewtonCG: lr must be > 0 (got {lr!r})")
        if not 0 <= damping < math.inf:
            raise ValueError(f"NewtonCG: damping must be finite and >= 0 (got {damping!r})")
        if curvature not in CURVATURES:
            raise ValueError(f"NewtonCG: curvature must be one of {CURVATURES} (got {curvature!r})")
        if not (isinstance(max_cg_iters, int) and max_cg_iters >= 1):
            raise ValueError(
                f"NewtonCG: max_cg_iters must be an integer >= 1 (got {max_cg_iters!r})")
        if cg_tol is not None and not cg_tol >= 0:
            raise ValueError(f"NewtonCG: cg_tol must be >= 0 or None (got {cg_tol!r})")
        super().__init__(params, dict(lr=lr, damping=damping, curvature=curvature,
                                      max_cg_iters=max_cg_iters, cg_tol=cg_tol,
                                      adapt_damping=adapt_damping))
        self._status["damping"] = float(damping)
        self._status["last_cg_iters"] = 0
        self._status["last_cg_status"] = None
        self._status["last_rho"] = None

    def _curvature_product(self, evaluation):
        """``v -> B v`` for the chosen curvature, averaged over ranks."""
        if self._option("curvature") == "hessian":
            return lambda v: self._hvp(evaluation, v)
        if evaluation.outputs is None:
            raise ValueError(
                "NewtonCG(curvature='gauss-newton') needs the closure to return (loss, outputs), "
                "the network outputs the loss was computed from"
            )
        from ..curvature import GaussNewtonProducts

        products = GaussNewtonProducts(evaluation.outputs, evaluation.local_loss,
                                       self._flat.params)

        def gv(v):
            self._status["n_hvp"] += 1
            local = products(self._flat.unflatten(v), check_finite=False)
            (out,) = average(self._flat.flatten(local, "Gauss-Newton product").detach())
            return out

        return gv

    def step(self, closure=None):
        """One damped Newton-CG step; returns the loss at the start of the step."""
        gauss_newton = self._option("curvature") == "gauss-newton"
        evaluation, ok = self._begin(closure, create_graph=not gauss_newton,
                                     retain_graph=gauss_newton)
        if not ok:
            return self._skip(evaluation)
        group = self.param_groups[0]
        status = self._status
        lam = status["damping"]
        g = evaluation.grad
        f, g_norm = to_host(namespace(g), evaluation.loss, g.norm())  # one host read
        B = self._curvature_product(evaluation)
        if g_norm == 0.0:
            self._end("converged: the gradient is zero")
            return evaluation.loss

        def damped(v):  # (B + lam I) v
            return B(v).add_(v, alpha=lam)

        direction = newton_cg_direction(damped, g, tol=group["cg_tol"],
                                        max_iter=group["max_cg_iters"], g_norm=g_norm)
        p, cg = direction
        status["last_cg_iters"], status["last_cg_status"] = cg.n_iter, cg.status
        if cg.n_iter > 0:
            # p'(B + lam I)p = p'(r - g) with r = (B + lam I)p + g, CG's residual
            pBp_dev = p @ (cg.residual - g) - lam * (p @ p)
        elif cg.curvature is not None:  # p = -g: g'(B + lam I)g <= 0 was measured
            pBp_dev = cg.curvature - lam * (p @ p)
        else:  # CG stopped before its first product (cg_tol >= 1): take -g
            p = -g
            pBp_dev = p @ B(p)
        pBp, gp = to_host(namespace(g), pBp_dev, g @ p)  # one host read
        eta = group["lr"]
        model = eta * gp + 0.5 * eta**2 * pBp  # M(eta p), undamped
        x = self._flat.get()
        x_new = x + eta * p
        f_new = float(self._loss_at(closure, x_new))
        rho = (f_new - f) / model if model < 0 else -math.inf
        status["last_rho"] = rho
        if not math.isfinite(f_new):
            self._reject(f"non-finite loss ({f_new:.3g}) after the Newton-CG step; step undone")
            rho = -math.inf
        if rho > 0:
            self._memory["x_finite"] = x
            message = f"step taken (rho={rho:.3g}, CG {cg.status} after {cg.n_iter} iterations)"
        else:
            self._flat.set_(x)
            message = (f"step rejected (rho={rho:.3g}, f_new={f_new:.6g}); "
                       "parameters unchanged")
        if group["adapt_damping"]:  # Martens (2010), section 4.1
            if rho < 0.25:
                lam *= 1.5
            elif rho > 0.75:
                lam *= 2.0 / 3.0
            status["damping"] = lam
        self._end(message)
        return evaluation.loss
