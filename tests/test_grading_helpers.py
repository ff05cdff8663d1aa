"""Unit tests of ``taylornet.grading``, the helpers behind the exercises' tests.

The comparisons must survive a student who reassigns NumPy's comparison
functions; the tripwire must catch every route to a reference (module
attribute, alias, ``getattr``, ``partial``, a copy of the code) and restore
everything afterwards; hidden tests must fail wrong implementations with a
message that names the case and a hint.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import subprocess
import sys
import textwrap
import types
import warnings

import numpy as np
import pytest

import taylornet.curvature
import taylornet.rules
from taylornet import grading
from taylornet.grading import (
    ReferenceCallError,
    assert_close,
    assert_not_reference,
    case,
    check_against_reference,
    expect_close,
    expect_tuple,
    inputs_unchanged,
    reference,
    reference_tripwire,
)

pytestmark = pytest.mark.grading


def my_adam(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """An independent, correct Adam step."""
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g * g
    m_hat = m_new / (1 - beta1**t)
    v_hat = v_new / (1 - beta2**t)
    return x - lr * m_hat / (np.sqrt(v_hat) + eps), m_new, v_new


def adam_cases():
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal(4), rng.standard_normal(4)
    zeros = np.zeros(4)
    return [
        case("first step", (x, zeros, zeros, g, 1, 1e-3), hint="bias-correct with t"),
        case("t = 7", (x, 0.1 * g, 0.01 * g**2, g, 7, 1e-2)),
        case("tiny", (zeros, zeros, zeros, 1e-9 * g, 1, 1e-3), hint="eps outside sqrt"),
    ]


@pytest.fixture
def xg():
    rng = np.random.default_rng(1)
    return rng.standard_normal(3), rng.standard_normal(3)


# ---------------------------------------------------------------- importing
def test_import_is_cheap_and_torch_free():
    code = "import sys, taylornet.grading; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_reference_is_registered_and_guardable():
    for package in (taylornet.rules, taylornet.curvature):
        for name in package.__all__:
            if not inspect.isfunction(getattr(package, name)):
                continue  # classes (HessianOperator, ...) are tools, not graded rules
            assert inspect.signature(reference(name)) == inspect.signature(getattr(package, name))
    with reference_tripwire():
        pass
    assert grading._UNGUARDED == []


# -------------------------------------------------------------- comparisons
def test_assert_close_accepts_rounding_and_lists():
    assert_close(np.array([1.0, 2.0 + 1e-14]), [1.0, 2.0])
    assert_close(np.array([np.nan, 1.0]), np.array([np.nan, 1.0]))
    assert_close(np.zeros(3), np.zeros(3))


def test_assert_close_message_shows_expected_got_and_worst_entry():
    with pytest.raises(AssertionError) as info:
        assert_close(np.array([1.0, 2.5, 3.0]), [1.0, 2.0, 3.0], name="x_new", context="case: t=1")
    text = str(info.value)
    for piece in ("x_new", "expected", "got", "2.5", "entry [1]", "case: t=1", "1 of 3"):
        assert piece in text


@pytest.mark.parametrize(
    ("actual", "expected", "words"),
    [
        (None, [1.0], "forget to `return`"),
        (np.zeros(3), np.zeros(2), "shape"),
        (np.array([np.nan, 1.0]), [0.0, 1.0], "wrong"),
        ("abc", [1.0], "could not be read"),
        (np.array([1e-21, 2e-21]), [1e-21, 3e-21], "wrong"),  # tiny arrays are compared relatively
    ],
)
def test_assert_close_rejects(actual, expected, words):
    with pytest.raises(AssertionError, match=words):
        assert_close(actual, expected)


def test_comparisons_ignore_a_student_patching_numpy(monkeypatch, xg):
    """A solution cell may rebind NumPy's comparison functions; the grader must not care."""
    always = lambda *a, **k: True  # noqa: E731
    nothing = lambda *a, **k: None  # noqa: E731
    for name, fake in [("allclose", always), ("isclose", always), ("array_equal", always),
                       ("all", always), ("any", always), ("abs", nothing),
                       ("absolute", nothing), ("subtract", nothing), ("less_equal", always),
                       ("asarray", nothing), ("inf", 0.0)]:
        monkeypatch.setattr(np, name, fake)
    monkeypatch.setattr(np.testing, "assert_allclose", nothing)
    monkeypatch.setattr(np.testing, "assert_array_equal", nothing)

    with pytest.raises(AssertionError, match="wrong"):
        assert_close(np.array([1.0, 2.0]), np.array([1.0, 3.0]))
    x, g = xg
    with pytest.raises(AssertionError, match="wrong"):
        check_against_reference(lambda x, g, lr: x + lr * g, "gd_step", [case("c", (x, g, 0.1))])
    check_against_reference(lambda x, g, lr: x - lr * g, "gd_step", [case("c", (x, g, 0.1))])


