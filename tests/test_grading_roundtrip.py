"""The problem sets as nbgrader sees them: layout, hidden tests, and the full round trip.

Every assignment under ``exercises/source/`` is written from its text,
``exercises/problems/psXX_name.md``, by ``exercises/tools/sync.py``; its catalogue,
``exercises/catalogue/psXX_name.py``, lists (``WRONG``) implementations that
circulate and that the hidden tests must reject, and (``RIGHT``, where there are
several sensible ways) other correct implementations they must accept. The points
of an exercise are those of its test cell's metadata, and nowhere else.

Fast tests (marker ``grading``) check each checked-in source notebook: it is
what ``sync.py`` writes from the text (and the text what it writes back from the
notebook), its points agree with its title, headings, hidden blocks and
``exercises/README.md``, its cells carry the right nbgrader metadata and the
CONTRACT's signatures, its solutions pass its tests, its hidden tests reject
every wrong implementation and accept every other correct one (run in-process,
no kernel), and together the problem sets cover every rule of the contract.

Slow tests (``grading`` and ``slow``) drive nbgrader in-process through
``NbGraderAPI`` in one temporary copy of the course configured by its own
``nbgrader_config.py``. For each assignment: ``generate_assignment``, then one
``autograde`` of all its submissions, whose per-exercise scores are read from the gradebook, and
``validate`` of the source and (inverted) of the release notebook. The
submissions are the solutions (full marks), the untouched release (zero) and
three *mixed* notebooks in which every exercise is, in turn, wrong (the first
entry of ``WRONG``), calling the ``taylornet`` reference, or correct: each wrong
or reference-calling exercise must lose exactly its own points.
"""

from __future__ import annotations

import ast
import copy
import inspect
import os
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest
from _visible import course_modules, load_specs

import taylornet.curvature
import taylornet.rules
from taylornet import grading

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
COURSE_ID = "taylornet"

#: Per problem set: its points and catalogues (``tests/_visible.py``).
SPECS = load_specs()
#: Points per exercise of every assignment, from the test cells of its source notebook
#: (the test cell of ``name`` is ``name + "_tests"``).
POINTS = {assignment: spec.POINTS for assignment, spec in SPECS.items()}
ASSIGNMENTS = list(POINTS)

#: The signatures the exercises ask for (CONTRACT.md; the last two are not in the contract).
SIGNATURES = {
    "gd_step": "(x, g, lr)",
    "momentum_step": "(x, v, g, lr, beta)",
    "nesterov_step": "(x, v, g, lr, beta)",
    "adam_step": "(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-08)",
    "rmsprop_step": "(x, s, g, lr, alpha=0.99, eps=1e-08)",
    "clip_grad_norm": "(g, max_norm)",
    "taylor_step": "(x, lr, g, Hg=None, H2g=None, T3gg=None)",
    "power_iteration": "(hvp, v0, num_iters=100, tol=1e-08)",
    "hutchinson_trace": "(hvp, dim, num_samples, seed=None)",
    "classify_stationary_point": "(H, tol=1e-08)",
    "fd_hvp": "(grad, x, v, eps=1e-05)",
    "newton_direction": "(g, H)",
    "damped_newton_direction": "(g, H, damping)",
    "armijo_backtracking": "(f, x, fx, g, p, alpha0=1.0, c1=0.0001, rho=0.5, max_iter=50)",
    "wolfe_conditions": "(f, grad, x, p, alpha, c1=0.0001, c2=0.9)",
    "gauss_newton_direction": "(J, r)",
    "levenberg_marquardt_direction": "(J, r, lam)",
    "bfgs_inverse_update": "(H, s, y)",
    "bfgs_update": "(B, s, y)",
    "dfp_inverse_update": "(H, s, y)",
    "sr1_update": "(B, s, y, r=1e-08)",
    "lbfgs_direction": "(g, s_hist, y_hist)",
    "conjugate_gradient": "(A, b, x0=None, tol=1e-10, max_iter=None)",
    "cg_beta": "(g_new, g_old, p_old, kind='pr+')",
    "cauchy_point": "(g, B, radius)",
    "dogleg_step": "(g, B, radius)",
    "steihaug_cg": "(g, hvp, radius, tol=1e-10, max_iter=None)",
}

