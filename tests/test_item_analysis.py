"""Item analysis: the grader's record of every hidden case, and the report built from it.

* the recorder (``taylornet.grading.CaseRecorder``): every case of a failing test cell
  is run and recorded, and the cell's verdict and message stay those of the first
  failure; the feedback never shows the record;
* the analysis (``taylornet_grader.item_analysis``) on synthetic classes: the counts
  add up (hypothesis), the discrimination index is the item-rest correlation;
* a real run: a small class autograded by nbgrader, whose report counts each student
  whose function is wrong in a case, and whose feedback shows no record.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from taylornet_grader import item_analysis as ia
from taylornet_grader import rehearsal

from taylornet import grading, grading_visible

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
PS01 = "ps01_first_order"

# gd_step that clips the gradient: right on the visible examples and on four hidden cases
# of five; the hidden case with a huge gradient alone rejects it.
GD_CLIP = "def gd_step(x, g, lr):\n    return x - lr * np.clip(g, -10, 10)\n"
HUGE = "large gradient, small learning rate"
GD_RIGHT = "def gd_step(x, g, lr):\n    return x - lr * g\n"
GD_PLUS = "def gd_step(x, g, lr):\n    return x + lr * g\n"


def ps01():
    return rehearsal.load_problem_set(EXERCISES, PS01)


def gd_record(code: str) -> tuple[float, dict]:
    scores, records = rehearsal.grade(ps01(), {"gd_step": code})
    return scores["gd_step_tests"], records["gd_step_tests"]


# ----------------------------------------------------------------- the recorder
def test_every_hidden_case_is_recorded_after_a_failure():
    score, record = gd_record(GD_PLUS)
    assert score == 0 and record["status"] == "fail"
    status = {c["label"]: c["status"] for c in record["cases"]}
    assert len(status) == 5
    assert status["lr = 0 leaves x where it is"] == "pass"  # x + 0 g = x - 0 g
    assert {s for label, s in status.items() if label != "lr = 0 leaves x where it is"} == {
        "fail"}


def _plain_verdict(code: str) -> str:
    """The error of the gd_step test cell run as before recording: stop at the first."""
    problem = ps01()
    namespace = {"__name__": "__main__"}
    exec(problem.setup, namespace)
    exec(code, namespace)
    grading_visible._CELL_KEY = object()
    try:
        exec(problem.tests["gd_step"][2], namespace)
    except AssertionError as failure:
        return str(failure)
    finally:
        grading_visible._CELL_KEY = None
    return ""


@pytest.mark.parametrize("code", [GD_CLIP, GD_PLUS])
def test_recording_keeps_the_verdict_and_message_of_the_first_failure(code, monkeypatch):
    monkeypatch.setenv(grading_visible.PARTIAL_CREDIT_ENV, "0")
    _, record = gd_record(code)
    plain = _plain_verdict(code)
    assert plain and record["message"] == plain.splitlines()[0]


def test_a_visible_failure_still_runs_the_hidden_cases():
    """A wrong sign fails the visible example first; the hidden cases are still known."""
    _, record = gd_record(GD_PLUS)
    assert record["message"].startswith("gd_step(x, g, lr=0.1)")
    failed = {c["label"] for c in record["cases"] if c["status"] == "fail"}
    assert "random vectors" in failed and "lr = 0 leaves x where it is" not in failed


def test_a_correct_function_passes_every_case():
    score, record = gd_record(GD_RIGHT)
    assert score == 1 and record["status"] == "pass"
    assert {c["status"] for c in record["cases"]} == {"pass"}


def test_a_reference_call_stops_the_cell():
    code = "def gd_step(x, g, lr):\n    from taylornet.rules import gd_step as f\n" \
           "    return f(x, g, lr)\n"
    score, record = gd_record(code)
    assert score == 0 and record["status"] == "reference"


def test_failure_status_reads_the_executors_marks():
    timeout = grading.GradingFailure("`f` did not return within 60 s")
    timeout.timed_out = True
    wrapped = grading.GradingFailure("`f` raised GradingFailure")
    wrapped.__cause__ = timeout
    assert grading.failure_status(wrapped) == "timeout"

    class Lost(Exception):
        ename = "KernelDied"

    died = grading.GradingFailure("`f` raised Lost")
    died.__cause__ = Lost()
    assert grading.failure_status(died) == "kernel died"
    assert grading.failure_status(grading.GradingFailure("wrong")) == "fail"


def test_the_hidden_case_that_fails_is_named():
    score, record = gd_record(GD_CLIP)
    assert score == 0 and record["message"].startswith("gd_step: x_new is wrong")
    assert [c["label"] for c in record["cases"] if c["status"] == "fail"] == [HUGE]


def test_partial_credit_records_the_same_cases(monkeypatch):
    monkeypatch.setenv(grading_visible.PARTIAL_CREDIT_ENV, "1")
    score, record = gd_record(GD_CLIP)
    assert score == pytest.approx(7 / 8)  # 3 visible checks + 4 of 5 hidden cases pass
    assert record["status"] == "partial"
    assert [c["label"] for c in record["cases"] if c["status"] == "fail"] == [HUGE]


# ----------------------------------------------------------------- the analysis
def _results(draw_scores, draw_failures, n_students, cells, labels):
    points = {cell: float(p) for cell, p in cells}
    scores, records = {}, {}
    for k in range(n_students):
        student = f"s{k}"
        scores[student] = {cell: draw_scores[k][i] * points[cell] for i, cell in enumerate(points)}
        records[student] = {
            cell: {"cell": cell, "status": "fail", "message": "m",
                   "cases": [{"exercise": cell, "label": label,
                              "status": "fail" if draw_failures[k][i][j] else "pass",
                              "message": f"{label} wrong"}
                             for j, label in enumerate(labels)]}
            for i, cell in enumerate(points)}
    return ia.ClassResults("a", points, scores, records)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_counts_add_up(data):
    n = data.draw(st.integers(1, 12))
    cells = [("e1_tests", 1), ("e2_tests", 3)]
    labels = ["c1", "c2", "c3"]
    fractions = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])
    draw_scores = [[data.draw(fractions) for _ in cells] for _ in range(n)]
    draw_failures = [[[data.draw(st.booleans()) for _ in labels] for _ in cells]
                     for _ in range(n)]
    results = _results(draw_scores, draw_failures, n, cells, labels)

    rows = ia.case_table(results)
    assert len(rows) == len(cells) * len(labels)
    assert sum(r["failed"] for r in rows) == sum(map(sum, (f for s in draw_failures
                                                           for f in s)))
    assert all(0 <= r["failed"] <= r["reached"] == n for r in rows)
    assert [r["failed"] for r in rows] == sorted((r["failed"] for r in rows), reverse=True)
    for row in ia.exercise_table(results):
        assert row["students"] == n
        assert 0 <= row["zero"] + row["full_marks"] <= 1 + 1e-12
        assert row["mean"] == pytest.approx(np.mean([results.scores[s][row["cell"]]
                                                     for s in results.students]))


def test_discrimination_is_the_item_rest_correlation():
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 2, size=(30, 4)) * np.array([1.0, 2.0, 3.0, 2.0])
    results = ia.ClassResults(
        "a", {f"e{i}": p for i, p in enumerate([1.0, 2.0, 3.0, 2.0])},
        {f"s{k}": {f"e{i}": scores[k, i] for i in range(4)} for k in range(30)})
    order = sorted(range(30), key=lambda k: f"s{k}")  # the students, as the report sorts them
    for i in range(4):
        x = scores[order, i]
        rest = scores[order].sum(axis=1) - x
        assert ia.discrimination(results, f"e{i}") == pytest.approx(np.corrcoef(x, rest)[0, 1])
    constant = ia.ClassResults("a", {"e": 1.0, "f": 1.0},
                               {f"s{k}": {"e": 1.0, "f": float(k % 2)} for k in range(5)})
    assert ia.discrimination(constant, "e") is None


def test_report_of_a_rehearsal_class(tmp_path):
    import catalogue

    problem = ps01()
    submissions = rehearsal.synthetic_class(problem, catalogue.load(PS01), 12, seed=3)
    scores, records = {}, {}
    for student, chosen in submissions.items():
        scores[student], records[student] = rehearsal.grade(
            problem, {e: code for e, (_, _, code) in chosen.items()})
    for student, chosen in submissions.items():  # right gets the points, the rest none
        for exercise, (kind, _, _) in chosen.items():
            cell, points, _ = problem.tests[exercise]
            assert scores[student][cell] == (points if kind == "right" else 0), (student, kind)
    results = ia.ClassResults(PS01, problem.points, scores, records)
    path = ia.write_results(results, tmp_path / PS01)
    page = path.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == len(ia.PLOTS)
    for name in ("exercises", "cases", "messages", "students"):
        with (tmp_path / PS01 / f"{name}.csv").open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert rows, name
    assert len(rows) == 12  # students.csv
    assert all((tmp_path / PS01 / f"{name}.png").stat().st_size > 0 for name in ia.PLOTS)


def test_an_empty_class_says_so(tmp_path):
    path = ia.write_results(ia.ClassResults("ps09", {}, {}), tmp_path)
    assert "No graded submission" in path.read_text(encoding="utf-8")


# --------------------------------------------------- the grader's side (nbgrader)
nbgrader = pytest.importorskip("nbgrader", reason="the grading extra is not installed")


def _cell(source: str, outputs: list, **meta) -> dict:
    return {"cell_type": "code", "execution_count": None, "source": source,
            "outputs": outputs, "metadata": {"nbgrader": meta}}


def _record_output(cell: str, labels: list[str]) -> dict:
    record = {"version": 1, "cell": cell, "status": "fail", "message": "m",
              "cases": [{"exercise": "gd_step", "label": label, "status": "fail",
                         "message": "m"} for label in labels]}
    return {"output_type": "display_data", "metadata": {},
            "data": {grading.CASES_MIME: record, "text/plain": "hidden cases: ..."}}


@pytest.mark.grading
def test_feedback_drops_the_record():
    import nbformat
    from taylornet_grader.feedback import HideHiddenTests

    nb = nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        _cell("x = 1\n### BEGIN HIDDEN TESTS\ny = 2\n### END HIDDEN TESTS", [
            {"output_type": "stream", "name": "stdout", "text": "ok\n"},
            _record_output("gd_step_tests", ["a secret hidden case label"])],
            grade=True, solution=False, grade_id="gd_step_tests", points=1)]})
    nb, _ = HideHiddenTests().preprocess(nb, {})
    text = json.dumps(nb)
    assert grading.CASES_MIME not in text and "a secret hidden case label" not in text
    assert nb.cells[0].outputs[0].text == "ok\n"


@pytest.mark.grading
def test_only_a_test_cells_own_record_counts(tmp_path):
    """A record printed by a solution cell, or naming another cell, is not read."""
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": [
        _cell("def gd_step(): ...", [_record_output("gd_step_tests", ["forged"])],
              grade=False, solution=True, grade_id="gd_step_solution"),
        _cell("tests", [_record_output("momentum_step_tests", ["forged"]),
                        _record_output("gd_step_tests", ["real"])],
              grade=True, solution=False, grade_id="gd_step_tests", points=1)]}))
    found = ia._records_of(path, {"gd_step_tests"})
    assert [c["label"] for c in found["gd_step_tests"]["cases"]] == ["real"]


@pytest.mark.grading
def test_the_checker_records_the_cases_of_a_wrong_function(monkeypatch):
    from taylornet_grader.checker import CASES_MIME, TrustedChecker
    from test_grading_checker import SETUP, TEST_CELL, kernel

    monkeypatch.setenv(grading_visible.PARTIAL_CREDIT_ENV, "0")
    namespace = {}
    exec("def gd_step(x, g, lr):\n    return x - 0.1 * g", namespace)  # right for lr = 0.1
    checker = TrustedChecker([SETUP], kernel(namespace))
    outputs = checker.run_cell(TEST_CELL, "gd_step_tests")
    (error,) = [o for o in outputs if o.output_type == "error"]
    assert "case: lr = 0.0" in error.evalue  # the first failure, as without the record
    record = checker.last_record.data[CASES_MIME]
    assert [(c["label"], c["status"]) for c in record["cases"]] == [
        ("lr = 0.1", "pass"), ("lr = 0.0", "fail"), ("lr = 2.0", "fail")]
    assert not any(CASES_MIME in o.get("data", {}) for o in outputs)  # the executor adds it


# ------------------------------------------------------- a real autograde run
#: The class: each student's solutions that differ from the course's.
CLASS = {
    "ada": {},
    "ben": {"gd_step": GD_CLIP},
    "cy": {"gd_step": GD_CLIP, "momentum_step": None},  # None: left as released
    "dee": {"gd_step": GD_PLUS},
}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    import nbformat
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    root = tmp_path_factory.mktemp("course")
    shutil.copy(EXERCISES / "nbgrader_config.py", root)
    shutil.copytree(EXERCISES / "taylornet_grader", root / "taylornet_grader",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "source").mkdir()
    shutil.copytree(EXERCISES / "source" / PS01, root / "source" / PS01,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    (root / "exchange").mkdir()
    config.Exchange.root = str(root / "exchange")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
        mp.setenv(grading_visible.PARTIAL_CREDIT_ENV, "0")
        api = NbGraderAPI(config=config)
        assert api.generate_assignment(PS01)["success"]
        release = nbformat.read(root / "release" / PS01 / f"{PS01}.ipynb", as_version=4)
        problem = ps01()
        for student, changes in CLASS.items():
            nb = copy.deepcopy(release)
            for cell in nb.cells:
                gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
                exercise = gid.removesuffix("_solution")
                if gid.endswith("_solution") and changes.get(exercise, "") is not None:
                    cell.source = changes.get(exercise) or problem.solutions[exercise]
            folder = root / "submitted" / student / PS01
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{PS01}.ipynb")
        result = api.autograde(PS01, "*")
        assert result["success"], result.get("error", "") + result.get("log", "")
        for student in CLASS:
            assert api.generate_feedback(PS01, student)["success"]
        report = ia.write_report(root, PS01)
    return root, report


@pytest.mark.grading
@pytest.mark.slow
def test_the_report_counts_each_student_failing_a_case(graded_class):
    root, report = graded_class
    assert report == root / "reports" / PS01 / "report.html"
    with (report.parent / "cases.csv").open(encoding="utf-8") as f:
        cases = {(r["exercise"], r["label"]): r for r in csv.DictReader(f)}
    # ben and cy clip the gradient; dee has a plus sign (and fails the visible example)
    assert (cases[("gd_step", HUGE)]["failed"], cases[("gd_step", HUGE)]["reached"]) == (
        "3", "4")
    assert cases[("gd_step", "random vectors")]["failed"] == "1"
    assert cases[("gd_step", "lr = 0 leaves x where it is")]["failed"] == "0"
    assert next(iter(cases)) == ("gd_step", HUGE)  # the most often failed comes first
    # the same class graded in one process gives the same records
    problem = ps01()
    for student, changes in CLASS.items():
        code = {e: changes[e] or problem.stub(e) if e in changes else problem.solutions[e]
                for e in problem.tests}
        _, expected = rehearsal.grade(problem, code)
        autograded = ia._records_of(root / "autograded" / student / PS01 / f"{PS01}.ipynb",
                                    set(problem.points))
        for cell, record in expected.items():
            assert autograded[cell]["cases"] == record["cases"], (student, cell)
            assert autograded[cell]["message"] == record["message"], (student, cell)
    with (report.parent / "exercises.csv").open(encoding="utf-8") as f:
        rows = {r["exercise"]: r for r in csv.DictReader(f)}
    assert float(rows["gd_step"]["mean"]) == pytest.approx(1 / 4)
    assert float(rows["momentum_step"]["zero"]) == pytest.approx(1 / 4)
    assert rows["momentum_step"]["stopped_before_hidden"] == "1"  # cy's stub


@pytest.mark.grading
@pytest.mark.slow
def test_the_feedback_shows_no_record(graded_class):
    root, _ = graded_class
    for student in ("ben", "dee"):
        (page,) = (root / "feedback" / student / PS01).glob("*.html")
        text = page.read_text(encoding="utf-8")
        assert "vnd.taylornet.cases" not in text and "hidden cases:" not in text
        # the first failure names its case (as before); the later failures do not show
        assert "a weight matrix (2-D parameter)" not in text


@pytest.mark.grading
def test_no_submission_is_a_clear_message(tmp_path, capsys, monkeypatch):
    from nbgrader.api import Gradebook

    # nbgrader makes a new gradebook with this environment's `alembic` script
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    shutil.copy(EXERCISES / "nbgrader_config.py", tmp_path)
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", course_id="taylornet") as gb:
        gb.add_assignment(PS01)
    assert ia.main([PS01, "--course", str(tmp_path), "--db-url",
                    f"sqlite:///{tmp_path / 'gradebook.db'}"]) == 1
    assert "no graded submission of 'ps01_first_order'" in capsys.readouterr().err
    assert ia.main(["ps99", "--course", str(tmp_path), "--db-url",
                    f"sqlite:///{tmp_path / 'gradebook.db'}"]) == 1
    assert "has no assignment 'ps99'" in capsys.readouterr().err
    page = ia.write_report(tmp_path, PS01, tmp_path / "out",
                           db_url=f"sqlite:///{tmp_path / 'gradebook.db'}")
    assert page == tmp_path / "out" / PS01 / "report.html"
    assert "No graded submission" in page.read_text(encoding="utf-8")
    page = ia.write_report(tmp_path, PS01, tmp_path / "reports" / PS01,
                           db_url=f"sqlite:///{tmp_path / 'gradebook.db'}")
    assert page == tmp_path / "reports" / PS01 / "report.html"  # named after it: as is


def _failing_kernel(code: str, bad_lr: float, failure):
    """The stand-in kernel of the checker's tests, with a call at ``lr = bad_lr`` that fails
    the way the executor reports a timeout or a lost kernel."""
    import base64

    import cloudpickle
    from test_grading_checker import kernel

    namespace = {}
    exec(code, namespace)
    call = kernel(namespace)

    def call_in_kernel(name, payload):
        args, _ = cloudpickle.loads(base64.b64decode(payload))
        if args[2] == bad_lr:
            raise failure()
        return call(name, payload)

    return call_in_kernel


@pytest.mark.grading
def test_a_timeout_is_recorded_and_stops_the_call(monkeypatch):
    from taylornet_grader.checker import CASES_MIME, TrustedChecker
    from test_grading_checker import SETUP, TEST_CELL

    def timeout():
        failure = grading.GradingFailure("`gd_step` did not return within 60 s")
        failure.timed_out = True
        return failure

    monkeypatch.setenv(grading_visible.PARTIAL_CREDIT_ENV, "0")
    checker = TrustedChecker([SETUP], _failing_kernel(GD_RIGHT, 0.0, timeout))
    outputs = checker.run_cell(TEST_CELL, "gd_step_tests")
    (error,) = [o for o in outputs if o.output_type == "error"]
    assert "did not return within 60 s" in error.evalue
    record = checker.last_record.data[CASES_MIME]
    assert record["status"] == "timeout"
    assert [c["status"] for c in record["cases"]] == ["pass", "timeout", "not run"]


@pytest.mark.grading
def test_a_lost_kernel_after_a_failure_keeps_the_first_failure_and_the_record(monkeypatch):
    from taylornet_grader.checker import CASES_MIME, KernelLost, TrustedChecker
    from test_grading_checker import SETUP, TEST_CELL

    monkeypatch.setenv(grading_visible.PARTIAL_CREDIT_ENV, "0")
    right_for_a_tenth = "def gd_step(x, g, lr):\n    return x - 0.1 * g"  # lr = 0.0 fails
    checker = TrustedChecker([SETUP], _failing_kernel(
        right_for_a_tenth, 2.0, lambda: KernelLost("KernelDied", "the kernel died")))
    with pytest.raises(KernelLost) as lost:  # the executor restarts the kernel
        checker.run_cell(TEST_CELL, "gd_step_tests")
    outputs = lost.value.outputs
    (error,) = [o for o in outputs if o.output_type == "error"]
    assert "case: lr = 0.0" in error.evalue  # the first failure, shown as before
    (record,) = [o.data[CASES_MIME] for o in outputs if CASES_MIME in o.get("data", {})]
    assert [c["status"] for c in record["cases"]] == ["pass", "fail", "kernel died"]
