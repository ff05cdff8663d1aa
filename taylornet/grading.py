"""Grading helpers for the nbgrader exercises in ``exercises/source``.

The exercises import this module in a locked cell that runs *before* any
student code, and their test cells use it in three ways.

**Comparisons a student cannot switch off.**
:func:`assert_close`, :func:`expect_close` and :func:`check_against_reference`
never look anything up on the ``numpy`` module when they run. Every NumPy
function they need (ufuncs such as ``np.subtract`` and ``np.less_equal``,
``np.asarray``, ``np.errstate``) is bound to a private name when this module is
first imported, and the rest is done with ``ndarray`` methods, which cannot be
reassigned. A solution cell that runs ``np.allclose = lambda *a, **k: True``
or replaces ``np.testing.assert_allclose`` with a no-op changes nothing here.
Failures raise ``AssertionError`` with the expected and the actual values, the
worst entry and the tolerance, and in hidden tests the case and a hint.

**A tripwire against calling the reference.**
The contract says that a student function which merely calls the ``taylornet``
reference scores nothing. Inside ``with reference_tripwire():``

* the ``__code__`` of every function defined in ``taylornet.rules``,
  ``taylornet.curvature`` and ``taylornet.grading_refs`` (the references of
  the exercises outside the contract), public or private, is swapped for a
  tripwire that records the call and raises :class:`ReferenceCallError`.
  Because the function *objects* are patched in place, every route to them
  trips: the module attribute, ``from taylornet.rules import adam_step as a``,
  ``getattr``, ``functools.partial``, a solver in ``taylornet`` that calls the
  rule, ...
* a profile hook (``sys.setprofile``) records any frame that runs an original
  reference code object (a copy built with ``types.FunctionType(f.__code__,
  ...)`` before the swap), or a code object with the same bytecode, names and
  constants as a public reference (its source pasted and ``exec``-ed);
* the :func:`reference` accessors of this module refuse to run.

A call is recorded even when the student code catches the exception, and the
context manager raises :class:`ReferenceCallError` on exit. Everything is
restored in ``finally`` blocks. The grader never calls the public functions:
at import it keeps private copies (``types.FunctionType(f.__code__,
f.__globals__, ...)``) of every reference and evaluates those, *outside* the
tripwire, through :func:`reference`.

**One-call hidden tests.**
``check_against_reference(student_fn, "adam_step", cases, outputs=...)`` runs
the student function and the reference on every :class:`Case`, on separate
copies of the inputs, and checks that the student function

* is not the reference itself or a copy of its code,
* does not call the reference (it runs inside the tripwire),
* does not modify any of its array arguments,
* returns the right structure (a tuple of the right length, NumPy arrays of
  the right shape), and
* matches the reference to ``rtol = 1e-9`` (plus an absolute tolerance of
  ``1e-12`` times the largest magnitude of the expected array).

Returned strings and bools must match exactly (a ``str``, a ``bool``).

**Other hidden and visible tests.**
:func:`check_raises` demands the reference's exception (``ValueError`` for an
ascent direction, ``LineSearchError`` after ``max_iter`` reductions) under the
same guards; :func:`run_student` calls the student function under those guards
and returns its result, for tests of properties (a secant condition, an
eigenvector up to sign). Visible tests use :func:`expect_close`,
:func:`expect_equal`, :func:`expect_tuple`, :func:`expect_raises` and
:func:`inputs_unchanged`, which print an ``ok:`` line or fail with a message.

Warnings never cost points (nbgrader gives zero points to a test cell that
writes anything to stderr): the student code runs with warnings silenced in
hidden tests, and the set-up cell of each problem set calls
:func:`print_warnings_to_stdout`, so that a warning in a visible test is a note
on stdout. The values are judged, not the warnings.

Failures raise :class:`GradingFailure` (an ``AssertionError``), which Jupyter
shows as its message alone: the check, the hint, the case, then the values,
in lines short enough for ``nbgrader validate``.

Limits. A notebook runs student code in the grader's process, so a determined
student can defeat any in-process check (by patching this module, for
instance). These helpers stop the accidental and the casual: a reassigned
``np.allclose``, a solution that calls, aliases or copies the reference.

Importing this module is cheap: NumPy and ``taylornet.rules`` only, no torch.
``taylornet.curvature`` and ``taylornet.grading_refs`` are registered the first
time a tripwire or a reference needs it.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import inspect
import io
import sys
import types
import warnings
from typing import NamedTuple

import numpy as np

from taylornet import grading_visible
from taylornet.grading_visible import (
    DEFAULT_ATOL_SCALE,
    DEFAULT_RTOL,
    MESSAGE_WIDTH,
    PARTIAL_CREDIT_ENV,
    GradingFailure,
    ReferenceCallError,
    _format_array,
    _lines,
    _ndarray,
    _partial_credit,
    _quiet,
    _same_bool,
    _snapshot,
    _str_eq,
    _tally,
    _unchanged,
    assert_close,
    begin_hidden_tests,
    expect_close,
    expect_equal,
    expect_raises,
    expect_true,
    expect_tuple,
    hidden_tests_score,
    inputs_unchanged,
    print_warnings_to_stdout,
)

__all__ = [
    "DEFAULT_ATOL_SCALE",
    "DEFAULT_RTOL",
    "MESSAGE_WIDTH",
    "PARTIAL_CREDIT_ENV",
    "Case",
    "GradingFailure",
    "ReferenceCallError",
    "assert_close",
    "assert_not_reference",
    "begin_hidden_tests",
    "case",
    "check_against_reference",
    "check_raises",
    "expect_close",
    "expect_equal",
    "expect_raises",
    "expect_true",
    "expect_tuple",
    "hidden_tests_score",
    "inputs_unchanged",
    "print_warnings_to_stdout",
    "reference",
    "reference_tripwire",
    "run_student",
]


#: Packages whose functions are references: CONTRACT.md's, and the references of the
#: exercises that are not in the contract (:mod:`taylornet.grading_refs`).
GUARDED_PACKAGES = ("taylornet.rules", "taylornet.curvature", "taylornet.grading_refs")

_bool_ = np.bool_
_getprofile = sys.getprofile
_setprofile = sys.setprofile
_FunctionType = types.FunctionType
_CodeType = types.CodeType


# --------------------------------------------------------------------------
# References and the tripwire
# --------------------------------------------------------------------------
class _Guarded(NamedTuple):
    qualname: str
    function: types.FunctionType
    code: types.CodeType
    defaults: tuple | None
    kwdefaults: dict | None
    private: types.FunctionType
    public: bool


def _code_key(code):
    """What survives copying a function's source: bytecode, names, constants."""
    consts = tuple(c for c in code.co_consts if not isinstance(c, _CodeType))
    try:
        key = (code.co_code, code.co_names, code.co_varnames, code.co_argcount, consts)
        hash(key)
    except TypeError:
        return None
    return key