def test_expect_close_prints_and_expect_tuple_explains(capsys):
    expect_close("x_new", np.array([0.5]), [0.5])
    assert "ok: x_new" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="tuple of 2 arrays, got a ndarray"):
        expect_tuple(np.zeros(2), 2, "momentum_step")
    with pytest.raises(AssertionError, match="of length 3"):
        expect_tuple((1, 2, 3), 2, "momentum_step")
    assert expect_tuple([1, 2], 2, "momentum_step") == (1, 2)


def test_inputs_unchanged_names_the_modified_argument(xg):
    x, g = xg
    with inputs_unchanged(x=x, g=g):
        x - g  # noqa: B018
    with pytest.raises(AssertionError, match="`x` was modified in place"):
        with inputs_unchanged(x=x, g=g):
            x -= 0.1 * g


# ------------------------------------------------------------------ tripwire
def _via_module_attribute(x, g, lr):
    return taylornet.rules.gd_step(x, g, lr)


def _via_alias(x, g, lr):
    from taylornet.rules import gd_step as step

    return step(x, g, lr)


def _via_getattr(x, g, lr):
    name = "gd_" + "step"
    return getattr(importlib.import_module("taylornet.rules.first_order"), name)(x, g, lr)


_partial = functools.partial(taylornet.rules.gd_step)
_saved_alias = taylornet.rules.gd_step  # bound before the tripwire exists


def _via_partial(x, g, lr):
    return _partial(x, g, lr)


def _via_saved_alias(x, g, lr):
    return _saved_alias(x, g, lr)


def _via_other_rule(x, g, lr):
    # momentum with beta = 0 is gradient descent: still the reference
    return taylornet.rules.momentum_step(x, 0 * x, g, lr, 0.0)[0]


def _via_reference_accessor(x, g, lr):
    return grading.reference("gd_step")(x, g, lr)


@pytest.mark.parametrize(
    "cheat",
    [_via_module_attribute, _via_alias, _via_getattr, _via_partial, _via_saved_alias,
     _via_other_rule, _via_reference_accessor],
)
def test_tripwire_catches_every_route_to_the_reference(cheat, xg):
    x, g = xg
    np.testing.assert_allclose(cheat(x, g, 0.1), x - 0.1 * g)  # works outside the tripwire
    with pytest.raises(ReferenceCallError, match=r"taylornet\.rules\.(gd|momentum)_step"):
        with reference_tripwire():
            cheat(x, g, 0.1)
    with pytest.raises(ReferenceCallError):
        check_against_reference(cheat, "gd_step", [case("c", (x, g, 0.1))])


def test_tripwire_catches_copies_of_the_code(xg):
    x, g = xg
    f = taylornet.rules.gd_step
    copied = types.FunctionType(f.__code__, f.__globals__, "mine", f.__defaults__)
    renamed = types.FunctionType(f.__code__.replace(co_name="mine"), f.__globals__, "mine")
    namespace = dict(f.__globals__)
    exec(textwrap.dedent(inspect.getsource(f)), namespace)  # pasted source
    pasted = namespace["gd_step"]
    for fn in (copied, renamed, pasted):
        with pytest.raises(ReferenceCallError, match="copied code ran"):
            with reference_tripwire():
                fn(x, g, 0.1)
        with pytest.raises(ReferenceCallError):
            assert_not_reference(fn, "gd_step")
        with pytest.raises(ReferenceCallError):
            check_against_reference(fn, "gd_step", [case("c", (x, g, 0.1))])


def test_tripwire_catches_curvature_references():
    def cheat(hvp, v0):
        return taylornet.curvature.power_iteration(hvp, v0)

    with pytest.raises(ReferenceCallError, match="power_iteration"):
        with reference_tripwire():
            cheat(lambda v: 2.0 * v, np.ones(3))


def test_a_swallowed_tripwire_still_fails(xg):
    x, g = xg

    def sneaky(x, g, lr):
        try:
            return taylornet.rules.gd_step(x, g, lr)
        except BaseException:
            return x - lr * g

    with pytest.raises(ReferenceCallError):
        with reference_tripwire():
            sneaky(x, g, 0.1)


def test_switching_off_the_profile_hook_is_detected(xg):
    def tamper():
        sys.setprofile(None)

    with pytest.raises(ReferenceCallError, match="profile hook"):
        with reference_tripwire():
            tamper()


