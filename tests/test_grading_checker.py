"""The trust boundary's parts, without a kernel: the codec, the remote call, the checker.

The real autograde runs (``tests/test_grading_roundtrip.py``, ``tests/test_grading_hostile.py``)
drive them through nbgrader and a sandboxed kernel; here a "kernel" is a plain dict
namespace in which :func:`taylornet_grader.codec.kernel_call` runs, so each piece can be
checked, and made to fail, directly.
"""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("nbgrader", reason="the grading extra is not installed (make grade-env)")
pytest.importorskip("cloudpickle", reason="the grading extra is not installed")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402
from taylornet_grader.checker import (  # noqa: E402
    RemoteFunction,
    StudentError,
    TrustedChecker,
    free_names,
)
from taylornet_grader.codec import Unsupported, decode, encode, kernel_call  # noqa: E402
from taylornet_grader.sandbox import sandbox_memory, student_package  # noqa: E402

from taylornet.errors import LineSearchError  # noqa: E402

pytestmark = pytest.mark.grading

SETUP = """
import numpy as np

from taylornet.grading import expect_close, inputs_unchanged, print_warnings_to_stdout

print_warnings_to_stdout()
"""


def kernel(namespace: dict):
    """A stand-in for the kernel: runs the shim's call in ``namespace``, as JSON would carry it."""
    import json

    def call(name, payload):
        return json.loads(json.dumps(kernel_call(namespace, name, payload)))

    return call


# ------------------------------------------------------------------ the codec
@given(hnp.arrays(dtype=st.sampled_from([np.float64, np.float32, np.int64, np.bool_]),
                  shape=hnp.array_shapes(max_dims=3, max_side=4)))
def test_arrays_travel_exactly(array):
    back = decode(encode(array))
    assert back.dtype == array.dtype and np.array_equal(back, array, equal_nan=True)


def test_values_keep_their_kind():
    value = (1.5, float("nan"), -0.0, 7, True, np.bool_(False), np.float32(2.5), None, "x",
             [np.arange(3.0)], 1 + 2j)
    back = decode(encode(value))
    assert isinstance(back, tuple) and isinstance(back[9], list)
    assert np.isnan(back[1]) and str(back[2]) == "-0.0" and back[3] == 7
    assert back[4] is True and isinstance(back[5], np.bool_) and back[5] == np.False_
    assert back[6].dtype == np.float32 and back[7] is None and back[8] == "x"
    assert back[10] == 1 + 2j


def test_what_the_codec_does_not_carry_is_marked():
    assert isinstance(decode(encode({"a": 1})), Unsupported)
    assert isinstance(decode(encode(np.array([object()]))), Unsupported)
    assert isinstance(decode(encode(x for x in ())), Unsupported)


def test_decode_never_unpickles():
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    forged = {"ndarray": base64.b64encode(buffer.getvalue()).decode()}
    with pytest.raises(ValueError):
        decode(forged)
    for bad in ({"bogus": 1}, {"int": "1", "float": "2"}, [1, 2], 3.5):
        with pytest.raises(ValueError):
            decode(bad)


# ------------------------------------------------------------- remote calls
def test_a_remote_call_returns_the_value_and_mirrors_in_place_changes():
    namespace = {}
    exec("def gd_step(x, g, lr):\n    x -= lr * g\n    return x", namespace)
    gd = RemoteFunction("gd_step", kernel(namespace))
    x, g = np.array([1.0, 2.0]), np.array([1.0, 1.0])
    out = gd(x, g, 0.5)
    assert np.array_equal(out, [0.5, 1.5])
    assert np.array_equal(x, [0.5, 1.5])  # the kernel modified its copy: so is ours


def test_calls_to_given_functions_are_replayed_here():
    namespace = {}
    exec("def search(f, x):\n    return min(f(x), f(x + 1.0), f(x + 2.0))", namespace)
    calls = []

    def f(z):
        calls.append(z)
        return (z - 1.0) ** 2

    assert RemoteFunction("search", kernel(namespace))(f, 0.0) == 0.0
    assert calls == [0.0, 1.0, 2.0]  # counted on the grader's side


@pytest.mark.parametrize(("raised", "expected"), [
    ("raise ValueError('no')", ValueError),
    ("raise np.linalg.LinAlgError('singular')", np.linalg.LinAlgError),
    ("from taylornet.errors import LineSearchError\n    raise LineSearchError('x')",
     LineSearchError),
    ("raise NotImplementedError", NotImplementedError),
])
def test_exceptions_come_back_as_the_graders_classes(raised, expected):
    namespace = {"np": np}
    exec(f"def f(x):\n    {raised}", namespace)
    with pytest.raises(expected):
        RemoteFunction("f", kernel(namespace))(1.0)


def test_an_unknown_exception_class_is_a_student_error():
    namespace = {}
    exec("class Oops(Exception):\n    pass\ndef f():\n    raise Oops('x')", namespace)
    with pytest.raises(StudentError):
        RemoteFunction("f", kernel(namespace))()