_REGISTRY: dict[int, _Guarded] = {}  # id(function) -> entry
_BY_NAME: dict[str, _Guarded] = {}  # "adam_step" and "taylornet.rules.adam_step" -> entry
_ORIGINAL_CODE_IDS: dict[int, _Guarded] = {}  # id(original __code__) -> entry
_PUBLIC_KEYS: dict[tuple, _Guarded] = {}  # _code_key of public references -> entry
_UNGUARDED: list[str] = []  # functions whose code cannot be swapped (closures)


def _private_copy(f):
    g = _FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)
    g.__kwdefaults__ = dict(f.__kwdefaults__) if f.__kwdefaults__ else None
    g.__doc__ = f.__doc__
    g.__qualname__ = f.__qualname__
    g.__module__ = f.__module__
    return g


def _register_package(package_name: str) -> None:
    """Register every function defined in ``package_name`` and its loaded submodules."""
    package = importlib.import_module(package_name)
    exported = set(getattr(package, "__all__", ()))
    prefix = package_name + "."
    modules = [m for n, m in list(sys.modules.items()) if n == package_name or n.startswith(prefix)]
    for module in modules:
        for attr, f in list(vars(module).items()):
            if not isinstance(f, _FunctionType) or f.__module__ != module.__name__:
                continue
            if id(f) in _REGISTRY:
                continue
            public = attr in exported
            entry = _Guarded(
                qualname=f"{package_name}.{attr}" if public else f"{module.__name__}.{attr}",
                function=f,
                code=f.__code__,
                defaults=f.__defaults__,
                kwdefaults=f.__kwdefaults__,
                private=_private_copy(f),
                public=public,
            )
            _REGISTRY[id(f)] = entry
            _ORIGINAL_CODE_IDS[id(f.__code__)] = entry
            _BY_NAME.setdefault(f"{module.__name__}.{attr}", entry)
            if public:
                _BY_NAME.setdefault(attr, entry)
                _BY_NAME[f"{package_name}.{attr}"] = entry
                key = _code_key(f.__code__) if f.__closure__ is None else None
                if key is not None:
                    _PUBLIC_KEYS.setdefault(key, entry)