def test_tripwire_restores_everything(xg):
    x, g = xg
    codes = {name: getattr(taylornet.rules, name).__code__ for name in taylornet.rules.__all__}
    defaults = taylornet.rules.adam_step.__defaults__
    profiler = sys.getprofile()
    with reference_tripwire():
        with reference_tripwire():  # re-entrant
            assert taylornet.rules.gd_step.__code__ is not codes["gd_step"]
    with pytest.raises(ZeroDivisionError):
        with reference_tripwire():
            1 / 0  # noqa: B018
    for name, code in codes.items():
        assert getattr(taylornet.rules, name).__code__ is code
    assert taylornet.rules.adam_step.__defaults__ == defaults
    assert sys.getprofile() is profiler
    np.testing.assert_allclose(taylornet.rules.gd_step(x, g, 0.5), x - 0.5 * g)
    out = taylornet.rules.adam_step(x, 0 * x, 0 * x, g, 1, 0.1)  # defaults work again
    np.testing.assert_allclose(out[0], x - 0.1 * g / (np.abs(g) + 1e-8))


def test_reference_is_a_private_copy(monkeypatch, xg):
    x, g = xg
    ref = reference("gd_step")
    monkeypatch.setattr(taylornet.rules, "gd_step", lambda x, g, lr: x)
    np.testing.assert_allclose(ref(x, g, 0.1), x - 0.1 * g)
    with pytest.raises(ReferenceCallError):
        with reference_tripwire():
            ref(x, g, 0.1)
    with pytest.raises(KeyError, match="no taylornet reference"):
        reference("no_such_rule")


# --------------------------------------------------------------- hidden tests
def test_check_against_reference_passes_a_correct_solution():
    check_against_reference(my_adam, "adam_step", adam_cases(), outputs=("x", "m", "v"))


def test_check_against_reference_reports_case_and_hint():
    def total_count(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        return my_adam(x, m, v, g, 100, lr, beta1, beta2, eps)

    with pytest.raises(AssertionError) as info:
        check_against_reference(total_count, "adam_step", adam_cases(), outputs=("x", "m", "v"))
    text = str(info.value)
    assert "adam_step: x" in text and "case: first step" in text and "bias-correct with t" in text

    def eps_inside(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        m_new, v_new = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = m_new / (1 - beta1**t), v_new / (1 - beta2**t)
        return x - lr * m_hat / np.sqrt(v_hat + eps), m_new, v_new

    with pytest.raises(AssertionError, match="eps outside sqrt"):
        check_against_reference(eps_inside, "adam_step", adam_cases())


@pytest.mark.parametrize(
    ("student", "words"),
    [
        (lambda x, g, lr: x.__isub__(lr * g), "modified its argument `x`"),
        (lambda x, g, lr: list(x - lr * g), "should be a NumPy array"),
        (lambda x, g, lr: (x - lr * g)[:-1], "shape"),
        (lambda x, g, lr: None, "forget to `return`"),
        (lambda x, g, lr: x - lr * g[0], "wrong"),
    ],
)
def test_check_against_reference_structure_and_mutation(student, words, xg):
    x, g = xg
    with pytest.raises(AssertionError, match=words):
        check_against_reference(student, "gd_step", [case("c", (x, g, 0.1))])


def test_check_against_reference_tuple_outputs(xg):
    x, g = xg
    v = np.ones(3)
    cases = [case("c", (x, v, g, 0.1, 0.9))]
    with pytest.raises(AssertionError, match=r"tuple \(x_new, v_new\), got a ndarray"):
        check_against_reference(lambda x, v, g, lr, beta: x, "momentum_step", cases,
                                outputs=("x_new", "v_new"))
    with pytest.raises(AssertionError, match="momentum_step: v_new"):
        check_against_reference(lambda x, v, g, lr, beta: (x - lr * (beta * v + g), beta * v),
                                "momentum_step", cases, outputs=("x_new", "v_new"))


def test_check_against_reference_explains_exceptions(xg):
    x, g = xg

    def unfinished(x, g, lr):
        raise NotImplementedError

    def broken(x, g, lr):
        return x @ np.ones((2, 2))

    with pytest.raises(AssertionError, match="not implemented yet"):
        check_against_reference(unfinished, "gd_step", [case("c", (x, g, 0.1))])
    with pytest.raises(AssertionError, match=r"(?s)raised ValueError.*case: c"):
        check_against_reference(broken, "gd_step", [case("c", (x, g, 0.1))])
    with pytest.raises(AssertionError, match="not a function"):
        check_against_reference(None, "gd_step", [case("c", (x, g, 0.1))])
    with pytest.raises(ReferenceCallError, match="is taylornet's reference"):
        check_against_reference(taylornet.rules.gd_step, "gd_step", [case("c", (x, g, 0.1))])


def test_student_warnings_are_silenced(capfd):
    """nbgrader scores a test cell that writes to stderr as failed: judge values, not warnings."""

    def clip(g, max_norm):  # correct, but divides by zero on the zero vector
        return g * min(1.0, max_norm / np.linalg.norm(g))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_against_reference(clip, "clip_grad_norm", [case("zero", (np.zeros(3), 1.0))])
    assert capfd.readouterr().err == ""
