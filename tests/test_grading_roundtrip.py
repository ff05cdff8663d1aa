"""Problem set 1 as nbgrader sees it: layout, hidden tests, and the full round trip.

Fast tests (marker ``grading``) check the checked-in source notebook: it is
what ``exercises/tools/build_ps01.py`` writes, its cells carry the right
nbgrader metadata and the CONTRACT's signatures, its solutions pass its tests
and its tests reject a catalogue of wrong implementations (run in-process, no
kernel).

Slow tests (``grading`` and ``slow``) drive nbgrader in-process through
``NbGraderAPI`` in a temporary copy of ``exercises/`` configured by the course's
own ``nbgrader_config.py``: ``generate_assignment``, then ``autograde`` of four
submissions whose per-exercise scores are read from the gradebook, and
``validate`` of the source and (inverted) of the release notebook.
"""

from __future__ import annotations

import ast
import copy
import inspect
import os
import shutil
import sys
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest

import taylornet.rules

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
ASSIGNMENT = "ps01_first_order"
SOURCE = EXERCISES / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
COURSE_ID = "taylornet"

#: Points per exercise (the test cell of exercise ``name`` is ``name + "_tests"``).
POINTS = {
    "gd_step": 1,
    "momentum_step": 2,
    "nesterov_step": 2,
    "adam_step": 3,
    "rmsprop_step": 2,
    "clip_grad_norm": 2,
}

pytestmark = [
    pytest.mark.grading,
    # nbgrader's gradebook triggers SQLAlchemy autoflush warnings that are not ours
    pytest.mark.filterwarnings("ignore:Object of type <Submitted"),
]


def nbgrader_meta(cell):
    return cell.metadata.get("nbgrader", {})


def grade_id(cell):
    return nbgrader_meta(cell).get("grade_id")


@pytest.fixture(scope="module")
def source_nb():
    return nbformat.read(SOURCE, as_version=4)


def cell_by_id(nb, gid):
    (cell,) = [c for c in nb.cells if grade_id(c) == gid]
    return cell


def strip_solution_markers(source: str) -> str:
    return "\n".join(
        line for line in source.splitlines()
        if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
    )


# ====================================================================== fast
def test_checked_in_notebook_is_what_the_builder_writes(monkeypatch):
    monkeypatch.syspath_prepend(str(EXERCISES / "tools"))
    import build_ps01

    assert build_ps01.POINTS == POINTS
    assert build_ps01.build().text() == SOURCE.read_text(encoding="utf-8"), (
        "exercises/source/ps01_first_order/ps01_first_order.ipynb is out of date: "
        "run python exercises/tools/build_ps01.py"
    )


def test_notebook_layout_and_metadata(source_nb):
    nb = source_nb
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
    assert setup.cell_type == "code"
    meta = nbgrader_meta(setup)
    assert meta["locked"] and not meta["grade"] and not meta["solution"]
    assert "import numpy as np" in setup.source
    assert "from taylornet.grading import" in setup.source
    # the last cell: the locked, ungraded demonstration
    demo = cells[-1]
    assert demo.cell_type == "code" and nbgrader_meta(demo)["locked"]
    assert not nbgrader_meta(demo)["grade"] and "plt.show()" in demo.source

    graded = {grade_id(c): c for c in cells if nbgrader_meta(c).get("grade")}
    assert set(graded) == {f"{name}_tests" for name in POINTS}
    for name, points in POINTS.items():
        meta = nbgrader_meta(graded[f"{name}_tests"])
        assert meta["points"] == points and meta["locked"] and not meta["solution"]
        assert graded[f"{name}_tests"].source.count("### BEGIN HIDDEN TESTS") == 1
        sol = nbgrader_meta(cell_by_id(nb, f"{name}_solution"))
        assert sol["solution"] and not sol["grade"] and not sol["locked"]
    order = [grade_id(c) for c in cells]
    for name in POINTS:  # statement, solution, tests, in this order
        i = order.index(f"{name}_statement")
        assert order[i + 1 : i + 3] == [f"{name}_solution", f"{name}_tests"]


@pytest.mark.parametrize("name", list(POINTS))
def test_solution_has_the_contract_signature_and_is_independent(source_nb, name):
    source = cell_by_id(source_nb, f"{name}_solution").source
    assert "taylornet" not in source, "solutions must not use the reference"
    tree = ast.parse(source)
    (func,) = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert func.name == name
    namespace = {"np": np}
    exec(compile(tree, f"<{name}_solution>", "exec"), namespace)
    want = inspect.signature(getattr(taylornet.rules, name))
    assert inspect.signature(namespace[name]) == want


