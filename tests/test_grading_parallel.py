"""Parallel autograde on Dask (``python -m taylornet_grader.autograde``) against the serial one.

A synthetic class of 60 submissions of ``ps01_first_order`` (the solutions and
their copies, the untouched release, mixed and wrong answers, a notebook that calls
the references, one that kills its kernel in each exercise, and fifteen hostile
ones of ``tests/test_grading_hostile.py``) is graded three times in one temporary
course:

1. by nbgrader itself (``NbGraderAPI.autograde``, as ``nbgrader autograde``), one
   submission after the other, into the SQLite gradebook: the reference;
2. by the command on its own ``LocalCluster`` of two workers, into a PostgreSQL
   gradebook;
3. by the command on a ``dask scheduler`` and two ``dask worker`` processes started
   here (loopback, another working folder, no ``PYTHONPATH``), into another
   PostgreSQL database.

Each parallel run must give what the serial one gave: the same gradebook rows
(students, submissions with their timestamps, grades with their scores and
manual-grading flags, comments), the same scores, the same files and the same
autograded notebooks (cells, outputs and execution counts). Two hostile
submissions of the hostile test are left out: the bounded spawn loop (its count of
processes depends on the other kernels of the sandbox's user that run at the same
time) and the shared-memory hoarder (it needs 768 MiB, too much next to another
kernel on a small machine).

Faults (a second course, SQLite, 12 submissions): a worker killed while it grades
(its submission is graded by the other worker: none lost, none twice), a re-run
with ``--force`` (the same rows and scores), and one without it (nothing graded);
the submission that kills its kernel has its rows, and the timing log a row per
submission. Fast tests check the choice of what to grade and the refusals.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import _postgres
import nbformat
import pytest
from test_grading_hostile import hostile_submissions
from test_grading_roundtrip import (
    COURSE_ID,
    EXERCISES,
    POINTS,
    _submission,
    _write,
    expected_scores,
    first_wrong,
    source_nb,
    submissions,
)

pytestmark = [
    pytest.mark.grading,
    pytest.mark.filterwarnings("ignore:Object of type <Submitted"),
]

A = "ps01_first_order"
STAMP = "2027-03-05 16:58:00.000000 UTC"
TIMEOUT = 8          # seconds per cell (the course's is 60): the endless loop costs 8 + 2 s
LEFT_OUT = ("hostile_spawn", "hostile_shared_memory")
CRASH = '''
import os


def {name}(*args, **kwargs):
    os._exit(7)  # kills the kernel
'''


# ---------------------------------------------------------------- the course and the class
def make_course(root: Path) -> Path:
    """A copy of the course (its configuration, with a shorter timeout and smaller limits)."""
    root.mkdir(parents=True)
    shutil.copy(EXERCISES / "nbgrader_config.py", root)
    with (root / "nbgrader_config.py").open("a", encoding="utf-8") as f:
        f.write(f"\n# the tests' settings\nc.ExecutePreprocessor.timeout = {TIMEOUT}\n"
                f"c.Execute.timeout = {TIMEOUT}\nc.SandboxedExecute.interrupt_grace = 2\n"
                "c.SandboxKernelManager.mode = 'bwrap'\n"
                "c.SandboxKernelManager.memory_limit = '512M'\n"
                "c.SandboxKernelManager.max_processes = 48\n"
                f"c.Exchange.root = {str(root / 'exchange')!r}\n")
    shutil.copytree(EXERCISES / "taylornet_grader", root / "taylornet_grader",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(EXERCISES / "source" / A, root / "source" / A)
    (root / "exchange").mkdir()
    return root


def api(root: Path):
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return NbGraderAPI(config=config)


def generate(root: Path) -> None:
    """``nbgrader generate_assignment`` into the gradebook that the environment names."""
    result = api(root).generate_assignment(A, force=True)
    assert result["success"], result.get("error", "") + result.get("log", "")


def the_class(release, root: Path, size: int) -> dict[str, tuple]:
    """``{student: (notebook, expected scores)}``: honest, wrong, crashing and hostile."""
    source, points = source_nb(A), POINTS[A]
    expected = expected_scores(A)
    found = {s: (nb, expected[s]) for s, nb in submissions(A, release).items()}
    for name in points:
        found[f"wrong_{name}"] = (_submission(release, source, {name: first_wrong(A, name)}),
                                  {**points, name: 0})
        found[f"crash_{name}"] = (_submission(release, source, {name: CRASH.format(name=name)}),
                                  {**points, name: 0})
    closed_port = _postgres.free_port()  # nothing listens there (and the sandbox has no net)
    for student, (nb, attacked) in hostile_submissions(release, root, closed_port).items():
        if student not in LEFT_OUT:
            found[student] = (nb, {**points, attacked: 0})
    k = 0
    while len(found) < size:
        found[f"solved_{k:02d}"] = found["solutions"]
        k += 1
    return found


def submit(root: Path, klass: dict) -> None:
    for student, (nb, _) in klass.items():
        path = root / "submitted" / student / A / f"{A}.ipynb"
        _write(nb, path)
        (path.parent / "timestamp.txt").write_text(STAMP + "\n", encoding="utf-8")


def scores(url: str) -> dict[str, dict[str, float]]:
    from taylornet_grader.gradebook import rows

    found: dict[str, dict[str, float]] = {}
    for assignment, student, _, cell, auto, manual, extra, _ in rows(url, COURSE_ID)["grade"]:
        if assignment == A:
            score = manual if manual is not None else auto
            found.setdefault(student, {})[cell.removesuffix("_tests")] = score + (extra or 0)
    return found


_ADDRESS = re.compile(r"0x[0-9a-f]{6,}")


def notebooks(folder: Path) -> dict[str, object]:
    """Every file of every graded submission; notebooks as cells with their outputs."""
    found = {}
    for path in sorted(folder.glob(f"*/{A}/*")):
        key = str(path.relative_to(folder))
        if path.suffix != ".ipynb":
            found[key] = path.read_bytes()
            continue
        nb = nbformat.read(path, as_version=4)
        found[key] = [(cell.cell_type, cell.source, cell.metadata.get("nbgrader"),
                       cell.get("execution_count"), _ADDRESS.sub("0x?", repr(cell.get("outputs"))))
                      for cell in nb.cells]
    return found


def _env(**extra) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    for var in [v for v in env if v.startswith("TAYLORNET_SANDBOX") or v == "TAYLORNET_DB_URL"]:
        del env[var]
    env.update(extra)
    return env


def _use_env(mp: pytest.MonkeyPatch) -> None:
    """Give this process the environment of :func:`_env` (for in-process nbgrader calls)."""
    env = _env()
    for var in [v for v in os.environ if v not in env]:
        mp.delenv(var)
    mp.setenv("PATH", env["PATH"])


def command(root: Path, *args: str, env=None, timeout=900) -> subprocess.CompletedProcess:
    """``python -m taylornet_grader.autograde ...`` run from the course folder."""
    return subprocess.run([sys.executable, "-m", "taylornet_grader.autograde", A, *args],
                          cwd=root, env=env or _env(), capture_output=True, text=True,
                          timeout=timeout)


def set_aside(root: Path, name: str) -> Path:
    """Move ``autograded/`` away (the next run starts without graded copies)."""
    target = root.parent / f"{root.name}-{name}"
    shutil.move(root / "autograded", target)
    return target


class DaskProcesses:
    """A ``dask scheduler`` and ``dask worker --nworkers 2`` on the loopback interface."""

    def __init__(self, cwd: Path, env: dict[str, str]):
        dask = os.path.join(os.path.dirname(sys.executable), "dask")
        self.address = f"tcp://127.0.0.1:{_postgres.free_port()}"
        host, port = self.address.removeprefix("tcp://").split(":")
        kwargs = dict(cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                      start_new_session=True)
        self.processes = [subprocess.Popen([dask, "scheduler", "--host", host, "--port", port,
                                            "--no-dashboard"], **kwargs)]
        self.processes.append(subprocess.Popen(
            [dask, "worker", self.address, "--nthreads", "1", "--nworkers", "2",
             "--no-dashboard", "--memory-limit", "0"], **kwargs))
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)

    def stop(self) -> None:
        for process in reversed(self.processes):
            with _suppress():
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with _suppress():
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def _suppress():
    import contextlib

    return contextlib.suppress(ProcessLookupError)


def _bwrap_or_skip():
    if shutil.which("bwrap") is None:
        if os.environ.get("CI"):
            pytest.fail("bubblewrap is not installed (the Makefile installs it in CI)")
        pytest.skip("bubblewrap is not installed: apt-get install bubblewrap")


# ---------------------------------------------------------------- serial vs parallel
@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    """The class graded serially (SQLite), on a LocalCluster and on a scheduler (PostgreSQL)."""
    _bwrap_or_skip()
    server = _postgres.server_or_skip()
    dask = None
    try:
        with pytest.MonkeyPatch.context() as mp:
            _use_env(mp)
            root = make_course(tmp_path_factory.mktemp("parallel") / "course")
            generate(root)
            release = nbformat.read(root / "release" / A / f"{A}.ipynb", as_version=4)
            klass = the_class(release, root, 60)
            submit(root, klass)
            lite = f"sqlite:///{root / 'gradebook.db'}"

            started = time.perf_counter()
            serial = api(root).autograde(A, "*")
            serial_seconds = time.perf_counter() - started
            assert serial["success"], serial.get("log", "")[-3000:]
            runs = {"serial": types.SimpleNamespace(url=lite, seconds=serial_seconds,
                                                    folder=set_aside(root, "serial"))}

            local = server.create_database()
            mp.setenv("TAYLORNET_DB_URL", local)
            generate(root)
            started = time.perf_counter()
            ran = command(root, "--workers", "2", env=_env(TAYLORNET_DB_URL=local))
            runs["local"] = types.SimpleNamespace(url=local, run=ran, folder=None,
                                                  seconds=time.perf_counter() - started)
            assert ran.returncode == 0, ran.stdout + ran.stderr[-5000:]
            runs["local"].folder = set_aside(root, "local")

            remote = server.create_database()
            mp.setenv("TAYLORNET_DB_URL", remote)
            generate(root)
            # the workers: started elsewhere, without the course on their path or its URL
            dask = DaskProcesses(tmp_path_factory.mktemp("elsewhere"), _env())
            started = time.perf_counter()
            ran = command(root, "--scheduler", dask.address, env=_env(TAYLORNET_DB_URL=remote))
            runs["scheduler"] = types.SimpleNamespace(url=remote, run=ran, folder=None,
                                                      seconds=time.perf_counter() - started)
            assert ran.returncode == 0, ran.stdout + ran.stderr[-5000:]
            runs["scheduler"].folder = set_aside(root, "scheduler")
            yield types.SimpleNamespace(root=root, klass=klass, runs=runs)
    finally:
        if dask is not None:
            dask.stop()
        server.stop()


@pytest.mark.slow
def test_the_class_is_large_and_mixed(three_runs):
    klass = three_runs.klass
    assert len(klass) >= 60
    kinds = {re.sub(r"_.*", "", s) for s in klass}
    assert {"solutions", "untouched", "mixed", "wrong", "crash", "hostile", "solved"} <= kinds


@pytest.mark.slow
def test_serial_scores_are_the_expected_ones(three_runs):
    assert scores(three_runs.runs["serial"].url) == {
        s: expected for s, (_, expected) in three_runs.klass.items()}


@pytest.mark.slow
@pytest.mark.parametrize("run", ["local", "scheduler"])
def test_parallel_gradebook_rows_equal_the_serial_ones(three_runs, run):
    from taylornet_grader.gradebook import rows

    serial = rows(three_runs.runs["serial"].url, COURSE_ID)
    parallel = rows(three_runs.runs[run].url, COURSE_ID)
    assert len(parallel["submission"]) == len(three_runs.klass)
    assert len(parallel["grade"]) == len(three_runs.klass) * len(POINTS[A])
    for table in serial:
        assert parallel[table] == serial[table], table


@pytest.mark.slow
@pytest.mark.parametrize("run", ["local", "scheduler"])
def test_parallel_notebooks_equal_the_serial_ones(three_runs, run):
    serial = notebooks(three_runs.runs["serial"].folder)
    parallel = notebooks(three_runs.runs[run].folder)
    assert len(serial) == 2 * len(three_runs.klass)  # notebook and timestamp.txt
    assert sorted(parallel) == sorted(serial)
    different = [k for k in serial if parallel[k] != serial[k]]
    assert not different, different[:5]


@pytest.mark.slow
@pytest.mark.parametrize("run", ["local", "scheduler"])
def test_the_command_reports_progress_and_timing(three_runs, run):
    done = three_runs.runs[run]
    err = done.run.stderr
    n = len(three_runs.klass)
    lines = [line for line in err.splitlines() if line.startswith("[")]
    assert len(lines) == n and lines[-1].startswith(f"[{n}/{n}]"), err[-3000:]
    assert all(re.search(r"/min, ETA \d+:\d\d:\d\d$", line) for line in lines)
    assert f"{n} graded, 0 failed, 0 skipped" in err
    with (done.folder / f"{A}-timing.csv").open(encoding="utf-8") as f:
        log = list(csv.DictReader(f))
    assert sorted(r["student"] for r in log) == sorted(three_runs.klass)
    assert {r["verdict"] for r in log} == {"graded"}
    assert len({r["worker"] for r in log}) == 2, "both workers graded"
    for row in log:
        wall, parts = float(row["wall_s"]), [float(row[c]) for c in
                                             ("kernel_start_s", "execution_s", "gradebook_s")]
        assert all(p >= 0 for p in parts) and sum(parts) <= wall * 1.001 + 1e-3, row
        assert float(row["kernel_start_s"]) > 0, row
    restarts = {r["student"]: int(r["restarts"]) for r in log}
    assert all(restarts[f"crash_{name}"] >= 1 for name in POINTS[A])
    assert restarts["solutions"] == 0


# ---------------------------------------------------------------- faults
@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    """A small class on SQLite: a worker killed mid-run, then re-runs with and without --force."""
    from taylornet_grader.autograde import autograde
    from taylornet_grader.gradebook import rows

    _bwrap_or_skip()
    with pytest.MonkeyPatch.context() as mp:
        _use_env(mp)
        root = make_course(tmp_path_factory.mktemp("faults") / "course")
        generate(root)
        release = nbformat.read(root / "release" / A / f"{A}.ipynb", as_version=4)
        everyone = the_class(release, root, 0)
        names = ["solutions", "untouched", "mixed_0", "wrong_adam", "crash_momentum_step",
                 "hostile_memory", "wrong_clip_grad_norm"]
        klass = {s: everyone[s] for s in names}
        for k in range(12 - len(klass)):
            klass[f"solved_{k:02d}"] = everyone["solutions"]
        submit(root, klass)
        url = f"sqlite:///{root / 'gradebook.db'}"
        killed = {}

        def kill_a_busy_worker(row, client):
            if killed:
                return
            busy = {w: keys for w, keys in client.processing().items() if keys}
            worker = sorted(busy)[0]
            pid = client.run(os.getpid, workers=[worker])[worker]
            killed.update(worker=worker, pid=pid, keys=list(busy[worker]))
            os.kill(pid, signal.SIGKILL)

        with open(os.devnull, "w") as quiet:
            first = autograde(root, A, workers=2, report=False, bar=False,
                              on_result=kill_a_busy_worker, out=quiet)
            after_kill = rows(url, COURSE_ID)
            graded = notebooks(root / "autograded")
            again = autograde(root, A, workers=2, force=True, report=False, bar=False,
                              out=quiet)
            after_force = rows(url, COURSE_ID)
            regraded = notebooks(root / "autograded")
            nothing = autograde(root, A, workers=2, report=False, bar=False, out=quiet)
        with (root / "autograded" / f"{A}-timing.csv").open(encoding="utf-8") as f:
            timing = list(csv.DictReader(f))
        yield types.SimpleNamespace(
            root=root, klass=klass, url=url, killed=killed, first=first, again=again,
            nothing=nothing, after_kill=after_kill, after_force=after_force, graded=graded,
            regraded=regraded, final=rows(url, COURSE_ID), timing=timing)


@pytest.mark.slow
def test_a_killed_worker_loses_no_submission_and_counts_none_twice(faults):
    assert faults.killed, "no worker was busy after the first result"
    students = [r["student"] for r in faults.first.rows]
    assert sorted(students) == sorted(faults.klass), "each submission graded exactly once"
    assert not faults.first.failed, faults.first.failed
    # what the killed worker held was graded by another process
    lost = {key.split("-")[-2] for key in faults.killed["keys"]}
    assert lost
    for row in faults.first.rows:
        assert f":{faults.killed['pid']}" not in row["worker"], row
    n, cells = len(faults.klass), len(POINTS[A])
    assert len(faults.after_kill["submission"]) == n
    assert len(faults.after_kill["grade"]) == n * cells
    assert len(faults.after_kill["student"]) == n
    assert scores(faults.url) == {s: expected for s, (_, expected) in faults.klass.items()}


@pytest.mark.slow
def test_grading_again_is_idempotent(faults):
    assert sorted(r["student"] for r in faults.again.rows) == sorted(faults.klass)
    assert faults.after_force == faults.after_kill
    assert faults.regraded == faults.graded
    # without --force, nothing is graded and nothing changes
    assert faults.nothing.rows == [] and sorted(faults.nothing.skipped) == sorted(faults.klass)
    assert faults.final == faults.after_kill


@pytest.mark.slow
def test_a_submission_that_kills_its_kernel_keeps_its_rows(faults):
    crash = [g for g in faults.after_kill["grade"] if g[1] == "crash_momentum_step"]
    assert len(crash) == len(POINTS[A])
    assert {g[3]: g[4] for g in crash}["momentum_step_tests"] == 0
    row = next(r for r in faults.first.rows if r["student"] == "crash_momentum_step")
    assert row["verdict"] == "graded" and row["restarts"] >= 1
    assert row["score"] == sum(POINTS[A].values()) - POINTS[A]["momentum_step"]


@pytest.mark.slow
def test_the_timing_log_has_a_row_per_graded_submission(faults):
    log = faults.timing
    runs = sorted({r["run_started"] for r in log})
    assert len(runs) == 2  # the run with the kill and the forced one (the third graded none)
    for run in runs:
        assert sorted(r["student"] for r in log if r["run_started"] == run) == \
            sorted(faults.klass)


@pytest.mark.slow
def test_a_submission_nbgrader_cannot_read_fails_alone(faults):
    """Like ``nbgrader autograde``: the error is reported, no graded copy is left, the exit
    status is 1, and the class's other rows are untouched."""
    from taylornet_grader.autograde import autograde
    from taylornet_grader.gradebook import rows

    folder = faults.root / "submitted" / "broken" / A
    folder.mkdir(parents=True)
    (folder / f"{A}.ipynb").write_text("{ this is not a notebook", encoding="utf-8")
    with open(os.devnull, "w") as quiet:
        summary = autograde(faults.root, A, students=["broken"], workers=1, report=False,
                            bar=False, out=quiet)
    (row,) = summary.failed
    assert row["student"] == "broken" and "JSON" in row["error"], row  # the cause
    assert not (faults.root / "autograded" / "broken" / A).exists()
    after = rows(faults.url, COURSE_ID)
    for table, found in faults.final.items():
        assert [r for r in after[table] if "broken" not in r] == found, table
    ran = command(faults.root, "--students", "broken", "--workers", "1", "--no-report")
    assert ran.returncode == 1 and "FAILED broken:" in ran.stderr, ran.stderr[-2000:]


