"""The instructor's commands of ``exercises/README.md``, run as written on a small class.

Every fenced ``bash`` block of the README's "Instructor workflow" section runs, in
order, with ``bash -e`` in a temporary copy of the course (the configuration, the
problem sets' text and catalogues, the tools, the source notebooks and the sample
``students.csv``; nothing generated),
with this environment's ``bin`` first on ``PATH`` (as after ``source
.venv/bin/activate``). The class is the README's: alice added by hand, three
students from the CSV file, a due date, and the rehearsal submissions of
``tools/sample_class.py`` (solved, unsolved, one slip, late). Then the outputs the
README promises are checked: the grades, the late flag, the feedback pages, a
regrade, and partial credit.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _visible import load_specs

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
README = EXERCISES / "README.md"
A = "ps05_quasi_newton"
POINTS = load_specs()[A].POINTS              # the points of the source notebook's test cells
TOTAL, SLIP = sum(POINTS.values()), list(POINTS.values())[1]  # carol's slip: the 2nd exercise

pytestmark = [pytest.mark.grading, pytest.mark.slow]


def workflow_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Instructor workflow", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.S)


def test_the_workflow_section_has_the_commands():
    commands = "\n".join(workflow_blocks())
    for needed in ("nbgrader validate", "db student add", "db student import students.csv",
                   "--duedate", "generate_assignment", "sample_class.py", "autograde",
                   "--force", "generate_feedback", "export", "TAYLORNET_PARTIAL_CREDIT=1"):
        assert needed in commands, needed
    assert "[" not in commands, "optional parts in brackets do not run as written"


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    course = tmp_path_factory.mktemp("readme") / "exercises"
    course.mkdir()
    for name in ("nbgrader_config.py", "students.csv"):
        shutil.copy(EXERCISES / name, course)
    for name in ("source", "problems", "catalogue", "tools", "taylornet_grader"):
        shutil.copytree(EXERCISES / name, course / name,
                        ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.pop("TAYLORNET_PARTIAL_CREDIT", None)
    logs = []
    for block in workflow_blocks():
        run = subprocess.run(["bash", "-e", "-c", block], cwd=course, env=env, text=True,
                             capture_output=True, timeout=900)
        logs.append((block, run.stdout + run.stderr))
        assert run.returncode == 0, f"README block failed:\n{block}\n{run.stdout}{run.stderr}"
    return course, logs


def _rows(path: Path) -> dict[str, dict]:
    with path.open(encoding="utf-8") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def test_grades_of_the_rehearsal_class(ran):
    course, _ = ran
    rows = _rows(course / "grades.csv")
    assert set(rows) == {"alice", "bob", "carol", "dave"}
    scores = {s: float(r["score"]) for s, r in rows.items()}
    assert scores["alice"] == scores["dave"] == TOTAL and scores["bob"] == 0.0
    assert scores["carol"] == TOTAL - SLIP  # the slip costs its exercise, nothing else
    assert {r["duedate"] for r in rows.values()} == {"2027-03-05 17:00:00"}
    assert rows["dave"]["timestamp"] > rows["dave"]["duedate"] > rows["alice"]["timestamp"]
    assert rows["alice"]["last_name"] == "Liddell" and rows["carol"]["first_name"] == "Carol"


def test_feedback_for_everyone(ran):
    course, _ = ran
    for student in ("alice", "bob", "carol", "dave"):
        pages = list((course / "feedback" / student / A).glob("*.html"))
        assert pages, student
        assert "BEGIN HIDDEN TESTS" not in pages[0].read_text(encoding="utf-8")


def test_the_log_reads_clean(ran):
    _, logs = ran
    text = "\n".join(out for _, out in logs)
    for alarm in ("has changed!", "| ERROR]", "SAWarning", "Traceback"):
        assert alarm not in text, alarm


def test_partial_credit_scores_the_slip_in_part(ran):
    course, _ = ran
    rows = _rows(course / "grades_partial.csv")
    assert TOTAL - SLIP < float(rows["carol"]["score"]) < TOTAL
    assert float(rows["alice"]["score"]) == TOTAL and float(rows["bob"]["score"]) == 0.0