def run_cells(nb, *gids, **functions):
    """Execute cells of the source notebook in-process, with ``functions`` predefined."""
    namespace = {"__name__": "__main__"}
    exec(cell_by_id(nb, "setup").source, namespace)
    namespace.update(functions)
    for gid in gids:
        exec(compile(cell_by_id(nb, gid).source, gid, "exec"), namespace)
    return namespace


def test_solutions_pass_their_tests_in_process(source_nb, capsys):
    gids = [gid for name in POINTS for gid in (f"{name}_solution", f"{name}_tests")]
    run_cells(source_nb, *gids)
    assert capsys.readouterr().out.count("ok: ") >= 15


# Wrong implementations that circulate; the test cell of each exercise must reject every one.
WRONG = {
    "gd_step": {
        "ascent": "def gd_step(x, g, lr):\n    return x + lr * g",
        "ignores lr": "def gd_step(x, g, lr):\n    return x - g",
        "in place": "def gd_step(x, g, lr):\n    x -= lr * g\n    return x",
        "returns a list": "def gd_step(x, g, lr):\n    return list(x - lr * g)",
        "flattens": "def gd_step(x, g, lr):\n    return (x - lr * g).ravel()",
    },
    "momentum_step": {
        "dampened average": (
            "def momentum_step(x, v, g, lr, beta):\n"
            "    v = beta * v + (1 - beta) * g\n    return x - lr * v, v"),
        "Sutskever convention": (
            "def momentum_step(x, v, g, lr, beta):\n"
            "    v = beta * v - lr * g\n    return x + v, v"),
        "old velocity in the step": (
            "def momentum_step(x, v, g, lr, beta):\n"
            "    return x - lr * v, beta * v + g"),
        "in place": (
            "def momentum_step(x, v, g, lr, beta):\n"
            "    v *= beta\n    v += g\n    return x - lr * v, v"),
        "Nesterov instead": (
            "def momentum_step(x, v, g, lr, beta):\n"
            "    v_new = beta * v + g\n    return x - lr * (g + beta * v_new), v_new"),
    },
    "nesterov_step": {
        "heavy ball instead": (
            "def nesterov_step(x, v, g, lr, beta):\n"
            "    v_new = beta * v + g\n    return x - lr * v_new, v_new"),
        "old velocity in the look-ahead": (
            "def nesterov_step(x, v, g, lr, beta):\n"
            "    return x - lr * (g + beta * v), beta * v + g"),
        "Sutskever look-ahead state": (
            "def nesterov_step(x, v, g, lr, beta):\n"
            "    v_new = beta * v - lr * g\n    return x + beta * v_new - lr * g, v_new"),
        "returns only x": (
            "def nesterov_step(x, v, g, lr, beta):\n"
            "    v_new = beta * v + g\n    return x - lr * (g + beta * v_new)"),
    },
    "adam_step": {
        "total iteration count": (
            "def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n"
            "    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2\n"
            "    mh, vh = m / (1 - beta1**100), v / (1 - beta2**100)\n"
            "    return x - lr * mh / (np.sqrt(vh) + eps), m, v"),
        "off by one in t": (
            "def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n"
            "    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2\n"
            "    mh, vh = m / (1 - beta1**(t + 1)), v / (1 - beta2**(t + 1))\n"
            "    return x - lr * mh / (np.sqrt(vh) + eps), m, v"),
        "no bias correction": (
            "def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n"
            "    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2\n"
            "    return x - lr * m / (np.sqrt(v) + eps), m, v"),
        "eps inside the square root": (
            "def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n"
            "    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2\n"
            "    mh, vh = m / (1 - beta1**t), v / (1 - beta2**t)\n"
            "    return x - lr * mh / np.sqrt(vh + eps), m, v"),
        "eps before the correction (Kingma-Ba's efficient form)": (
            "def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n"
            "    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2\n"
            "    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)\n"
            "    return x - lr_t * m / (np.sqrt(v) + eps), m, v"),
        "returns corrected moments": (
            "def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n"
            "    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2\n"
            "    mh, vh = m / (1 - beta1**t), v / (1 - beta2**t)\n"
            "    return x - lr * mh / (np.sqrt(vh) + eps), mh, vh"),
        "hard-coded hyperparameters": (
            "def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n"
            "    m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g**2\n"
            "    mh, vh = m / (1 - 0.9**t), v / (1 - 0.999**t)\n"
            "    return x - lr * mh / (np.sqrt(vh) + 1e-8), m, v"),
        "in place": (
            "def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n"
            "    m *= beta1\n    m += (1 - beta1) * g\n"
            "    v *= beta2\n    v += (1 - beta2) * g**2\n"
            "    mh, vh = m / (1 - beta1**t), v / (1 - beta2**t)\n"
            "    return x - lr * mh / (np.sqrt(vh) + eps), m, v"),
        "calls the reference": (
            "def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n"
            "    import taylornet.rules\n"
            "    return taylornet.rules.adam_step(x, m, v, g, t, lr, beta1, beta2, eps)"),
    },
    "rmsprop_step": {
        "old average in the step": (
            "def rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8):\n"
            "    return x - lr * g / (np.sqrt(s) + eps), alpha * s + (1 - alpha) * g**2"),
        "eps inside the square root": (
            "def rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8):\n"
            "    s = alpha * s + (1 - alpha) * g**2\n    return x - lr * g / np.sqrt(s + eps), s"),
        "alpha and 1 - alpha swapped": (
            "def rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8):\n"
            "    s = (1 - alpha) * s + alpha * g**2\n"
            "    return x - lr * g / (np.sqrt(s) + eps), s"),
        "bias-corrected like Adam": (
            "def rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8):\n"
            "    s = alpha * s + (1 - alpha) * g**2\n"
            "    return x - lr * g / (np.sqrt(s / (1 - alpha)) + eps), s"),
        "hard-coded alpha": (
            "def rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8):\n"
            "    s = 0.99 * s + 0.01 * g**2\n    return x - lr * g / (np.sqrt(s) + eps), s"),
        "no eps": (
            "def rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8):\n"
            "    s = alpha * s + (1 - alpha) * g**2\n    return x - lr * g / np.sqrt(s), s"),
    },
    "clip_grad_norm": {
        "always normalises": (
            "def clip_grad_norm(g, max_norm):\n    return g * max_norm / np.linalg.norm(g)"),
        "PyTorch's + 1e-6": (
            "def clip_grad_norm(g, max_norm):\n"
            "    n = np.linalg.norm(g)\n"
            "    return g * min(1.0, max_norm / (n + 1e-6))"),
        "per-entry clipping": (
            "def clip_grad_norm(g, max_norm):\n    return np.clip(g, -max_norm, max_norm)"),
        "in place": (
            "def clip_grad_norm(g, max_norm):\n"
            "    n = np.linalg.norm(g)\n"
            "    if n > max_norm:\n        g *= max_norm / n\n    return g"),
        "NaN on the zero vector": (
            "def clip_grad_norm(g, max_norm):\n"
            "    n = np.linalg.norm(g)\n    return g / n * min(n, max_norm)"),
        "squared norm": (
            "def clip_grad_norm(g, max_norm):\n"
            "    n = np.sum(g * g)\n    return g * min(1.0, max_norm / n) if n else g.copy()"),
    },
}


