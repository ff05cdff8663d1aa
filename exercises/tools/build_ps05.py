"""Write ``exercises/source/ps05_quasi_newton/ps05_quasi_newton.ipynb``.

Problem set 5: the quasi-Newton updates and the L-BFGS two-loop recursion of
``taylornet.rules`` (CONTRACT.md, chapter 6 of the book). Run from anywhere::

    python exercises/tools/build_ps05.py           # (re)write the notebook
    python exercises/tools/build_ps05.py --check   # exit 1 if it is out of date

``WRONG`` lists, per exercise, implementations that the hidden tests must
reject (the first is also autograded in ``tests/test_grading_roundtrip.py``);
``RIGHT`` lists other correct implementations that they must accept.
"""

from __future__ import annotations

import sys
from pathlib import Path

from notebook_builder import NotebookBuilder, main, points_label, points_table

ASSIGNMENT = "ps05_quasi_newton"
OUTPUT = Path(__file__).resolve().parents[1] / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

#: Points per exercise, in proportion to difficulty.
POINTS = {
    "bfgs_inverse_update": 2,
    "bfgs_update": 2,
    "dfp_inverse_update": 2,
    "sr1_update": 3,
    "lbfgs_direction": 4,
}

#: The data every hidden test of the dense updates starts from (seeded, so reproducible).
_DATA = '''
        rng = np.random.default_rng({seed})
        n = 5
        M = rng.standard_normal((n, n))
        A = M @ M.T + np.eye(n)                  # the true Hessian of a quadratic
        W = rng.standard_normal((n, n))
        P = W @ W.T / n + 0.5 * np.eye(n)        # a positive definite approximation
        s = rng.standard_normal(n)
        y = A @ s                                # y.s > 0
        # y.s tiny but positive, y.s < 0, and y.s = 0 exactly
        y_tiny = y - ((y @ s) - 1e-4 * np.sqrt((y @ y) * (s @ s))) / (s @ s) * s
        e1, e2 = np.eye(n)[0], np.eye(n)[1]
'''


