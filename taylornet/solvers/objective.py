"""The function being minimised, its derivatives, and evaluation counters.

``Objective`` gives the driver one interface whatever the user supplied:
derivatives that are given are called as they are; derivatives that are not
come from torch autograd (:mod:`taylornet.autodiff`). When autograd is needed
and ``x0`` is a NumPy array, the run happens on a float64 CPU tensor and the
result is converted back, so ``fun`` must then accept torch tensors (functions
written with the array API, like those of :mod:`taylornet.problems`, do).
"""

from __future__ import annotations

import math

import numpy as np

from .._array import namespace


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _finite_scalar(value) -> float:
    return float(value)


class Objective:
    """Counted evaluations of ``f``, ``grad f``, ``hess f`` and ``hess f @ v``.

    With ``least_squares=True``, ``fun`` returns the residual vector ``r(x)``,
    the objective is ``f = ||r||^2 / 2``, its gradient ``J^T r`` and the
    Gauss-Newton matrix ``J^T J`` (N&W eq. 10.5).
    """

    def __init__(self, fun, x0, jac=None, hess=None, hessp=None, least_squares=False,
                 needs=()):
        self.fun, self.jac, self.hess_fn, self.hessp_fn = fun, jac, hess, hessp
        self.least_squares = least_squares
        self.nfev = self.ngev = self.nhev = 0
        self.input_is_numpy = not _is_torch(x0)
        missing = (jac is None) or ("hess" in needs and hess is None and hessp is None) \
            or ("hessp" in needs and hessp is None and hess is None) \
            or ("third" in needs)
        self.uses_autograd = bool(missing)
        self.x0 = self._to_work(x0)
        self.xp = namespace(self.x0)

    # -- backends -----------------------------------------------------------
    def _to_work(self, x0):
        if self.uses_autograd and self.input_is_numpy:
            import torch

            arr = np.asarray(x0)
            dtype = torch.float32 if arr.dtype == np.float32 else torch.float64
            return torch.as_tensor(arr, dtype=dtype).clone()
        if self.input_is_numpy:
            arr = np.asarray(x0)
            return arr.astype(np.float64 if arr.dtype.kind in "iub" else arr.dtype, copy=True)
        return x0.detach().clone()

    def to_user(self, x):
        """Convert a work-backend array back to the kind of ``x0``."""
        if self.input_is_numpy and _is_torch(x):
            return x.detach().cpu().numpy()
        return x

    # -- evaluations --------------------------------------------------------
    def value(self, x) -> float:
        self.nfev += 1
        out = self.fun(x)
        if self.least_squares:
            return 0.5 * float(self.xp.sum(out * out))
        return _finite_scalar(out)

    def value_and_grad(self, x):
        """``(f, g)``: one function and one gradient evaluation."""
        self.nfev += 1
        self.ngev += 1
        if self.least_squares:
            r, J = self._residual_and_jacobian(x)
            self._cache = (x, r, J)
            return 0.5 * float(self.xp.sum(r * r)), J.T @ r
        if self.jac is not None:
            return _finite_scalar(self.fun(x)), self._as_work(self.jac(x))
        from .. import autodiff

        f, g = autodiff.value_and_grad(self.fun, x)
        return float(f), g

    def gradient(self, x):
        """``grad f(x)`` alone (one gradient evaluation)."""
        self.ngev += 1
        if self.least_squares:
            self.nfev += 1
            r, J = self._residual_and_jacobian(x)
            self._cache = (x, r, J)
            return J.T @ r
        if self.jac is not None:
            return self._as_work(self.jac(x))
        from .. import autodiff

        return autodiff.grad(self.fun, x)

    def residual_and_jacobian(self, x):
        """``(r, J)`` for least-squares problems (one fev, one gev)."""
        self.nfev += 1
        self.ngev += 1
        return self._residual_and_jacobian(x)

    def residual_and_jacobian_cached(self, x):
        """``(r, J)`` at ``x``, reusing the last evaluation when ``x`` is that point."""
        cache = getattr(self, "_cache", None)
        if cache is not None and cache[0] is x:
            return cache[1], cache[2]
        r, J = self.residual_and_jacobian(x)
        self._cache = (x, r, J)
        return r, J

    def _residual_and_jacobian(self, x):
        r = self._as_work(self.fun(x))
        if self.jac is not None:
            return r, self._as_work(self.jac(x))
        import torch

        return r, torch.func.jacrev(self.fun)(x).detach()

    def hessian(self, x):
        self.nhev += 1
        if self.hess_fn is not None:
            return self._as_work(self.hess_fn(x))
        from .. import autodiff

        return autodiff.hessian(self.fun, x)

    def hvp(self, x, v):
        self.nhev += 1
        if self.hessp_fn is not None:
            return self._as_work(self.hessp_fn(x, v))
        if self.hess_fn is not None:
            return self._as_work(self.hess_fn(x)) @ v
        from .. import autodiff

        return autodiff.hvp(self.fun, x, v)

    def taylor_terms(self, x, g, order):
        """``Hg``, ``H2g`` and ``T3gg = D3f[g, g]`` for the gradient-flow Taylor step."""
        from .. import autodiff

        Hg = H2g = T3gg = None
        if order == 2:
            Hg = self.hvp(x, g)
        elif order >= 3:
            # One jvp of the hvp along g yields Hg and D3f[g, g] together; a
            # user-supplied Hessian, when given, still provides H2g.
            self.nhev += 1
            Hg, T3gg = autodiff.hvp_and_third_order(self.fun, x, g)
            H2g = self.hvp(x, Hg)
        return Hg, H2g, T3gg

    def _as_work(self, a):
        """Bring a user-returned array to the work backend, dtype and device."""
        if _is_torch(self.x0):
            import torch

            if not isinstance(a, torch.Tensor):
                a = torch.as_tensor(np.asarray(a))
            return a.to(dtype=self.x0.dtype, device=self.x0.device)
        if _is_torch(a):
            a = a.detach().cpu().numpy()
        return np.asarray(a, dtype=self.x0.dtype)


def inf_norm(xp, g) -> float:
    """``||g||_inf`` as a Python float (nan if ``g`` has a nan)."""
    value = float(xp.max(xp.abs(g)))
    return value if not math.isnan(value) else math.nan
