"""Unit tests of the helpers that problem sets 2-6 added to ``taylornet.grading``.

``check_raises`` (a student must raise what the reference raises),
``run_student`` (property tests under the same guards), exact comparison of
strings and bools, snapshots of lists of arrays (L-BFGS histories), the visible
``expect_equal`` / ``expect_raises``, and the references of the exercises that
are not in the contract (``taylornet.grading_refs``), which are guarded too.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

import taylornet.grading_refs
from taylornet import grading
from taylornet.errors import LineSearchError
from taylornet.grading import (
    ReferenceCallError,
    case,
    check_against_reference,
    check_raises,
    expect_equal,
    expect_raises,
    reference,
    reference_tripwire,
    run_student,
)

pytestmark = pytest.mark.grading


def quadratic(z):
    return 0.5 * (z @ z)


X = np.array([1.0, -1.0])


def armijo(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
    """An independent, correct backtracking line search."""
    slope = g @ p
    if slope >= 0:
        raise ValueError("ascent")
    for k in range(max_iter + 1):
        alpha = alpha0 * rho**k
        if f(x + alpha * p) <= fx + c1 * alpha * slope:
            return alpha
    raise LineSearchError("none")


# -------------------------------------------------------------- check_raises
def test_check_raises_accepts_the_right_exception_and_subclasses():
    cases = [case("ascent", (quadratic, X, 1.0, X, X))]
    check_raises(armijo, "armijo_backtracking", cases, ValueError)
    check_raises(armijo, "armijo_backtracking", cases, (TypeError, ValueError))
    never = [case("never", (lambda z: 10.0, X, 0.0, X, -X, 1.0, 1e-4, 0.5, 3))]
    check_raises(armijo, "armijo_backtracking", never, RuntimeError)  # LineSearchError is one


@pytest.mark.parametrize(
    ("student", "words"),
    [
        (lambda *a, **k: 0.5, "should raise ValueError here, but it returned 0.5"),
        (lambda *a, **k: 1 / 0, "raised ZeroDivisionError"),
        (lambda *a, **k: (_ for _ in ()).throw(NotImplementedError), "not implemented yet"),
    ],
)
def test_check_raises_explains_a_wrong_answer(student, words):
    cases = [case("ascent", (quadratic, X, 1.0, X, X), hint="raise ValueError")]
    with pytest.raises(AssertionError, match=words) as info:
        check_raises(student, "armijo_backtracking", cases, ValueError)
    if "not implemented" not in words:
        assert "\n  hint: raise ValueError\n  case: ascent" in str(info.value)


def test_check_raises_a_runtime_error_is_not_a_line_search_error():
    def wrong(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
        raise RuntimeError("gave up")

    never = [case("never", (lambda z: 10.0, X, 0.0, X, -X))]
    with pytest.raises(AssertionError, match="should raise LineSearchError"):
        check_raises(wrong, "armijo_backtracking", never, LineSearchError)


def test_check_raises_catches_the_reference_and_grader_mistakes():
    def cheat(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
        from taylornet.rules import armijo_backtracking

        return armijo_backtracking(f, x, fx, g, p, alpha0, c1, rho, max_iter)

    cases = [case("ascent", (quadratic, X, 1.0, X, X))]
    with pytest.raises(ReferenceCallError):
        check_raises(cheat, "armijo_backtracking", cases, ValueError)
    with pytest.raises(RuntimeError, match="grader error"):  # the reference does not raise
        check_raises(armijo, "armijo_backtracking", [case("fine", (quadratic, X, 1.0, X, -X))],
                     ValueError)


# --------------------------------------------------------------- run_student
def test_run_student_returns_the_result_under_the_guards():
    assert run_student(armijo, "armijo_backtracking", (quadratic, X, 1.0, X, -X)) == 1.0

    def mutating(B, s, y):
        B += 1.0
        return B

    with pytest.raises(AssertionError, match="modified its argument `B`"):
        run_student(mutating, "bfgs_update", (np.eye(2), X, X), label="in place")

    def cheat(H, s, y):
        import taylornet.rules

        return taylornet.rules.bfgs_update(H, s, y)

    with pytest.raises(ReferenceCallError):
        run_student(cheat, "bfgs_update", (np.eye(2), X, X))
    with pytest.raises(AssertionError, match=r"raised KeyError: 'x'\n  hint: h\n  case: c"):
        run_student(lambda H, s, y: {}["x"], "bfgs_update", (np.eye(2), X, X), label="c",
                    hint="h")


def test_lists_of_arrays_are_copied_and_checked():
    s_hist, y_hist = [np.array([1.0, 0.0])], [np.array([2.0, 0.0])]

    def reverses(g, s_hist, y_hist):
        s_hist.reverse()
        return -g

    def edits(g, s_hist, y_hist):
        s_hist[0][0] = 5.0
        return -g

    for student in (reverses, edits):
        two = ([np.ones(2), np.zeros(2)], [np.ones(2), np.ones(2)])
        with pytest.raises(AssertionError, match="modified its argument `s_hist`"):
            run_student(student, "lbfgs_direction", (X, *two))
    with pytest.raises(AssertionError, match="modified its argument `s_hist`"):
        run_student(edits, "lbfgs_direction", (X, s_hist, y_hist))
    assert s_hist[0][0] == 1.0  # the student edited a copy, not the caller's history
    np.testing.assert_array_equal(run_student(lambda g, s, y: -g, "lbfgs_direction",
                                              (X, s_hist, y_hist)), -X)


# ----------------------------------------------------- strings, bools, scalars
def test_strings_and_bools_are_compared_exactly():
    H = np.diag([1.0, -1.0])
    check_against_reference(lambda H, tol=1e-8: "saddle", "classify_stationary_point",
                            [case("saddle", (H,))])
    with pytest.raises(AssertionError, match="kind is 'Saddle', expected 'saddle'"):
        check_against_reference(lambda H, tol=1e-8: "Saddle", "classify_stationary_point",
                                [case("saddle", (H,))], outputs=("kind",))

    def grad(z):
        return z

    args = (quadratic, grad, np.array([1.0, 0.0]), np.array([-1.0, 0.0]), 1.0)
    check_against_reference(lambda *a, **k: (np.True_, True), "wolfe_conditions",
                            [case("minimiser", args)])
    with pytest.raises(AssertionError, match=r"is 1, expected True \(a bool\)"):
        check_against_reference(lambda *a, **k: (1, True), "wolfe_conditions",
                                [case("minimiser", args)])


def test_scalars_need_not_be_arrays():
    g_old, g_new, p_old = np.array([1.0, 0.0]), np.array([0.5, 0.0]), np.array([-1.0, 0.0])
    check_against_reference(lambda *a, **k: 0.0, "cg_beta", [case("pr+", (g_new, g_old, p_old))])
    with pytest.raises(AssertionError, match="cg_beta: beta is wrong"):
        check_against_reference(lambda *a, **k: -0.25, "cg_beta",
                                [case("pr+", (g_new, g_old, p_old))], outputs=("beta",))


# ------------------------------------------------------------ visible checks
def test_expect_equal(capsys):
    expect_equal("kind", "minimum", "minimum")
    expect_equal("flags", (True, np.False_), (True, False))
    assert capsys.readouterr().out.count("ok: ") == 2
    with pytest.raises(AssertionError, match="expected: 'minimum'\n  got:      'Minimum'"):
        expect_equal("kind", "Minimum", "minimum")
    with pytest.raises(AssertionError, match="kind is wrong\n  hint: lower case"):
        expect_equal("kind", "Minimum", "minimum", hint="lower case")
    with pytest.raises(AssertionError, match="forget to `return`"):
        expect_equal("kind", None, "minimum")
    with pytest.raises(AssertionError, match="expected: True"):
        expect_equal("flag", 1, True)
    with pytest.raises(AssertionError):
        expect_equal("array", np.ones(2), (1.0, 1.0))  # ambiguous truth value: not equal


def test_expect_raises(capfd):
    with expect_raises(ValueError, "an ascent direction"):
        armijo(quadratic, X, 1.0, X, X)
    assert "ok: an ascent direction raised ValueError: ascent" in capfd.readouterr().out
    with pytest.raises(AssertionError, match="should raise ValueError, but it raised nothing"):
        with expect_raises(ValueError, "fine"):
            pass
    with pytest.raises(AssertionError, match="but it raised KeyError"):
        with expect_raises(ValueError, "wrong"):
            {}["x"]  # noqa: B018
    with pytest.raises(NotImplementedError):  # an unsolved exercise still fails loudly
        with expect_raises(RuntimeError, "unsolved"):
            raise NotImplementedError
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with expect_raises(ZeroDivisionError, "quiet"):
            np.float64(1.0) / np.float64(0.0)  # a NumPy warning, silenced
            raise ZeroDivisionError
    assert capfd.readouterr().err == ""


# ---------------------------------------------------- non-contract references
def test_grading_refs_are_references_and_are_guarded():
    for name in taylornet.grading_refs.__all__:
        f = getattr(taylornet.grading_refs, name)
        if not callable(f):
            continue
        assert inspect.signature(reference(name)) == inspect.signature(f)
    H = np.diag([2.0, 0.0])
    assert reference("classify_stationary_point")(H) == "degenerate"
    with pytest.raises(ReferenceCallError, match="grading_refs.fd_hvp"):
        with reference_tripwire():
            taylornet.grading_refs.fd_hvp(lambda z: z, X, X)
    assert grading._UNGUARDED == []


@pytest.mark.parametrize(
    ("eigenvalues", "tol", "kind"),
    [
        ([1.0, 2.0], 1e-8, "minimum"),
        ([-1.0, -2.0], 1e-8, "maximum"),
        ([-1.0, 0.0, 2.0], 1e-8, "saddle"),
        ([0.0, 2.0], 1e-8, "degenerate"),
        ([1e-10, 2.0], 1e-8, "degenerate"),
        ([0.3, 2.0], 0.5, "degenerate"),
        ([0.0, 0.0], 1e-8, "degenerate"),
    ],
)
def test_classify_stationary_point_reference(eigenvalues, tol, kind):
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((len(eigenvalues),) * 2))
    H = (Q * np.array(eigenvalues)) @ Q.T
    assert taylornet.grading_refs.classify_stationary_point(H, tol) == kind


def test_fd_hvp_reference_is_second_order_accurate():
    rng = np.random.default_rng(1)
    x, v = rng.standard_normal(4), rng.standard_normal(4)

    def grad(z):  # f = sum(exp(z)) + (z.z)**2 / 4
        return np.exp(z) + (z @ z) * z

    exact = np.exp(x) * v + (x @ x) * v + 2 * x * (x @ v)
    errors = [np.abs(taylornet.grading_refs.fd_hvp(grad, x, v, eps) - exact).max()
              for eps in (1e-2, 1e-3)]
    assert errors[1] < errors[0] / 50  # O(eps**2): a factor 100 per decade


# ------------------------------------------- what a student reads, and when it costs
def test_a_failure_renders_as_its_message_hint_first():
    with pytest.raises(grading.GradingFailure) as info:
        grading.expect_close("bfgs_update with a general B", np.arange(4.0).reshape(2, 2),
                             np.eye(2), hint="the middle term divides by s.B s " * 4)
    shown = info.value._render_traceback_()
    assert shown[0].startswith("GradingFailure: bfgs_update with a general B is wrong")
    assert shown[1].lstrip().startswith("hint: the middle term")
    assert max(map(len, shown)) <= grading.MESSAGE_WIDTH
    assert not any("File " in line or "grading.py" in line for line in shown)


def test_a_small_but_real_error_is_not_called_rounding():
    with pytest.raises(AssertionError, match="too large for rounding"):
        grading.expect_close("adam", 1.0 + 4e-9, 1.0)


def test_expect_true(capsys):
    grading.expect_true("symmetric", True)
    assert "ok: symmetric" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="secant: not so\n  hint: B_new s = y"):
        grading.expect_true("secant", np.False_, hint="B_new s = y")


def test_inputs_unchanged_trips_on_the_reference():
    import taylornet.rules

    x = np.ones(2)
    with pytest.raises(ReferenceCallError):
        with grading.inputs_unchanged(x=x):
            taylornet.rules.gd_step(x, x, 0.1)


def test_warnings_become_notes_on_stdout(capfd):
    saved = warnings.showwarning
    try:
        grading.print_warnings_to_stdout()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            np.float64(1.0) / np.float64(0.0)  # noqa: B018 - a RuntimeWarning
    finally:
        warnings.showwarning = saved
    out, err = capfd.readouterr()
    assert "note: RuntimeWarning: divide by zero" in out and err == ""


def _half_right(x, g, lr):  # right for lr = 0.1 only
    return x - 0.1 * g


GD_CASES = [case(f"lr = {lr}", (X, X, lr), hint="x - lr g") for lr in (0.1, 0.2, 0.1, 0.3)]


def test_all_or_nothing_is_the_default(monkeypatch):
    monkeypatch.delenv(grading.PARTIAL_CREDIT_ENV, raising=False)
    grading.begin_hidden_tests()
    with pytest.raises(AssertionError, match="lr = 0.2"):
        check_against_reference(_half_right, "gd_step", GD_CASES)
    assert grading.hidden_tests_score(2) is None


def test_partial_credit_counts_the_cases(monkeypatch, capsys):
    monkeypatch.setenv(grading.PARTIAL_CREDIT_ENV, "1")
    grading.begin_hidden_tests()
    check_against_reference(_half_right, "gd_step", GD_CASES)  # does not raise
    check_raises(lambda *a: 1.0, "armijo_backtracking",
                 [case("ascent", (quadratic, X, 1.0, X, X))], ValueError)
    assert grading.hidden_tests_score(3) == pytest.approx(3 * 2 / 5)
    out = capsys.readouterr().out
    assert "lr = 0.2" in out and "2 of 5 checks pass" in out
    grading.begin_hidden_tests()
    check_against_reference(lambda x, g, lr: x - lr * g, "gd_step", GD_CASES)
    assert grading.hidden_tests_score(3) is None  # all passed: the full points


def test_partial_credit_gives_nothing_for_calling_the_reference(monkeypatch):
    import taylornet.rules

    monkeypatch.setenv(grading.PARTIAL_CREDIT_ENV, "1")
    grading.begin_hidden_tests()
    with pytest.raises(ReferenceCallError):
        check_against_reference(lambda x, g, lr: taylornet.rules.gd_step(x, g, lr), "gd_step",
                                GD_CASES)


def test_restored_hidden_tests_are_not_reported_as_changes(caplog):
    import logging

    from taylornet_grader.overwrite import RestoreCells

    pre = RestoreCells()
    pre.log = logging.getLogger("restore-test")
    with caplog.at_level(logging.DEBUG, logger="restore-test"):
        pre.report_change("sr1_update_tests", "checksum", "a", "b")
        pre.report_change("sr1_update_tests", "points", 3, 30)
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warned == ["Attribute 'points' for cell sr1_update_tests has changed! "
                      "(should be: 3, got: 30)"]


def test_an_expected_kernel_death_is_not_logged_as_an_error():
    import logging

    from taylornet_grader.sandbox import _ExpectedKernelDeath

    keep = _ExpectedKernelDeath().filter
    make = logging.LogRecord
    assert not keep(make("x", logging.ERROR, "", 0,
                         "Kernel died while waiting for execute reply.", None, None))
    assert keep(make("x", logging.ERROR, "", 0, "Kernel failed to start", None, None))