def _register_all() -> None:
    for name in GUARDED_PACKAGES:
        try:
            _register_package(name)
        except ImportError:  # a package still being written: nothing to guard
            pass


def _lookup(name: str) -> _Guarded:
    if name not in _BY_NAME:
        _register_all()
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"no taylornet reference called {name!r}") from None


class _TripwireState:
    def __init__(self):
        self.active = False
        self.hits: list[str] = []
        self.code_verdicts: dict = {}  # id(code) -> (code, entry or None): the profiler's memo
        self.tripwire_codes: dict = {}  # id(tripwire code) -> entry


_STATE = _TripwireState()


def _record(entry_name: str, how: str) -> None:
    _STATE.hits.append(f"{entry_name} ({how})")


def _hit_message(extra: str = "") -> str:
    names = ", ".join(dict.fromkeys(_STATE.hits))
    return (
        f"the code under test used the taylornet reference: {names}. "
        "Write the update yourself with NumPy; a solution that calls, aliases or "
        f"copies the reference scores nothing.{extra}"
    )


def _tripwire_template(*args, **kwargs):
    # Runs with the *reference module's* globals, so it imports what it needs.
    import taylornet.grading

    return taylornet.grading._tripwire_hit()


def _tripwire_hit():
    code = sys._getframe(1).f_code
    entry = _STATE.tripwire_codes.get(id(code))
    name = entry.qualname if entry is not None else code.co_name
    _record(name, "called")
    raise ReferenceCallError(_hit_message())


def _profiler(previous):
    def profile(frame, event, arg):
        if event == "call":
            code = frame.f_code
            memo = _STATE.code_verdicts.get(id(code))
            if memo is None or memo[0] is not code:
                entry = _ORIGINAL_CODE_IDS.get(id(code))
                if entry is None or entry.code is not code:
                    key = _code_key(code)
                    entry = _PUBLIC_KEYS.get(key) if key is not None else None
                memo = (code, entry)
                _STATE.code_verdicts[id(code)] = memo
            if memo[1] is not None:
                _record(memo[1].qualname, "copied code ran")
        if previous is not None:  # chain to a profiler that was already there
            try:
                previous(frame, event, arg)
            except Exception:  # noqa: BLE001 - a foreign profiler must not fail the grading
                pass

    return profile


def _swap_in() -> list:
    swapped = []
    template = _tripwire_template.__code__
    for entry in _REGISTRY.values():
        f = entry.function
        if f.__closure__ is not None:
            if entry.qualname not in _UNGUARDED:
                _UNGUARDED.append(entry.qualname)
            continue
        replace = {"co_name": f.__name__}
        if sys.version_info >= (3, 11):
            replace["co_qualname"] = f.__qualname__
        trip = template.replace(**replace)
        _STATE.tripwire_codes[id(trip)] = entry
        swapped.append((entry, trip))
        f.__code__ = trip
        f.__defaults__ = None
        f.__kwdefaults__ = None
    return swapped


