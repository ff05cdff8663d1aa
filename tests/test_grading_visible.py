"""The visible tests teach: they catch the usual slips before a student submits.

Every problem set's catalogue (``exercises/catalogue/psXX_name.py``) lists in ``WRONG``
the implementations that circulate, and in ``VISIBLE_MISSES`` those that its visible
tests let through on purpose, each with the reason (a slip only a hidden case can show,
such as a hard-coded default). Here, for every problem set, without nbgrader
(``tests/_visible.py``):

* each catalogued wrong solution not in ``VISIBLE_MISSES`` fails the visible test of
  its exercise, and each one in it passes (so the list stays true);
* the solution and every alternative correct implementation (``RIGHT``) pass;
* a visible failure reads in one glance: the hint comes right under the headline, no
  line is wider than ``nbgrader validate`` shows, and no library frame is printed.
"""

from __future__ import annotations

import contextlib
import io

import nbformat
import pytest
from _visible import ROOT, _cell, load_specs, run_visible, visible_region

from taylornet.grading import MESSAGE_WIDTH, GradingFailure

pytestmark = pytest.mark.grading

SPECS = load_specs()


def _nb(assignment):
    path = ROOT / "exercises" / "source" / assignment / f"{assignment}.ipynb"
    return nbformat.read(path, as_version=4)


NOTEBOOKS = {a: _nb(a) for a in SPECS}


def _cases(kind):
    return [pytest.param(a, name, label, id=f"{name}-{label}")
            for a, spec in SPECS.items()
            for name, catalogue in getattr(spec, kind, {}).items() for label in catalogue]


def _misses(assignment, name):
    return getattr(SPECS[assignment], "VISIBLE_MISSES", {}).get(name, {})


@pytest.mark.parametrize(("assignment", "name", "label"), _cases("WRONG"))
def test_visible_tests_catch_the_catalogued_slips(assignment, name, label):
    failure = run_visible(NOTEBOOKS[assignment], name, SPECS[assignment].WRONG[name][label])
    if label in _misses(assignment, name):
        assert failure is None, f"listed in VISIBLE_MISSES but caught: {failure}"
    else:
        assert failure is not None, "passes the visible test (add a case, or list it in " \
                                    "VISIBLE_MISSES with the reason)"


def test_every_listed_miss_is_catalogued():
    assert set(SPECS) == {p.name for p in (ROOT / "exercises" / "source").iterdir()}
    for assignment, spec in SPECS.items():
        assert isinstance(spec.VISIBLE_MISSES, dict) and spec.WRONG, assignment
        for name, labels in spec.VISIBLE_MISSES.items():
            assert set(labels) <= set(spec.WRONG[name]), (assignment, name)
            assert all(isinstance(why, str) and why for why in labels.values())


def _solution(nb, name):
    source = _cell(nb, f"{name}_solution")
    return "\n".join(line for line in source.splitlines() if "### " not in line)


@pytest.mark.parametrize("assignment", list(SPECS))
def test_solutions_pass_the_visible_tests(assignment):
    nb = NOTEBOOKS[assignment]
    for name in SPECS[assignment].POINTS:
        assert run_visible(nb, name, _solution(nb, name)) is None, name


@pytest.mark.parametrize(("assignment", "name", "label"), _cases("RIGHT"))
def test_other_correct_solutions_pass_the_visible_tests(assignment, name, label):
    failure = run_visible(NOTEBOOKS[assignment], name, SPECS[assignment].RIGHT[name][label])
    assert failure is None, failure


@pytest.mark.parametrize(("assignment", "name", "label"), _cases("WRONG"))
def test_a_visible_failure_reads_in_one_glance(assignment, name, label):
    """The message as Jupyter (and ``nbgrader validate``) shows it: short lines, hint first."""
    nb = NOTEBOOKS[assignment]
    namespace = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(_cell(nb, "setup"), namespace)
        exec(SPECS[assignment].WRONG[name][label], namespace)
        try:
            exec(visible_region(_cell(nb, f"{name}_tests")), namespace)
        except GradingFailure as exc:
            shown = exc._render_traceback_()
        except Exception:  # noqa: BLE001 - the student's own error: Python's traceback
            return
        else:
            return
    assert all(len(line) <= MESSAGE_WIDTH + 2 for line in shown), shown
    hint_lines = [i for i, line in enumerate(shown) if line.lstrip().startswith("hint:")]
    if hint_lines:  # right under the (possibly folded) headline: before any value or case
        before = shown[1:hint_lines[0]]
        assert not any(line.lstrip().startswith(("expected", "got", "case", "worst"))
                       for line in before), shown