def build() -> NotebookBuilder:
    nb = NotebookBuilder()

    nb.markdown("title", r"""
        # Problem set 5: quasi-Newton methods

        Quasi-Newton methods learn the curvature from the steps they take: after a
        step $s = x_{k+1} - x_k$ with gradient change $y = g_{k+1} - g_k$ they update
        a Hessian approximation $B$ (or its inverse $H$) so that it satisfies the
        **secant equation** $B_{k+1} s = y$ (equivalently $H_{k+1} y = s$). You will
        implement the updates of chapter 6 (*Quasi-Newton methods*), each with exactly
        the name and the signature given (the `taylornet` package uses the same ones).
        Notation of N&W chapter 6: $\rho = 1/(y^\top s)$.

        **Rules of the game**

        * `s`, `y`, `g` are 1-D NumPy arrays, `B` and `H` square matrices. Return new
          arrays; never modify an argument (nor the lists of the L-BFGS history).
        * Use NumPy only. Each function is graded against the reference in
          `taylornet.rules`; a solution that calls (or copies) that reference scores
          nothing for the exercise.
        * The test cell under each exercise checks small examples, worked by hand (for
          L-BFGS, against the dense BFGS recursion), chosen so that the usual slips
          fail with a hint: a general matrix, the skipping rules ($y^\top s \le 0$,
          the SR1 safeguard and its `r`), an empty L-BFGS history and the scaling of
          its initial matrix. It also checks that your inputs are left untouched and
          that the reference is not called. Hidden tests check more cases when the
          notebook is graded: larger random problems, the first update from the
          identity, $y^\top s = 0$, steps of very different lengths, the secant
          equation, symmetry and positive definiteness, longer L-BFGS histories.
        * Before you submit, run *Kernel → Restart & Run All* and validate.

        {points_table}
        """, points_table=points_table(POINTS))

    nb.code("setup", """
        # Run this cell first: it loads NumPy and the grading helpers before any of your code.
        import numpy as np

        from taylornet.grading import (
            expect_close,
            expect_equal,
            expect_raises,
            expect_true,
            expect_tuple,
            inputs_unchanged,
            print_warnings_to_stdout,
        )

        print_warnings_to_stdout()  # warnings become notes on stdout: only the checks decide
        """)

    secant_check = '''
        for label, matrix in [("random H", P), ("H0 = I", np.eye(n))]:
            new = run_student({name}, "{name}", (matrix, s, y), label=label)
            context = f"case: {{label}}"
            assert_close(new @ {lhs}, {rhs}, name="{secant}", rtol=1e-8,
                         atol=1e-10 * np.abs({rhs}).max(), context=context)
            assert_close(new, new.T, name="the symmetry {mat}_new = {mat}_new^T", context=context)
            assert np.linalg.eigvalsh(new).min() > 0, (
                f"{name}: the update lost positive definiteness although y.s > 0 ({{context}})")
    '''

    # ----------------------------------------------------- 1. inverse BFGS
    nb.exercise(
        "bfgs_inverse_update",
        points=POINTS["bfgs_inverse_update"],
        statement=rf"""
        ## 1. The BFGS update of the inverse Hessian ({points_label(POINTS["bfgs_inverse_update"])})

        *Chapter 6, Quasi-Newton methods; N&W (6.17).* BFGS updates the inverse
        Hessian approximation $H_k$ by

        $$H_{{k+1}} = (I - \rho\, s y^\top)\, H_k\, (I - \rho\, y s^\top) + \rho\, s s^\top,
          \qquad \rho = \frac{{1}}{{y^\top s}}.$$

        Write `bfgs_inverse_update(H, s, y)` returning $H_{{k+1}}$. It satisfies
        $H_{{k+1}} y = s$ and stays symmetric positive definite **if**
        $y^\top s > 0$ (the curvature condition, N&W (6.7)). A Wolfe line search
        guarantees it; backtracking does not. When $y^\top s \le 0$, skip the
        update: return `H` unchanged.
        """,
        solution='''
        def bfgs_inverse_update(H, s, y):
            """BFGS update of the inverse Hessian approximation, N&W (6.17)."""
            ### BEGIN SOLUTION
            ys = y @ s
            if ys <= 0:
                return H
            rho = 1.0 / ys
            left = np.eye(len(s)) - rho * np.outer(s, y)
            return left @ H @ left.T + rho * np.outer(s, s)
            ### END SOLUTION
        ''',
        tests='''
        # Visible test, worked by hand: H = [[2, 1], [1, 1]], s = (1, 1), y = (1, 0): y.s = 1,
        # rho = 1, L = I - rho s y^T = [[0, 0], [-1, 1]], L H L^T = [[0, 0], [0, 1]], and
        # H_new = L H L^T + rho s s^T = [[1, 1], [1, 2]].
        H, s, y = np.array([[2.0, 1.0], [1.0, 1.0]]), np.array([1.0, 1.0]), np.array([1.0, 0.0])
        y_tiny = np.array([1.0, -0.999])                     # y.s = 0.001 > 0
        with inputs_unchanged(H=H, s=s, y=y, y_tiny=y_tiny):
            H_new = bfgs_inverse_update(H, s, y)
            H_tiny = bfgs_inverse_update(H, s, y_tiny)
            H_neg = bfgs_inverse_update(H, s, -y)
        expect_close("bfgs_inverse_update", H_new, [[1.0, 1.0], [1.0, 2.0]],
                     hint="(I - rho s y^T) H (I - rho y s^T) + rho s s^T: s y^T on the left, "
                          "its transpose y s^T on the right")
        expect_close("y.s = 0.001: H_new y = s", H_tiny @ y_tiny, s, rtol=1e-6,
                     hint="skip only when y.s <= 0; a small positive y.s is still an update")
        expect_close("y.s < 0: no update", H_neg, H, hint="when y.s <= 0 return H unchanged")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import (  # noqa: E402
            assert_close,
            case,
            check_against_reference,
            run_student,
        )
        ''' + _DATA.format(seed=505) + '''
        formula = "H_new = (I - rho s y^T) H (I - rho y s^T) + rho s s^T, rho = 1/(y.s)"
        skip = "when y.s <= 0 return H unchanged"
        check_against_reference(bfgs_inverse_update, "bfgs_inverse_update", [
            case("the first update, from H0 = I", (np.eye(n), s, y), hint=formula),
            case("from the scaled H0 = (s.y / y.y) I", ((s @ y) / (y @ y) * np.eye(n), s, y),
                 hint=formula),
            case("a positive definite H", (P, s, y), hint=formula),
            case("y.s tiny but positive: still an update", (P, s, y_tiny),
                 hint="skip only when y.s <= 0"),
            case("y.s < 0", (P, s, -y), hint=skip),
            case("y.s = 0 exactly", (P, e1, e2), hint=skip),
        ], outputs=("H_new",))
        ''' + secant_check.format(name="bfgs_inverse_update", lhs="y", rhs="s",
                                  secant="the secant equation H_new y = s", mat="H") + '''
        ### END HIDDEN TESTS
        ''',
    )

    # -------------------------------------------------------------- 2. BFGS
    nb.exercise(
        "bfgs_update",
        points=POINTS["bfgs_update"],
        statement=rf"""
        ## 2. The BFGS update of the Hessian ({points_label(POINTS["bfgs_update"])})

        *Chapter 6, Quasi-Newton methods; N&W (6.19).* The same update, written for
        the Hessian approximation $B_k = H_k^{{-1}}$ (by the Sherman-Morrison-Woodbury
        formula):

        $$B_{{k+1}} = B_k - \frac{{B_k s s^\top B_k}}{{s^\top B_k s}}
          + \frac{{y y^\top}}{{y^\top s}} .$$

        Write `bfgs_update(B, s, y)` returning $B_{{k+1}}$, which satisfies the secant
        equation $B_{{k+1}} s = y$. As before, return `B` unchanged when
        $y^\top s \le 0$.
        """,
        solution='''
        def bfgs_update(B, s, y):
            """BFGS update of the Hessian approximation, N&W (6.19)."""
            ### BEGIN SOLUTION
            ys = y @ s
            if ys <= 0:
                return B
            Bs = B @ s
            return B - np.outer(Bs, Bs) / (s @ Bs) + np.outer(y, y) / ys
            ### END SOLUTION
        ''',
        tests='''
        # Visible test, worked by hand: B = [[2, 1], [1, 1]], s = (1, -1), y = (2, 1): B s = (1, 0),
        # s.B s = 1, y.s = 1, so B_new = B - (1, 0)(1, 0)^T / 1 + y y^T / 1 = [[5, 3], [3, 2]].
        B, s, y = np.array([[2.0, 1.0], [1.0, 1.0]]), np.array([1.0, -1.0]), np.array([2.0, 1.0])
        with inputs_unchanged(B=B, s=s, y=y):
            B_new = bfgs_update(B, s, y)
            B_neg = bfgs_update(B, s, -y)
        expect_close("bfgs_update", B_new, [[5.0, 3.0], [3.0, 2.0]],
                     hint="B - (B s)(B s)^T / (s.B s) + y y^T / (y.s): the first denominator "
                          "is s.B s, not s.s")
        expect_close("the secant equation B_new s = y", B_new @ s, y)
        expect_close("y.s < 0: no update", B_neg, B, hint="when y.s <= 0 return B unchanged")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import (  # noqa: E402
            assert_close,
            case,
            check_against_reference,
            run_student,
        )
        ''' + _DATA.format(seed=515) + '''
        formula = "B_new = B - (B s)(B s)^T / (s.B s) + y y^T / (y.s)"
        skip = "when y.s <= 0 return B unchanged"
        check_against_reference(bfgs_update, "bfgs_update", [
            case("the first update, from B0 = I", (np.eye(n), s, y), hint=formula),
            case("a positive definite B", (P, s, y), hint=formula),
            case("B = A, the true Hessian", (A, s, y), hint=formula),
            case("y.s tiny but positive: still an update", (P, s, y_tiny),
                 hint="skip only when y.s <= 0"),
            case("y.s < 0", (P, s, -y), hint=skip),
            case("y.s = 0 exactly", (P, e1, e2), hint=skip),
        ], outputs=("B_new",))
        ''' + secant_check.format(name="bfgs_update", lhs="s", rhs="y",
                                  secant="the secant equation B_new s = y", mat="B") + '''
        ### END HIDDEN TESTS
        ''',
    )

    # --------------------------------------------------------------- 3. DFP
    nb.exercise(
        "dfp_inverse_update",
        points=POINTS["dfp_inverse_update"],
        statement=rf"""
        ## 3. The DFP update of the inverse Hessian ({points_label(POINTS["dfp_inverse_update"])})

        *Chapter 6, Quasi-Newton methods; N&W (6.15).* DFP is the dual of BFGS:
        exchange $s \leftrightarrow y$ and $B \leftrightarrow H$ in (6.19) to get

        $$H_{{k+1}} = H_k - \frac{{H_k y y^\top H_k}}{{y^\top H_k y}}
          + \frac{{s s^\top}}{{y^\top s}} .$$

        Write `dfp_inverse_update(H, s, y)` returning $H_{{k+1}}$, and return `H`
        unchanged when $y^\top s \le 0$. DFP and inverse BFGS both satisfy the secant
        equation $H_{{k+1}} y = s$, but they are different matrices: mixing the two
        formulas up is a classic bug (the hidden tests compare every entry).
        """,
        solution='''
        def dfp_inverse_update(H, s, y):
            """DFP update of the inverse Hessian approximation, N&W (6.15)."""
            ### BEGIN SOLUTION
            ys = y @ s
            if ys <= 0:
                return H
            Hy = H @ y
            return H - np.outer(Hy, Hy) / (y @ Hy) + np.outer(s, s) / ys
            ### END SOLUTION
        ''',
        tests='''
        # Visible test, worked by hand: H = [[2, 1], [1, 1]], s = (2, 1), y = (1, -1): H y = (1, 0),
        # y.H y = 1, y.s = 1, so H_new = H - (1, 0)(1, 0)^T / 1 + s s^T / 1 = [[5, 3], [3, 2]]
        # (exercise 2 with s <-> y, B <-> H; inverse BFGS gives [[6, 4], [4, 3]] here).
        H, s, y = np.array([[2.0, 1.0], [1.0, 1.0]]), np.array([2.0, 1.0]), np.array([1.0, -1.0])
        with inputs_unchanged(H=H, s=s, y=y):
            H_new = dfp_inverse_update(H, s, y)
            H_neg = dfp_inverse_update(H, s, -y)
        expect_close("dfp_inverse_update", H_new, [[5.0, 3.0], [3.0, 2.0]],
                     hint="H - (H y)(H y)^T / (y.H y) + s s^T / (y.s): the first denominator "
                          "is y.H y, not y.y")
        expect_close("the secant equation H_new y = s", H_new @ y, s)
        expect_close("y.s < 0: no update", H_neg, H, hint="when y.s <= 0 return H unchanged")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import (  # noqa: E402
            assert_close,
            case,
            check_against_reference,
            run_student,
        )
        ''' + _DATA.format(seed=525) + '''
        formula = ("DFP: H_new = H - (H y)(H y)^T / (y.H y) + s s^T / (y.s); "
                   "inverse BFGS (6.17) is a different matrix")
        skip = "when y.s <= 0 return H unchanged"
        check_against_reference(dfp_inverse_update, "dfp_inverse_update", [
            case("the first update, from H0 = I", (np.eye(n), s, y), hint=formula),
            case("a positive definite H", (P, s, y), hint=formula),
            case("H = A^-1, the true inverse Hessian", (np.linalg.inv(A), s, y), hint=formula),
            case("y.s tiny but positive: still an update", (P, s, y_tiny),
                 hint="skip only when y.s <= 0"),
            case("y.s < 0", (P, s, -y), hint=skip),
            case("y.s = 0 exactly", (P, e1, e2), hint=skip),
        ], outputs=("H_new",))
        ''' + secant_check.format(name="dfp_inverse_update", lhs="y", rhs="s",
                                  secant="the secant equation H_new y = s", mat="H") + '''
        ### END HIDDEN TESTS
        ''',
    )

    # --------------------------------------------------------------- 4. SR1
    nb.exercise(
        "sr1_update",
        points=POINTS["sr1_update"],
        statement=rf"""
        ## 4. The symmetric-rank-one update ({points_label(POINTS["sr1_update"])})

        *Chapter 6, Quasi-Newton methods; N&W (6.24) and (6.26).* With
        $v = y - B_k s$, SR1 adds the one symmetric rank-one matrix that restores the
        secant equation:

        $$B_{{k+1}} = B_k + \frac{{v v^\top}}{{v^\top s}} .$$

        The denominator may vanish, so apply the update only when it is safely away
        from zero,

        $$|s^\top v| \ge r\, \|s\|\, \|v\| \qquad \text{{(6.26)}},$$

        with $r$ = `r`, and return `B` unchanged otherwise (including when $v = 0$:
        the secant equation already holds). Write `sr1_update(B, s, y, r=1e-8)`. Unlike BFGS,
        SR1 does **not** require $y^\top s > 0$ and may produce an indefinite matrix,
        which is why it is used with trust regions.
        """,
        solution='''
        def sr1_update(B, s, y, r=1e-8):
            """Symmetric-rank-one update of B, N&W (6.24), skipped by the test (6.26)."""
            ### BEGIN SOLUTION
            v = y - B @ s
            denominator = s @ v
            threshold = r * np.sqrt((s @ s) * (v @ v))
            if denominator == 0 or abs(denominator) < threshold:
                return B
            return B + np.outer(v, v) / denominator
            ### END SOLUTION
        ''',
        tests='''
        # Visible test, worked by hand: B = [[2, 1], [1, 1]], s = (1, 1), y = (5, 1): B s = (3, 2),
        # v = y - B s = (2, -1), s.v = 1, so B_new = B + v v^T / 1 = [[6, -1], [-1, 2]].
        # With r = 0.5: |s.v| = 1 < 0.5 |s| |v| = 0.5 sqrt(2) sqrt(5) = 1.58, so skip.
        B, s, y = np.array([[2.0, 1.0], [1.0, 1.0]]), np.array([1.0, 1.0]), np.array([5.0, 1.0])
        y_neg, y_same = np.array([-1.0, 0.0]), B @ s       # y.s = -1; y = B s gives v = 0
        with inputs_unchanged(B=B, s=s, y=y, y_neg=y_neg, y_same=y_same):
            B_new = sr1_update(B, s, y)
            B_neg = sr1_update(B, s, y_neg)
            B_r = sr1_update(B, s, y, r=0.5)
            B_same = sr1_update(B, s, y_same)
        expect_close("sr1_update", B_new, [[6.0, -1.0], [-1.0, 2.0]],
                     hint="B + v v^T / (v.s) with v = y - B s: the denominator is v.s")
        expect_close("y.s < 0: B_new s = y", B_neg @ s, y_neg,
                     hint="SR1 has no y.s > 0 condition; only the safeguard (6.26) skips")
        expect_close("r = 0.5: no update", B_r, B,
                     hint="the safeguard is relative and uses the r argument: compare |s.v| "
                          "with r |s| |v|")
        expect_close("y = B s (v = 0): no update", B_same, B,
                     hint="v = 0: the secant equation holds already; return B (v v^T / v.s "
                          "would be 0/0)")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import (  # noqa: E402
            assert_close,
            case,
            check_against_reference,
            run_student,
        )

        rng = np.random.default_rng(535)
        n = 5
        M = rng.standard_normal((n, n))
        A = M @ M.T + np.eye(n)
        W = rng.standard_normal((n, n))
        P = W @ W.T / n + 0.5 * np.eye(n)
        s = rng.standard_normal(n)
        y = A @ s


        def with_denominator(B, s, relative, scale=1.0):
            """A y for which v = y - B s has s.v = relative * |s| |v| (approximately)."""
            w = rng.standard_normal(n)
            w = scale * (w - (w @ s) / (s @ s) * s)           # orthogonal to s
            v = w + relative * np.sqrt(w @ w) / np.sqrt(s @ s) * s
            return B @ s + v


        y_skip = with_denominator(P, s, 1e-10)
        y_small = with_denominator(P, s, 1e-5)
        s_short = 1e-4 * s
        y_short = with_denominator(P, s_short, 1e-3, scale=1e-4)
        s_long = 1e3 * s
        y_long = with_denominator(P, s_long, 1e-10, scale=1e3)
        D = np.diag([1.0, 2.0, 3.0, 4.0, 5.0])
        s_int = np.array([1.0, -1.0, 2.0, 0.5, 3.0])
        formula = "B_new = B + v v^T / (v.s) with v = y - B s"
        safeguard = "skip (return B) when |s.v| < r |s| |v|, N&W (6.26)"
        check_against_reference(sr1_update, "sr1_update", [
            case("the first update, from B0 = I", (np.eye(n), s, y), hint=formula),
            case("a positive definite B", (P, s, y), hint=formula),
            case("y.s < 0 and s.v < 0: SR1 still updates", (np.eye(n), s, -y),
                 hint="SR1 has no y.s > 0 condition; only (6.26) skips"),
            case("|s.v| = 1e-10 |s| |v|: skip", (P, s, y_skip), hint=safeguard),
            case("|s.v| = 1e-5 |s| |v|, default r: update", (P, s, y_small),
                 hint="compare |s.v| with r |s| |v|, a relative test"),
            case("|s.v| = 1e-5 |s| |v|, r = 1e-3: skip", (P, s, y_small), {"r": 1e-3},
                 hint="use the r argument"),
            case("a short step, |s| ~ 1e-4: update", (P, s_short, y_short),
                 hint="the test (6.26) is relative: |s.v| < r |s| |v|, not |s.v| < r"),
            case("a long step, |s| ~ 1e3, |s.v| = 1e-10 |s| |v|: skip", (P, s_long, y_long),
                 hint="the test (6.26) is relative: |s.v| < r |s| |v|, not |s.v| < r"),
            case("y = B s exactly (v = 0): no update, no 0/0", (D, s_int, D @ s_int),
                 hint="v = 0 means the secant equation holds already: return B"),
        ], outputs=("B_new",))
        new = run_student(sr1_update, "sr1_update", (P, s, y), label="secant")
        assert_close(new @ s, y, name="the secant equation B_new s = y", rtol=1e-8,
                     atol=1e-10 * np.abs(y).max())
        assert_close(new, new.T, name="the symmetry B_new = B_new^T")
        ### END HIDDEN TESTS
        ''',
    )

    # ------------------------------------------------------------ 5. L-BFGS
    nb.exercise(
        "lbfgs_direction",
        points=POINTS["lbfgs_direction"],
        statement=rf"""
        ## 5. The L-BFGS two-loop recursion ({points_label(POINTS["lbfgs_direction"])})

        *Chapter 6, Quasi-Newton methods (limited memory); N&W Algorithm 7.4 and (7.20).*
        L-BFGS never forms $H_k$: it keeps the last $m$ pairs $(s_i, y_i)$ and computes
        $p = -H_k g$ from them, with $\rho_i = 1/(y_i^\top s_i)$ and the initial
        matrix $H_k^0 = \gamma I$ scaled by the **newest** pair,

        $$\gamma = \frac{{s_{{k-1}}^\top y_{{k-1}}}}{{y_{{k-1}}^\top y_{{k-1}}}} .$$

        1. $q \leftarrow g$; for $i$ from the newest pair to the oldest:
           $\alpha_i = \rho_i\, s_i^\top q$, $q \leftarrow q - \alpha_i y_i$.
        2. $r \leftarrow \gamma\, q$; for $i$ from the oldest pair to the newest:
           $\beta = \rho_i\, y_i^\top r$, $r \leftarrow r + s_i (\alpha_i - \beta)$.
        3. $p = -r$.

        Write `lbfgs_direction(g, s_hist, y_hist)` where `s_hist` and `y_hist` are
        lists of 1-D arrays ordered **oldest to newest** (the caller stores only pairs
        with $y^\top s > 0$). With an empty history return $p = -g$, steepest descent.
        The result equals $-H g$ for $H = \gamma I$ updated by inverse BFGS with each
        pair in turn. Do not reorder or modify the lists you are given.
        """,
        solution='''
        def lbfgs_direction(g, s_hist, y_hist):
            """p = -H g by the L-BFGS two-loop recursion (N&W Algorithm 7.4)."""
            ### BEGIN SOLUTION
            m = len(s_hist)
            if m == 0:
                return -g
            rho = [1.0 / (y_hist[i] @ s_hist[i]) for i in range(m)]
            alpha = [0.0] * m
            q = g.copy()
            for i in range(m - 1, -1, -1):
                alpha[i] = rho[i] * (s_hist[i] @ q)
                q = q - alpha[i] * y_hist[i]
            gamma = (s_hist[-1] @ y_hist[-1]) / (y_hist[-1] @ y_hist[-1])
            r = gamma * q
            for i in range(m):
                beta = rho[i] * (y_hist[i] @ r)
                r = r + (alpha[i] - beta) * s_hist[i]
            return -r
            ### END SOLUTION
        ''',
        tests='''
        # Visible test: three pairs (oldest first) of very different scales. The expected p is
        # -H g for H = gamma I, gamma = s.y / y.y of the newest pair, updated by inverse BFGS
        # with each pair in turn, oldest first: written out densely below.
        g = np.array([1.0, -2.0, 0.5])
        S = [np.array([1.0, 0.0, 1.0]), np.array([0.0, 1.0, -1.0]), np.array([1.0, 1.0, 0.0])]
        Y = [np.array([2.0, 1.0, 1.0]), np.array([1.0, 3.0, -1.0]), np.array([0.5, 0.5, 0.2])]
        H = (S[-1] @ Y[-1]) / (Y[-1] @ Y[-1]) * np.eye(3)     # gamma = 1 / 0.54
        for s, y in zip(S, Y, strict=True):
            L = np.eye(3) - np.outer(s, y) / (y @ s)
            H = L @ H @ L.T + np.outer(s, s) / (y @ s)
        with inputs_unchanged(g=g, s_hist=S, y_hist=Y):
            p_empty = lbfgs_direction(g, [], [])
            p = lbfgs_direction(g, S, Y)
        expect_close("lbfgs_direction with no history", p_empty, -g,
                     hint="no pairs: return -g, steepest descent")
        expect_close("lbfgs_direction with three pairs", p, -H @ g,
                     hint="gamma from the newest pair (the last in the lists); first loop "
                          "newest to oldest, second loop oldest to newest")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import (  # noqa: E402
            case,
            check_against_reference,
            run_student,
        )

        rng = np.random.default_rng(545)
        n = 6
        M = rng.standard_normal((n, n))
        A = M @ M.T + np.eye(n)
        g = rng.standard_normal(n)
        S = [rng.standard_normal(n) for _ in range(5)]
        Y = [A @ s for s in S]                                   # pairs of a quadratic
        scales = [0.1, 1.0, 10.0]
        Y_scaled = [c * (A @ s) for c, s in zip(scales, S[:3], strict=True)]
        two_loop = ("first loop newest to oldest, then r = gamma q, second loop oldest to "
                    "newest; p = -r")
        newest = "gamma = s.y / y.y of the NEWEST pair (the last in the lists)"
        check_against_reference(lbfgs_direction, "lbfgs_direction", [
            case("an empty history: p = -g", (g, [], []),
                 hint="no pairs: return -g (and do not look for a newest pair)"),
            case("one pair", (g, S[:1], Y[:1]), hint=newest),
            case("two pairs", (g, S[:2], Y[:2]), hint=two_loop),
            case("five pairs of a quadratic", (g, S, Y), hint=two_loop),
            case("three pairs of very different scales", (g, S[:3], Y_scaled), hint=newest),
            case("g = 0", (np.zeros(n), S, Y)),
        ], outputs=("p",))
        p = run_student(lbfgs_direction, "lbfgs_direction", (g, S, Y), label="descent")
        assert g @ p < 0, "with pairs of positive curvature the L-BFGS direction is a descent one"
        ### END HIDDEN TESTS
        ''',
    )

    # -------------------------------------------------------------- the demo
    nb.markdown("demo_statement", r"""
        ## Your quasi-Newton methods at work (not graded)

        The cell below minimises the Rosenbrock function from $(-1.2, 1)$ with your
        inverse BFGS, DFP, SR1 and L-BFGS ($m = 5$), all with the same backtracking
        line search, and plots $\|\nabla f\|$ against the iteration. After the first
        step BFGS and DFP rescale their initial matrix by
        $\gamma = s^\top y / y^\top y$ (N&W (6.20)). SR1 starts from $B_0 = I$ and
        takes $-g$ instead of its direction $p = -B^{-1} g$ whenever $g^\top p \ge 0$
        (not a descent direction, which can happen once $B$ is indefinite). L-BFGS
        forgets its pairs when backtracking gives $y^\top s \le 0$ (the dense
        updates skip such a pair themselves). DFP, far less forgiving of
        inexact line searches than BFGS, crawls. Methods whose exercise is not
        solved yet are skipped.
        """)

    nb.code("demo", '''
        def rosen(z):
            return (1 - z[0]) ** 2 + 100 * (z[1] - z[0] ** 2) ** 2


        def rosen_grad(z):
            return np.array([-2 * (1 - z[0]) - 400 * z[0] * (z[1] - z[0] ** 2),
                             200 * (z[1] - z[0] ** 2)])


        def backtrack(x, g, p):
            alpha = 1.0
            while rosen(x + alpha * p) > rosen(x) + 1e-4 * alpha * (g @ p) and alpha > 1e-12:
                alpha *= 0.5
            return alpha


        def quasi_newton(method, max_iter=400):
            x, g = np.array([-1.2, 1.0]), rosen_grad(np.array([-1.2, 1.0]))
            M = np.eye(2)                   # H (inverse methods) or B (SR1)
            S, Y, norms = [], [], [np.linalg.norm(g)]
            for k in range(max_iter):
                if np.linalg.norm(g) <= 1e-8:
                    break
                if method == "L-BFGS":
                    p = lbfgs_direction(g, S, Y)
                elif method == "SR1":
                    p = -np.linalg.solve(M, g)
                    if g @ p >= 0:
                        p = -g
                else:
                    p = -M @ g
                x_new = x + backtrack(x, g, p) * p
                g_new = rosen_grad(x_new)
                s, y = x_new - x, g_new - g
                if k == 0 and method != "SR1" and y @ s > 0:
                    M = (s @ y) / (y @ y) * M   # N&W (6.20): scale H0 after the first step
                if method == "BFGS":
                    M = bfgs_inverse_update(M, s, y)
                elif method == "DFP":
                    M = dfp_inverse_update(M, s, y)
                elif method == "SR1":
                    M = sr1_update(M, s, y)
                elif y @ s > 0:
                    S, Y = (S + [s])[-5:], (Y + [y])[-5:]
                else:                           # backtracking gave y.s <= 0: restart
                    S, Y = [], []
                x, g = x_new, g_new
                norms.append(np.linalg.norm(g))
            return np.array(norms)


        curves = {}
        for method in ["BFGS", "DFP", "SR1", "L-BFGS"]:
            try:
                curves[method] = quasi_newton(method)
            except NotImplementedError:
                print(f"{method}: skipped, an exercise it needs is not solved yet")
            except Exception as exc:  # show the problem instead of stopping the notebook
                print(f"{method}: failed with {type(exc).__name__}: {exc}")

        if curves:
            import matplotlib.pyplot as plt

            for method, norms in curves.items():
                print(f"{method:>7}: {len(norms) - 1} iterations, |grad f| = {norms[-1]:.1e}")
            fig, ax = plt.subplots(figsize=(7, 4))
            for method, norms in curves.items():
                ax.semilogy(norms, label=method)
            ax.set(xlabel="iteration", ylabel=r"$\\|\\nabla f\\|$",
                   title="Quasi-Newton methods on Rosenbrock from (-1.2, 1)")
            ax.legend()
            plt.show()
        else:
            print("Solve the exercises above to see your quasi-Newton methods at work.")
        ''')
    return nb