pytestmark = [
    pytest.mark.grading,
    # nbgrader's gradebook triggers SQLAlchemy autoflush warnings that are not ours
    pytest.mark.filterwarnings("ignore:Object of type <Submitted"),
]


def source_path(assignment: str, root: Path = EXERCISES) -> Path:
    return root / "source" / assignment / f"{assignment}.ipynb"


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def grade_id(cell):
    return nbgrader_meta(cell).get("grade_id")


def cell_by_id(nb, gid):
    (cell,) = [c for c in nb.cells if grade_id(c) == gid]
    return cell


def strip_solution_markers(source: str) -> str:
    return "\n".join(
        line for line in source.splitlines()
        if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
    )


def solution_region(source: str) -> list[str]:
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines) if "### BEGIN SOLUTION" in line)
    end = next(i for i, line in enumerate(lines) if "### END SOLUTION" in line)
    return [line.strip() for line in lines[start + 1 : end]]


def hidden_region(source: str) -> str:
    return source[source.index("### BEGIN HIDDEN TESTS") :]


_SOURCES: dict[str, nbformat.NotebookNode] = {}


def source_nb(assignment: str):
    """The checked-in source notebook (read once; do not modify it)."""
    if assignment not in _SOURCES:
        _SOURCES[assignment] = nbformat.read(source_path(assignment), as_version=4)
    return _SOURCES[assignment]


def exercises(assignment: str):
    return [(assignment, name) for name in POINTS[assignment]]


ALL_EXERCISES = [pair for assignment in ASSIGNMENTS for pair in exercises(assignment)]


def catalogue_cases(kind: str) -> list:
    """``(assignment, name, label)`` of each implementation in a catalogue's ``WRONG`` or
    ``RIGHT``."""
    return [
        pytest.param(assignment, name, label, id=f"{name}-{label}")
        for assignment, spec in SPECS.items()
        for name, catalogue in getattr(spec, kind, {}).items()
        for label in catalogue
    ]


# ====================================================================== fast
def test_every_rule_and_curvature_function_is_an_exercise():
    asked = {name for assignment in ASSIGNMENTS for name in POINTS[assignment]}
    # CONTRACT.md: every rule, plus the two named curvature functions.
    contract = set(taylornet.rules.__all__) | {"power_iteration", "hutchinson_trace"}
    assert contract <= asked, f"no exercise for {sorted(contract - asked)}"
    catalogue, _ = course_modules()
    assert catalogue.assignments() == ASSIGNMENTS, "a problem set without catalogue, or back"
    notebooks = sorted(p.parent.name for p in (EXERCISES / "source").glob("*/*.ipynb"))
    assert notebooks == ASSIGNMENTS, "a source notebook without text: python tools/sync.py " \
                                     "--from-notebooks"