# ---------------------------------------------------------------- fast: what to grade, refusals
def _fake_course(root: Path):
    from nbgrader.coursedir import CourseDirectory

    for student in ("alice", "bob", "carol", "dave"):
        folder = root / "submitted" / student / A
        folder.mkdir(parents=True)
        if student != "dave":
            (folder / f"{A}.ipynb").write_text("{}")
        (folder / "timestamp.txt").write_text("2027-03-05 10:00:00.000000 UTC\n")
    for student, stamp in (("alice", "2027-03-05 10:00:00"), ("bob", "2027-03-05 09:00:00")):
        folder = root / "autograded" / student / A
        folder.mkdir(parents=True)
        (folder / "timestamp.txt").write_text(f"{stamp}.000000 UTC\n")
    return CourseDirectory(root=str(root))


def test_plan_grades_what_nbgrader_autograde_would(tmp_path):
    from taylornet_grader.autograde import UsageError, plan

    coursedir = _fake_course(tmp_path)
    # alice: graded already; bob: handed in again since; carol: new; dave: no notebook
    todo, skipped, messages = plan(coursedir, A)
    assert (todo, skipped) == (["bob", "carol"], ["alice"])
    assert len(messages) == 1 and "dave" in messages[0]
    todo, skipped, _ = plan(coursedir, A, force=True)
    assert (todo, skipped) == (["alice", "bob", "carol"], [])
    assert plan(coursedir, A, students=["alice", "carol"])[:2] == (["carol"], ["alice"])
    with pytest.raises(UsageError, match="no submission of .* for erin"):
        plan(coursedir, A, students=["alice", "erin"])