WRONG = {
    "bfgs_inverse_update": {
        "the B formula applied to H": (
            "def bfgs_inverse_update(H, s, y):\n"
            "    if y @ s <= 0:\n        return H\n"
            "    Hs = H @ s\n"
            "    return H - np.outer(Hs, Hs) / (s @ Hs) + np.outer(y, y) / (y @ s)"),
        "DFP instead of BFGS": (
            "def bfgs_inverse_update(H, s, y):\n"
            "    if y @ s <= 0:\n        return H\n"
            "    Hy = H @ y\n"
            "    return H - np.outer(Hy, Hy) / (y @ Hy) + np.outer(s, s) / (y @ s)"),
        "no skip when y.s <= 0": (
            "def bfgs_inverse_update(H, s, y):\n"
            "    rho = 1 / (y @ s)\n    L = np.eye(len(s)) - rho * np.outer(s, y)\n"
            "    return L @ H @ L.T + rho * np.outer(s, s)"),
        "skips small positive y.s": (
            "def bfgs_inverse_update(H, s, y):\n"
            "    if y @ s <= 1e-3 * np.linalg.norm(y) * np.linalg.norm(s):\n        return H\n"
            "    rho = 1 / (y @ s)\n    L = np.eye(len(s)) - rho * np.outer(s, y)\n"
            "    return L @ H @ L.T + rho * np.outer(s, s)"),
        "no transpose on the right (L H L)": (
            "def bfgs_inverse_update(H, s, y):\n"
            "    if y @ s <= 0:\n        return H\n"
            "    rho = 1 / (y @ s)\n    L = np.eye(len(s)) - rho * np.outer(s, y)\n"
            "    return L @ H @ L + rho * np.outer(s, s)"),
        "s and y swapped in the outer products": (
            "def bfgs_inverse_update(H, s, y):\n"
            "    if y @ s <= 0:\n        return H\n"
            "    rho = 1 / (y @ s)\n    L = np.eye(len(s)) - rho * np.outer(y, s)\n"
            "    return L @ H @ L.T + rho * np.outer(s, s)"),
        "calls the reference": (
            "def bfgs_inverse_update(H, s, y):\n"
            "    from taylornet.rules import bfgs_inverse_update as b\n    return b(H, s, y)"),
    },
    "bfgs_update": {
        "the H formula applied to B": (
            "def bfgs_update(B, s, y):\n"
            "    if y @ s <= 0:\n        return B\n"
            "    rho = 1 / (y @ s)\n    L = np.eye(len(s)) - rho * np.outer(s, y)\n"
            "    return L @ B @ L.T + rho * np.outer(s, s)"),
        "s.s instead of s.B s": (
            "def bfgs_update(B, s, y):\n"
            "    if y @ s <= 0:\n        return B\n"
            "    Bs = B @ s\n"
            "    return B - np.outer(Bs, Bs) / (s @ s) + np.outer(y, y) / (y @ s)"),
        "no skip when y.s <= 0": (
            "def bfgs_update(B, s, y):\n"
            "    Bs = B @ s\n"
            "    return B - np.outer(Bs, Bs) / (s @ Bs) + np.outer(y, y) / (y @ s)"),
        "in place": (
            "def bfgs_update(B, s, y):\n"
            "    if y @ s <= 0:\n        return B\n"
            "    Bs = B @ s\n"
            "    B -= np.outer(Bs, Bs) / (s @ Bs)\n    B += np.outer(y, y) / (y @ s)\n"
            "    return B"),
        "calls the reference": (
            "def bfgs_update(B, s, y):\n"
            "    import taylornet.rules\n    return taylornet.rules.bfgs_update(B, s, y)"),
    },
    "dfp_inverse_update": {
        "inverse BFGS instead of DFP": (
            "def dfp_inverse_update(H, s, y):\n"
            "    if y @ s <= 0:\n        return H\n"
            "    rho = 1 / (y @ s)\n    L = np.eye(len(s)) - rho * np.outer(s, y)\n"
            "    return L @ H @ L.T + rho * np.outer(s, s)"),
        "s and y not exchanged (the B formula)": (
            "def dfp_inverse_update(H, s, y):\n"
            "    if y @ s <= 0:\n        return H\n"
            "    Hs = H @ s\n"
            "    return H - np.outer(Hs, Hs) / (s @ Hs) + np.outer(y, y) / (y @ s)"),
        "no skip when y.s <= 0": (
            "def dfp_inverse_update(H, s, y):\n"
            "    Hy = H @ y\n"
            "    return H - np.outer(Hy, Hy) / (y @ Hy) + np.outer(s, s) / (y @ s)"),
        "y.y instead of y.H y": (
            "def dfp_inverse_update(H, s, y):\n"
            "    if y @ s <= 0:\n        return H\n"
            "    Hy = H @ y\n"
            "    return H - np.outer(Hy, Hy) / (y @ y) + np.outer(s, s) / (y @ s)"),
        "calls the reference": (
            "def dfp_inverse_update(H, s, y):\n"
            "    from taylornet.rules import dfp_inverse_update as d\n    return d(H, s, y)"),
    },
    "sr1_update": {
        "skips when y.s <= 0 (the BFGS rule)": (
            "def sr1_update(B, s, y, r=1e-8):\n"
            "    v = y - B @ s\n"
            "    if y @ s <= 0 or abs(s @ v) < r * np.linalg.norm(s) * np.linalg.norm(v):\n"
            "        return B\n"
            "    return B + np.outer(v, v) / (s @ v)"),
        "no safeguard": (
            "def sr1_update(B, s, y, r=1e-8):\n"
            "    v = y - B @ s\n"
            "    if s @ v == 0:\n        return B\n"
            "    return B + np.outer(v, v) / (s @ v)"),
        "absolute threshold |s.v| < r": (
            "def sr1_update(B, s, y, r=1e-8):\n"
            "    v = y - B @ s\n"
            "    if abs(s @ v) < r:\n        return B\n"
            "    return B + np.outer(v, v) / (s @ v)"),
        "hard-coded r": (
            "def sr1_update(B, s, y, r=1e-8):\n"
            "    v = y - B @ s\n"
            "    if abs(s @ v) < 1e-8 * np.linalg.norm(s) * np.linalg.norm(v) or s @ v == 0:\n"
            "        return B\n"
            "    return B + np.outer(v, v) / (s @ v)"),
        "0/0 when y = B s": (
            "def sr1_update(B, s, y, r=1e-8):\n"
            "    v = y - B @ s\n"
            "    if abs(s @ v) < r * np.linalg.norm(s) * np.linalg.norm(v):\n        return B\n"
            "    return B + np.outer(v, v) / (s @ v)"),
        "y.s in the denominator": (
            "def sr1_update(B, s, y, r=1e-8):\n"
            "    v = y - B @ s\n"
            "    if abs(s @ v) < r * np.linalg.norm(s) * np.linalg.norm(v) or s @ v == 0:\n"
            "        return B\n"
            "    return B + np.outer(v, v) / (s @ y)"),
        "calls the reference": (
            "def sr1_update(B, s, y, r=1e-8):\n"
            "    from taylornet.rules import sr1_update as sr1\n    return sr1(B, s, y, r)"),
    },
    "lbfgs_direction": {
        "gamma from the oldest pair": (
            "def lbfgs_direction(g, s_hist, y_hist):\n"
            "    if not s_hist:\n        return -g\n"
            "    q, a = g, []\n"
            "    for s, y in zip(reversed(s_hist), reversed(y_hist)):\n"
            "        a.append((s @ q) / (y @ s))\n        q = q - a[-1] * y\n"
            "    r = (s_hist[0] @ y_hist[0]) / (y_hist[0] @ y_hist[0]) * q\n"
            "    for (s, y), ai in zip(zip(s_hist, y_hist), reversed(a)):\n"
            "        r = r + s * (ai - (y @ r) / (y @ s))\n"
            "    return -r"),
        "no initial scaling (gamma = 1)": (
            "def lbfgs_direction(g, s_hist, y_hist):\n"
            "    if not s_hist:\n        return -g\n"
            "    q, a = g, []\n"
            "    for s, y in zip(reversed(s_hist), reversed(y_hist)):\n"
            "        a.append((s @ q) / (y @ s))\n        q = q - a[-1] * y\n"
            "    r = q\n"
            "    for (s, y), ai in zip(zip(s_hist, y_hist), reversed(a)):\n"
            "        r = r + s * (ai - (y @ r) / (y @ s))\n"
            "    return -r"),
        "both loops oldest to newest": (
            "def lbfgs_direction(g, s_hist, y_hist):\n"
            "    if not s_hist:\n        return -g\n"
            "    q, a = g, []\n"
            "    for s, y in zip(s_hist, y_hist):\n"
            "        a.append((s @ q) / (y @ s))\n        q = q - a[-1] * y\n"
            "    r = (s_hist[-1] @ y_hist[-1]) / (y_hist[-1] @ y_hist[-1]) * q\n"
            "    for (s, y), ai in zip(zip(s_hist, y_hist), a):\n"
            "        r = r + s * (ai - (y @ r) / (y @ s))\n"
            "    return -r"),
        "returns +H g": (
            "def lbfgs_direction(g, s_hist, y_hist):\n"
            "    if not s_hist:\n        return g\n"
            "    q, a = g, []\n"
            "    for s, y in zip(reversed(s_hist), reversed(y_hist)):\n"
            "        a.append((s @ q) / (y @ s))\n        q = q - a[-1] * y\n"
            "    r = (s_hist[-1] @ y_hist[-1]) / (y_hist[-1] @ y_hist[-1]) * q\n"
            "    for (s, y), ai in zip(zip(s_hist, y_hist), reversed(a)):\n"
            "        r = r + s * (ai - (y @ r) / (y @ s))\n"
            "    return r"),
        "reverses the caller's lists": (
            "def lbfgs_direction(g, s_hist, y_hist):\n"
            "    if not s_hist:\n        return -g\n"
            "    s_hist.reverse()\n    y_hist.reverse()\n"
            "    q, a = g, []\n"
            "    for s, y in zip(s_hist, y_hist):\n"
            "        a.append((s @ q) / (y @ s))\n        q = q - a[-1] * y\n"
            "    r = (s_hist[0] @ y_hist[0]) / (y_hist[0] @ y_hist[0]) * q\n"
            "    for (s, y), ai in zip(zip(reversed(s_hist), reversed(y_hist)), reversed(a)):\n"
            "        r = r + s * (ai - (y @ r) / (y @ s))\n"
            "    return -r"),
        "fails on an empty history": (
            "def lbfgs_direction(g, s_hist, y_hist):\n"
            "    q, a = g, []\n"
            "    for s, y in zip(reversed(s_hist), reversed(y_hist)):\n"
            "        a.append((s @ q) / (y @ s))\n        q = q - a[-1] * y\n"
            "    r = (s_hist[-1] @ y_hist[-1]) / (y_hist[-1] @ y_hist[-1]) * q\n"
            "    for (s, y), ai in zip(zip(s_hist, y_hist), reversed(a)):\n"
            "        r = r + s * (ai - (y @ r) / (y @ s))\n"
            "    return -r"),
        "calls the reference": (
            "def lbfgs_direction(g, s_hist, y_hist):\n"
            "    from taylornet.rules import lbfgs_direction as l\n"
            "    return l(g, s_hist, y_hist)"),
    },
}

