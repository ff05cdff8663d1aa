"""A class graded in this process: the catalogue's implementations as the students.

No kernel and no nbgrader. Each test cell of a problem set's source notebook (its
visible checks and hidden tests) runs here with a "student's" functions, which come
from the course's catalogue (``exercises/catalogue``: wrong and right implementations
that circulate, trusted code), and records its hidden cases with the same
:class:`taylornet.grading.CaseRecorder` as the autograder's checker. So a rehearsal
gives what a real run gives (a score per test cell and a record per cell) for the
item analysis (:mod:`taylornet_grader.item_analysis`) to read, in seconds.

The synthetic class follows a one-parameter logistic (Rasch) model: student ``s``
has an ability ``theta_s ~ N(0, 1)``, exercise ``e`` an easiness ``b_e``, and
``P(right) = 1 / (1 + exp(-(theta_s + b_e)))``. A student who gets it wrong hands in
one of the catalogue's wrong implementations (those the visible tests let through
are ``visible_weight`` times as likely: a student fixes what the visible tests
flag before submitting) or, with probability ``p_blank``, leaves the stub.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import random
import warnings
from pathlib import Path

from taylornet import grading

__all__ = ["STUB", "ProblemSet", "grade", "load_problem_set", "synthetic_class"]

#: What an untouched solution cell holds (the release version of every exercise).
STUB = 'raise NotImplementedError("replace this line with your code")'


def _source(cell: dict) -> str:
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else text


def _meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


class ProblemSet:
    """A source notebook's set-up, and per exercise its solution and its test cell."""

    def __init__(self, path: str | Path):
        path = Path(path)
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        by_id = {_meta(c).get("grade_id"): c for c in cells if _meta(c).get("grade_id")}
        self.name = path.stem
        self.setup = _source(by_id["setup"])
        self.tests: dict[str, tuple[str, float, str]] = {}  # exercise -> (cell, points, source)
        self.solutions: dict[str, str] = {}  # exercise -> the reference solution's code
        for cell in cells:
            meta = _meta(cell)
            gid = meta.get("grade_id", "")
            if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
                exercise = gid.removesuffix("_tests")
                self.tests[exercise] = (gid, float(meta.get("points", 0)), _source(cell))
                solution = by_id.get(f"{exercise}_solution")
                if solution is not None:
                    self.solutions[exercise] = "\n".join(
                        line for line in _source(solution).splitlines()
                        if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)

    @property
    def points(self) -> dict[str, float]:
        """``{test cell: points}`` in notebook order."""
        return {cell: points for cell, points, _ in self.tests.values()}

    def stub(self, exercise: str) -> str:
        """The exercise's solution cell as released: its signature, then the stub."""
        header = self.solutions[exercise].splitlines()[0]
        return f"{header}\n    {STUB}\n"


def load_problem_set(exercises: str | Path, assignment: str) -> ProblemSet:
    """The :class:`ProblemSet` of ``exercises/source/<assignment>/<assignment>.ipynb``."""
    path = Path(exercises) / "source" / assignment / f"{assignment}.ipynb"
    if not path.is_file():
        raise FileNotFoundError(f"no source notebook for {assignment!r} at {path}")
    return ProblemSet(path)


def _run_test_cell(namespace: dict, source: str, name: str):
    """Run one test cell as the grader's checker does; ``(error, value, cases)``."""
    run = grading.run_recorded(source, namespace, name)
    error, _ = run.recorder.verdict(run.error, "")
    return error, run.value, run.recorder.cases


def grade(problem_set: ProblemSet, solutions: dict[str, str]):
    """Grade one submission: ``solutions`` maps an exercise to its solution cell's code
    (missing: the stub). Returns ``({cell: score}, {cell: record})``, all-or-nothing
    unless ``TAYLORNET_PARTIAL_CREDIT`` is on (then the cell's value is its score)."""
    setup: dict = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        exec(problem_set.setup, setup)  # noqa: S102 - the course's code
    scores, records = {}, {}
    for exercise, (cell, points, source) in problem_set.tests.items():
        namespace = dict(setup)
        code = solutions.get(exercise) or problem_set.stub(exercise)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.suppress(Exception):  # a broken cell: its test cell fails
                exec(compile(code, f"{exercise}_solution", "exec"), namespace)  # noqa: S102
        error, value, cases = _run_test_cell(namespace, source, cell)
        if error is not None:
            scores[cell] = 0.0
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            scores[cell] = float(value)
        else:
            scores[cell] = points
        records[cell] = grading.cell_record(cell, error, cases)
    return scores, records


def synthetic_class(problem_set: ProblemSet, catalogue: dict, n_students: int, *,
                    seed: int = 0, easiness: dict[str, float] | None = None,
                    p_blank: float = 0.1, visible_weight: float = 3.0):
    """Submissions of ``n_students`` drawn from ``catalogue`` (``catalogue.load``'s dict).

    Returns ``{student: {exercise: (kind, label, code)}}``, ``kind`` one of
    ``"right"``, ``"wrong"``, ``"blank"`` (the module docstring gives the model).
    ``easiness`` maps an exercise to ``b_e`` (default 1.0).
    """
    rng = random.Random(seed)
    easiness = easiness or {}
    misses = catalogue.get("VISIBLE_MISSES", {})
    submissions = {}
    for k in range(n_students):
        theta = rng.gauss(0.0, 1.0)
        chosen = {}
        for exercise in problem_set.tests:
            b = easiness.get(exercise, 1.0)
            rights = {"the course's solution": problem_set.solutions[exercise],
                      **catalogue["RIGHT"].get(exercise, {})}
            wrongs = catalogue["WRONG"].get(exercise, {})
            if rng.random() < 1.0 / (1.0 + math.exp(-(theta + b))):
                label = rng.choice(sorted(rights))
                chosen[exercise] = ("right", label, rights[label])
            elif not wrongs or rng.random() < p_blank:
                chosen[exercise] = ("blank", "stub", problem_set.stub(exercise))
            else:
                labels = sorted(wrongs)
                weights = [visible_weight if label in misses.get(exercise, {}) else 1.0
                           for label in labels]
                label = rng.choices(labels, weights)[0]
                chosen[exercise] = ("wrong", label, wrongs[label])
        submissions[f"student{k + 1:03d}"] = chosen
    return submissions
