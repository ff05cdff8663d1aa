"""Grade one submission in this process, as ``nbgrader autograde A --student S --force`` does.

This is the task that the parallel autograde (:mod:`taylornet_grader.autograde`) sends
to each Dask worker: nbgrader's own ``Autograde`` converter, configured by the course's
``nbgrader_config.py`` (so the same sanitising, the same restored test cells, the same
sandboxed executor, :class:`~taylornet_grader.sandbox.SandboxedExecute`, and the same
gradebook writes as the serial command), run in the worker's long-lived process: the
configuration is read once per worker, nbgrader and the checker are imported once, and
only the kernel is new for each submission.

The course folder must be the same on every worker (the same path, e.g. on NFS): the
task reads ``submitted/<student>/<assignment>/`` and writes
``autograded/<student>/<assignment>/`` there, and checks first that the folder is there
with the same ``nbgrader_config.py`` as the client's (:class:`CourseNotShared`).

The task always grades (``force``): the client has already decided, as
``nbgrader autograde`` would, which submissions need grading, and a task that runs
again (its first worker died) must replace what the first attempt left.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import logging
import os
import socket
import time
import traceback

__all__ = ["CourseNotShared", "config_digest", "grade", "worker_facts"]

#: The configurations this process has read: ``(root, digest) -> traitlets Config``.
_CONFIGS: dict = {}

#: Preprocessors whose time is spent in the gradebook (reading source cells, writing grades).
GRADEBOOK_STEPS = ("OverwriteCells", "OverwriteKernelspec", "SaveAutoGrades",
                   "AssignLatePenalties")


class CourseNotShared(RuntimeError):
    """The course folder is missing on this worker, or holds another configuration."""


def config_digest(root: str) -> str:
    """SHA-256 of the course's ``nbgrader_config.py`` (what every worker must see too)."""
    path = os.path.join(root, "nbgrader_config.py")
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError as exc:
        raise CourseNotShared(
            f"{socket.gethostname()}: no course at {root} ({exc.strerror}); every worker must "
            "see the course folder at the same path (a shared folder, e.g. NFS)") from None


def load_config(root: str, digest: str | None = None):
    """The course's configuration (read once per process and per version of the file)."""
    from traitlets.config.loader import PyFileConfigLoader

    found = config_digest(root)
    if digest is not None and found != digest:
        raise CourseNotShared(
            f"{socket.gethostname()}: {root}/nbgrader_config.py differs from the client's: "
            "every worker must see the same course folder")
    if (root, found) not in _CONFIGS:
        _CONFIGS[root, found] = PyFileConfigLoader("nbgrader_config.py", path=root).load_config()
    return _CONFIGS[root, found]


def _apply(config, overrides: dict | None):
    """A copy of ``config`` with ``{"Section.trait": value}`` set."""
    config = copy.deepcopy(config)
    for key, value in (overrides or {}).items():
        section, trait = key.rsplit(".", 1)
        config[section][trait] = value
    return config


def worker_facts(root: str, digest: str) -> dict:
    """What the client checks on each worker before sending it submissions."""
    import shutil
    import sys

    import nbgrader
    import nbgrader.converters.autograde  # noqa: F401 - imported once, before the first task

    load_config(root, digest)  # puts the course on sys.path
    import taylornet_grader.checker  # noqa: F401
    import taylornet_grader.sandbox  # noqa: F401

    return {"host": socket.gethostname(), "pid": os.getpid(), "python": sys.version.split()[0],
            "nbgrader": nbgrader.__version__, "bwrap": shutil.which("bwrap") is not None}


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return f"{get_worker().name}@{socket.gethostname()}:{os.getpid()}"
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


