"""What a student's notebook imports: the visible tests' checks, and nothing that grades.

The set-up cell of every problem set imports from ``taylornet.grading``; inside the
grading sandbox that name is this module alone (the references, the tripwire and
the hidden-test checks are not there to call or patch: ``exercises/README.md``,
"The trust boundary"). It needs NumPy only.

* :func:`expect_close`, :func:`expect_equal`, :func:`expect_true`,
  :func:`expect_raises`, :func:`expect_tuple` print an ``ok:`` line or raise
  :class:`GradingFailure`, which Jupyter shows as its message alone: the check,
  a hint naming the idea, then the expected and the actual values, in lines that
  ``nbgrader validate`` shows whole.
* :func:`inputs_unchanged` runs a call and fails if it modified an argument (and,
  outside the sandbox, if it used the ``taylornet`` reference).
* :func:`print_warnings_to_stdout`: a warning is a note, never a lost point.
* Partial credit (off by default): :func:`begin_hidden_tests`,
  :func:`hidden_tests_score` and the count of passed and failed checks per cell.

The comparisons never look anything up on ``numpy`` when they run: the functions
they need are bound to private names at import, before any student code runs.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import warnings
from textwrap import fill as _fill
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_ATOL_SCALE",
    "DEFAULT_RTOL",
    "MESSAGE_WIDTH",
    "PARTIAL_CREDIT_ENV",
    "GradingFailure",
    "ReferenceCallError",
    "assert_close",
    "begin_hidden_tests",
    "expect_close",
    "expect_equal",
    "expect_raises",
    "expect_true",
    "expect_tuple",
    "hidden_tests_score",
    "inputs_unchanged",
    "print_warnings_to_stdout",
]

#: ``1`` in the environment of the kernel: partial credit per hidden case (off by default).
PARTIAL_CREDIT_ENV = "TAYLORNET_PARTIAL_CREDIT"

#: Relative tolerance of every comparison.
DEFAULT_RTOL = 1e-9
#: Absolute tolerance, as a multiple of the largest magnitude of the expected array.
DEFAULT_ATOL_SCALE = 1e-12


# --------------------------------------------------------------------------
# Private references, captured at import (before any student code runs).
# --------------------------------------------------------------------------
_asarray = np.asarray
_ndarray = np.ndarray
_float64 = np.float64
_bool_ = np.bool_
_str_eq = str.__eq__
_subtract = np.subtract
_add = np.add
_multiply = np.multiply
_absolute = np.absolute
_less_equal = np.less_equal
_equal = np.equal
_isnan = np.isnan
_isfinite = np.isfinite
_logical_or = np.logical_or
_logical_and = np.logical_and
_logical_not = np.logical_not
_where = np.where
_unravel_index = np.unravel_index
_errstate = np.errstate
_array2string = np.array2string
_catch_warnings = warnings.catch_warnings
_simplefilter = warnings.simplefilter
_INF = float("inf")


class GradingFailure(AssertionError):
    """A failed check. Jupyter shows its message alone: the hint first, no library frames.

    IPython renders an exception through ``_render_traceback_`` when it has one;
    the lines returned here are also what ``nbgrader validate`` prints (it cuts
    lines past 87 columns, so messages keep to short lines).
    """

    def _render_traceback_(self) -> list[str]:
        lines = str(self).splitlines() or [""]
        lines[0] = f"{type(self).__name__}: {lines[0]}"
        shown = []
        for line in lines:  # fold long lines, keeping their indent
            indent = " " * (len(line) - len(line.lstrip()))
            shown += _fill(line, width=MESSAGE_WIDTH, subsequent_indent=indent + "  ",
                           break_on_hyphens=False).splitlines() or [""]
        return shown


class ReferenceCallError(GradingFailure):
    """A student function called (or copied) the ``taylornet`` reference."""


@contextlib.contextmanager
def _quiet():
    """Silence Python warnings and NumPy floating-point warnings."""
    with _catch_warnings():
        _simplefilter("ignore")
        with _errstate(all="ignore"):
            yield


# --------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------
#: Messages keep to lines of this width (``nbgrader validate`` cuts lines past 87 columns).
MESSAGE_WIDTH = 78


def _format_array(a: Any, precision: int = 8) -> str:
    try:
        arr = _asarray(a)
        if arr.ndim == 0:
            return repr(arr.item())
        text = _array2string(arr, precision=precision, separator=", ", threshold=24,
                             max_line_width=MESSAGE_WIDTH - 12)
        return text.replace("\n", "\n" + " " * 12)
    except Exception:  # noqa: BLE001 - only used to build a message
        return repr(a)


def _wrap(text: str, indent: str) -> str:
    """``text`` folded to :data:`MESSAGE_WIDTH` columns, continuation lines indented."""
    return _fill(text, width=MESSAGE_WIDTH, initial_indent=indent,
                 subsequent_indent=" " * len(indent), break_on_hyphens=False)


def _lines(**parts: str) -> str:
    """``  hint: ...`` / ``  case: ...`` lines, in the order given, skipping empty ones."""
    return "\n".join(_wrap(text, f"  {key}: ") for key, text in parts.items() if text)


def _tail(*parts: str) -> str:
    """The lines after a headline: the non-empty ``parts``, one per line."""
    body = "\n".join(p for p in parts if p)
    return "\n" + body if body else ""


def _as_float_array(value: Any, name: str) -> np.ndarray:
    """``value`` as a float64 array, or an ``AssertionError`` that says why not."""
    if value is None:
        raise GradingFailure(f"{name} is None: did the function forget to `return` its result?")
    try:
        with _quiet():
            arr = _asarray(value, dtype=_float64)
    except (TypeError, ValueError) as exc:
        raise GradingFailure(
            f"{name} could not be read as an array of numbers "
            f"(got a {type(value).__name__}: {exc})"
        ) from None
    return arr


def _mismatch(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float | None):
    """``None`` when close, else ``(n_bad, index, error, tolerance)`` of the worst entry."""
    with _errstate(all="ignore"):
        abs_expected = _absolute(expected)
        finite = _isfinite(abs_expected)
        scale = float(abs_expected[finite].max()) if finite.any() else 0.0
        if atol is None:
            atol = DEFAULT_ATOL_SCALE * scale
        error = _absolute(_subtract(actual, expected))
        tolerance = _add(atol, _multiply(rtol, abs_expected))
        ok = _logical_or(_less_equal(error, tolerance), _equal(actual, expected))
        ok = _logical_or(ok, _logical_and(_isnan(actual), _isnan(expected)))
        bad = _logical_not(ok)
        n_bad = int(bad.sum())
        if n_bad == 0:
            return None
        # rank the bad entries by error, NaN/inf errors first
        ranking = _where(bad, _where(_isnan(error), _INF, error), -1.0)
        flat = int(ranking.argmax())
    index = _unravel_index(flat, actual.shape) if actual.ndim else ()
    return n_bad, tuple(int(i) for i in index), float(error[index]), float(tolerance[index])


def assert_close(actual, expected, *, name="result", rtol=DEFAULT_RTOL, atol=None, context=""):
    """:func:`_assert_close`, counted as one check of the cell (see :func:`hidden_tests_score`)."""
    _tally(functools.partial(_assert_close, actual, expected, name=name, rtol=rtol, atol=atol,
                             context=context))


def _assert_close(actual, expected, *, name="result", rtol=DEFAULT_RTOL, atol=None, context=""):
    """Assert that ``actual`` equals ``expected`` entrywise within tolerance.

    ``|actual - expected| <= atol + rtol*|expected|`` for every entry, where
    ``atol`` defaults to ``DEFAULT_ATOL_SCALE * max|expected|`` (so tiny arrays
    are compared relatively, not swamped by a fixed absolute tolerance).
    Shapes must agree exactly; NaN matches only NaN. The :class:`GradingFailure`
    names the check, then ``context`` (the hint and the case), then both arrays
    and the worst entry.
    """
    exp = _asarray(expected, dtype=_float64)
    act = _as_float_array(actual, name)
    if act.shape != exp.shape:
        raise GradingFailure(
            f"{name} has shape {act.shape}, expected shape {exp.shape}"
            + _tail(context, f"  expected: {_format_array(exp)}",
                    f"  got:      {_format_array(act)}")
        )
    found = _mismatch(act, exp, rtol, atol)
    if found is None:
        return
    n_bad, index, error, tolerance = found
    where = f"entry {list(index)}" if index else "the value"
    worst = (f"  worst, {where}: expected {float(exp[index]):.12g}, "
             f"got {float(act[index]):.12g}")
    if tolerance < error < 1e6 * tolerance:
        worst += "\n" + _wrap(f"|error| {error:.2g} is {error / tolerance:.0f} times the "
                              "tolerance: too large for rounding, look at the formula", "  ")
    raise GradingFailure(
        f"{name} is wrong in {n_bad} of {exp.size} entries"
        + _tail(context, f"  expected: {_format_array(exp)}",
                f"  got:      {_format_array(act)}", worst)
    )


def expect_close(label, got, expected, *, hint="", rtol=DEFAULT_RTOL, atol=None):
    """Visible-test check: print an ``ok:`` line when ``got`` matches, else fail with ``hint``."""
    if _tally(functools.partial(assert_close, got, expected, name=label, rtol=rtol, atol=atol,
                                context=_lines(hint=hint))):
        print(f"ok: {label} = {_format_array(got)}")


def expect_true(label, condition, *, hint="", detail=""):
    """Visible-test check of a property (symmetry, a secant equation, a sign): ``ok:`` or fail."""
    def check():
        if condition is None or not bool(condition):
            raise GradingFailure(f"{label}: not so" + _tail(_lines(hint=hint), _lines(got=detail)))

    if _tally(check):
        print(f"ok: {label}")


def expect_tuple(result, n, name, *, hint=""):
    """Unpack ``result`` into ``n`` values, failing with a message instead of a ``ValueError``."""
    if not isinstance(result, (tuple, list)) or len(result) != n:
        what = f"a {type(result).__name__}"
        if isinstance(result, (tuple, list)):
            what += f" of length {len(result)}"
        raise GradingFailure(f"{name} should return a tuple of {n} arrays, got {what}"
                             + _tail(_lines(hint=hint)))
    return tuple(result)


def expect_equal(label, got, expected, *, hint=""):
    """Visible-test check for text and truth values: exact equality, then an ``ok:`` line.

    A ``str`` must be matched by a ``str`` and a ``bool`` by a bool (Python or
    NumPy); anything else is compared with ``==``.
    """
    if isinstance(expected, str):
        same = isinstance(got, str) and _str_eq(got, expected)
    elif isinstance(expected, (bool, _bool_)):
        same = _same_bool(got, expected)
    else:
        try:
            same = bool(got == expected)
        except Exception:  # noqa: BLE001 - an array compared elementwise, say
            same = False

    def check():
        if same:
            return
        if got is None:
            raise GradingFailure(f"{label} is None: did the function forget to `return` it?")
        raise GradingFailure(f"{label} is wrong" + _tail(
            _lines(hint=hint), f"  expected: {expected!r}", f"  got:      {got!r}"))

    if _tally(check):
        print(f"ok: {label} = {got!r}")


@contextlib.contextmanager
def expect_raises(exception, label, *, hint=""):
    """Visible-test check: the code in the ``with`` block must raise ``exception``.

    >>> with expect_raises(ValueError, "armijo_backtracking along an ascent direction"):
    ...     armijo_backtracking(f, x, f(x), g, g)

    Prints an ``ok:`` line when it does. ``NotImplementedError`` (an unsolved
    exercise) passes through unchanged; another exception, or none, fails with
    a message. Warnings are silenced inside the block.
    """
    wanted = exception.__name__
    try:
        with _quiet():
            yield
    except NotImplementedError:
        raise
    except exception as exc:
        _tally(lambda: None)
        print(f"ok: {label} raised {type(exc).__name__}: {exc}")
        return
    except Exception as exc:
        failure = GradingFailure(
            f"{label} should raise {wanted}, but it raised {type(exc).__name__}"
            + _tail(_lines(hint=hint, got=f"{type(exc).__name__}: {exc}")))
        failure.__cause__ = exc
    else:
        failure = GradingFailure(f"{label} should raise {wanted}, but it raised nothing"
                                 + _tail(_lines(hint=hint)))
    _tally(functools.partial(_raise, failure))  # raises, unless partial credit is on


def _same_bool(value, want) -> bool:
    return isinstance(value, (bool, _bool_)) and bool(value) is bool(want)


def _raise(failure: BaseException):
    raise failure


def _snapshot(value):
    """A copy of an array, or of a list/tuple of arrays (L-BFGS histories); else ``value``."""
    if isinstance(value, _ndarray):
        return value.copy()
    if type(value) in (list, tuple):
        return type(value)(_snapshot(v) for v in value)
    return value


def _unchanged(before, after) -> bool:
    if isinstance(before, _ndarray):
        if not isinstance(after, _ndarray) or before.shape != after.shape:
            return False
        with _errstate(all="ignore"):
            same = _logical_or(_equal(before, after), _logical_and(_isnan(before), _isnan(after)))
        return bool(same.all())
    if type(before) in (list, tuple):
        if type(after) is not type(before) or len(after) != len(before):
            return False
        return all(_unchanged(b, a) for b, a in zip(before, after, strict=True))
    return True


@contextlib.contextmanager
def inputs_unchanged(**arrays):
    """Run a visible test's call: it must not modify the named arrays, nor use the reference.

    >>> with inputs_unchanged(x=x, g=g):
    ...     x_new = gd_step(x, g, 0.1)

    The block runs under :class:`reference_tripwire`, as the hidden tests do, so
    a solution that calls ``taylornet``'s reference learns it before submitting.
    """
    before = {name: _snapshot(a) for name, a in arrays.items()}
    with _reference_tripwire():
        yield
    for name, a in arrays.items():
        if not _unchanged(before[name], a):
            _tally(functools.partial(_raise, GradingFailure(
                f"the argument `{name}` was modified in place" + _tail(_lines(
                    hint="an update rule builds new arrays (x_new = x - lr * g); "
                         "x -= lr * g overwrites the caller's x",
                    was=_format_array(before[name]), now=_format_array(a))))))


def _reference_tripwire():
    """The tripwire of :mod:`taylornet.grading` where the references exist; else nothing.

    Inside the grading sandbox the references are not installed: nothing to trip on.
    """
    if _TRIPWIRE_OFF:
        return contextlib.nullcontext()
    try:
        from taylornet.grading import reference_tripwire
    except ImportError:
        return contextlib.nullcontext()
    return reference_tripwire()


def print_warnings_to_stdout() -> None:
    """Show Python and NumPy warnings on stdout, as notes, for the rest of the session.

    ``nbgrader`` scores a test cell that writes to stderr as failed, and a
    warning (``RuntimeWarning: divide by zero``) goes to stderr. The set-up cell
    of every problem set calls this, so a cell's verdict depends on its checks
    alone; the warning is still shown, on stdout, where it costs nothing.
    """

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"note: {category.__name__}: {message} (line {lineno})", file=sys.stdout)

    warnings.showwarning = show


# --------------------------------------------------------------------------
# Partial credit: the checks of one test cell, counted
# --------------------------------------------------------------------------
class _Tally:
    """The checks of the test cell that runs now: how many passed, the failures' messages."""

    cell: object = None
    passed = 0
    failed: list = []
    depth = 0  # > 0 while a counted check runs: the checks inside it are not counted again