@pytest.mark.parametrize(
    ("name", "label"), [(name, label) for name, wrong in WRONG.items() for label in wrong]
)
def test_hidden_tests_reject_wrong_implementation(source_nb, name, label):
    """The hidden tests alone (not only the visible example) reject each wrong implementation."""
    student = {"np": np}
    exec(WRONG[name][label], student)
    namespace = run_cells(source_nb, **{name: student[name]})
    tests = cell_by_id(source_nb, f"{name}_tests").source
    hidden = tests[tests.index("### BEGIN HIDDEN TESTS") :]
    with pytest.raises(AssertionError):
        exec(compile(hidden, f"{name}_tests (hidden)", "exec"), namespace)


# ====================================================================== slow
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

EXPECTED_SCORES = {
    "solutions": dict(POINTS),
    "untouched": dict.fromkeys(POINTS, 0),
    "wrong_adam": {**POINTS, "adam_step": 0},
    "cheater": {**POINTS, "adam_step": 0},
}


class Course(types.SimpleNamespace):
    """The temporary course: root, config, api, release notebook, scores."""


def _course_config(root: Path):
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    exchange = root / "exchange"  # keep the exchange away from /srv/nbgrader
    exchange.mkdir()
    config.Exchange.root = str(exchange)
    return config


def _submission(release_nb, source_nb, overrides):
    """The release notebook with every solution filled in, some of them overridden."""
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        gid = grade_id(cell)
        if nbgrader_meta(cell).get("solution"):
            solution = strip_solution_markers(cell_by_id(source_nb, gid).source)
            cell.source = overrides.get(gid, solution).strip()
    return nb