@functools.lru_cache(maxsize=1)
def _timed_converter():
    """nbgrader's ``Autograde``, timing the gradebook and the execution of each notebook."""
    from nbgrader.converters.autograde import Autograde

    class TimedAutograde(Autograde):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.seconds = {"gradebook": 0.0, "execute": 0.0, "kernel_start": 0.0}
            self.restarts = 0

        def _add(self, key, started):
            self.seconds[key] += time.perf_counter() - started

        def init_assignment(self, assignment_id, student_id):
            started = time.perf_counter()  # the student and submission rows, the files
            try:
                super().init_assignment(assignment_id, student_id)
            finally:
                self._add("gradebook", started)

        def _init_preprocessors(self):
            super()._init_preprocessors()

            def timed(preprocessor):
                names = {c.__name__ for c in type(preprocessor).__mro__}
                key = ("execute" if "Execute" in names else
                       "gradebook" if names & set(GRADEBOOK_STEPS) else None)
                if key is None:
                    return preprocessor

                def run(nb, resources):
                    started = time.perf_counter()
                    try:
                        return preprocessor(nb, resources)
                    finally:
                        self._add(key, started)
                return run

            self.exporter._preprocessors = [timed(p) for p in self.exporter._preprocessors]

        def write_single_notebook(self, output, resources):
            timing = resources.pop("taylornet_timing", None)  # SandboxedExecute's split
            if timing:
                self.seconds["kernel_start"] += timing["kernel_start"]
                self.restarts += timing["restarts"]
            super().write_single_notebook(output, resources)

    return TimedAutograde


def _failure(log: str, exc: Exception) -> str:
    """One line saying why a submission failed: the exception nbgrader logged, if any."""
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("[ERROR] Traceback"):
            tail = [t for t in lines[i + 1:] if t.strip()]
            end = next((j for j, t in enumerate(tail) if t.startswith("[")), len(tail))
            if end:
                return tail[end - 1].strip()
    errors = [line.removeprefix("[ERROR] ") for line in lines if line.startswith("[ERROR]")]
    return errors[0] if errors else f"{type(exc).__name__}: {exc}"


def grade(root: str, assignment: str, student: str, *, digest: str | None = None,
          overrides: dict | None = None) -> dict:
    """Autograde ``student``'s submission of ``assignment``; a row of the timing log.

    Never raises for a failed submission: ``verdict`` is ``graded`` or ``failed`` (nbgrader
    could not grade it; its autograded folder is removed, as ``nbgrader autograde`` does),
    with the error and the log of this submission.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.coursedir import CourseDirectory

    started = time.perf_counter()
    row = {"student": student, "worker": _worker_name(), "verdict": "failed", "score": None,
           "max_score": None, "needs_manual_grade": None, "restarts": 0, "error": ""}
    log = logging.getLogger(f"taylornet.autograde.{os.getpid()}")
    log.setLevel(logging.INFO)
    log.propagate = False
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    log.handlers = [handler]
    converter = None
    try:
        config = _apply(load_config(root, digest), overrides)
        coursedir = CourseDirectory(config=config, log=log)
        coursedir.assignment_id, coursedir.student_id = assignment, student
        converter = _timed_converter()(coursedir=coursedir, config=config, log=log)
        converter.force, converter.create_student = True, True
        converter.start()
        written = time.perf_counter()
        with Gradebook(coursedir.db_url, course_id=coursedir.course_id) as gb:
            try:
                submission = gb.find_submission(assignment, student)
                row.update(verdict="graded", score=submission.score,
                           max_score=submission.max_score,
                           needs_manual_grade=submission.needs_manual_grade)
            except MissingEntry:
                row["error"] = "no submission in the gradebook after grading"
        converter.seconds["gradebook"] += time.perf_counter() - written
    except Exception as exc:  # nbgrader logged why (NbGraderException), or the task broke
        if not isinstance(exc, CourseNotShared) and type(exc).__name__ != "NbGraderException":
            log.error("%s", traceback.format_exc())
        row["error"] = _failure(buffer.getvalue(), exc)
    finally:
        handler.flush()
        log.handlers = []
    seconds = converter.seconds if converter is not None else {}
    kernel = seconds.get("kernel_start", 0.0)
    row.update(wall=time.perf_counter() - started, kernel_start=kernel,
               execution=max(seconds.get("execute", 0.0) - kernel, 0.0),
               gradebook=seconds.get("gradebook", 0.0),
               restarts=converter.restarts if converter is not None else 0,
               log=buffer.getvalue())
    return row