def test_sqlite_with_a_remote_scheduler_is_refused(tmp_path, monkeypatch):
    from taylornet_grader.autograde import UsageError, autograde

    monkeypatch.delenv("TAYLORNET_DB_URL", raising=False)
    shutil.copy(EXERCISES / "nbgrader_config.py", tmp_path)
    with pytest.raises(UsageError, match="SQLite gradebook cannot take writers.*PostgreSQL"):
        autograde(tmp_path, A, scheduler="tcp://127.0.0.1:1")
    assert not (tmp_path / "gradebook.db").exists(), "refused before touching anything"


def test_usage_errors_of_the_command(tmp_path, monkeypatch, capsys):
    from taylornet_grader.autograde import main

    monkeypatch.delenv("TAYLORNET_DB_URL", raising=False)
    monkeypatch.setenv("PATH", _env()["PATH"])
    assert main([A, "--course", str(tmp_path)]) == 2
    assert "no nbgrader_config.py" in capsys.readouterr().err
    shutil.copy(EXERCISES / "nbgrader_config.py", tmp_path)
    assert main([A, "--course", str(tmp_path)]) == 2  # the gradebook has no such assignment
    assert f"run `nbgrader generate_assignment {A}` first" in capsys.readouterr().err
    closed = f"postgresql+psycopg://grader@127.0.0.1:{_postgres.free_port()}/taylornet"
    monkeypatch.setenv("TAYLORNET_DB_URL", closed)
    assert main([A, "--course", str(tmp_path), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "cannot open the gradebook postgresql+psycopg://" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([A, "--workers", "0"])
    with pytest.raises(SystemExit):
        main([A, "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"])


def test_progress_shows_count_rate_and_eta():
    import io

    from taylornet_grader.autograde import Progress

    row = {"student": "alice", "verdict": "graded", "score": 12.0, "max_score": 12.0,
           "wall": 2.0, "restarts": 0, "worker": "w0", "error": ""}
    out = io.StringIO()
    progress = Progress(2, out, bar=False)  # not a terminal: one line per submission
    progress.update(row)
    progress.update({**row, "student": "bob", "verdict": "failed", "error": "no notebook"})
    progress.close()
    first, second = out.getvalue().splitlines()
    assert first.startswith("[1/2] alice: 12/12 points (2.0 s, 0 restarts, w0) | ")
    assert re.search(r"\| \d+\.\d/min, ETA \d+:\d\d:\d\d$", first)
    assert second.startswith("[2/2] bob: FAILED: no notebook")
    out = io.StringIO()
    progress = Progress(2, out, bar=True)  # a terminal: tqdm's bar
    progress.update(row)
    progress.close()
    text = out.getvalue()
    assert "1/2" in text and "/min, last: alice" in text and "<" in text  # count, rate, ETA


def test_the_failure_line_names_the_cause():
    from taylornet_grader.worker import _failure

    log = ("[INFO] Autograding\n[ERROR] There was an error processing assignment: /c/b/A\n"
           "[ERROR] Traceback (most recent call last):\n  File \"x.py\", line 1, in f\n"
           "nbformat.reader.NotJSONError: Notebook does not appear to be JSON\n\n"
           "[ERROR] There was an error processing assignment 'A' for student 'b'\n")
    assert _failure(log, RuntimeError("x")) == \
        "nbformat.reader.NotJSONError: Notebook does not appear to be JSON"
    assert _failure("[ERROR] No notebooks were matched\n", RuntimeError()) == \
        "No notebooks were matched"
    assert _failure("", KeyError("x")) == "KeyError: 'x'"