def test_source_notebooks_are_what_sync_writes_from_the_text():
    run = subprocess.run([sys.executable, "tools/sync.py", "--check"], cwd=EXERCISES,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_points_have_one_source_and_the_text_round_trips(assignment):
    """The title's table, the headings and the hidden blocks' score lines agree with the
    test cells' points (``sync.problems``); ``--from-notebooks`` gives the text back."""
    _, sync = course_modules()
    assert sync.problems(source_nb(assignment)) == []
    assert sync.text(source_nb(assignment)) == sync.text_path(assignment).read_text("utf-8"), (
        "the notebook and its text differ, or the text is not in the form sync.py writes: "
        "run python tools/sync.py --from-notebooks (after python tools/sync.py)")
    assert set(SPECS[assignment].WRONG) == set(POINTS[assignment]), \
        "every exercise needs wrong answers in its catalogue"


def test_readme_points_are_the_notebooks():
    """``exercises/README.md``: the total of each problem set and its table of exercises."""
    text = (EXERCISES / "README.md").read_text(encoding="utf-8")
    section = text.split("## The problem sets", 1)[1].split("\n## ", 1)[0]
    found = {}
    for m in re.finditer(r"^### (\w+) .*?([\d.]+) points\n(.*?)(?=^### |\Z)", section,
                         flags=re.S | re.M):
        rows = re.findall(r"^\| `(\w+)`[^|]*\| ([\d.]+) \|", m.group(3), flags=re.M)
        found[m.group(1)] = (float(m.group(2)), {name: float(p) for name, p in rows})
    assert found == {a: (sum(p.values()), p) for a, p in POINTS.items()}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_notebook_layout_and_metadata(assignment):
    nb = source_nb(assignment)
    points = POINTS[assignment]
    assert nb.nbformat == 4 and nb.nbformat_minor >= 5
    assert nb.metadata.kernelspec.name == "python3"
    nbformat.validate(nb)
    cells = nb.cells
    for cell in cells:
        meta = nbgrader_meta(cell)
        assert meta, f"cell {cell.id} has no nbgrader metadata"
        assert meta["schema_version"] == 3 and cell.id == meta["grade_id"]
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    # a locked title, then the locked set-up cell, before any student code
    title, setup = cells[0], cells[1]
    assert title.cell_type == "markdown" and nbgrader_meta(title)["locked"]
    assert title.source.startswith("# ")
    assert f"**{sum(points.values()):g}**" in title.source  # the points table and its total
    assert setup.cell_type == "code"
    meta = nbgrader_meta(setup)
    assert meta["locked"] and not meta["grade"] and not meta["solution"]
    assert "import numpy as np" in setup.source
    assert "from taylornet.grading import" in setup.source
    # the last cell: the locked, ungraded demonstration
    demo = cells[-1]
    assert demo.cell_type == "code" and nbgrader_meta(demo)["locked"]
    assert not nbgrader_meta(demo)["grade"] and "plt.show()" in demo.source
    assert "except NotImplementedError" in demo.source  # an unsolved release does not crash

    graded = {grade_id(c): c for c in cells if nbgrader_meta(c).get("grade")}
    assert set(graded) == {f"{name}_tests" for name in points}
    for name, pts in points.items():
        tests = graded[f"{name}_tests"]
        meta = nbgrader_meta(tests)
        assert meta["points"] == pts and meta["locked"] and not meta["solution"]
        assert tests.source.count("### BEGIN HIDDEN TESTS") == 1
        visible = tests.source[: tests.source.index("### BEGIN HIDDEN TESTS")]
        assert "ok: " in visible or "expect_" in visible, f"{name}: no visible test"
        sol = nbgrader_meta(cell_by_id(nb, f"{name}_solution"))
        assert sol["solution"] and not sol["grade"] and not sol["locked"]
        statement = cell_by_id(nb, f"{name}_statement").source
        assert "$$" in statement, f"{name}: the statement shows the equation"
        if assignment != "ps01_first_order":  # ps01 predates the chapter pointers
            assert "*Chapter " in statement, f"{name}: the statement points to a chapter"
    order = [grade_id(c) for c in cells]
    for name in points:  # statement, solution, tests, in this order
        i = order.index(f"{name}_statement")
        assert order[i + 1 : i + 3] == [f"{name}_solution", f"{name}_tests"]


def _solution_function(assignment, name):
    source = cell_by_id(source_nb(assignment), f"{name}_solution").source
    tree = ast.parse(source)
    (func,) = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    return source, tree, func


@pytest.mark.parametrize(("assignment", "name"), ALL_EXERCISES)
def test_solution_has_the_contract_signature_and_is_independent(assignment, name):
    source, tree, func = _solution_function(assignment, name)
    assert "taylornet" not in source, "solutions must not use the reference"
    assert func.name == name
    namespace = {"np": np}
    exec(compile(tree, f"<{name}_solution>", "exec"), namespace)
    assert str(inspect.signature(namespace[name])) == SIGNATURES[name]
    if name in taylornet.rules.__all__:
        assert inspect.signature(namespace[name]) == inspect.signature(
            getattr(taylornet.rules, name))


def run_cells(nb, *gids, **functions):
    """Execute cells of the source notebook in-process, with ``functions`` predefined."""
    namespace = {"__name__": "__main__"}
    exec(cell_by_id(nb, "setup").source, namespace)
    namespace.update(functions)
    for gid in gids:
        exec(compile(cell_by_id(nb, gid).source, gid, "exec"), namespace)
    return namespace


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solutions_pass_their_tests_in_process(assignment, capsys):
    nb = source_nb(assignment)
    names = list(POINTS[assignment])
    run_cells(nb, *[gid for name in names for gid in (f"{name}_solution", f"{name}_tests")])
    assert capsys.readouterr().out.count("ok: ") >= 2 * len(names)


def _run_hidden(assignment, name, implementation):
    nb = source_nb(assignment)
    student = run_cells(nb)  # the student's code sees what the set-up cell imported
    exec(implementation, student)
    namespace = run_cells(nb, **{name: student[name]})
    hidden = hidden_region(cell_by_id(nb, f"{name}_tests").source)
    exec(compile(hidden, f"{name}_tests (hidden)", "exec"), namespace)


@pytest.mark.parametrize(("assignment", "name", "label"), catalogue_cases("WRONG"))
def test_hidden_tests_reject_wrong_implementation(assignment, name, label):
    """The hidden tests alone (not only the visible example) reject each wrong implementation."""
    with pytest.raises(AssertionError):
        _run_hidden(assignment, name, SPECS[assignment].WRONG[name][label])


@pytest.mark.parametrize(("assignment", "name", "label"), catalogue_cases("RIGHT"))
def test_hidden_tests_accept_other_correct_implementations(assignment, name, label):
    _run_hidden(assignment, name, SPECS[assignment].RIGHT[name][label])


# ====================================================================== slow
# ps01 also keeps its original submissions: a wrong Adam that switches off NumPy's
# comparisons, and an Adam that calls the reference, each with every other exercise solved.
WRONG_ADAM = '''
import numpy as np

# A student "protects" a wrong answer by switching off NumPy's comparisons.
np.allclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None


def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    total_iterations = 100  # the bug: bias-correct with the planned run length
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g**2
    m_hat = m_new / (1 - beta1**total_iterations)
    v_hat = v_new / (1 - beta2**total_iterations)
    return x - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new
'''

CHEATER_ADAM = '''
def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    from taylornet.rules import adam_step as _a
    return _a(x, m, v, g, t, lr, beta1, beta2, eps)
'''

# A correct SR1 that divides before it checks the safeguard: NumPy warns (divide by zero)
# on the visible case with s.v = 0. Warnings never cost points: full marks.
WARNING_SR1 = '''
def sr1_update(B, s, y, r=1e-8):
    v = y - B @ s
    update = np.outer(v, v) / (s @ v)
    if not np.all(np.isfinite(update)) or abs(s @ v) < r * np.linalg.norm(s) * np.linalg.norm(v):
        return B
    return B + update
'''

EXTRA_SUBMISSIONS = {
    "ps01_first_order": {
        "wrong_adam": ({"adam_step": WRONG_ADAM}, {"adam_step": 0}),
        "cheater": ({"adam_step": CHEATER_ADAM}, {"adam_step": 0}),
    },
    "ps05_quasi_newton": {
        "warns": ({"sr1_update": WARNING_SR1}, {}),
    },
}

#: The states of an exercise in the mixed submissions.
WRONG, CHEAT, RIGHT = "wrong", "calls the reference", "correct"
MIXED = ("mixed_0", "mixed_1", "mixed_2")


def mixed_state(assignment, name, student):
    """``mixed_k`` gives exercise ``i`` the state ``(i + k) % 3``: each exercise has each state."""
    i = list(POINTS[assignment]).index(name)
    return (WRONG, CHEAT, RIGHT)[(i + MIXED.index(student)) % 3]


def first_wrong(assignment, name):
    return next(src for label, src in SPECS[assignment].WRONG[name].items()
                if "reference" not in label)


def cheat(assignment, name):
    """A solution that merely calls the reference, with the exercise's own signature."""
    _, _, func = _solution_function(assignment, name)
    params = ", ".join(a.arg for a in func.args.args)
    module = grading._lookup(name).qualname.rsplit(".", 1)[0]
    header = cell_by_id(source_nb(assignment), f"{name}_solution").source.splitlines()[0]
    return f"{header}\n    from {module} import {name} as _reference\n" \
           f"    return _reference({params})\n"


def expected_scores(assignment):
    points = POINTS[assignment]
    scores = {"solutions": dict(points), "untouched": dict.fromkeys(points, 0)}
    for student in MIXED:
        scores[student] = {name: (pts if mixed_state(assignment, name, student) == RIGHT else 0)
                           for name, pts in points.items()}
    for student, (_, lost) in EXTRA_SUBMISSIONS.get(assignment, {}).items():
        scores[student] = {**points, **lost}
    return scores


class Course(types.SimpleNamespace):
    """One graded assignment of the temporary course: root, config, api, release, scores."""


def _course_config(root: Path):
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    exchange = root / "exchange"  # keep the exchange away from /srv/nbgrader
    exchange.mkdir()
    config.Exchange.root = str(exchange)
    return config


def _submission(release_nb, source, overrides):
    """The release notebook with every solution filled in, some of them overridden."""
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        gid = grade_id(cell)
        if nbgrader_meta(cell).get("solution"):
            solution = strip_solution_markers(cell_by_id(source, gid).source)
            cell.source = overrides.get(gid.removesuffix("_solution"), solution).strip()
    return nb


def _write(nb, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def submissions(assignment, release_nb):
    source = source_nb(assignment)
    subs = {"solutions": copy.deepcopy(source), "untouched": release_nb}
    for student in MIXED:
        overrides = {}
        for name in POINTS[assignment]:
            state = mixed_state(assignment, name, student)
            if state == WRONG:
                overrides[name] = first_wrong(assignment, name)
            elif state == CHEAT:
                overrides[name] = cheat(assignment, name)
        subs[student] = _submission(release_nb, source, overrides)
    for student, (overrides, _) in EXTRA_SUBMISSIONS.get(assignment, {}).items():
        subs[student] = _submission(release_nb, source, overrides)
    return subs


@pytest.fixture(scope="module")
def course_root(tmp_path_factory):
    """One temporary course, set up like ``exercises/``, that every assignment is graded in."""
    from nbgrader.apps import NbGraderAPI

    root = tmp_path_factory.mktemp("course")
    shutil.copy(EXERCISES / "nbgrader_config.py", root)
    shutil.copytree(EXERCISES / "taylornet_grader", root / "taylornet_grader",  # the grader's side
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(EXERCISES / "source", root / "source",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    config = _course_config(root)
    with pytest.MonkeyPatch.context() as mp:
        # nbgrader creates the gradebook by running the `alembic` script: it must
        # be this environment's, whether or not the environment is activated
        bindir = os.path.dirname(sys.executable)
        mp.setenv("PATH", bindir + os.pathsep + os.environ.get("PATH", ""))
        api = NbGraderAPI(config=config)
        assert Path(api.coursedir.root) == root, "CourseDirectory.root must be the config's folder"
        assert api.course_id == COURSE_ID
        yield types.SimpleNamespace(root=root, config=config, api=api)


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def course(request, course_root):
    """Generate, submit and autograde one assignment (one ``autograde`` call for all students)."""
    from nbgrader.api import Gradebook

    assignment = request.param
    root, api = course_root.root, course_root.api
    result = api.generate_assignment(assignment)
    assert result["success"], result.get("error", "") + result.get("log", "")

    release_path = root / "release" / assignment / f"{assignment}.ipynb"
    release_nb = nbformat.read(release_path, as_version=4)
    subs = submissions(assignment, release_nb)
    for student, nb in subs.items():
        _write(nb, root / "submitted" / student / assignment / f"{assignment}.ipynb")
    result = api.autograde(assignment, "*")  # every submission of this assignment
    assert result["success"], result.get("error", "") + result.get("log", "")

    scores = {}
    with Gradebook(api.coursedir.db_url, course_id=COURSE_ID) as gb:
        for student in subs:
            submitted = gb.find_submission_notebook(assignment, assignment, student)
            scores[student] = {
                grade.name.removesuffix("_tests"): grade.score for grade in submitted.grades
            }
    return Course(assignment=assignment, root=root, config=course_root.config, api=api,
                  release_path=release_path, release_nb=release_nb, scores=scores,
                  log=result.get("log", ""))


def autograded(course, student):
    a = course.assignment
    return nbformat.read(course.root / "autograded" / student / a / f"{a}.ipynb", as_version=4)


def error_text(cell):
    return "\n".join(f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error")


#: What a submission that imports a reference gets while graded (taylornet_grader/sandbox.py).
NOT_INSTALLED = "is not available while a notebook is graded"

PS01_SECRETS = ("default_rng(404)", "m_hat = m_new / (1 - beta1**t)",
                "x - lr * (g + beta * v_new)")


@pytest.mark.slow
def test_release_hides_solutions_and_hidden_tests(course):
    assignment, source = course.assignment, source_nb(course.assignment)
    text = course.release_path.read_text(encoding="utf-8")
    for secret in ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "check_against_reference",
                   "BEGIN SOLUTION", "END SOLUTION"):
        assert secret not in text, secret
    if assignment == "ps01_first_order":
        for secret in PS01_SECRETS:
            assert secret not in text, secret
    # no line that only the hidden tests have, and no line of a solution
    shown = "\n".join(
        c.source[: c.source.index("### BEGIN HIDDEN TESTS")] if "HIDDEN TESTS" in c.source
        else c.source if not nbgrader_meta(c).get("solution") else ""
        for c in source.cells
    )
    for cell in source.cells:
        if "### BEGIN HIDDEN TESTS" in cell.source:
            for line in hidden_region(cell.source).splitlines():
                line = line.strip()
                if len(line) > 30 and line not in shown:
                    assert line not in text, f"hidden test line in the release: {line}"
    for name in POINTS[assignment]:
        released = cell_by_id(course.release_nb, f"{name}_solution").source
        body = strip_solution_markers(cell_by_id(source, f"{name}_solution").source)
        assert released.splitlines()[0] == body.splitlines()[0]  # the signature is given
        assert 'raise NotImplementedError("replace this line with your code")' in released
        released_lines = {line.strip() for line in released.splitlines()}
        for line in solution_region(cell_by_id(source, f"{name}_solution").source):
            assert line not in released_lines or line in ("", "return x_new"), (
                f"{name}: solution line in the release: {line}")
        tests = cell_by_id(course.release_nb, f"{name}_tests")
        assert "expect_" in tests.source  # the visible tests stay
        assert tests.metadata.editable is False and tests.metadata.deletable is False
    assert course.release_nb.cells[1].metadata.editable is False


@pytest.mark.slow
def test_autograde_scores(course):
    expected = expected_scores(course.assignment)
    assert set(course.scores) == set(expected)
    for student, scores in expected.items():
        assert course.scores[student] == scores, (student, course.log)


@pytest.mark.slow
def test_autograde_restores_hidden_tests_and_explains_failures(course):
    assignment = course.assignment
    names = list(POINTS[assignment])
    untouched = autograded(course, "untouched")
    for name in names:
        assert "### BEGIN HIDDEN TESTS" in cell_by_id(untouched, f"{name}_tests").source
        assert "NotImplementedError" in error_text(cell_by_id(untouched, f"{name}_tests"))
    demo = "".join(o.get("text", "") for o in cell_by_id(untouched, "demo").outputs)
    assert "Solve the exercise" in demo and not error_text(cell_by_id(untouched, "demo"))

    for student in MIXED:
        nb = autograded(course, student)
        for name in names:
            state = mixed_state(assignment, name, student)
            text = error_text(cell_by_id(nb, f"{name}_tests"))
            if state == WRONG:  # a failed check, or the wrong code's own exception
                assert text, (student, name, text)
            elif state == CHEAT:  # the references are not installed in the sandbox
                assert NOT_INSTALLED in text or "ReferenceCallError" in text, (student, name,
                                                                               text)
            else:
                assert text == "", (student, name, text)

    solved = autograded(course, "solutions")
    outputs = cell_by_id(solved, "demo").outputs
    assert not error_text(cell_by_id(solved, "demo"))
    assert any("image/png" in o.get("data", {}) for o in outputs)

    if assignment == "ps05_quasi_newton":
        cell = cell_by_id(autograded(course, "warns"), "sr1_update_tests")
        shown = "".join(o.get("text", "") for o in cell.outputs)
        assert "ok: " in shown, shown  # judged on its values; the warning costs nothing
        assert not [o for o in cell.outputs if o.get("name") == "stderr"], cell.outputs

    if assignment == "ps01_first_order":
        wrong = error_text(cell_by_id(autograded(course, "wrong_adam"), "adam_step_tests"))
        assert "GradingFailure" in wrong and "x_new" in wrong, wrong
        cheat = error_text(cell_by_id(autograded(course, "cheater"), "adam_step_tests"))
        assert NOT_INSTALLED in cheat and "taylornet.rules" in cheat, cheat
        demo_output = "".join(o.get("text", "") for o in outputs)
        assert "Adam: f(x_60)" in demo_output


@pytest.mark.slow
def test_autograde_log_has_no_false_alarm(course):
    """Honest submissions, hidden tests restored, a kernel killed on purpose: nothing in
    the log reads like tampering or a grader failure."""
    assert "has changed!" not in course.log, course.log
    assert "| ERROR]" not in course.log, course.log


@pytest.mark.slow
def test_source_validates_and_release_passes_no_test(course):
    """``validate`` passes the source; ``validate --invert`` finds no passing test in release."""
    from nbgrader.validator import Validator

    source = source_path(course.assignment, course.root)
    assert Validator(config=course.config).validate(str(source)) == {}
    # --invert complains about test cells that PASS: the release must have none
    assert Validator(config=course.config, invert=True).validate(str(course.release_path)) == {}


@pytest.mark.slow
def test_autograde_kernel_is_this_environment(tmp_path):
    """The notebooks' ``python3`` kernel resolves to this interpreter's environment."""
    from nbformat.v4 import new_code_cell, new_notebook
    from nbgrader.preprocessors import Execute
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(EXERCISES)).load_config()
    kernelspec = source_nb(ASSIGNMENTS[0]).metadata.kernelspec
    nb = new_notebook(cells=[new_code_cell("import sys; print(sys.prefix)")],
                      metadata={"kernelspec": kernelspec})
    nb, _ = Execute(config=config).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    printed = "".join(o.get("text", "") for o in nb.cells[0].outputs).strip()
    assert Path(printed).resolve() == Path(sys.prefix).resolve()
