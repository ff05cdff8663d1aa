"""Calls of a student's function across the trust boundary, and a codec that is safe to read.

When ``nbgrader autograde`` grades a notebook, its test cells run in the grader's
process (:class:`taylornet_grader.checker.TrustedChecker`), not in the student's
kernel. Each call of a student function there is sent to the kernel, which runs it
and sends back what it returned:

* grader -> kernel: the arguments, pickled with ``cloudpickle`` (test inputs may be
  functions, e.g. the ``f`` of a line search). Only the kernel unpickles them.
* kernel -> grader: the result, the arguments' state after the call (a function
  that modifies its input in place is caught), the calls the function made to the
  callables it was given (replayed on the grader's side, so that a test counting
  gradient evaluations counts them), or the exception it raised. All of it in the
  format of :func:`encode`, which :func:`decode` reads without ever unpickling:
  NumPy arrays travel as ``.npy`` bytes read with ``allow_pickle=False``, numbers,
  strings, ``None``, tuples and lists as tagged JSON values. Anything else comes
  back as an :class:`Unsupported` marker, which no comparison accepts.

This module is sent into the kernel as source text (the grading sandbox does not
install ``taylornet``), so it imports only the standard library and NumPy, and
:func:`kernel_call` is the only function the kernel runs.
"""

from __future__ import annotations

import base64
import io

import numpy as np

#: The MIME type of the display message that carries a result from the kernel.
RESULT_MIME = "application/vnd.taylornet.call+json"
#: The largest encoded array the grader reads back (a result larger than this fails).
MAX_ARRAY_BYTES = 64 * 2**20
_MAX_DEPTH = 8


class Unsupported:
    """A returned value the codec does not carry (a generator, a dict, an object)."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<a {self.type_name}, which a grader cannot check>"


def _npy(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def encode(value, depth: int = 0):
    """``value`` as JSON-compatible data; arrays as ``.npy``, floats exactly (``float.hex``)."""
    if depth > _MAX_DEPTH:
        return {"unsupported": "structure nested too deeply"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": value.hex()}
    if isinstance(value, complex):
        return {"complex": [value.real.hex(), value.imag.hex()]}
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            return {"unsupported": "NumPy array of Python objects"}
        return {"ndarray": _npy(value)}
    if isinstance(value, np.generic):
        if isinstance(value, np.object_):
            return {"unsupported": "NumPy object scalar"}
        return {"scalar": _npy(np.asarray(value))}
    if type(value) in (tuple, list):
        return {type(value).__name__: [encode(v, depth + 1) for v in value]}
    return {"unsupported": type(value).__name__}


def decode(data, depth: int = 0):
    """The value :func:`encode` wrote; never unpickles, refuses oversized arrays."""
    if depth > _MAX_DEPTH:
        raise ValueError("encoded value nested too deeply")
    if data is None or isinstance(data, (bool, str)):
        return data
    if not isinstance(data, dict) or len(data) != 1:
        raise ValueError(f"not an encoded value: {str(data)[:80]}")
    ((tag, payload),) = data.items()
    if tag == "int":
        return int(payload)
    if tag == "float":
        return float.fromhex(payload)
    if tag == "complex":
        return complex(float.fromhex(payload[0]), float.fromhex(payload[1]))
    if tag in ("ndarray", "scalar"):
        raw = base64.b64decode(payload, validate=True)
        if len(raw) > MAX_ARRAY_BYTES:
            raise ValueError(f"array of {len(raw)} bytes: larger than the grader reads")
        array = np.load(io.BytesIO(raw), allow_pickle=False)
        return array[()] if tag == "scalar" else array
    if tag in ("tuple", "list"):
        items = [decode(v, depth + 1) for v in payload]
        return tuple(items) if tag == "tuple" else items
    if tag == "unsupported":
        return Unsupported(str(payload))
    raise ValueError(f"unknown tag {tag!r}")


def kernel_call(namespace: dict, name: str, payload: str) -> dict:
    """Run in the kernel: call ``namespace[name]`` on the pickled arguments; report as data."""
    import pickle
    import warnings

    args, kwargs = pickle.loads(base64.b64decode(payload))
    function = namespace.get(name)
    if function is None:
        return {"missing": name}
    calls: list = []

    def logged(key, f):
        def call(*a, **k):
            calls.append([key, encode(list(a)), encode(list(k.items()))])
            return f(*a, **k)

        return call

    args = [logged(i, a) if callable(a) else a for i, a in enumerate(args)]
    kwargs = {k: logged(k, v) if callable(v) else v for k, v in kwargs.items()}
    report: dict = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            report["value"] = encode(function(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - reported to the grader, which decides
            kind = type(exc)
            report["raised"] = [kind.__module__, kind.__qualname__, str(exc)[:4000]]
    report["args_after"] = [None if callable(a) else encode(a) for a in args]
    report["kwargs_after"] = {k: None if callable(v) else encode(v) for k, v in kwargs.items()}
    report["calls"] = calls
    return report


def publish(report: dict) -> None:
    """Run in the kernel: send ``report`` to the grader as a display message."""
    from IPython.display import publish_display_data

    publish_display_data({RESULT_MIME: report})
