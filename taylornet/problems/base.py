"""The :class:`Problem` record and the plumbing that lets one ``fun`` serve two back ends.

Every test function is written once against the array API
(``xp = namespace(x)``), so it accepts a NumPy array or a torch tensor (any
device, and inside :mod:`torch.func` transforms, so autograd works through it)
and returns the same kind of object. Data a problem carries (a matrix, a data
set) is stored in NumPy and converted once per torch dtype and device by
:class:`Constants`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import array_api_compat.numpy as _np_namespace
import numpy as np
from array_api_compat import device, is_numpy_array

from .._array import namespace as _namespace


def namespace(x):
    """The array namespace of ``x``, with a fast path for NumPy arrays.

    Problem functions are called thousands of times in a benchmark at small
    cost each, so the NumPy case skips the general look-up.
    """
    if type(x) is np.ndarray:
        return _np_namespace
    return _namespace(x)


@dataclass
class Problem:
    r"""A test problem :math:`\min_x f(x)`, :math:`x \in \mathbb{R}^n`.

    Callables take a 1-D NumPy array or torch tensor and return the same kind:
    ``fun(x)`` a scalar, ``grad(x)`` the gradient, ``hess(x)`` the dense
    Hessian, ``hessp(x, p)`` the product :math:`H(x)p`. For least-squares
    problems ``residual(x)`` is :math:`r(x) \in \mathbb{R}^m`, ``jac(x)`` its
    :math:`m \times n` Jacobian, and ``fun`` is :math:`\tfrac12\|r(x)\|^2`.
    When only ``hess`` is given, ``hessp`` defaults to ``hess(x) @ p``.
    ``x0`` (NumPy float64) is the customary starting point; ``x_star`` and
    ``f_star`` a known minimiser and minimum, ``None`` when there is none or it
    is not known.
    """

    name: str
    fun: Callable
    x0: np.ndarray
    grad: Callable | None = None
    hess: Callable | None = None
    hessp: Callable | None = None
    x_star: np.ndarray | None = None
    f_star: float | None = None
    residual: Callable | None = None
    jac: Callable | None = None
    description: str = ""

    def __post_init__(self):
        if self.hessp is None and self.hess is not None:
            hess = self.hess
            self.hessp = lambda x, p: hess(x) @ p

    @property
    def n(self) -> int:
        """Number of variables."""
        return int(self.x0.shape[0])


class Constants:
    """NumPy data of a problem, handed out in the back end, dtype and device of ``x``.

    ``consts(x).A`` is the NumPy array for a NumPy ``x`` and a cached torch
    tensor of ``x``'s dtype and device for a torch ``x``.
    """

    def __init__(self, **arrays: Any):
        self._numpy = SimpleNamespace(
            **{k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()}
        )
        self._converted: dict[tuple[str, str], SimpleNamespace] = {}

    def __call__(self, x) -> SimpleNamespace:
        if is_numpy_array(x):
            return self._numpy
        key = (str(x.dtype), str(device(x)))
        if key in self._converted:
            return self._converted[key]
        converted = self._convert(x)
        # Tensors made while x is traced by a torch.func transform belong to
        # that transform's level; caching them breaks the next call ("escaped?").
        if not _inside_torch_func_transform(x):
            self._converted[key] = converted
        return converted

    def _convert(self, x) -> SimpleNamespace:
        import torch

        return SimpleNamespace(
            **{
                k: torch.as_tensor(v, dtype=x.dtype, device=device(x))
                for k, v in vars(self._numpy).items()
            }
        )


def _inside_torch_func_transform(x) -> bool:
    """True when ``x`` is a tensor wrapped by a torch.func transform (grad, jvp, vmap)."""
    import torch

    is_wrapped = getattr(torch._C._functorch, "is_functorch_wrapped_tensor", None)
    return bool(is_wrapped(x)) if is_wrapped is not None else True


def matrix_2x2(xp, a, b, c, d):
    """The matrix ``[[a, b], [c, d]]`` from four scalars of one back end."""
    return xp.stack([xp.stack([a, b]), xp.stack([c, d])])


def eye_like(x, xp, n, k=0):
    """``xp.eye(n, k=k)`` in ``x``'s dtype and on its device."""
    return xp.eye(n, k=k, dtype=x.dtype, device=device(x))


def banded(x, xp, diag, upper):
    """The symmetric matrix with diagonal ``diag`` (length n) and super/sub-diagonal ``upper``.

    ``upper`` has length n - 1 and holds entry ``(i, i+1)`` at index ``i``.
    Filled through strided slices of the flattened matrix: entry ``(i, j)``
    sits at ``i*n + j``, so the diagonal is ``0::n+1``, the super-diagonal
    ``1::n+1`` and the sub-diagonal ``n::n+1``.
    """
    n = diag.shape[0]
    flat = xp.zeros((n * n,), dtype=x.dtype, device=device(x))
    flat[0 :: n + 1] = diag
    flat[1 :: n + 1] = upper
    flat[n :: n + 1] = upper
    return xp.reshape(flat, (n, n))
