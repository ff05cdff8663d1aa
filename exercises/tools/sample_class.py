"""Submissions of a rehearsal class, to try the grading workflow before term starts.

    python tools/sample_class.py ps05_quasi_newton           # students of the gradebook
    python tools/sample_class.py ps05_quasi_newton --students alice bob

Writes ``submitted/<student>/<assignment>/<assignment>.ipynb`` and its
``timestamp.txt``, as ``nbgrader collect`` would, from the release notebook
(run ``nbgrader generate_assignment`` first). The students take turns being:

1. *solved*: every exercise correct (full marks);
2. *unsolved*: the release as handed out (zero);
3. *one slip*: all correct but the second exercise, which has the first ``@wrong``
   entry of its catalogue, ``catalogue/<assignment>.py`` (loses that exercise's points);
4. *late*: solved, but submitted two hours after the due date (when the gradebook
   has one; ``nbgrader db assignment add <assignment> --duedate=...``).

Everyone else submits an hour before the due date (or now, without one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import types
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("solved", "unsolved", "one slip", "late")
STAMP = "%Y-%m-%d %H:%M:%S.%f %Z"


def spec_of(assignment: str, source):
    """The points (from the source notebook's test cells) and the catalogue ``WRONG``."""
    sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]
    try:
        import catalogue
        import sync
    finally:
        del sys.path[:2]
    if assignment not in catalogue.assignments():
        raise SystemExit(f"no catalogue/{assignment}.py")
    return types.SimpleNamespace(POINTS=sync.points(source),
                                 WRONG=catalogue.load(assignment)["WRONG"])


def gradebook_facts(assignment: str):
    """The students of the gradebook and the assignment's due date (or ``None``)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{ROOT / 'gradebook.db'}", course_id="taylornet") as gb:
        students = sorted(s.id for s in gb.students)
        try:
            due = gb.find_assignment(assignment).duedate
        except MissingEntry:
            due = None
    return students, due


def solution(cell_source: str) -> str:
    return "\n".join(line for line in cell_source.splitlines() if "### " not in line)


def submission(kind: str, release, source, spec):
    nb = nbformat.from_dict(release)
    if kind == "unsolved":
        return nb
    names = list(spec.POINTS)
    wrong = {names[1]: next(iter(spec.WRONG[names[1]].values()))} if kind == "one slip" else {}
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in source.cells}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if cell.metadata.get("nbgrader", {}).get("solution"):
            name = gid.removesuffix("_solution")
            cell.source = wrong.get(name, solution(by_id[gid].source)).strip()
    return nb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--students", nargs="+", help="default: the gradebook's students")
    args = parser.parse_args(argv)
    a = args.assignment
    release_path = ROOT / "release" / a / f"{a}.ipynb"
    if not release_path.exists():
        raise SystemExit(f"{release_path} is missing: run `nbgrader generate_assignment {a}`")
    students, due = gradebook_facts(a)
    students = args.students or students
    if not students:
        raise SystemExit("no students: add some (nbgrader db student add / import) or "
                         "pass --students")
    release = nbformat.read(release_path, as_version=4)
    source = nbformat.read(ROOT / "source" / a / f"{a}.ipynb", as_version=4)
    spec = spec_of(a, source)
    now = dt.datetime.now(dt.timezone.utc)
    for i, student in enumerate(students):
        kind = KINDS[i % len(KINDS)]
        when = now if due is None else due.replace(tzinfo=dt.timezone.utc) + dt.timedelta(
            hours=2 if kind == "late" else -1)
        folder = ROOT / "submitted" / student / a
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(submission(kind, release, source, spec), folder / f"{a}.ipynb")
        (folder / "timestamp.txt").write_text(when.strftime(STAMP) + "\n", encoding="utf-8")
        print(f"{student:>12}: {kind:9} submitted {when:%Y-%m-%d %H:%M} UTC")
    return 0


if __name__ == "__main__":
    sys.exit(main())
