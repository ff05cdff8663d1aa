"""Autograde throughput: seconds per submission, sandbox on and off, for every problem set.

For each assignment a temporary copy of the course (``exercises/``, with its own
``nbgrader_config.py``) generates the student version and receives ``--students``
submissions: the instructor's solutions (every cell runs, the demo included) for
two thirds of them and the untouched release for the rest. One
``autograde`` run (``NbGraderAPI``, in-process, like ``nbgrader autograde
<assignment>``) then grades them all, in each mode:

* ``stock``: nbgrader's own ``Execute`` preprocessor (no sandbox, no limits);
* ``limits``: the course's sandboxed executor with resource limits only;
* ``bwrap``: the course's default, bubblewrap plus resource limits.

Reported: wall time of the run, seconds per submission and submissions per minute
(target: at least 10 per minute per assignment on 2 cores).

    .venv/bin/python benchmarks/grading.py --students 6
    .venv/bin/python benchmarks/grading.py --assignments ps01_first_order --modes bwrap

With ``--workers`` it measures the parallel autograde (``python -m
taylornet_grader.autograde``, Dask) instead, on ``--students`` submissions of the first
assignment (sandbox on): nbgrader's serial run, then the parallel command on a
``LocalCluster`` of each number of workers; submissions per minute (with and without
the cluster's start), the speed-up over the serial run (target: at least 1.7 with 2
workers on 2 cores), the per-submission cost split (kernel start, execution,
gradebook, the rest) from the timing log, one ``nbgrader autograde --student`` process
per submission for comparison, and what a Dask scheduler costs per task (a no-op task's
round trip, and many no-op tasks at once), from which it projects the rate on N
machines::

    .venv/bin/python benchmarks/grading.py --workers 1 2 --students 24
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
ASSIGNMENTS = sorted(p.name for p in (EXERCISES / "source").iterdir() if p.is_dir())
MODES = ("stock", "limits", "bwrap")


def _config(root: Path, mode: str):
    from nbgrader.converters.autograde import Autograde
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.Exchange.root = str(root / "exchange")
    if mode == "stock":
        config.Autograde.autograde_preprocessors = \
            Autograde.class_traits()["autograde_preprocessors"].default()
    else:
        config.SandboxKernelManager.mode = mode
    return config


def grade(assignment: str, mode: str, students: int, workdir: Path) -> float:
    """Wall-clock seconds of one ``autograde`` of ``students`` submissions of ``assignment``."""

    root = workdir / f"{assignment}-{mode}"
    api = _course_with_submissions(root, assignment, students, mode)
    start = time.perf_counter()
    result = api.autograde(assignment, "*")
    seconds = time.perf_counter() - start
    assert result["success"], result.get("log", "")[-3000:]
    if mode == "bwrap":
        assert "taylornet sandbox: bubblewrap" in result.get("log", ""), "bwrap did not run"
    return seconds


def _course_with_submissions(root: Path, assignment: str, students: int, mode: str):
    """A course at ``root`` with the release made and ``students`` submissions (2/3
    solved, 1/3 untouched); returns its ``NbGraderAPI``."""
    from nbgrader.apps import NbGraderAPI

    root.mkdir(parents=True)
    shutil.copy(EXERCISES / "nbgrader_config.py", root)
    shutil.copytree(EXERCISES / "taylornet_grader", root / "taylornet_grader",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(EXERCISES / "source" / assignment, root / "source" / assignment)
    (root / "exchange").mkdir()
    api = NbGraderAPI(config=_config(root, mode))
    result = api.generate_assignment(assignment)
    assert result["success"], result.get("log", "")
    solved = nbformat.read(root / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    release = nbformat.read(root / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    for k in range(students):
        path = root / "submitted" / f"student{k:02d}" / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(solved if k % 3 != 2 else release, str(path))
    return api


# ---------------------------------------------------------------- parallel autograde
def parallel_course(assignment: str, students: int, workdir: Path) -> Path:
    """A course with ``students`` submissions (2/3 solved, 1/3 untouched), the release made."""
    root = workdir / f"{assignment}-parallel"
    _course_with_submissions(root, assignment, students, "bwrap")
    return root


def _mean(rows, key) -> float:
    return sum(r[key] for r in rows) / len(rows) if rows else 0.0


def scheduler_costs(tasks: int = 2000) -> dict[str, float]:
    """Seconds per no-op task on a 2-worker LocalCluster: one at a time, and many at once."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
        client.submit(int, 0, pure=False).result()
        rounds = []
        for k in range(200):
            start = time.perf_counter()
            client.submit(int, k, pure=False).result()
            rounds.append(time.perf_counter() - start)
        rounds.sort()
        start = time.perf_counter()
        client.gather(client.map(int, range(tasks), pure=False))
        batch = (time.perf_counter() - start) / tasks
    return {"round_trip": rounds[len(rounds) // 2], "per_task": batch}


def parallel(assignment: str, students: int, workers: list[int]) -> None:
    """The parallel benchmark (module docstring)."""
    import subprocess

    from nbgrader.apps import NbGraderAPI

    sys.path.insert(0, str(EXERCISES))
    from taylornet_grader.autograde import autograde

    print(f"{students} submissions of {assignment} (2/3 solved, 1/3 untouched), sandbox "
          f"bwrap, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="taylornet-parallel-bench-") as tmp:
        root = parallel_course(assignment, students, Path(tmp))
        api = NbGraderAPI(config=_config(root, "bwrap"))
        start = time.perf_counter()
        result = api.autograde(assignment, "*")
        serial = time.perf_counter() - start
        assert result["success"], result.get("log", "")[-3000:]
        serial_rate = 60 * students / serial
        print("\n| run | workers | wall [s] | submissions / min | steady / min | "
              "speed-up (steady) |")
        print("|---|---|---|---|---|---|")
        print(f"| nbgrader autograde (serial, in-process) | 1 | {serial:.1f} | "
              f"{serial_rate:.1f} | {serial_rate:.1f} | 1.00 |", flush=True)
        splits = {}
        with open(os.devnull, "w") as quiet:
            for n in workers:
                summary = autograde(root, assignment, workers=n, force=True, report=False,
                                    bar=False, out=quiet)
                assert not summary.failed, summary.failed
                splits[n] = summary.rows
                print(f"| taylornet_grader.autograde (LocalCluster) | {n} | "
                      f"{summary.seconds:.1f} | {summary.per_minute:.1f} | "
                      f"{summary.per_minute_grading:.1f} | "
                      f"{summary.per_minute_grading / serial_rate:.2f} |", flush=True)
        # one `nbgrader autograde --student` process per submission (what a naive pool does)
        few = [f"student{k:02d}" for k in range(min(3, students))]
        env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep
               + os.environ["PATH"]}
        start = time.perf_counter()
        for student in few:
            subprocess.run([os.path.join(os.path.dirname(sys.executable), "nbgrader"),
                            "autograde", assignment, "--student", student, "--force"],
                           cwd=root, env=env, check=True, capture_output=True)
        per_process = (time.perf_counter() - start) / len(few)
        print(f"| one `nbgrader autograde --student` process each ({len(few)} submissions) "
              f"| 1 | {per_process * len(few):.1f} | {60 / per_process:.1f} | "
              f"{60 / per_process:.1f} | {60 / per_process / serial_rate:.2f} |")
        print("\nPer submission (means of the timing log, seconds):\n")
        print("| workers | wall | kernel start | execution | gradebook | rest |")
        print("|---|---|---|---|---|---|")
        for n, rows in splits.items():
            wall, parts = _mean(rows, "wall"), [_mean(rows, k) for k in
                                                ("kernel_start", "execution", "gradebook")]
            print(f"| {n} | {wall:.2f} | {parts[0]:.2f} | {parts[1]:.2f} | {parts[2]:.2f} | "
                  f"{wall - sum(parts):.2f} |")
    costs = scheduler_costs()
    one = max(workers)
    per_worker = 60 / _mean(splits[one], "wall")  # submissions/min of one of `one` workers
    print(f"\nDask scheduler: a no-op task's round trip {costs['round_trip'] * 1e3:.2f} ms "
          f"(median of 200), {costs['per_task'] * 1e3:.3f} ms per task when many are queued "
          f"(2000 at once).")
    busy = _mean(splits[one], "wall") / costs["per_task"]
    print(f"One submission takes {_mean(splits[one], 'wall'):.2f} s on a worker "
          f"({per_worker:.1f} / min per worker with {one} worker(s) on this machine), so one "
          f"scheduler keeps about {busy:,.0f} workers busy before it is the bottleneck.\n")
    print("| machines (x workers, like this one) | projected submissions / min | "
          "300 students x 6 sets |")
    print("|---|---|---|")
    for machines in (1, 2, 4, 8, 16):
        slots = machines * one
        rate = slots * per_worker / (1 + slots * costs["per_task"] / _mean(splits[one], "wall"))
        print(f"| {machines} (x {one}) | {rate:.0f} | {1800 / rate:.1f} min |")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--assignments", nargs="*", default=ASSIGNMENTS)
    parser.add_argument("--modes", nargs="*", default=list(MODES), choices=MODES)
    parser.add_argument("--workers", nargs="*", type=int,
                        help="measure the parallel autograde with these numbers of workers")
    args = parser.parse_args(argv)
    # nbgrader runs the `alembic` script of this environment to create the gradebook
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    if args.workers:
        if shutil.which("bwrap") is None:
            sys.exit("bubblewrap is not installed (apt-get install bubblewrap)")
        parallel(args.assignments[0], args.students, args.workers)
        return
    if "bwrap" in args.modes and shutil.which("bwrap") is None:
        sys.exit("bubblewrap is not installed (apt-get install bubblewrap); drop --modes bwrap")
    print(f"{args.students} submissions per run (2/3 solved, 1/3 untouched), "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print("| assignment | mode | wall [s] | s / submission | submissions / min | >= 10 / min |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="taylornet-grading-bench-") as tmp:
        for assignment in args.assignments:
            for mode in args.modes:
                seconds = grade(assignment, mode, args.students, Path(tmp))
                per = seconds / args.students
                rate = 60 / per
                print(f"| {assignment} | {mode} | {seconds:.1f} | {per:.2f} | {rate:.1f} | "
                      f"{'yes' if rate >= 10 else 'NO'} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
