"""Test cells judged in the grader's process: the trust boundary of ``nbgrader autograde``.

A test cell (visible checks and hidden tests) never runs in the student's kernel.
:class:`TrustedChecker` runs it here, in the grader, with the course's set-up
cell, the real :mod:`taylornet.grading` (references, comparisons, hints) and, for
each name the cell uses that the set-up does not define (the student's
functions), a :class:`RemoteFunction`. Calling one sends the arguments to the
kernel, which runs the student's function and sends back what it did
(:mod:`taylornet_grader.codec`). So:

* the comparisons, the references and the hidden tests' code are not in the
  student's process: nothing there can patch, call or read them (no history,
  frame or file holds a hidden line);
* the verdict (the cell's outputs: ``ok:`` lines, the failure message, a partial
  score) is written here, so a submission cannot forge it;
* what only the call itself can show (an argument modified in place, the calls
  made to a given function) is reported by the kernel, and can at worst lose the
  points of that check: it cannot turn a wrong result into a right one;
* every check and every hidden case of the cell runs, also after a failure, and is
  recorded (:class:`taylornet.grading.CaseRecorder`); the cell shows the first
  failure, as a run that stops there would, and the executor keeps the record as an
  output of type :data:`CASES_MIME` (:func:`cases_output`) for the item analysis.
"""

from __future__ import annotations

import ast
import base64
import builtins
import contextlib
import io
import warnings
from collections.abc import Callable

import cloudpickle
import numpy as np
from nbformat import NotebookNode

from taylornet import grading
from taylornet_grader.codec import Unsupported, decode

__all__ = ["CASES_MIME", "KernelLost", "RemoteFunction", "StudentError", "TrustedChecker",
           "cases_output", "free_names"]

CASES_MIME = grading.CASES_MIME  # the output that records a cell's hidden cases


class KernelLost(Exception):
    """The kernel died or stopped answering during a call (the executor restarts it)."""

    def __init__(self, ename: str, evalue: str):
        super().__init__(f"{ename}: {evalue}")
        self.ename, self.evalue = ename, evalue


class StudentError(Exception):
    """An exception of a class the grader does not know, raised by the student's code."""


def _exception_class(module: str, qualname: str) -> type[BaseException]:
    """The grader's class for an exception the kernel reported by module and name."""
    if module == "builtins":
        found = getattr(builtins, qualname, None)
        if isinstance(found, type) and issubclass(found, Exception):
            return found
    if qualname == "LinAlgError" and module.startswith("numpy"):
        return np.linalg.LinAlgError
    if module == "taylornet.errors":
        import taylornet.errors

        found = getattr(taylornet.errors, qualname, None)
        if isinstance(found, type) and issubclass(found, Exception):
            return found
    return type(qualname.rsplit(".", 1)[-1], (StudentError,), {"__module__": module})


def _write_back(original, after) -> None:
    """Mirror an in-place change the student's function made to an argument in the kernel."""
    if isinstance(original, np.ndarray) and isinstance(after, np.ndarray):
        if original.shape == after.shape and not np.array_equal(original, after, equal_nan=True):
            with np.errstate(all="ignore"):
                np.copyto(original, after, casting="unsafe")
    elif isinstance(original, list) and isinstance(after, list):
        if len(original) != len(after) or any(
                not isinstance(b, np.ndarray) or not isinstance(a, np.ndarray)
                or a.shape != b.shape or not np.array_equal(a, b, equal_nan=True)
                for a, b in zip(original, after, strict=False)):
            original[:] = after


class RemoteFunction:
    """The student's function ``name``, called in the kernel through ``call_in_kernel``."""

    remote = True

    def __init__(self, name: str, call_in_kernel: Callable[[str, str], dict]):
        self.__name__ = self.__qualname__ = name
        self._call_in_kernel = call_in_kernel

    def __repr__(self) -> str:
        return f"<the student's function {self.__name__}>"

    def __call__(self, *args, **kwargs):
        payload = base64.b64encode(cloudpickle.dumps((args, kwargs))).decode("ascii")
        report = self._call_in_kernel(self.__name__, payload)
        if "missing" in report:
            raise NameError(f"name {self.__name__!r} is not defined (run its cell)")
        for key, call_args, call_kwargs in report.get("calls", []):
            target = args[key] if isinstance(key, int) else kwargs.get(key)
            with contextlib.suppress(Exception):  # the kernel saw the same outcome
                target(*decode(call_args), **dict(decode(call_kwargs)))
        for original, after in zip(args, report.get("args_after", []), strict=False):
            if after is not None:
                _write_back(original, decode(after))
        for key, after in report.get("kwargs_after", {}).items():
            if after is not None and key in kwargs:
                _write_back(kwargs[key], decode(after))
        if "raised" in report:
            module, qualname, message = report["raised"]
            raise _exception_class(module, qualname)(message)
        value = decode(report["value"])
        return value