def _swap_out(swapped: list) -> None:
    for entry, trip in swapped:
        f = entry.function
        f.__code__ = entry.code
        f.__defaults__ = entry.defaults
        f.__kwdefaults__ = entry.kwdefaults
        _STATE.tripwire_codes.pop(id(trip), None)


class reference_tripwire:  # noqa: N801 - used as a context manager, reads like one
    """Context manager: any use of a ``taylornet`` reference inside it fails.

    On entry, swaps the ``__code__`` of every function of ``taylornet.rules``
    and ``taylornet.curvature`` for a tripwire and installs a profile hook that
    spots copies of the references' code; on exit restores both and raises
    :class:`ReferenceCallError` if any reference was used, even if the code
    under test caught the error. Re-entrant (inner blocks do nothing).
    Evaluate the references (:func:`reference`) *outside* the block.
    """

    def __enter__(self):
        self._outer = not _STATE.active
        if not self._outer:
            return self
        _register_all()
        _STATE.hits = []
        _STATE.active = True
        self._swapped = []
        self._previous = _getprofile()
        try:
            self._swapped = _swap_in()
            self._hook = _profiler(self._previous)
            _setprofile(self._hook)
        except BaseException:
            _swap_out(self._swapped)
            _STATE.active = False
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        if not self._outer:
            return False
        tampered = _getprofile() is not self._hook
        _setprofile(self._previous)
        _swap_out(self._swapped)
        _STATE.active = False
        if tampered:
            _record("the grading profile hook", "replaced by the code under test")
        if _STATE.hits and not isinstance(exc, ReferenceCallError):
            raise ReferenceCallError(_hit_message()) from exc
        return False


def reference(name: str):
    """The ``taylornet`` reference called ``name`` (``"adam_step"``), as a private copy.

    The copy is made when this module is imported, so reassigning
    ``taylornet.rules.adam_step`` later does not change it. It refuses to run
    inside :class:`reference_tripwire`.
    """
    entry = _lookup(name)
    private = entry.private

    @functools.wraps(private, assigned=("__name__", "__qualname__", "__doc__"))
    def call(*args, **kwargs):
        if _STATE.active:
            _record(entry.qualname, "reference() called under the tripwire")
            raise ReferenceCallError(_hit_message())
        return private(*args, **kwargs)

    call.__signature__ = inspect.signature(private)
    return call


def assert_not_reference(student_fn, name: str) -> None:
    """Fail if ``student_fn`` is the reference ``name`` or a copy of its code."""
    entry = _lookup(name)
    fn = student_fn
    while isinstance(fn, functools.partial):
        fn = fn.func
    code = getattr(fn, "__code__", None)
    same = fn is entry.function or code is entry.code
    if not same and isinstance(code, _CodeType):
        key = _code_key(code)
        same = key is not None and key == _code_key(entry.code)
    if same:
        raise ReferenceCallError(
            f"this `{name}` is taylornet's reference {entry.qualname} (or a copy of its code). "
            "Write the update yourself with NumPy; the reference scores nothing."
        )


# --------------------------------------------------------------------------
# Hidden tests
# --------------------------------------------------------------------------
class Case(NamedTuple):
    """One input of a hidden test: a label, the arguments, and a hint shown on failure."""

    label: str
    args: tuple
    kwargs: dict
    hint: str = ""


def case(label: str, args: tuple, kwargs: dict | None = None, *, hint: str = "") -> Case:
    """Build a :class:`Case`: ``case("first step", (x, v, g, 0.1, 0.9), hint="...")``."""
    return Case(label, tuple(args), dict(kwargs or {}), hint)


def _copies(values):
    if isinstance(values, dict):
        return {k: _snapshot(v) for k, v in values.items()}
    return tuple(_snapshot(v) for v in values)


def _argument_names(fn, n_args: int) -> list[str]:
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    return [names[i] if i < len(names) else f"argument {i}" for i in range(n_args)]


def _context(label: str, hint: str = "") -> str:
    """The lines under a failure's headline: the hint first, then the case."""
    return _lines(hint=hint, case=label)