def test_a_missing_function_is_a_name_error():
    with pytest.raises(NameError, match="'nope'"):
        RemoteFunction("nope", kernel({}))()


# ------------------------------------------------------------- the checker
TEST_CELL = """
x, g = np.array([1.0, -2.0]), np.array([0.5, 1.0])
with inputs_unchanged(x=x, g=g):
    x_new = gd_step(x, g, 0.1)
expect_close("gd_step", x_new, [0.95, -2.1], hint="x_new = x - lr g")
### BEGIN HIDDEN TESTS
import taylornet.grading as _grading  # noqa: E402

_grading.begin_hidden_tests()
from taylornet.grading import case, check_against_reference  # noqa: E402

check_against_reference(gd_step, "gd_step", [
    case(f"lr = {lr}", (np.arange(3.0), np.ones(3), lr)) for lr in (0.1, 0.0, 2.0)])
_grading.hidden_tests_score(1)  # None: all-or-nothing (the default)
### END HIDDEN TESTS
"""


def check(student_source: str, monkeypatch, partial: bool = False):
    monkeypatch.setenv("TAYLORNET_PARTIAL_CREDIT", "1" if partial else "0")
    namespace = {}
    exec(student_source, namespace)
    return TrustedChecker([SETUP], kernel(namespace)).run_cell(TEST_CELL, "gd_step_tests")


def test_the_checker_passes_a_correct_function(monkeypatch):
    outputs = check("def gd_step(x, g, lr):\n    return x - lr * g", monkeypatch)
    assert [o.output_type for o in outputs] == ["stream"]
    assert "ok: gd_step" in outputs[0].text


def test_the_checker_fails_a_wrong_function_with_the_hint(monkeypatch):
    outputs = check("def gd_step(x, g, lr):\n    return x + lr * g", monkeypatch)
    (error,) = [o for o in outputs if o.output_type == "error"]
    assert error.ename == "GradingFailure"
    assert error.traceback[1].strip().startswith("hint: x_new = x - lr g")


def test_partial_credit_is_the_cells_value(monkeypatch):
    # right for lr = 0.1 only: the visible check and one hidden case of three pass
    source = "def gd_step(x, g, lr):\n    return x - 0.1 * g"
    outputs = check(source, monkeypatch, partial=True)
    (result,) = [o for o in outputs if o.output_type == "execute_result"]
    assert float(result.data["text/plain"]) == pytest.approx(2 / 4)


def test_partial_credit_starts_afresh_in_every_cell(monkeypatch):
    """A cell that stopped early (an exception) leaves no count behind for the next one."""
    monkeypatch.setenv("TAYLORNET_PARTIAL_CREDIT", "1")
    namespace = {}
    exec("def gd_step(x, g, lr):\n    return x - 0.1 * g", namespace)
    checker = TrustedChecker([SETUP], kernel(namespace))
    checker.run_cell("expect_close('a', 1.0, 2.0)\nexpect_close('b', 1.0, 3.0)\n"
                     "raise ValueError('stopped')", "broken")
    outputs = checker.run_cell(TEST_CELL, "gd_step_tests")
    (result,) = [o for o in outputs if o.output_type == "execute_result"]
    assert float(result.data["text/plain"]) == pytest.approx(2 / 4)


def test_the_checker_never_sends_test_code_to_the_kernel(monkeypatch):
    sent = []

    def spy(name, payload):
        sent.append(payload)
        namespace = {}
        exec("def gd_step(x, g, lr):\n    return x - lr * g", namespace)
        return kernel(namespace)(name, payload)

    monkeypatch.setenv("TAYLORNET_PARTIAL_CREDIT", "0")
    TrustedChecker([SETUP], spy).run_cell(TEST_CELL, "gd_step_tests")
    assert len(sent) == 4  # one visible call and three hidden cases: data only
    for payload in sent:
        raw = base64.b64decode(payload)
        assert b"check_against_reference" not in raw and b"HIDDEN" not in raw


def test_free_names():
    import ast

    tree = ast.parse("import numpy as np\ndef f(a):\n    return a + b\ny = f(x) + np.pi")
    assert free_names(tree) == {"b", "x"}


# ------------------------------------------------------- the kernel's side
def test_the_student_package_has_no_reference(tmp_path):
    site = student_package(str(tmp_path / "site"))
    code = ("import taylornet.grading as g, taylornet.errors\n"
            "assert not hasattr(g, 'check_against_reference')\n"
            "try:\n    import taylornet.rules\nexcept ModuleNotFoundError as e:\n    print(e)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": site}, check=True)
    assert "is not available while a notebook is graded" in run.stdout


@pytest.mark.skipif(not hasattr(os, "memfd_create"), reason="no memfd_create")
def test_the_watchdog_counts_memfds():
    before = sandbox_memory(os.getpid(), sandboxed=False)
    fd = os.memfd_create("hoard")
    try:
        chunk = b"x" * 2**20
        for _ in range(64):
            os.write(fd, chunk)
        assert sandbox_memory(os.getpid(), sandboxed=False) - before >= 60 * 2**20
    finally:
        os.close(fd)