#: The entries of ``WRONG`` that the visible tests let through on purpose, with the reason
#: (``tests/test_grading_visible.py``): none, every catalogued slip fails a visible test.
VISIBLE_MISSES: dict[str, dict[str, str]] = {}

#: Other correct implementations; the hidden tests must accept them.
RIGHT = {
    "bfgs_inverse_update": {
        "the expanded rank-two form": (
            "def bfgs_inverse_update(H, s, y):\n"
            "    ys = np.dot(y, s)\n"
            "    if ys <= 0:\n        return H.copy()\n"
            "    rho, Hy = 1.0 / ys, H @ y\n"
            "    return (H - rho * (np.outer(s, Hy) + np.outer(Hy, s))\n"
            "            + (rho**2 * (y @ Hy) + rho) * np.outer(s, s))"),
    },
    "dfp_inverse_update": {
        "with y^T H written out": (
            "def dfp_inverse_update(H, s, y):\n"
            "    if not np.dot(y, s) > 0:\n        return H.copy()\n"
            "    Hy, yH = H @ y, y @ H\n"
            "    return H - np.outer(Hy, yH) / np.dot(yH, y) + np.outer(s, s) / np.dot(s, y)"),
    },
    "sr1_update": {
        "np.linalg.norm and a single test": (
            "def sr1_update(B, s, y, r=1e-8):\n"
            "    v = y - B @ s\n    d = np.dot(v, s)\n"
            "    if not abs(d) >= r * np.linalg.norm(s) * np.linalg.norm(v) or d == 0:\n"
            "        return B.copy()\n"
            "    return B + np.outer(v, v) / d"),
    },
    "lbfgs_direction": {
        "the dense matrix of the same updates": (
            "def lbfgs_direction(g, s_hist, y_hist):\n"
            "    if len(s_hist) == 0:\n        return -g\n"
            "    s, y = s_hist[-1], y_hist[-1]\n"
            "    H = (s @ y) / (y @ y) * np.eye(len(g))\n"
            "    for s, y in zip(s_hist, y_hist):\n"
            "        rho = 1 / (y @ s)\n        L = np.eye(len(g)) - rho * np.outer(s, y)\n"
            "        H = L @ H @ L.T + rho * np.outer(s, s)\n"
            "    return -H @ g"),
    },
}


if __name__ == "__main__":
    sys.exit(main(build, OUTPUT, description=__doc__.splitlines()[0]))