def _write(nb, path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


@pytest.fixture(scope="module")
def course(tmp_path_factory, source_nb):
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI

    root = tmp_path_factory.mktemp("course")
    shutil.copy(EXERCISES / "nbgrader_config.py", root)
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
        result = api.generate_assignment(ASSIGNMENT)
        assert result["success"], result.get("error", "") + result.get("log", "")

        release_path = root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        release_nb = nbformat.read(release_path, as_version=4)
        submissions = {
            "solutions": copy.deepcopy(source_nb),
            "untouched": release_nb,
            "wrong_adam": _submission(release_nb, source_nb, {"adam_step_solution": WRONG_ADAM}),
            "cheater": _submission(release_nb, source_nb, {"adam_step_solution": CHEATER_ADAM}),
        }
        logs = {}
        for student, nb in submissions.items():  # one kernel each
            _write(nb, root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
            result = api.autograde(ASSIGNMENT, student)
            assert result["success"], result.get("error", "") + result.get("log", "")
            logs[student] = result.get("log", "")

    scores = {}
    with Gradebook(api.coursedir.db_url, course_id=COURSE_ID) as gb:
        for student in submissions:
            submitted = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
            scores[student] = {
                grade.name.removesuffix("_tests"): grade.score for grade in submitted.grades
            }
    return Course(root=root, config=config, api=api, release_path=release_path,
                  release_nb=release_nb, scores=scores, logs=logs)


def autograded(course, student):
    path = course.root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    return nbformat.read(path, as_version=4)


def error_text(cell):
    return "\n".join(f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error")


@pytest.mark.slow
def test_release_hides_solutions_and_hidden_tests(course, source_nb):
    text = course.release_path.read_text(encoding="utf-8")
    for secret in ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "check_against_reference",
                   "default_rng(404)", "BEGIN SOLUTION", "END SOLUTION",
                   "m_hat = m_new / (1 - beta1**t)", "x - lr * (g + beta * v_new)"):
        assert secret not in text, secret
    for name in POINTS:
        source = cell_by_id(course.release_nb, f"{name}_solution").source
        body = strip_solution_markers(cell_by_id(source_nb, f"{name}_solution").source)
        assert source.splitlines()[0] == body.splitlines()[0]  # the signature is given
        assert 'raise NotImplementedError("replace this line with your code")' in source
        tests = cell_by_id(course.release_nb, f"{name}_tests")
        assert "expect_close" in tests.source  # the visible tests stay
        assert tests.metadata.editable is False and tests.metadata.deletable is False
    assert course.release_nb.cells[1].metadata.editable is False


@pytest.mark.slow
@pytest.mark.parametrize("student", list(EXPECTED_SCORES))
def test_autograde_scores(course, student):
    assert course.scores[student] == EXPECTED_SCORES[student], course.logs[student]


@pytest.mark.slow
def test_autograde_restores_hidden_tests_and_explains_failures(course):
    untouched = autograded(course, "untouched")
    assert "### BEGIN HIDDEN TESTS" in cell_by_id(untouched, "adam_step_tests").source
    assert "NotImplementedError" in error_text(cell_by_id(untouched, "gd_step_tests"))

    wrong = error_text(cell_by_id(autograded(course, "wrong_adam"), "adam_step_tests"))
    assert "AssertionError" in wrong and "x_new" in wrong, wrong

    cheat = error_text(cell_by_id(autograded(course, "cheater"), "adam_step_tests"))
    assert "ReferenceCallError" in cheat and "taylornet.rules.adam_step" in cheat, cheat

    solved = autograded(course, "solutions")
    demo_output = "".join(o.get("text", "") for o in cell_by_id(solved, "demo").outputs)
    assert "Adam: f(x_60)" in demo_output
    assert any("image/png" in o.get("data", {}) for o in cell_by_id(solved, "demo").outputs)


@pytest.mark.slow
def test_source_validates_and_release_passes_no_test(course):
    """``validate`` passes the source; ``validate --invert`` finds no passing test in release."""
    from nbgrader.validator import Validator

    source = course.root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert Validator(config=course.config).validate(str(source)) == {}
    # --invert complains about test cells that PASS: the release must have none
    assert Validator(config=course.config, invert=True).validate(str(course.release_path)) == {}


@pytest.mark.slow
def test_autograde_kernel_is_this_environment(course, tmp_path):
    """The notebooks' ``python3`` kernel resolves to this interpreter's environment."""
    from nbformat.v4 import new_code_cell, new_notebook
    from nbgrader.preprocessors import Execute

    nb = new_notebook(cells=[new_code_cell("import sys; print(sys.prefix)")],
                      metadata={"kernelspec": course.release_nb.metadata.kernelspec})
    nb, _ = Execute(config=course.config).preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    printed = "".join(o.get("text", "") for o in nb.cells[0].outputs).strip()
    assert Path(printed).resolve() == Path(sys.prefix).resolve()