def _check_callable(student_fn, name) -> None:
    if not callable(student_fn):
        raise GradingFailure(f"`{name}` is not a function (got a {type(student_fn).__name__})")
    assert_not_reference(student_fn, name)


def _check_untouched(name, c_args, args, c_kwargs, kwargs, context) -> None:
    """Fail if the student modified one of its (copied) arguments in place."""
    names = _argument_names(reference(name), len(args))
    for arg_name, before, after in zip(names, c_args, args, strict=True):
        if not _unchanged(before, after):
            raise GradingFailure(
                f"`{name}` modified its argument `{arg_name}` in place. Compute new arrays "
                f"({arg_name}_new = ...) instead of updating `{arg_name}` with -=, +=, *= "
                f"or slice assignment.\n{context}"
            )
    for key, before in c_kwargs.items():
        if not _unchanged(before, kwargs[key]):
            raise GradingFailure(
                f"`{name}` modified its argument `{key}` in place.\n{context}"
            )


def _guard(student_fn):
    """The tripwire around a student's call; none for a call that runs in the kernel
    (:mod:`taylornet_grader.checker`), where the references are not installed."""
    if getattr(student_fn, "remote", False):
        return contextlib.nullcontext()
    return reference_tripwire()


def _run_guarded(student_fn, name, args, kwargs, context):
    """Call the student under the tripwire, quietly; exceptions become explanations."""
    try:
        with _guard(student_fn), _quiet():
            return student_fn(*args, **kwargs)
    except ReferenceCallError:
        raise
    except NotImplementedError:
        raise GradingFailure(f"`{name}` is not implemented yet") from None
    except Exception as exc:
        raise GradingFailure(
            f"`{name}` raised {type(exc).__name__}: {exc}\n{context}"
        ) from exc


def run_student(student_fn, name, args=(), kwargs=None, *, label="", hint=""):
    """Call ``student_fn(*args, **kwargs)`` as a hidden test does and return its result.

    For hidden tests that check *properties* (a secant condition, a residual,
    an eigenvector up to sign) rather than equality with the reference ``name``.
    Like :func:`check_against_reference` it refuses the reference or a copy of
    it, runs the student on copies of the arguments under
    :class:`reference_tripwire` with warnings silenced, turns an exception into
    an ``AssertionError`` that names ``label`` and ``hint``, and fails if an
    argument was modified in place.
    """
    _check_callable(student_fn, name)
    if _RECORDER is not None:  # the checks that follow judge this case
        _RECORDER.open_case(name, label or "call")
    context = _context(label or "call", hint)
    c_args, c_kwargs = tuple(args), dict(kwargs or {})
    copied_args, copied_kwargs = _copies(c_args), _copies(c_kwargs)
    got = _run_guarded(student_fn, name, copied_args, copied_kwargs, context)
    _check_untouched(name, c_args, copied_args, c_kwargs, copied_kwargs, context)
    return got


def check_raises(student_fn, name, cases, exception):
    """Hidden test: on every case the reference ``name`` raises ``exception``; so must the student.

    ``exception`` is a class (or a tuple of classes) such as ``ValueError`` or
    :class:`taylornet.errors.LineSearchError`; a subclass counts. Returning
    normally, or raising something else, fails with the case and its hint.
    A case on which the reference itself does not raise is a bug in the
    grader and raises ``RuntimeError``.
    """
    _check_callable(student_fn, name)
    ref = reference(name)
    wanted = getattr(exception, "__name__", None) or " or ".join(e.__name__ for e in exception)
    for c in cases:  # the grader's own check first: the reference raises on every case
        try:
            with _quiet():
                ref(*_copies(c.args), **_copies(c.kwargs))
        except exception:
            pass
        else:
            raise RuntimeError(f"grader error: the reference `{name}` does not raise {wanted}"
                               f"\n{_context(c.label, c.hint)}")
    _run_cases(name, cases, lambda c: functools.partial(
        _raises_case, student_fn, name, c, exception, wanted, _context(c.label, c.hint)))


