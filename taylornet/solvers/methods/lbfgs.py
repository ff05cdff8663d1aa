"""Limited-memory BFGS (N&W Alg. 7.5) with the two-loop recursion (Alg. 7.4).

The state is :class:`taylornet.core.LBFGSHistory`: the last ``m`` pairs that
pass :func:`taylornet.core.pair_accepted`, ``H_0 = (s^T y / y^T y) I`` of the
newest pair (eq. 7.20).
"""

from __future__ import annotations

from ..._array import eye_like, namespace, norm
from ...core import LBFGSHistory, first_trial_step
from .base import LineSearchMethod


class InverseHessianOperator:
    r"""The L-BFGS inverse Hessian :math:`H_k` as an operator (``result.hess_inv``).

    Like scipy's ``LbfgsInvHessProduct`` (a ``LinearOperator``): ``H @ v`` and
    ``H.matvec(v)`` give :math:`H_k v` by the two-loop recursion (O(mn), never
    forming :math:`H_k`), ``H.todense()`` the ``n x n`` matrix (O(mn^2), for
    small ``n``). Vectors are NumPy arrays or torch tensors, as the run's ``x0``.
    It holds its own copy of the pair lists, so later runs do not change it.
    """

    def __init__(self, history, to_work, to_user, like):
        self._history = LBFGSHistory(history.m, history.s, history.y, history.rho)
        self._to_work, self._to_user, self._like = to_work, to_user, like
        n = like.shape[0]
        self.shape = (n, n)
        self.dtype = like.dtype

    def matvec(self, v):
        """:math:`H_k v`."""
        return self._to_user(self._history.inverse_hessian_product(self._to_work(v)))

    def __matmul__(self, v):
        return self.matvec(v)

    dot = matvec

    def todense(self):
        """The dense :math:`H_k` (``n`` two-loop products)."""
        xp = namespace(self._like)
        eye = eye_like(xp, self._like)
        columns = [self._history.inverse_hessian_product(eye[:, j]) for j in range(self.shape[0])]
        return self._to_user(xp.stack(columns, axis=1))

    def __repr__(self):
        n, pairs = self.shape[0], len(self._history)
        return f"<{n}x{n} L-BFGS inverse Hessian from {pairs} pairs>"


class LBFGS(LineSearchMethod):
    """``p = -H_k g`` from the last ``m`` pairs (option ``m``, default 10)."""

    search = "wolfe"

    def __init__(self, obj, x0, m=10, **options):
        super().__init__(obj, x0, **options)
        if not (int(m) == m and m >= 1):
            raise ValueError(f"lbfgs history size m must be >= 1 (got {m!r})")
        self.history = LBFGSHistory(int(m))
        self.xp = namespace(x0)
        self.eps = float(self.xp.finfo(x0.dtype).eps)  # the scale of the pair test
        self.s_hist, self.y_hist = self.history.s, self.history.y  # the history's own lists

    def reset(self):
        self.history.clear()

    def direction(self, x, f, g):
        return self.history.direction(g)

    def initial_step(self, k, g, p):
        return 1.0 if len(self.history) else first_trial_step(norm(self.xp, g))

    def update(self, s, y, g_new):
        self.history.push(s, y)

    def result_fields(self):
        """``hess_inv``: an :class:`InverseHessianOperator` (scipy's L-BFGS-B convention)."""
        obj = self.obj
        return {"hess_inv": InverseHessianOperator(self.history, obj._as_work, obj.to_user,
                                                   obj.x0)}
