"""Array-API plumbing shared by the rules: one code path for NumPy and torch.

The rules call :func:`namespace` on their array arguments and then use only
the array API standard (``xp.sqrt``, ``xp.linalg.vecdot``, ...), so a NumPy
array in gives a NumPy array out and a CUDA tensor in gives a CUDA tensor out.
"""

from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace
from array_api_compat import numpy as _numpy_namespace


def namespace(*arrays):
    """The array namespace (``numpy`` or ``torch`` compatible) of ``arrays``.

    Python scalars and ``None`` are ignored, so ``namespace(x, lr)`` works.
    """
    arrays = [a for a in arrays if a is not None and not isinstance(a, (int, float, complex))]
    if not arrays:
        raise TypeError("expected at least one NumPy array or torch tensor")
    if all(type(a) is np.ndarray for a in arrays):  # fast path: the common case
        return _numpy_namespace
    return array_namespace(*arrays)


def dot(xp, a, b):
    """Inner product ``a . b`` of two 1-D arrays (a BLAS dot, no temporary)."""
    return a @ b


def norm(xp, a):
    """Euclidean norm ``||a||_2`` of a 1-D array."""
    return xp.linalg.vector_norm(a)


def to_host(xp, *scalars):
    """Python floats of the 0-d arrays ``scalars``, read together.

    For torch tensors on a GPU this is one device-to-host transfer (one
    synchronisation) instead of one per ``float(...)``: loops that need several
    scalars per iteration for their decisions read them with one call.
    """
    if all(isinstance(s, (float, np.generic, np.ndarray)) for s in scalars):  # no device
        return [float(s) for s in scalars]
    return [float(v) for v in xp.stack([xp.reshape(s, ()) for s in scalars]).tolist()]


def check_same_shape(**arrays):
    """Raise ``ValueError`` naming the culprits when the arrays' shapes differ."""
    shapes = {name: tuple(a.shape) for name, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        described = ", ".join(f"{name}{shape}" for name, shape in shapes.items())
        raise ValueError(f"shape mismatch: {described}")


def eye_like(xp, x, n=None):
    """The ``n x n`` identity with ``x``'s dtype and device (``n`` defaults to ``len(x)``)."""
    n = x.shape[0] if n is None else n
    return xp.eye(n, dtype=x.dtype, device=getattr(x, "device", None))


def axpy_(y, a, x):
    """``y + a * x``, computed in place in the work array ``y`` (owned by the caller).

    For torch tensors this is one fused pass (``addcmul_``) that also accepts a
    0-d tensor ``a`` without reading it back to the host, so loops over long
    vectors on a GPU need no synchronisation and no temporary. Where the result
    needs a wider dtype than ``y`` (integer ``y``, mixed precision), a new array
    is returned instead; use the return value.
    """
    if isinstance(y, np.ndarray):
        if np.result_type(y, a, x) != y.dtype:
            return y + a * x
        y += a * x
        return y
    wider = y.dtype != x.dtype or not y.is_floating_point()
    if hasattr(a, "shape"):  # a 0-d tensor on y's device
        return y + a * x if wider or a.dtype != y.dtype else y.addcmul_(x, a)
    return y + a * x if wider else y.add_(x, alpha=a)


#: floating dtypes with no LAPACK / ``torch.linalg`` kernels
HALF_PRECISION = ("float16", "bfloat16")


def reject_half_precision(func, **arrays):
    """``TypeError`` when an array is float16 or bfloat16: the dtype policy.

    Linear solves, factorisations and the line searches' sufficient-decrease
    tests need at least float32 (float16's epsilon, ~1e-3, is the size of the
    decrease they measure), so half precision is refused with a message rather
    than silently upcast: the caller decides where the float32 copy lives.
    """
    for name, a in arrays.items():
        kind = str(getattr(a, "dtype", "")).removeprefix("torch.")
        if kind in HALF_PRECISION:
            raise TypeError(
                f"{func}: {name} is {kind}, which has no linear-algebra kernels and too "
                "little precision for the method; use float32 or float64 (e.g. "
                "x.float()), keeping float32 master weights for mixed-precision training"
            )