def _raises_case(student_fn, name, c, exception, wanted, context) -> None:
    args, kwargs = _copies(c.args), _copies(c.kwargs)
    try:
        with _guard(student_fn), _quiet():
            got = student_fn(*args, **kwargs)
    except ReferenceCallError:
        raise
    except NotImplementedError:
        raise GradingFailure(f"`{name}` is not implemented yet") from None
    except exception:
        pass
    except Exception as exc:
        raise GradingFailure(
            f"`{name}` raised {type(exc).__name__} ({exc}), but it should raise {wanted}"
            f"\n{context}"
        ) from exc
    else:
        raise GradingFailure(
            f"`{name}` should raise {wanted} here, but it returned {_format_array(got)}"
            f"\n{context}"
        )
    _check_untouched(name, c.args, args, c.kwargs, kwargs, context)


def _compare(name, label, value, want, rtol, atol, context) -> None:
    """One returned value against the reference's: exact for text and truth values."""
    if value is None:
        raise GradingFailure(
            f"`{name}`: {label} is None: did the function forget to `return` it?\n{context}"
        )
    if isinstance(want, str):
        if not (isinstance(value, str) and _str_eq(value, want)):
            raise GradingFailure(f"`{name}`: {label} is {value!r}, expected {want!r}"
                                 f"\n{context}")
        return
    if isinstance(want, (bool, _bool_)):
        if not _same_bool(value, want):
            raise GradingFailure(f"`{name}`: {label} is {value!r}, expected {bool(want)!r} "
                                 f"(a bool)\n{context}")
        return
    if isinstance(want, _ndarray) and want.ndim > 0 and not isinstance(value, _ndarray):
        raise GradingFailure(
            f"`{name}`: {label} should be a NumPy array, got a {type(value).__name__}"
            f"\n{context}"
        )
    assert_close(value, want, name=f"{name}: {label}", rtol=rtol, atol=atol, context=context)


def check_against_reference(
    student_fn, name, cases, *, outputs=None, rtol=DEFAULT_RTOL, atol=None
):
    """Hidden test: ``student_fn`` must behave like the reference ``name`` on every case.

    ``outputs`` names the returned values in messages (``("x_new", "v_new")``).
    See the module docstring for what is checked. Strings and bools returned
    by the reference must be matched exactly (a ``str``, a ``bool``). Raises
    ``AssertionError`` at the first case that fails, naming the case and its
    hint.
    """
    _check_callable(student_fn, name)
    ref = reference(name)
    _run_cases(name, cases, lambda c: functools.partial(
        _reference_case, student_fn, name, ref, c, outputs, rtol, atol))


def _reference_case(student_fn, name, ref, c, outputs, rtol, atol) -> None:
    context = _context(c.label, c.hint)
    with _quiet():
        expected = ref(*_copies(c.args), **_copies(c.kwargs))
    args, kwargs = _copies(c.args), _copies(c.kwargs)
    got = _run_guarded(student_fn, name, args, kwargs, context)
    _check_untouched(name, c.args, args, c.kwargs, kwargs, context)

    if isinstance(expected, tuple):
        n = len(expected)
        labels = list(outputs) if outputs else [f"output {i}" for i in range(n)]
        if not isinstance(got, (tuple, list)) or len(got) != n:
            what = type(got).__name__
            if isinstance(got, (tuple, list)):
                what += f" of length {len(got)}"
            raise GradingFailure(
                f"`{name}` should return a tuple ({', '.join(labels)}), got a {what}"
                f"\n{context}"
            )
        pairs = list(zip(labels, got, expected, strict=True))
    else:
        label = outputs[0] if outputs else "result"
        pairs = [(label, got, expected)]

    for label, value, want in pairs:
        _compare(name, label, value, want, rtol, atol, context)


# --------------------------------------------------------------------------
# Item analysis: what every hidden case of a test cell did
# --------------------------------------------------------------------------
#: A case's outcome: ``"pass"``, ``"fail"``, ``"timeout"`` (the call did not return in
#: time), ``"kernel died"``, ``"reference"`` (it called the reference), ``"not run"``.
CASE_STATUSES = ("pass", "fail", "timeout", "kernel died", "reference", "not run")
#: The MIME type of the output in which the grader keeps a test cell's cases (the
#: autograded notebook has it; the feedback filter removes it).
CASES_MIME = "application/vnd.taylornet.cases+json"


