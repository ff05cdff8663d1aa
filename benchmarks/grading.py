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
    from nbgrader.apps import NbGraderAPI

    root = workdir / f"{assignment}-{mode}"
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
    start = time.perf_counter()
    result = api.autograde(assignment, "*")
    seconds = time.perf_counter() - start
    assert result["success"], result.get("log", "")[-3000:]
    if mode == "bwrap":
        assert "taylornet sandbox: bubblewrap" in result.get("log", ""), "bwrap did not run"
    return seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=6)
    parser.add_argument("--assignments", nargs="*", default=ASSIGNMENTS)
    parser.add_argument("--modes", nargs="*", default=list(MODES), choices=MODES)
    args = parser.parse_args(argv)
    # nbgrader runs the `alembic` script of this environment to create the gradebook
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
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