def free_names(tree: ast.AST) -> set[str]:
    """Names a cell reads but never binds (its inputs from the notebook)."""
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return loaded - bound - set(dir(builtins))


class TrustedChecker:
    """Runs a notebook's test cells in this process, calling the student's code remotely."""

    def __init__(self, setup_sources: list[str], call_in_kernel: Callable[[str, str], dict]):
        self._call_in_kernel = call_in_kernel
        self.namespace: dict = {"__name__": "__grader__"}
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            for source in setup_sources:
                exec(compile(source, "set-up cell", "exec"), self.namespace)  # noqa: S102

    #: The record of the hidden cases of the last cell run (:func:`cases_output`).
    last_record: NotebookNode | None = None

    def run_cell(self, source: str, name: str) -> list[NotebookNode]:
        """The outputs of the test cell ``source``; its checks are counted afresh.

        The record of its hidden cases is then :attr:`last_record` (the executor adds
        it to the cell's outputs); a lost kernel's :class:`KernelLost` carries the
        outputs and the record in its ``outputs``.
        """
        tree = ast.parse(source)
        namespace = dict(self.namespace)
        for missing in free_names(tree) - set(namespace):
            namespace[missing] = RemoteFunction(missing, self._call_in_kernel)
        # every check and hidden case runs, for item analysis; the student's code runs in
        # the kernel, so the reference tripwire has nothing to watch here
        run = grading.run_recorded(source, namespace, name, reference_in_reach=False)
        error, recorder = run.error, run.recorder
        stopped_by = error
        error, text = recorder.verdict(error, run.printed)  # the first failure's
        self.last_record = record = cases_output(name, error, recorder.cases)
        lost = _kernel_lost(stopped_by, recorder.cases)
        if lost is not None:  # the executor restarts the kernel and writes the error
            shown = None if _chain_has(error, KernelLost) else error
            lost.outputs = [*_outputs(text, None, shown), record]
            raise lost
        return _outputs(text, run.value, error)


def _chain(error: BaseException | None):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _chain_has(error: BaseException | None, kind: type) -> bool:
    return any(isinstance(e, kind) for e in _chain(error))


def _kernel_lost(error: BaseException | None, cases: list[dict]) -> KernelLost | None:
    """The kernel loss behind a cell's error, or behind a case after its first failure."""
    for cause in _chain(error):
        if isinstance(cause, KernelLost):
            return cause
    if any(c["status"] == "kernel died" for c in cases):
        return KernelLost("KernelDied", "the kernel died while the student's code ran "
                          "(os._exit, a signal, or the sandbox's CPU-time or memory "
                          "limit); it was restarted")
    return None


def cases_output(cell: str, error: BaseException | None, cases: list[dict]) -> NotebookNode:
    """The record of one checked test cell (:func:`taylornet.grading.cell_record`) as an
    output under :data:`CASES_MIME`, with a one-line summary as ``text/plain`` for the
    instructor's viewers. The autograded notebook keeps it; the feedback drops it."""
    record = grading.cell_record(cell, error, cases)
    failed = sum(c["status"] not in ("pass", "not run") for c in cases)
    summary = f"hidden cases: {len(cases)} recorded, {failed} failed ({record['status']})"
    return NotebookNode(output_type="display_data", metadata={},
                        data={CASES_MIME: record, "text/plain": summary})


def _outputs(text: str, value, error: BaseException | None) -> list[NotebookNode]:
    outputs = []
    if text:
        outputs.append(NotebookNode(output_type="stream", name="stdout", text=text))
    if error is not None:
        ename = type(error).__name__
        render = getattr(error, "_render_traceback_", None)
        shown = render() if callable(render) else [f"{ename}: {error}"]
        outputs.append(NotebookNode(output_type="error", ename=ename, evalue=str(error),
                                    traceback=shown))
    elif value is not None and not isinstance(value, Unsupported):
        outputs.append(NotebookNode(output_type="execute_result", execution_count=None,
                                    metadata={}, data={"text/plain": repr(value)}))
    return outputs
