"""Autograde a class in parallel on Dask: ``python -m taylornet_grader.autograde ASSIGNMENT``.

Run from the course folder (``exercises/``)::

    python -m taylornet_grader.autograde ps05_quasi_newton --workers 8
    python -m taylornet_grader.autograde ps05_quasi_newton --scheduler tcp://host:8786
    python -m taylornet_grader.autograde ps05_quasi_newton --students alice bob --force

It grades what ``nbgrader autograde ASSIGNMENT`` grades, with the same results: the
submissions under ``submitted/*/ASSIGNMENT/`` that have no graded copy yet (all of
them with ``--force``; a submission whose ``timestamp.txt`` is newer than its graded
copy's too), each in one Dask task (:func:`taylornet_grader.worker.grade`: nbgrader's
``Autograde`` converter with the course's configuration, so the same sandboxed
executor and the same gradebook rows), on

* a ``LocalCluster`` of ``--workers`` processes with one thread each (the default:
  nothing to set up), or
* an existing cluster (``--scheduler tcp://host:8786``) whose workers may run on other
  machines. Every worker must see the course folder at the same path (a shared
  folder, e.g. NFS, and the same Python environment): the submissions are read and
  the graded notebooks written there, not shipped with the tasks. The gradebook must
  then be a PostgreSQL server that every worker reaches (``TAYLORNET_DB_URL``):
  SQLite on a shared folder is refused.

A worker that dies takes its submission with it: Dask sends that task to another
worker, which grades it afresh (the task always replaces what an earlier attempt
left). Progress goes to standard error (a bar with count, rate and ETA on a
terminal, one line per submission otherwise); each graded submission gets a row in
``autograded/ASSIGNMENT-timing.csv`` (worker, wall time, kernel start, execution,
gradebook, kernel restarts, verdict, score, error) and its nbgrader log in
``autograded/ASSIGNMENT-autograde.log``. The exit status is 1 when a submission could
not be graded (as for ``nbgrader autograde``), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import glob
import importlib.util
import logging
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Summary", "UsageError", "autograde", "main"]

#: Columns of the timing log, ``autograded/<assignment>-timing.csv``.
TIMING_COLUMNS = ("run_started", "student", "worker", "verdict", "score", "max_score",
                  "needs_manual_grade", "restarts", "wall_s", "kernel_start_s", "execution_s",
                  "gradebook_s", "error")


class UsageError(RuntimeError):
    """The command cannot start: no course, no assignment, SQLite with a remote cluster..."""


@dataclass
class Summary:
    """What one run did: the timing rows of the graded submissions, and the skipped ones."""

    assignment: str
    rows: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    startup: float = 0.0
    workers: int = 0
    timing_log: Path | None = None
    report: Path | None = None

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.rows if r["verdict"] != "graded"]

    @property
    def per_minute(self) -> float:
        """Submissions per minute, the cluster's start included."""
        return 60 * len(self.rows) / self.seconds if self.seconds else 0.0

    @property
    def per_minute_grading(self) -> float:
        """Submissions per minute once the workers are up (the steady rate)."""
        seconds = self.seconds - self.startup
        return 60 * len(self.rows) / seconds if seconds > 0 else 0.0


