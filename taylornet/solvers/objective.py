"""The function being minimised, its derivatives, and evaluation counters.

An objective gives the driver one interface whatever the user supplied:
derivatives that are given are called as they are; derivatives that are not
come from torch autograd (:mod:`taylornet.autodiff`). When autograd is needed
and ``x0`` is a NumPy array, the run happens on a float64 CPU tensor and the
result is converted back, so ``fun`` must then accept torch tensors (functions
written with the array API, like those of :mod:`taylornet.problems`, do).

* :class:`Objective`: ``fun`` returns the scalar ``f(x)``.
* :class:`LeastSquaresObjective`: ``fun`` returns the residual vector ``r(x)``
  and ``f = ||r||^2 / 2`` (N&W chapter 10).

Evaluations are cached at the last two points (the iterate and the latest
trial), keyed on the *value* of ``x``: the same point in a new array is a
hit, an array mutated in place since is a miss. The counters ``nfev``,
``ngev``, ``nhev`` count calls that really happened (scipy's convention), so
a hit costs nothing. A Hessian given as a matrix (``hess=`` without
``hessp=``) is evaluated once per point and serves every product there.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._array import namespace, to_host


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


class _Lookup(NamedTuple):
    values: dict  # what is cached at the point looked up ({} on a miss)
    hit: bool
    generation: int  # the cache's generation at the lookup


class _Entry:
    """One cached point: a private copy of ``x`` and the values computed there."""

    def __init__(self, xp, x):
        self.key = x.copy() if isinstance(x, np.ndarray) else xp.asarray(x, copy=True)
        self.values = {}
        self.seen = None  # (tensor, its _version) known to equal the key
        self.remember(x)

    def remember(self, x):
        version = getattr(x, "_version", None)
        self.seen = (x, version) if version is not None else None

    def is_seen(self, x) -> bool:
        """``x`` is the very tensor last matched, not changed in place since."""
        seen = self.seen
        return seen is not None and seen[0] is x and seen[1] == getattr(x, "_version", None)

    def comparable(self, x) -> bool:
        key = self.key
        return (tuple(key.shape) == tuple(x.shape) and key.dtype == x.dtype
                and getattr(key, "device", None) == getattr(x, "device", None))


class _PointCache:
    """Values computed at the last ``size`` points (the iterate and a trial point).

    Keys are private copies of ``x``, compared by value (shape, dtype, device
    and entries), so neither identity nor later mutation of the caller's
    array can make a stale entry hit; a point with a NaN never matches. For
    torch tensors the tensor last matched is also remembered with its version
    counter (bumped by every in-place change), so asking again with that very
    tensor, unchanged, needs no comparison and no device-to-host read.
    """

    def __init__(self, xp, size=2):
        self.xp, self.size = xp, size
        self.entries = []  # most recently used first
        self.generation = 0  # bumped whenever an entry is added

    def lookup(self, x) -> _Lookup:
        hit = next((e for e in self.entries if e.is_seen(x)), None)
        if hit is None:
            candidates = [e for e in self.entries if e.comparable(x)]
            if isinstance(x, np.ndarray):
                equal = [bool((e.key == x).all()) for e in candidates]
            elif candidates:  # tensors: all comparisons in one host read
                equal = to_host(self.xp, *(self.xp.all(e.key == x) for e in candidates))
            else:
                equal = []
            hit = next((e for e, eq in zip(candidates, equal, strict=True) if eq), None)
            if hit is not None:
                hit.remember(x)
        if hit is None:
            return _Lookup({}, False, self.generation)
        self.entries.remove(hit)
        self.entries.insert(0, hit)
        return _Lookup(hit.values, True, self.generation)

    def store(self, x, lookup: _Lookup, values: dict) -> dict:
        """Add ``values`` computed at ``x`` after ``lookup``; returns all values at ``x``."""
        if lookup.hit:
            entry_values = lookup.values
        elif self.generation != lookup.generation:
            # a nested evaluation (at x: they all are) has stored x meanwhile; it is the newest
            entry_values = self.entries[0].values
        else:
            self.entries.insert(0, _Entry(self.xp, x))
            del self.entries[self.size:]
            self.generation += 1
            entry_values = self.entries[0].values
        entry_values.update(values)
        return entry_values


class Objective:
    """Counted, cached evaluations of ``f``, ``grad f``, ``hess f`` and ``hess f @ v``."""

    def __init__(self, fun, x0, jac=None, hess=None, hessp=None, needs=()):
        self.fun, self.jac, self.hess_fn, self.hessp_fn = fun, jac, hess, hessp
        self.nfev = self.ngev = self.nhev = 0
        self.input_is_numpy = not _is_torch(x0)
        missing = (jac is None) or ("hess" in needs and hess is None and hessp is None) \
            or ("hessp" in needs and hessp is None and hess is None) \
            or ("third" in needs)
        self.uses_autograd = bool(missing)
        self.x0 = self._to_work(x0)
        self.xp = namespace(self.x0)
        self.cache = _PointCache(self.xp)

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

    # -- evaluations (cached at the last point) -------------------------------
    def _cached(self, x, name, compute):
        """``name`` at ``x``: from the cache, else ``compute(cached_values)`` (a dict) stored."""
        lookup = self.cache.lookup(x)
        if name in lookup.values:
            return lookup.values
        return self.cache.store(x, lookup, compute(lookup.values))

    def value(self, x) -> float:
        """``f(x)`` as a Python float."""
        values = self._cached(x, "f", lambda hit: {"f": self._value(x)})
        if not isinstance(values["f"], float):  # a 0-d array from autograd: read it once
            values["f"] = float(values["f"])
        return values["f"]

    def gradient(self, x):
        """``grad f(x)``."""
        return self._cached(x, "g", lambda hit: {"g": self._gradient(x)})["g"]

    def value_and_grad(self, x, host_value=True):
        """``(f, g)``: one function and one gradient evaluation (fewer on a cache hit).

        With ``host_value=False``, ``f`` may be a 0-d array on the device (a
        line search reads it together with its slope: one host read, not two).
        """
        def compute(hit):
            if "f" in hit:
                return {"g": self._gradient(x)}
            if "g" in hit:
                return {"f": self._value(x)}
            f, g = self._value_and_grad(x)
            return {"f": f, "g": g}

        lookup = self.cache.lookup(x)
        values = lookup.values
        if not ("f" in values and "g" in values):
            values = self.cache.store(x, lookup, compute(values))
        if host_value and not isinstance(values["f"], float):
            values["f"] = float(values["f"])
        return values["f"], values["g"]

    def hessian(self, x):
        """The dense Hessian at ``x`` (one evaluation per point)."""
        return self._cached(x, "H", lambda hit: {"H": self._hessian(x)})["H"]

    def hvp(self, x, v):
        """``H(x) v``: the user's ``hessp``; else products with the Hessian matrix,
        evaluated once at ``x``; else forward-over-reverse autograd."""
        if self.hessp_fn is not None:
            self.nhev += 1
            return self._as_work(self.hessp_fn(x, v))
        if self.hess_fn is not None:
            return self.hessian(x) @ v
        from .. import autodiff

        self.nhev += 1
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

    # -- the uncached evaluations ---------------------------------------------
    def _hessian(self, x):
        self.nhev += 1
        if self.hess_fn is not None:
            return self._as_work(self.hess_fn(x))
        from .. import autodiff

        return autodiff.hessian(self.fun, x)

    def _value(self, x) -> float:
        self.nfev += 1
        return float(self.fun(x))

    def _gradient(self, x):
        self.ngev += 1
        if self.jac is not None:
            return self._as_work(self.jac(x))
        from .. import autodiff

        return autodiff.grad(self.fun, x)

    def _value_and_grad(self, x):
        if self.jac is not None:
            return self._value(x), self._gradient(x)
        from .. import autodiff

        self.nfev += 1
        self.ngev += 1
        return autodiff.value_and_grad(self.fun, x)  # f: a 0-d tensor (read when needed)


class LeastSquaresObjective(Objective):
    r"""``f(x) = ||r(x)||^2 / 2`` for a residual function ``fun: x -> r(x)`` (N&W 10.1).

    ``jac`` (optional) returns the Jacobian :math:`J(x)`; without it torch
    autograd (``torch.func.jacrev``) computes it. The gradient is
    :math:`J^\top r` and the Gauss-Newton matrix :math:`J^\top J` (N&W 10.5).
    ``nfev`` counts residual evaluations, ``ngev`` Jacobian evaluations; the
    residual and Jacobian at the last point are cached (by value of ``x``) and
    shared by ``value``, ``gradient`` and :meth:`residual_and_jacobian`.
    """

    def residual(self, x):
        """``r(x)``."""
        def compute(hit):
            self.nfev += 1
            return {"r": self._as_work(self.fun(x))}

        return self._cached(x, "r", compute)["r"]

    def residual_and_jacobian(self, x):
        """``(r(x), J(x))``: one Jacobian evaluation, and the residual unless cached."""
        def compute(hit):
            self.ngev += 1
            if self.jac is not None:
                return {"r": self.residual(x), "J": self._as_work(self.jac(x))}
            import torch

            if "r" in hit:
                return {"J": torch.func.jacrev(self.fun)(x).detach()}
            self.nfev += 1  # the residual comes with the Jacobian, from the same pass
            J, r = torch.func.jacrev(lambda y: _twice(self.fun(y)), has_aux=True)(x)
            return {"r": r.detach(), "J": J.detach()}

        values = self._cached(x, "J", compute)
        return values["r"], values["J"]

    def _value(self, x) -> float:
        r = self.residual(x)
        return 0.5 * float(self.xp.sum(r * r))

    def _gradient(self, x):
        r, J = self.residual_and_jacobian(x)
        return J.T @ r

    def _value_and_grad(self, x):
        return self._value(x), self._gradient(x)

    def hessian(self, x):
        raise TypeError("LeastSquaresObjective: use residual_and_jacobian (the Gauss-Newton "
                        "matrix is J^T J); the Hessian of ||r||^2/2 is not formed")

    def hvp(self, x, v):
        raise TypeError("LeastSquaresObjective: Hessian-vector products are not formed")


def _twice(r):
    return r, r


def inf_norm(xp, g) -> float:
    """``||g||_inf`` as a Python float (nan if ``g`` has a nan)."""
    value = float(xp.max(xp.abs(g)))
    return value if not math.isnan(value) else math.nan