#: Set by the grader's checker while it runs a test cell (:mod:`taylornet_grader.checker`).
_CELL_KEY: object = None
#: ``True`` while the grader's checker runs a cell: the student's code runs elsewhere.
_TRIPWIRE_OFF = False
#: Set by the grader while it records a cell's cases (``taylornet.grading.CaseRecorder``):
#: told of every failed check; ``True`` lets an all-or-nothing cell go on to its other checks.
_ON_FAILURE = None


def _current_cell() -> object:
    """The cell being checked: the grader's key, the kernel's execution count, or ``None``."""
    if _CELL_KEY is not None:
        return _CELL_KEY
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "execution_count", None)


def _this_cell() -> type[_Tally]:
    cell = _current_cell()
    if cell != _Tally.cell:
        _Tally.cell, _Tally.passed, _Tally.failed = cell, 0, []
    return _Tally


def _partial_credit() -> bool:
    return os.environ.get(PARTIAL_CREDIT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def begin_hidden_tests() -> None:
    """The first line of every hidden block: count from here if the cell's count was lost."""
    tally = _this_cell()
    if _current_cell() is None:
        tally.passed, tally.failed = 0, []


def _tally(run_check) -> bool:
    """Run one check (a visible check or a hidden case) and count it.

    All-or-nothing (the default): a failure raises. With partial credit on, a
    failure is counted and printed, and the cell goes on. Calling the reference
    always raises: it scores nothing, not a fraction.
    """
    _Tally.depth += 1
    try:
        run_check()
    except ReferenceCallError:
        raise
    except GradingFailure as failure:
        if _Tally.depth > 1:
            raise
        keep_going = _ON_FAILURE is not None and _ON_FAILURE(failure)
        if not _partial_credit():
            if keep_going:  # the grader records every check; the verdict is the first failure
                return False
            raise
        tally = _this_cell()
        tally.failed.append(str(failure))
        print("\n".join(failure._render_traceback_()))
        return False
    finally:
        _Tally.depth -= 1
    if _Tally.depth == 0:
        _this_cell().passed += 1
    return True


def hidden_tests_score(points: float):
    """The last line of every hidden block: ``None`` (all-or-nothing), or the points earned.

    With partial credit on (``TAYLORNET_PARTIAL_CREDIT=1``) the cell's value is
    ``points`` times the fraction of its checks that passed (each visible
    ``expect_*`` check and each hidden case compared with the reference, or
    expected to raise, counts once), which nbgrader records as the cell's score.
    A plain ``assert`` on a property, an exception of the student's code, or a
    call of the reference still fails the whole cell.
    """
    tally = _this_cell()
    passed, failed = tally.passed, len(tally.failed)
    tally.passed, tally.failed = 0, []
    if not _partial_credit() or failed == 0:
        return None
    score = float(points) * passed / (passed + failed)
    print(f"partial credit: {passed} of {passed + failed} checks pass")
    return round(score, 6)