def first_line(error: BaseException | str) -> str:
    """The headline of a failure message (what a report lists next to a case)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def failure_status(error: BaseException) -> str:
    """What stopped a check, read off the exception and its causes (see :data:`CASE_STATUSES`).

    The grader's executor marks a call that ran past the cell timeout (``timed_out``)
    and a kernel that died or stopped answering (an exception with ``ename``
    ``KernelDied`` or ``KernelUnresponsive``); the student's code cannot set these,
    since it runs in another process.
    """
    if isinstance(error, ReferenceCallError):
        return "reference"
    seen, cause = set(), error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if getattr(cause, "timed_out", False) or getattr(cause, "ename", "") == \
                "KernelUnresponsive":
            return "timeout"
        if getattr(cause, "ename", "") == "KernelDied":
            return "kernel died"
        cause = cause.__cause__ or cause.__context__
    return "fail"


class CaseRecorder:
    """The hidden cases of one test cell, in the order they ran, with their outcomes.

    The grader (its checker, or a rehearsal in one process) sets :data:`_RECORDER` to one
    for each test cell, and ``grading_visible._ON_FAILURE`` to its :meth:`on_failure`.
    Then, in all-or-nothing grading, a failed check no longer stops the cell: the other
    checks and every hidden case still run and are recorded, and the grader shows the
    **first** failure, with the output printed before it, as the cell's error, so the
    verdict and the message are those of a run that stops there. A check that calls the
    reference, times out or loses the kernel still stops the cell at once (the rest of
    its call's cases are ``"not run"``). A :func:`run_student` call opens a case named by
    its ``label``; the property checks after it decide it, up to the next case or the
    end of the cell. Each record is ``{"exercise", "label", "status", "message"}``
    (message: the first line of the failure, ``""`` for a pass).
    """

    def __init__(self):
        self.cases: list[dict] = []
        self.failures: list[BaseException] = []
        self.first: BaseException | None = None  # all-or-nothing: the cell's verdict
        self.mark: int | None = None  # how much the cell had printed before it
        self._open: tuple[str, str, int] | None = None

    def on_failure(self, failure: BaseException) -> bool:
        """A check failed: keep it; ``True`` if the cell may go on (a plain failure)."""
        self.failures.append(failure)
        if failure_status(failure) != "fail":
            return False
        if _partial_credit():  # the cell goes on anyway, and scores what passed
            return True
        if self.first is None:
            self.first = failure
            with contextlib.suppress(AttributeError, OSError, ValueError):
                self.mark = sys.stdout.tell()
        return True

    def add(self, exercise: str, label: str, status: str, message: str = "") -> None:
        if status not in CASE_STATUSES:
            raise ValueError(f"unknown case status {status!r}")
        self.cases.append({"exercise": exercise, "label": label, "status": status,
                           "message": message})

    def open_case(self, exercise: str, label: str) -> None:
        """A property case begins (:func:`run_student`); the one before it is decided."""
        self.close()
        self._open = (exercise, label, len(self.failures))

    def close(self, error: BaseException | None = None) -> None:
        """Decide the open property case: failed by ``error``, or by a failed check."""
        if self._open is None:
            return
        exercise, label, failed_before = self._open
        self._open = None
        failed = self.failures[failed_before:]
        if error is not None:
            self.add(exercise, label, failure_status(error), first_line(error))
        elif failed:
            self.add(exercise, label, failure_status(failed[0]), first_line(failed[0]))
        else:
            self.add(exercise, label, "pass")

    def verdict(self, error: BaseException | None, printed: str) -> tuple:
        """``(error, printed)`` as a run that stops at the first failure would show them."""
        if self.first is None:
            return error, printed
        return self.first, printed if self.mark is None else printed[:self.mark]


#: The recorder of the test cell being checked (set by the grader), or ``None``.
_RECORDER: CaseRecorder | None = None


class RecordedRun(NamedTuple):
    """What :func:`run_recorded` saw: the cell's first error, its last value, what it
    printed, and the :class:`CaseRecorder` (``error`` and ``printed`` as run, before
    :meth:`CaseRecorder.verdict`)."""

    error: BaseException | None
    value: object
    printed: str
    recorder: CaseRecorder


def run_recorded(source: str, namespace: dict, name: str, *,
                 reference_in_reach: bool = True) -> RecordedRun:
    """Run a test cell's code in ``namespace`` with every check and hidden case recorded.

    Each run counts its checks afresh (a new partial-credit key); the value of a final
    expression is returned, as a notebook would display it. ``reference_in_reach=False``
    (the student's code runs elsewhere) turns the reference tripwire off for the run.
    """
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    printed, value, error = io.StringIO(), None, None
    recorder = CaseRecorder()
    grading_visible._CELL_KEY = object()  # a new cell: nothing counted before counts
    grading_visible._TRIPWIRE_OFF = not reference_in_reach
    global _RECORDER
    _RECORDER = recorder
    grading_visible._ON_FAILURE = recorder.on_failure
    try:
        with contextlib.redirect_stdout(printed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                exec(compile(tree, name, "exec"), namespace)  # noqa: S102 - the course's cell
                if last is not None:
                    value = eval(compile(ast.Expression(last.value), name, "eval"),  # noqa: S307
                                 namespace)
            except Exception as exc:  # noqa: BLE001 - the cell's verdict
                error = exc
        recorder.close(error)
    finally:
        grading_visible._CELL_KEY = None
        grading_visible._TRIPWIRE_OFF = False
        _RECORDER = None
        grading_visible._ON_FAILURE = None
    return RecordedRun(error, value, printed.getvalue(), recorder)


def cell_record(cell: str, error: BaseException | None, cases: list[dict]) -> dict:
    """The record of one checked test cell, as the grader stores it under :data:`CASES_MIME`.

    ``{"version": 1, "cell": grade id, "status": "pass" | "partial" | "fail" |
    "timeout" | "kernel died" | "reference", "message": the first line of the cell's
    error (``""`` when it passed), "cases": the :class:`CaseRecorder` records, in the
    order they ran}``; ``"partial"``: no error, but partial credit counted failed cases.
    """
    failed = any(c["status"] not in ("pass", "not run") for c in cases)
    status = failure_status(error) if error is not None else "partial" if failed else "pass"
    return {"version": 1, "cell": cell, "status": status,
            "message": "" if error is None else first_line(error),
            "cases": [dict(c) for c in cases]}


def _keep_failure(check, caught: list) -> None:
    """Run ``check``; keep its failure in ``caught`` (partial credit swallows it) and raise."""
    try:
        check()
    except GradingFailure as failure:
        caught.append(failure)
        raise


def _run_cases(name: str, cases, check_of) -> None:
    """Run ``check_of(c)`` for every case ``c``, counted by ``_tally`` (and recorded)."""
    recorder = _RECORDER
    if recorder is None:
        for c in cases:
            _tally(check_of(c))
        return
    recorder.close()
    cases = list(cases)
    first: GradingFailure | None = None
    for i, c in enumerate(cases):
        caught: list[BaseException] = []
        try:
            passed = _tally(functools.partial(_keep_failure, check_of(c), caught))
        except GradingFailure as failure:
            status = failure_status(failure)
            recorder.add(name, c.label, status, first_line(failure))
            first = first or failure
            if status == "fail":
                continue
            for rest in cases[i + 1:]:  # the reference, a timeout, a lost kernel: stop
                recorder.add(name, rest.label, "not run")
            break
        if passed:
            recorder.add(name, c.label, "pass")
        else:  # partial credit counted the failure and went on
            recorder.add(name, c.label, failure_status(caught[-1]) if caught else "fail",
                         first_line(caught[-1]) if caught else "")
    if first is not None:
        raise first


# Register the rules now, while the student has not run anything yet.
_register_package("taylornet.rules")