# ------------------------------------------------------------------ the course
def load_course(root: Path):
    """The course's configuration, database URL and course id (as nbgrader reads them)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    if not (root / "nbgrader_config.py").is_file():
        raise UsageError(f"no nbgrader_config.py in {root}: run from the course folder "
                         "(exercises/) or pass --course")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    coursedir = CourseDirectory(config=config)
    return config, coursedir


def _timestamp(folder: Path):
    from nbgrader.utils import parse_utc

    stamp = folder / "timestamp.txt"
    try:
        text = stamp.read_text(encoding="utf-8").strip()
        return parse_utc(text) if text else None
    except (OSError, ValueError):
        return None


def plan(coursedir, assignment: str, students=None, force: bool = False):
    """``(to grade, skipped, messages)``: nbgrader's choice of the submissions to autograde.

    A submission is graded when it has no graded copy, with ``force``, or when its
    ``timestamp.txt`` is newer than its graded copy's (``nbgrader autograde`` decides
    the same way); a folder without a notebook is left out with a message.
    """
    submitted = Path(coursedir.format_path(coursedir.submitted_directory, ".", "."))
    autograded = Path(coursedir.format_path(coursedir.autograded_directory, ".", "."))
    found = sorted(Path(p).parent.name for p in glob.glob(
        os.path.join(glob.escape(str(submitted)), "*", glob.escape(assignment), "")))
    messages = []
    if students:
        missing = sorted(set(students) - set(found))
        if missing:
            raise UsageError(f"no submission of {assignment} for {', '.join(missing)} "
                             f"under {submitted}")
        found = [s for s in found if s in set(students)]
    todo, skipped = [], []
    for student in found:
        source = submitted / student / assignment
        if not glob.glob(os.path.join(glob.escape(str(source)), "*.ipynb")):
            messages.append(f"no notebook in {source}: not graded")
            continue
        dest = autograded / student / assignment
        if force or not dest.exists():
            todo.append(student)
            continue
        new, old = _timestamp(source), _timestamp(dest)
        if new is not None and old is not None and new > old:
            todo.append(student)
        else:
            skipped.append(student)
    return todo, skipped, messages


# ------------------------------------------------------------------ the cluster
def _on_worker(root: str):
    """A function that calls ``module.function`` on a worker, with the course importable.

    It is a closure, so Dask ships it by value: a worker started anywhere (``dask
    worker``) imports ``taylornet_grader`` from the shared course folder, whatever its
    ``sys.path``.
    """
    def call(module, function, *args, **kwargs):
        import importlib
        import sys

        if root not in sys.path:
            sys.path.insert(0, root)
        return getattr(importlib.import_module(module), function)(*args, **kwargs)

    return call


def _cluster(workers: int, scheduler: str | None):
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="30s"), None
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    # loopback only; the scheduler's HTTP endpoint on a free port, not the shared :8787
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address="127.0.0.1:0", memory_limit=0,
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _check_workers(client, call, root: str, digest: str, out) -> int:
    """Every worker sees the course and has nbgrader; returns how many there are."""
    from taylornet_grader.worker import CourseNotShared

    try:
        client.wait_for_workers(1, timeout=120)
    except TimeoutError:
        raise UsageError("no Dask worker joined the scheduler within 120 s (start them with "
                         "`dask worker tcp://host:8786 --nthreads 1`)") from None
    facts = client.run(call, "taylornet_grader.worker", "worker_facts", root, digest,
                       on_error="return")
    bad = {w: f for w, f in facts.items() if isinstance(f, BaseException)}
    if bad:
        lines = [f"  {w}: {type(e).__name__}: {e}" for w, e in sorted(bad.items())]
        hint = ("every worker must see the course folder at the same path, with the same "
                "nbgrader_config.py" if any(isinstance(e, CourseNotShared) for e in bad.values())
                else "every worker needs the course's Python environment (make grade-env)")
        raise UsageError("workers that cannot grade:\n" + "\n".join(lines) + f"\n({hint})")
    no_bwrap = sorted(w for w, f in facts.items() if not f["bwrap"])
    if no_bwrap:
        print(f"WARNING: bubblewrap is missing on {len(no_bwrap)} worker(s) ({no_bwrap[0]}...): "
              "their kernels get resource limits only", file=out)
    return len(facts)


# ------------------------------------------------------------------ progress and logs
class Progress:
    """A tqdm bar (count, rate, ETA) on a terminal; one plain line per submission otherwise."""

    def __init__(self, total: int, out, bar: bool | None = None):
        self.total, self.done, self.out = total, 0, out
        self.started = time.perf_counter()
        bar = out.isatty() if bar is None else bar
        self.bar = None
        if bar and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=out, unit="submission", dynamic_ncols=True,
                            bar_format="{desc}{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                       "[{elapsed}<{remaining}{postfix}]")

    def rate(self) -> float:
        seconds = time.perf_counter() - self.started
        return 60 * self.done / seconds if seconds > 0 else 0.0

    def update(self, row: dict) -> None:
        self.done += 1
        rate = self.rate()
        if self.bar is not None:
            self.bar.set_postfix_str(f"{rate:.1f}/min, last: {row['student']}", refresh=False)
            self.bar.update(1)
            if row["verdict"] != "graded":
                self.bar.write(f"FAILED {row['student']}: {row['error']}", file=self.out)
            return
        left = (self.total - self.done) * 60 / rate if rate else 0
        what = (f"{row['score']:g}/{row['max_score']:g} points" if row["verdict"] == "graded"
                else f"FAILED: {row['error']}")
        print(f"[{self.done}/{self.total}] {row['student']}: {what} "
              f"({row['wall']:.1f} s, {row['restarts']} restarts, {row['worker']}) | "
              f"{rate:.1f}/min, ETA {dt.timedelta(seconds=round(left))}",
              file=self.out, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class TimingLog:
    """``autograded/<assignment>-timing.csv``: one row per graded submission, appended."""

    def __init__(self, path: Path, run_started: str):
        self.path, self.run_started = path, run_started
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists() or path.stat().st_size == 0
        self.file = path.open("a", newline="", encoding="utf-8")
        self.writer = csv.DictWriter(self.file, fieldnames=TIMING_COLUMNS)
        if new:
            self.writer.writeheader()

    def write(self, row: dict) -> None:
        self.writer.writerow({
            "run_started": self.run_started, "student": row["student"],
            "worker": row["worker"], "verdict": row["verdict"],
            "score": "" if row["score"] is None else f"{row['score']:g}",
            "max_score": "" if row["max_score"] is None else f"{row['max_score']:g}",
            "needs_manual_grade": "" if row["needs_manual_grade"] is None
            else int(row["needs_manual_grade"]),
            "restarts": row["restarts"], "wall_s": f"{row['wall']:.3f}",
            "kernel_start_s": f"{row['kernel_start']:.3f}",
            "execution_s": f"{row['execution']:.3f}", "gradebook_s": f"{row['gradebook']:.3f}",
            "error": row["error"]})
        self.file.flush()

    def close(self) -> None:
        self.file.close()


def _lost(student: str, exc: BaseException) -> dict:
    """The row of a task that never came back (it killed its workers, or the cluster died)."""
    return {"student": student, "worker": "", "verdict": "failed", "score": None,
            "max_score": None, "needs_manual_grade": None, "restarts": 0, "wall": 0.0,
            "kernel_start": 0.0, "execution": 0.0, "gradebook": 0.0,
            "error": f"{type(exc).__name__}: {exc}".splitlines()[0], "log": ""}


# ------------------------------------------------------------------ the run
def autograde(root, assignment: str, *, students=None, force: bool = False,
              workers: int | None = None, scheduler: str | None = None,
              report: bool = True, bar: bool | None = None, on_result=None,
              out=None) -> Summary:
    """Grade ``assignment`` in parallel (see the module docstring); a :class:`Summary`.

    ``on_result(row, client)`` is called in the client after each submission (tests use
    it to kill a worker mid-run). Raises :class:`UsageError` when it cannot start.
    """
    import sqlalchemy.exc

    from taylornet_grader import gradebook
    from taylornet_grader.worker import config_digest

    out = out or sys.stderr
    root = Path(root).resolve()
    # nbgrader creates a new gradebook with this environment's `alembic` script
    bindir = os.path.dirname(sys.executable)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    _, coursedir = load_course(root)
    url = coursedir.db_url
    if scheduler and gradebook.is_sqlite(url):
        raise UsageError(
            "a SQLite gradebook cannot take writers on other machines: with --scheduler, "
            "set TAYLORNET_DB_URL to a PostgreSQL database that every worker reaches "
            "(exercises/README.md, \"Parallel grading\"), or grade on this machine "
            "without --scheduler")
    url = gradebook.with_busy_timeout(url)
    try:
        gradebook.prepare(url, coursedir.course_id, assignment)
    except LookupError as exc:
        raise UsageError(str(exc)) from None
    except (OSError, ImportError, sqlalchemy.exc.SQLAlchemyError) as exc:
        raise UsageError(f"cannot open the gradebook {_short(url)}: "
                         f"{str(exc).strip().splitlines()[0]}") from None
    todo, skipped, messages = plan(coursedir, assignment, students, force)
    for message in messages:
        print(f"WARNING: {message}", file=out)
    summary = Summary(assignment, skipped=skipped)
    if skipped:
        print(f"{len(skipped)} submission(s) graded already, skipped (--force grades them "
              "again)", file=out)
    autograded = Path(coursedir.format_path(coursedir.autograded_directory, ".", "."))
    if todo:
        _run(summary, root, assignment, todo, url, workers, scheduler, bar, on_result, out,
             config_digest(str(root)), autograded)
    if report and todo:
        summary.report = _report(root, assignment, out)
    return summary


def _run(summary, root, assignment, todo, url, workers, scheduler, bar, on_result, out,
         digest, autograded) -> None:
    from distributed import as_completed

    workers = workers or min(len(todo), os.cpu_count() or 1)
    started = time.perf_counter()
    run_started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    client, cluster = _cluster(workers, scheduler)
    timing = TimingLog(autograded / f"{assignment}-timing.csv", run_started)
    logfile = (autograded / f"{assignment}-autograde.log").open("a", encoding="utf-8")
    progress = None
    pending = {}
    try:
        call = _on_worker(str(root))
        summary.workers = _check_workers(client, call, str(root), digest, out)
        summary.startup = time.perf_counter() - started
        print(f"grading {len(todo)} submission(s) of {assignment} on {summary.workers} "
              f"worker(s) ({'scheduler ' + scheduler if scheduler else 'LocalCluster'}; "
              f"gradebook {_short(url)})", file=out, flush=True)
        logfile.write(f"==== {run_started} autograde {assignment}: {len(todo)} submission(s)\n")
        overrides = {"CourseDirectory.db_url": url}
        token = uuid.uuid4().hex[:8]
        for student in todo:
            future = client.submit(call, "taylornet_grader.worker", "grade", str(root),
                                   assignment, student, digest=digest, overrides=overrides,
                                   key=f"autograde-{assignment}-{student}-{token}", pure=False)
            pending[future] = student
        progress = Progress(len(todo), out, bar)
        for future in as_completed(list(pending)):
            student = pending.pop(future)
            try:
                row = future.result()
            except Exception as exc:  # KilledWorker: the task took down its workers
                row = _lost(student, exc)
                _remove_graded(autograded / student / assignment)
            logfile.write(f"---- {student} ({row['worker']}): {row['verdict']}\n{row['log']}")
            logfile.flush()
            timing.write(row)
            summary.rows.append(row)
            progress.update(row)
            if on_result is not None:
                on_result(row, client)
    except KeyboardInterrupt:
        for future, student in pending.items():  # a half-graded copy must not look graded
            future.cancel()
            _remove_graded(autograded / student / assignment)
        raise
    finally:
        summary.seconds = time.perf_counter() - started
        if progress is not None:
            progress.close()
        timing.close()
        logfile.close()
        client.close()
        if cluster is not None:
            cluster.close()
        summary.timing_log = timing.path


def _remove_graded(folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)


def _short(url: str) -> str:
    from taylornet_grader.gradebook import redacted

    return redacted(url).split("?", 1)[0]


def _report(root: Path, assignment: str, out) -> Path | None:
    """The item analysis of the run (:mod:`taylornet_grader.item_analysis`), when installed."""
    if importlib.util.find_spec("taylornet_grader.item_analysis") is None:
        return None
    from taylornet_grader import item_analysis

    try:
        path = item_analysis.write_report(root, assignment, root / "reports" / assignment)
    except Exception as exc:  # the grades are in; say why the report is not
        print(f"WARNING: no item analysis report: {type(exc).__name__}: {exc}", file=out)
        return None
    print(f"item analysis: {path}", file=out)
    return path


# ------------------------------------------------------------------ the command
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m taylornet_grader.autograde",
        description="Autograde every submission of an assignment in parallel on Dask, "
                    "with the same results as `nbgrader autograde`.")
    parser.add_argument("assignment")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes of the local cluster (default: the CPUs)")
    parser.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. "
                        "tcp://host:8786 (the course folder must be shared with its workers, "
                        "the gradebook must be PostgreSQL)")
    parser.add_argument("--students", nargs="+", metavar="ID", help="only these students")
    parser.add_argument("--force", action="store_true",
                        help="grade again what was graded already")
    parser.add_argument("--report", action=argparse.BooleanOptionalAction, default=True,
                        help="write the item analysis report after the run (default: yes)")
    parser.add_argument("--course", type=Path, default=Path.cwd(),
                        help="the course folder (default: the current folder)")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.workers is not None and args.scheduler:
        parser.error("--workers is for the local cluster; the scheduler has its own workers")
    try:
        summary = autograde(args.course, args.assignment, students=args.students,
                            force=args.force, workers=args.workers, scheduler=args.scheduler,
                            report=args.report)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the submissions in flight are not graded", file=sys.stderr)
        return 130
    graded = len(summary.rows) - len(summary.failed)
    print(f"{graded} graded, {len(summary.failed)} failed, {len(summary.skipped)} skipped, "
          f"in {summary.seconds:.1f} s ({summary.per_minute:.1f} submissions/min on "
          f"{summary.workers} worker(s)); timing log: {summary.timing_log}", file=sys.stderr)
    for row in summary.failed:
        print(f"FAILED {row['student']}: {row['error']}", file=sys.stderr)
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
