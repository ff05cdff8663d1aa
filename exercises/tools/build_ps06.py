"""Write ``exercises/source/ps06_cg_trust_region/ps06_cg_trust_region.ipynb``.

Problem set 6: conjugate gradients (chapter 7 of the book) and the trust-region
subproblem solvers (chapter 5) of ``taylornet.rules`` (CONTRACT.md). Run from
anywhere::

    python exercises/tools/build_ps06.py           # (re)write the notebook
    python exercises/tools/build_ps06.py --check   # exit 1 if it is out of date

``WRONG`` lists, per exercise, implementations that the hidden tests must
reject (the first is also autograded in ``tests/test_grading_roundtrip.py``);
``RIGHT`` lists other correct implementations that they must accept.
"""

from __future__ import annotations

import sys
from pathlib import Path

from notebook_builder import NotebookBuilder, main, points_label, points_table

ASSIGNMENT = "ps06_cg_trust_region"
OUTPUT = Path(__file__).resolve().parents[1] / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

#: Points per exercise, in proportion to difficulty.
POINTS = {
    "conjugate_gradient": 3,
    "cg_beta": 2,
    "cauchy_point": 2,
    "dogleg_step": 3,
    "steihaug_cg": 4,
}


def build() -> NotebookBuilder:
    nb = NotebookBuilder()

    nb.markdown("title", r"""
        # Problem set 6: conjugate gradients and trust regions

        Conjugate gradients solve $A x = b$ touching $A$ only through products $A p$
        (chapter 7, *Conjugate gradients*); the same recursion, truncated, solves the
        trust-region subproblem

        $$\min_p\ m(p) = g^\top p + \tfrac12 p^\top B p \quad\text{subject to}\quad
          \|p\| \le \Delta$$

        of chapter 5 (*Newton's method, line searches and trust regions*), next to the
        Cauchy point and the dogleg. Write each function with exactly the name and the
        signature given (the `taylornet` package uses the same ones).

        **Rules of the game**

        * Vectors are 1-D NumPy arrays; `A` and `B` are matrices, `A` may also be a
          function `v -> A v`, and `hvp` is a function `v -> B v`. Return new arrays;
          never modify an argument.
        * Use NumPy only. Each function is graded against the reference in
          `taylornet.rules`; a solution that calls (or copies) that reference scores
          nothing for the exercise.
        * The test cell under each exercise checks small examples worked by hand,
          chosen so that the usual slips fail with a hint: starting points, relative
          tolerances, the default `max_iter`, negative $\beta$, negative curvature,
          radii on each piece of the path. It also checks that your inputs are left
          untouched and that the reference is not called. Hidden tests check more
          cases when the notebook is graded: larger random problems, more steps and
          radii, zero right-hand sides.
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

    # --------------------------------------------------------------- 1. CG
    nb.exercise(
        "conjugate_gradient",
        points=POINTS["conjugate_gradient"],
        statement=rf"""
        ## 1. Linear conjugate gradients ({points_label(POINTS["conjugate_gradient"])})

        *Chapter 7, Conjugate gradients; N&W Algorithm 5.2.* For a symmetric positive
        definite $A$, start from $x_0$ (zero when `x0` is `None`) with
        $r_0 = A x_0 - b$, $p_0 = -r_0$, and repeat

        $$\alpha_k = \frac{{r_k^\top r_k}}{{p_k^\top A p_k}}, \quad
          x_{{k+1}} = x_k + \alpha_k p_k, \quad r_{{k+1}} = r_k + \alpha_k A p_k, \quad
          \beta_{{k+1}} = \frac{{r_{{k+1}}^\top r_{{k+1}}}}{{r_k^\top r_k}}, \quad
          p_{{k+1}} = -r_{{k+1}} + \beta_{{k+1}} p_k .$$

        Write `conjugate_gradient(A, b, x0=None, tol=1e-10, max_iter=None)` returning
        the last $x_k$, where

        * `A` is a matrix or a function `v -> A v` (use `A(v)` if `callable(A)`,
          else `A @ v`);
        * the iteration stops as soon as $\|r_k\| \le$ `tol` $\cdot \|b\|$ (a
          **relative** test, checked before each step, so a starting point that
          already solves the system is returned as it is), or after `max_iter`
          steps, which defaults to the dimension $n$ (in exact arithmetic CG
          terminates in at most $n$ steps);
        * `b = 0` gives the zero vector.
        """,
        solution='''
        def conjugate_gradient(A, b, x0=None, tol=1e-10, max_iter=None):
            """Solve A x = b for symmetric positive definite A (N&W Algorithm 5.2)."""
            ### BEGIN SOLUTION
            def times_A(v):
                return A(v) if callable(A) else A @ v

            n = b.shape[0]
            if max_iter is None:
                max_iter = n
            b_norm = np.sqrt(b @ b)
            if b_norm == 0:
                return np.zeros_like(b)
            if x0 is None:
                x, r = np.zeros_like(b), -b
            else:
                x = np.array(x0, dtype=float)
                r = times_A(x) - b
            p = -r
            rr = r @ r
            for _ in range(max_iter):
                if np.sqrt(rr) <= tol * b_norm:
                    break
                Ap = times_A(p)
                alpha = rr / (p @ Ap)
                x = x + alpha * p
                r = r + alpha * Ap
                rr_new = r @ r
                p = -r + (rr_new / rr) * p
                rr = rr_new
            return x
            ### END SOLUTION
        ''',
        tests='''
        # Visible test, worked by hand: A = [[2, 1], [1, 2]], b = (1, 0), solution (2/3, -1/3).
        # From 0: r0 = -b, p0 = (1, 0), A p0 = (2, 1), alpha0 = 1/2, x1 = (1/2, 0), r1 = (0, 1/2),
        # beta1 = 1/4, p1 = (1/4, -1/2), A p1 = (0, -3/4), alpha1 = 2/3, x2 = (2/3, -1/3).
        # From x0 = (1, 0): r0 = A x0 - b = (1, 1), p0 = (-1, -1), alpha0 = 1/3, x1 = (2/3, -1/3).
        A, b = np.array([[2.0, 1.0], [1.0, 2.0]]), np.array([1.0, 0.0])
        x0, x_star = np.array([1.0, 0.0]), np.array([1.0, -1.0])
        products = []


        def times_A(v):
            products.append(v)
            return A @ v


        with inputs_unchanged(A=A, b=b, x0=x0, x_star=x_star):
            x1 = conjugate_gradient(A, b, max_iter=1)
            x2 = conjugate_gradient(A, b)
            x_fn = conjugate_gradient(times_A, np.array([1.0, 2.0]), tol=0.0)   # x = (0, 1)
            x1_from_x0 = conjugate_gradient(A, b, x0=x0, max_iter=1)
            x_solved = conjugate_gradient(A, A @ x_star, x0=x_star)
            x_tiny = conjugate_gradient(A, 1e-12 * b)
        steps = "alpha = r.r / p.Ap; x += alpha p; r += alpha A p; p = -r_new + beta p"
        expect_close("one CG step", x1, [0.5, 0.0], hint=steps)
        expect_close("two CG steps", x2, [2 / 3, -1 / 3], hint=steps + ", beta = r_new.r_new / r.r")
        expect_close("A as a function, tol = 0", x_fn, [0.0, 1.0], atol=1e-12,
                     hint="call A(v) when A is callable")
        expect_true("tol = 0: at most n + 1 = 3 products with A", len(products) <= 3,
                    hint="with tol = 0 only max_iter stops CG; it defaults to the dimension n",
                    detail=f"{len(products)} products")
        expect_close("one step from x0 = (1, 0)", x1_from_x0, [2 / 3, -1 / 3],
                     hint="start from x0 when it is given: r0 = A x0 - b")
        expect_close("x0 solves A x = b already", x_solved, x_star,
                     hint="test ||r|| <= tol ||b|| before each step (here r = 0: no 0/0)")
        expect_close("b = 1e-12 (1, 0)", x_tiny, [2e-12 / 3, -1e-12 / 3],
                     hint="stop when ||r|| <= tol * ||b||: relative to ||b||")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import (  # noqa: E402
            assert_close,
            case,
            check_against_reference,
            run_student,
        )

        rng = np.random.default_rng(606)
        n = 8
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        A = (Q * np.linspace(1.0, 20.0, n)) @ Q.T
        b, x0 = rng.standard_normal(n), rng.standard_normal(n)
        D, b_D = np.diag([2.0, 4.0, 8.0]), np.array([2.0, 4.0, 8.0])    # solution (1, 1, 1)


        def matvec(v):
            return A @ v


        steps = ("r0 = A x0 - b, p0 = -r0; alpha = r.r / p.Ap; x += alpha p; r += alpha Ap; "
                 "beta = r_new.r_new / r.r; p = -r_new + beta p")
        relative = "stop when ||r|| <= tol * ||b||: relative to ||b||, tested before each step"
        check_against_reference(conjugate_gradient, "conjugate_gradient", [
            case("one step from 0 (max_iter = 1, tol = 0)", (A, b, None, 0.0, 1), hint=steps),
            case("three steps from 0", (A, b, None, 0.0, 3), hint=steps),
            case("three steps from x0", (A, b, x0, 0.0, 3), hint=steps),
            case("A as a function, four steps", (matvec, b, None, 0.0, 4),
                 hint="call A(v) when A is callable"),
            case("to convergence, default tol", (A, b), hint=relative),
            case("tol = 1e-3 stops early", (A, b, None, 1e-3), hint=relative),
            case("a tiny b (|b| ~ 1e-12)", (A, 1e-12 * b), hint=relative),
            case("x0 solves the system already", (D, b_D, np.ones(3)),
                 hint="test ||r|| <= tol ||b|| before a step: here r = 0 and alpha = 0/0"),
            case("b = 0", (A, np.zeros(n)), hint="b = 0: return zeros (no 0/0)"),
        ], outputs=("x",))

        products = []


        def counted(v):
            products.append(1)
            if len(products) > 2 * n:
                raise AssertionError("more than 2n products: max_iter must default to n")
            return A @ v


        x = run_student(conjugate_gradient, "conjugate_gradient", (counted, b, None, 0.0),
                        label="tol = 0, default max_iter")
        assert len(products) <= n + 1, (
            f"conjugate_gradient used {len(products)} products with A; "
            f"max_iter defaults to the dimension n = {n}")
        assert_close(x, np.linalg.solve(A, b), name="x after n steps", rtol=1e-8,
                     context="case: tol = 0, default max_iter (n steps solve the system)")
        ### END HIDDEN TESTS
        ''',
    )

    # ------------------------------------------------------------- 2. cg_beta
    nb.exercise(
        "cg_beta",
        points=POINTS["cg_beta"],
        statement=rf"""
        ## 2. The nonlinear-CG coefficient $\beta$ ({points_label(POINTS["cg_beta"])})

        *Chapter 7, nonlinear conjugate gradients; N&W (5.41a), (5.44)-(5.46).* Nonlinear
        CG replaces the residual by the gradient: $p_{{k+1}} = -g_{{k+1}} + \beta\, p_k$.
        With $y_k = g_{{k+1}} - g_k$ the classic choices are

        $$\beta^{{FR}} = \frac{{g_{{k+1}}^\top g_{{k+1}}}}{{g_k^\top g_k}}, \quad
          \beta^{{PR}} = \frac{{g_{{k+1}}^\top y_k}}{{g_k^\top g_k}}, \quad
          \beta^{{PR+}} = \max(\beta^{{PR}}, 0), \quad
          \beta^{{HS}} = \frac{{g_{{k+1}}^\top y_k}}{{y_k^\top p_k}} .$$

        Write `cg_beta(g_new, g_old, p_old, kind="pr+")` returning $\beta$ (a number)
        for `kind` in `"fr"`, `"pr"`, `"pr+"`, `"hs"`, and raising `ValueError` for any
        other `kind`. PR+ restarts with steepest descent ($\beta = 0$) instead of
        following a negative $\beta^{{PR}}$ uphill; `p_old` is used by HS only.
        """,
        solution='''
        def cg_beta(g_new, g_old, p_old, kind="pr+"):
            """beta of p_new = -g_new + beta * p_old: 'fr', 'pr', 'pr+' or 'hs'."""
            ### BEGIN SOLUTION
            y = g_new - g_old
            if kind == "fr":
                return (g_new @ g_new) / (g_old @ g_old)
            if kind == "pr":
                return (g_new @ y) / (g_old @ g_old)
            if kind == "pr+":
                return max((g_new @ y) / (g_old @ g_old), 0.0)
            if kind == "hs":
                return (g_new @ y) / (y @ p_old)
            raise ValueError(f"unknown kind {kind!r}: use 'fr', 'pr', 'pr+' or 'hs'")
            ### END SOLUTION
        ''',
        tests='''
        # Visible test, worked by hand: g_old = (2, 1), g_new = (1, 0), p_old = (-2, 0):
        # y = g_new - g_old = (-1, -1), g_old.g_old = 5, g_new.g_new = 1, g_new.y = -1,
        # y.p_old = 2: FR = 1/5, PR = -1/5, PR+ = max(-1/5, 0) = 0, HS = -1/2.
        g_old, g_new, p_old = np.array([2.0, 1.0]), np.array([1.0, 0.0]), np.array([-2.0, 0.0])
        hints = {"fr": "g_new.g_new / g_old.g_old",
                 "pr": "g_new.y / g_old.g_old with y = g_new - g_old",
                 "pr+": "max(beta_PR, 0): PR+ clips a negative beta to 0",
                 "hs": "g_new.y / y.p_old with y = g_new - g_old"}
        with inputs_unchanged(g_new=g_new, g_old=g_old, p_old=p_old):
            for kind, beta in [("fr", 0.2), ("pr", -0.2), ("pr+", 0.0), ("hs", -0.5)]:
                expect_close(f"cg_beta(kind={kind!r})", cg_beta(g_new, g_old, p_old, kind), beta,
                             hint=hints[kind])
            expect_close("cg_beta with the default kind", cg_beta(g_new, g_old, p_old), 0.0,
                         hint="look at the default of kind in the signature")
            for kind in ("cd", "PR"):
                with expect_raises(ValueError, f"kind={kind!r}",
                                   hint="the kinds are 'fr', 'pr', 'pr+', 'hs', in lower case; "
                                        "raise ValueError for any other"):
                    cg_beta(g_new, g_old, p_old, kind)

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import case, check_against_reference, check_raises  # noqa: E402

        rng = np.random.default_rng(616)
        n = 6
        g_old, g_new, p_old = (rng.standard_normal(n) for _ in range(3))
        g_back = 0.3 * g_old + 0.01 * rng.standard_normal(n)     # beta_PR < 0
        check_against_reference(cg_beta, "cg_beta", [
            case("Fletcher-Reeves", (g_new, g_old, p_old, "fr"), hint="g_new.g_new / g_old.g_old"),
            case("Polak-Ribiere", (g_new, g_old, p_old, "pr"),
                 hint="g_new.y / g_old.g_old with y = g_new - g_old"),
            case("PR+", (g_new, g_old, p_old, "pr+"), hint="max(beta_PR, 0)"),
            case("Hestenes-Stiefel", (g_new, g_old, p_old, "hs"), hint="g_new.y / y.p_old"),
            case("the default kind is PR+", (g_new, g_old, p_old), hint='kind="pr+"'),
            case("Polak-Ribiere, negative", (g_back, g_old, p_old, "pr"),
                 hint="PR may be negative; only PR+ clips it"),
            case("PR+ clips a negative beta to 0", (g_back, g_old, p_old, "pr+"),
                 hint="max(beta_PR, 0): restart with steepest descent"),
            case("Hestenes-Stiefel, by keyword", (g_back, g_old, p_old), {"kind": "hs"},
                 hint="g_new.y / y.p_old"),
            case("Fletcher-Reeves by keyword", (g_back, g_old, p_old), {"kind": "fr"},
                 hint="g_new.g_new / g_old.g_old"),
        ], outputs=("beta",))
        check_raises(cg_beta, "cg_beta", [
            case("kind = 'cd'", (g_new, g_old, p_old, "cd"), hint="raise ValueError"),
            case("kind = 'PR'", (g_new, g_old, p_old, "PR"),
                 hint="raise ValueError: the kinds are lower case"),
        ], ValueError)
        ### END HIDDEN TESTS
        ''',
    )

    # --------------------------------------------------------- 3. Cauchy point
    nb.exercise(
        "cauchy_point",
        points=POINTS["cauchy_point"],
        statement=rf"""
        ## 3. The Cauchy point ({points_label(POINTS["cauchy_point"])})

        *Chapter 5, trust regions; N&W (4.11)-(4.12).* The Cauchy point minimises the
        model $m(p) = g^\top p + \tfrac12 p^\top B p$ along $-g$ inside the ball
        $\|p\| \le \Delta$:

        $$p^C = -\tau\, \frac{{\Delta}}{{\|g\|}}\, g, \qquad
          \tau = \begin{{cases}} 1 & \text{{if }} g^\top B g \le 0, \\
                 \min\!\bigl(\|g\|^3 / (\Delta\, g^\top B g),\ 1\bigr) & \text{{otherwise.}}
                 \end{{cases}}$$

        Write `cauchy_point(g, B, radius)` returning $p^C$ ($\Delta$ = `radius`).
        `B` need not be positive definite: along a direction of non-positive
        curvature the model decreases all the way to the boundary. A zero gradient
        gives the zero step.
        """,
        solution='''
        def cauchy_point(g, B, radius):
            """The minimiser of the model along -g within the trust region (N&W 4.11-4.12)."""
            ### BEGIN SOLUTION
            g_norm = np.sqrt(g @ g)
            if g_norm == 0:
                return np.zeros_like(g)
            curvature = g @ B @ g
            tau = 1.0 if curvature <= 0 else min(g_norm**3 / (radius * curvature), 1.0)
            return -(tau * radius / g_norm) * g
            ### END SOLUTION
        ''',
        tests='''
        # Visible test, worked by hand: g = (3, 4), |g| = 5, B = [[2, -1], [-1, 1]], so
        # g.Bg = 18 - 24 + 16 = 10. Radius 25: tau = 125 / (25 * 10) = 1/2, p = -(1/2)(25/5) g
        # = (-7.5, -10), the minimiser along -g; radius 1: tau = 1, p = -g / 5, on the boundary.
        # B_ind = [[1, -2], [-2, 1]] is indefinite, g.B_ind g = 9 - 48 + 16 = -23 < 0: tau = 1.
        g, B = np.array([3.0, 4.0]), np.array([[2.0, -1.0], [-1.0, 1.0]])
        B_ind, zero = np.array([[1.0, -2.0], [-2.0, 1.0]]), np.zeros(2)
        with inputs_unchanged(g=g, B=B, B_ind=B_ind, zero=zero):
            inside = cauchy_point(g, B, 25.0)
            boundary = cauchy_point(g, B, 1.0)
            downhill = cauchy_point(g, B_ind, 2.0)
            at_zero = cauchy_point(zero, B, 1.0)
        formula = "tau = min(||g||**3 / (radius g.Bg), 1); p = -tau radius g / ||g||"
        expect_close("cauchy_point, radius 25", inside, [-7.5, -10.0], hint=formula)
        expect_close("cauchy_point, radius 1", boundary, [-0.6, -0.8], hint=formula)
        expect_close("g.Bg < 0, radius 2", downhill, [-1.2, -1.6],
                     hint="when g.Bg <= 0, tau = 1: the model decreases all the way to the "
                          "boundary")
        expect_close("g = 0", at_zero, zero, hint="a zero gradient gives the zero step, not 0/0")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import (  # noqa: E402
            assert_close,
            case,
            check_against_reference,
            run_student,
        )

        rng = np.random.default_rng(626)
        n = 4
        M = rng.standard_normal((n, n))
        B_pd = M @ M.T + np.eye(n)
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        B_ind = (Q * np.array([3.0, -2.0, 1.0, -1.0])) @ Q.T
        g = rng.standard_normal(n)
        g_down = Q[:, 1] + 0.1 * Q[:, 2]          # g.B g < 0
        g_up = Q[:, 0] + 0.5 * Q[:, 1]            # g.B g > 0 although B is indefinite
        formula = "tau = min(||g||**3 / (radius g.Bg), 1) when g.Bg > 0; p = -tau radius g/||g||"
        negative = "when g.Bg <= 0, tau = 1: the step goes to the boundary"
        check_against_reference(cauchy_point, "cauchy_point", [
            case("positive definite B, large radius: tau < 1", (g, B_pd, 100.0), hint=formula),
            case("positive definite B, small radius: tau = 1", (g, B_pd, 0.01), hint=formula),
            case("negative curvature along g", (g_down, B_ind, 1.5), hint=negative),
            case("indefinite B, positive curvature along g", (g_up, B_ind, 10.0), hint=formula),
            case("B = 0: zero curvature", (g, np.zeros((n, n)), 2.0), hint=negative),
            case("an integer radius", (g, B_pd, 3), hint=formula),
            case("g = 0", (np.zeros(n), B_pd, 1.0), hint="a zero gradient gives p = 0, not NaN"),
        ], outputs=("p",))
        p = run_student(cauchy_point, "cauchy_point", (g, B_pd, 0.5), label="the trust region")
        assert np.sqrt(p @ p) <= 0.5 * (1 + 1e-12), "the Cauchy point must lie in the ball"
        ### END HIDDEN TESTS
        ''',
    )

    # -------------------------------------------------------------- 4. dogleg
    nb.exercise(
        "dogleg_step",
        points=POINTS["dogleg_step"],
        statement=rf"""
        ## 4. The dogleg step ({points_label(POINTS["dogleg_step"])})

        *Chapter 5, trust regions; N&W section 4.1, (4.15)-(4.16).* For a positive
        definite $B$ the dogleg path runs from $0$ to the minimiser along $-g$,
        $p^U = -\frac{{g^\top g}}{{g^\top B g}}\, g$, then straight to the Newton step
        $p^B = -B^{{-1}} g$. The step is where the path leaves the ball
        $\|p\| \le \Delta$:

        $$p = \begin{{cases}}
          p^B & \text{{if }} \|p^B\| \le \Delta, \\
          -\Delta\, g / \|g\| & \text{{if }} \|p^U\| \ge \Delta, \\
          p^U + s\,(p^B - p^U),\ s \in [0, 1] \text{{ with }} \|p\| = \Delta & \text{{otherwise}}.
          \end{{cases}}$$

        Write `dogleg_step(g, B, radius)`. In the last case $s$ is the root in
        $[0, 1]$ of the quadratic $\|p^U + s\,(p^B - p^U)\|^2 = \Delta^2$. Raise
        `ValueError` when `B` is not positive definite (`np.linalg.cholesky` raises
        `np.linalg.LinAlgError`, a subclass of `ValueError`, for such a `B`).
        """,
        solution='''
        def dogleg_step(g, B, radius):
            """The dogleg step for a positive definite B (N&W section 4.1)."""
            ### BEGIN SOLUTION
            np.linalg.cholesky(B)  # raises LinAlgError, a ValueError, unless B is positive definite
            p_newton = -np.linalg.solve(B, g)
            if np.sqrt(p_newton @ p_newton) <= radius:
                return p_newton
            g_norm = np.sqrt(g @ g)
            p_u = -(g_norm**2 / (g @ B @ g)) * g
            if np.sqrt(p_u @ p_u) >= radius:
                return -(radius / g_norm) * g
            d = p_newton - p_u
            a, b, c = d @ d, 2 * (p_u @ d), p_u @ p_u - radius**2
            s = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
            return p_u + s * d
            ### END SOLUTION
        ''',
        tests='''
        # Visible test, worked by hand: B = [[2, 1], [1, 1]], g = (1, 1): B^-1 = [[1, -1], [-1, 2]],
        # p_B = -B^-1 g = (0, -1), |p_B| = 1; g.Bg = 5, p_U = -(2/5) g = (-0.4, -0.4), |p_U| = 0.57.
        # Radius |(p_U + p_B) / 2| = |(-0.2, -0.7)| = sqrt(0.53) = 0.73: the path leaves the ball
        # halfway along its second leg, s = 1/2.
        g, B = np.array([1.0, 1.0]), np.array([[2.0, 1.0], [1.0, 1.0]])
        B_ind = np.array([[1.0, 2.0], [2.0, 1.0]])             # eigenvalues 3 and -1
        with inputs_unchanged(g=g, B=B, B_ind=B_ind):
            newton = dogleg_step(g, B, 2.0)
            short = dogleg_step(g, B, 0.3)
            halfway = dogleg_step(g, B, np.sqrt(0.53))
        expect_close("radius 2: the Newton step", newton, [0.0, -1.0],
                     hint="|p_B| <= radius: return p_B = -B^-1 g")
        expect_close("radius 0.3 < |p_U|", short, -0.3 * g / np.sqrt(2.0),
                     hint="|p_U| >= radius: go along -g to the boundary, -radius g / |g|")
        expect_close("radius 0.73: the second leg", halfway, [-0.2, -0.7],
                     hint="p = p_U + s (p_B - p_U) with |p| = radius and s in [0, 1]: the "
                          "root of the quadratic in s that lies in [0, 1]")
        with inputs_unchanged(g=g, B_ind=B_ind):
            with expect_raises(ValueError, "indefinite B",
                               hint="raise ValueError when B is not positive definite"):
                dogleg_step(g, B_ind, 1.0)

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import case, check_against_reference, check_raises  # noqa: E402

        rng = np.random.default_rng(636)
        n = 4
        M = rng.standard_normal((n, n))
        B = M @ M.T + np.eye(n)
        g = rng.standard_normal(n)
        p_b = np.linalg.solve(B, g)
        p_u = (g @ g) / (g @ B @ g) * g
        nb_, nu = np.sqrt(p_b @ p_b), np.sqrt(p_u @ p_u)
        kink = ("between |p_U| and |p_B|: p = p_U + s (p_B - p_U) with s in [0, 1] "
                "(the positive root) and |p| = radius")
        check_against_reference(dogleg_step, "dogleg_step", [
            case("radius larger than the Newton step", (g, B, 2.0 * nb_),
                 hint="|p_B| <= radius: return the Newton step p_B"),
            case("radius just above the Newton step", (g, B, 1.001 * nb_),
                 hint="|p_B| <= radius: return the Newton step p_B"),
            case("radius smaller than |p_U|", (g, B, 0.5 * nu),
                 hint="|p_U| >= radius: -radius g / |g|"),
            case("radius halfway between |p_U| and |p_B|", (g, B, 0.5 * (nu + nb_)), hint=kink),
            case("radius just above |p_U|", (g, B, 1.01 * nu), hint=kink),
            case("radius just below |p_B|", (g, B, 0.99 * nb_), hint=kink),
            case("B = 3 I: p_U = p_B", (g, 3.0 * np.eye(n), 0.1),
                 hint="|p_U| >= radius: -radius g / |g|"),
        ], outputs=("p",))
        eigenvalues = np.linalg.eigvalsh(B)
        B_ind = B - 0.5 * (eigenvalues[0] + eigenvalues[-1]) * np.eye(n)
        check_raises(dogleg_step, "dogleg_step", [
            case("an indefinite B", (g, B_ind, 1.0),
                 hint="raise ValueError when B is not positive definite"),
            case("a singular B", (g[:2], np.array([[1.0, 1.0], [1.0, 1.0]]), 1.0),
                 hint="raise ValueError when B is not positive definite"),
        ], ValueError)
        ### END HIDDEN TESTS
        ''',
    )

    # ------------------------------------------------------------ 5. Steihaug
    nb.exercise(
        "steihaug_cg",
        points=POINTS["steihaug_cg"],
        statement=rf"""
        ## 5. CG-Steihaug ({points_label(POINTS["steihaug_cg"])})

        *Chapter 7, truncated CG, and chapter 5, trust regions; N&W Algorithm 7.2.*
        Run CG on $B p = -g$ from $z_0 = 0$: $r_0 = g$, $d_0 = -g$, and for
        $j = 0, 1, \dots$

        $$\alpha_j = \frac{{r_j^\top r_j}}{{d_j^\top B d_j}}, \quad
          z_{{j+1}} = z_j + \alpha_j d_j, \quad r_{{j+1}} = r_j + \alpha_j B d_j, \quad
          d_{{j+1}} = -r_{{j+1}} + \frac{{r_{{j+1}}^\top r_{{j+1}}}}{{r_j^\top r_j}}\, d_j,$$

        stopping early in three ways:

        1. **negative curvature**, $d_j^\top B d_j \le 0$: return $z_j + \tau d_j$ on
           the boundary, $\|z_j + \tau d_j\| = \Delta$, with the root $\tau$ (of the
           two, one negative and one positive) that gives the lower model value,
           $m(z_j + \tau d_j) = m(z_j) + \tau\, r_j^\top d_j + \tfrac12 \tau^2 d_j^\top B d_j$:
           usually the positive root, but not always;
        2. **the boundary**, $\|z_{{j+1}}\| \ge \Delta$: return $z_j + \tau d_j$ with
           $\tau \ge 0$ and $\|z_j + \tau d_j\| = \Delta$;
        3. **convergence**, $\|r_{{j+1}}\| \le$ `tol` $\cdot \|g\|$: return $z_{{j+1}}$.

        After `max_iter` products (default: the dimension) return the last $z$. Write
        `steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None)`, with one call of `hvp`
        per iteration. A zero gradient gives the zero step.
        """,
        solution='''
        def steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None):
            """Truncated CG for the trust-region subproblem (N&W Algorithm 7.2)."""
            ### BEGIN SOLUTION
            def to_boundary(z, d):
                # the roots of |z + t d|**2 = radius**2, smaller first
                a, b, c = d @ d, 2 * (z @ d), z @ z - radius**2
                root = np.sqrt(b * b - 4 * a * c)
                return (-b - root) / (2 * a), (-b + root) / (2 * a)

            if max_iter is None:
                max_iter = g.shape[0]
            z = np.zeros_like(g)
            r, d = g.copy(), -g
            rr = r @ r
            if rr == 0:
                return z
            for _ in range(max_iter):
                Bd = hvp(d)
                dBd = d @ Bd
                if dBd <= 0:  # m(z + t d) = m(z) + t r.d + t**2/2 d.Bd: take the lower end
                    t_minus, t_plus = to_boundary(z, d)
                    rd = r @ d
                    m_minus = t_minus * rd + 0.5 * t_minus**2 * dBd
                    m_plus = t_plus * rd + 0.5 * t_plus**2 * dBd
                    return z + (t_plus if m_plus <= m_minus else t_minus) * d
                alpha = rr / dBd
                z_next = z + alpha * d
                if np.sqrt(z_next @ z_next) >= radius:
                    return z + to_boundary(z, d)[1] * d
                z = z_next
                r = r + alpha * Bd
                rr_next = r @ r
                if np.sqrt(rr_next) <= tol * np.sqrt(g @ g):
                    return z
                d = -r + (rr_next / rr) * d
                rr = rr_next
            return z
            ### END SOLUTION
        ''',
        tests='''
        # Visible test, worked by hand: B = [[2, 1], [1, 1]], g = (1, 1), as in exercise 4. In two
        # dimensions CG's path 0 -> z1 = p_U = (-0.4, -0.4) -> z2 = -B^-1 g = (0, -1) is the
        # dogleg path, so radius sqrt(0.53) = |(-0.2, -0.7)| leaves it halfway along z1 -> z2.
        g, B = np.array([1.0, 1.0]), np.array([[2.0, 1.0], [1.0, 1.0]])
        products = []


        def hvp(v):
            products.append(v)
            return B @ v


        # B_ind = [[-1, -1], [-1, 0]], g_ind = (-1, 1): d0 = (1, -1), d0.B d0 = 1, z1 = (2, -2),
        # r1 = (-1, -1), d1 = (2, 0) and d1.B d1 = -4 < 0. |z1 + tau d1| = sqrt(20) at tau = 1
        # and tau = -3, where m(z1 + tau d1) - m(z1) = -2 tau - 2 tau**2 is -4 and -12.
        B_ind, g_ind = np.array([[-1.0, -1.0], [-1.0, 0.0]]), np.array([-1.0, 1.0])
        with inputs_unchanged(g=g, g_ind=g_ind):
            newton = steihaug_cg(g, hvp, 10.0, tol=0.0)
            n_products = len(products)
            halfway = steihaug_cg(g, hvp, np.sqrt(0.53))
            tiny = steihaug_cg(1e-12 * g, hvp, 10.0)
            curved = steihaug_cg(g_ind, lambda v: B_ind @ v, np.sqrt(20.0))
        expect_close("a large radius: the Newton step", newton, [0.0, -1.0],
                     hint="CG from z = 0: r0 = g, d0 = -g")
        expect_true("tol = 0: at most n = 2 calls of hvp", n_products <= 2,
                    hint="max_iter defaults to the dimension n; one hvp call per iteration",
                    detail=f"{n_products} calls")
        expect_close("radius 0.73: on z1 -> z2", halfway, [-0.2, -0.7],
                     hint="when |z_next| >= radius return z + tau d, tau >= 0: along d from z")
        expect_close("g = 1e-12 (1, 1)", tiny, [0.0, -1e-12],
                     hint="stop when ||r|| <= tol * ||g||: relative to ||g||")
        expect_close("negative curvature, step 2", curved, [-4.0, -2.0],
                     hint="when d.Bd <= 0 return z + tau d on the boundary, with the root tau "
                          "(of either sign) of lower model value")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import (  # noqa: E402
            assert_close,
            case,
            check_against_reference,
            run_student,
        )

        rng = np.random.default_rng(646)
        n = 6
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        B_pd = (Q * np.linspace(1.0, 10.0, n)) @ Q.T
        B_ind = (Q * np.array([5.0, 3.0, 2.0, 1.0, -1.0, -4.0])) @ Q.T
        g = rng.standard_normal(n)
        g_down = Q[:, 5] + 0.05 * Q[:, 0]        # d0 = -g has negative curvature


        def hvp_pd(v):
            return B_pd @ v


        def hvp_ind(v):
            return B_ind @ v


        newton = np.linalg.solve(B_pd, g)
        reach = np.sqrt(newton @ newton)
        cg = "CG from z = 0: r0 = g, d0 = -g; stop when ||r|| <= tol * ||g||"
        boundary = "when ||z_next|| >= radius return z + tau d, tau >= 0, |z + tau d| = radius"
        curvature = ("when d.Bd <= 0 return z + tau d on the boundary, with the root tau of "
                     "LOWER model value m(z + tau d) = m(z) + tau r.d + tau**2/2 d.Bd")
        check_against_reference(steihaug_cg, "steihaug_cg", [
            case("radius larger than the Newton step", (g, hvp_pd, 2.0 * reach), hint=cg),
            case("radius half the Newton step", (g, hvp_pd, 0.5 * reach), hint=boundary),
            case("radius 0.9 of the Newton step: the boundary at the second step",
                 (g, hvp_pd, 0.9 * reach), hint=boundary),
            case("radius 0.99 of the Newton step: the boundary at the fourth step",
                 (g, hvp_pd, 0.99 * reach), hint=boundary),
            case("a tiny gradient (|g| ~ 1e-12)", (1e-12 * g, hvp_pd, 100.0),
                 hint="stop when ||r|| <= tol * ||g||: relative to ||g||"),
            case("radius smaller than the first CG step", (g, hvp_pd, 1e-3), hint=boundary),
            case("negative curvature at the first step", (g_down, hvp_ind, 1.0), hint=curvature),
            case("indefinite B, negative curvature at the second step", (g, hvp_ind, 100.0),
                 hint=curvature),
            case("indefinite B, radius 3: negative curvature at the second step",
                 (g, hvp_ind, 3.0), hint=curvature),
            case("indefinite B, a small radius", (g, hvp_ind, 0.05), hint=boundary),
            case("max_iter = 1: the Cauchy point", (g, hvp_pd, 100.0, 1e-10, 1),
                 hint="stop after max_iter products and return the last z"),
            case("max_iter = 2", (g, hvp_pd, 100.0), {"max_iter": 2},
                 hint="stop after max_iter products and return the last z"),
            case("tol = 0.5 stops early", (g, hvp_pd, 100.0, 0.5), hint=cg),
            case("g = 0", (np.zeros(n), hvp_pd, 1.0), hint="a zero gradient gives p = 0"),
        ], outputs=("p",))

        products = []


        def counted(v):
            products.append(1)
            if len(products) > 2 * n:
                raise AssertionError("more than 2n products: max_iter must default to n")
            return B_pd @ v


        p = run_student(steihaug_cg, "steihaug_cg", (g, counted, 2.0 * reach, 0.0),
                        label="tol = 0, default max_iter")
        assert len(products) <= n, (
            f"steihaug_cg used {len(products)} products; one per iteration and at most "
            f"max_iter, which defaults to the dimension n = {n}")
        assert_close(p, -newton, name="p after n steps with a large radius", rtol=1e-8,
                     context="case: tol = 0, default max_iter")
        for radius in (0.3, 1.0, 3.0):
            p = run_student(steihaug_cg, "steihaug_cg", (g, hvp_ind, radius),
                            label=f"radius {radius}")
            assert np.sqrt(p @ p) <= radius * (1 + 1e-10), f"|p| > radius = {radius}"
        ### END HIDDEN TESTS
        ''',
    )

    # -------------------------------------------------------------- the demo
    nb.markdown("demo_statement", r"""
        ## Your CG and trust-region methods at work (not graded)

        Left: the residual of your `conjugate_gradient` after $k$ steps on two
        $40 \times 40$ systems with condition number 1000, one with eigenvalues spread
        over $[1, 1000]$ and one with three tight clusters. On the clusters CG is
        done in a handful of steps per cluster; on the spread spectrum rounding errors
        spoil the finite termination of exact arithmetic. Right: minimising the
        Rosenbrock function from $(-1.2, 1)$ with a basic trust-region method whose
        steps come from your Cauchy point, dogleg (the Cauchy point where the Hessian
        is indefinite) and CG-Steihaug, and with nonlinear CG using your `cg_beta`
        ("pr+" and "fr") and a backtracking line search. Methods whose exercise is
        not solved yet are skipped.
        """)

    nb.code("demo", '''
        def rosen(z):
            return (1 - z[0]) ** 2 + 100 * (z[1] - z[0] ** 2) ** 2


        def rosen_grad(z):
            return np.array([-2 * (1 - z[0]) - 400 * z[0] * (z[1] - z[0] ** 2),
                             200 * (z[1] - z[0] ** 2)])


        def rosen_hess(z):
            return np.array([[2 - 400 * (z[1] - 3 * z[0] ** 2), -400 * z[0]],
                             [-400 * z[0], 200.0]])


        def residuals(eigenvalues):
            rng = np.random.default_rng(7)
            Q, _ = np.linalg.qr(rng.standard_normal((40, 40)))
            A, b = (Q * eigenvalues) @ Q.T, rng.standard_normal(40)
            return [np.linalg.norm(A @ conjugate_gradient(A, b, tol=0.0, max_iter=k) - b)
                    / np.linalg.norm(b) for k in range(41)]


        def trust_region(step, max_iter=300):
            x, radius, values = np.array([-1.2, 1.0]), 1.0, [rosen(np.array([-1.2, 1.0]))]
            for _ in range(max_iter):
                g, B = rosen_grad(x), rosen_hess(x)
                if np.linalg.norm(g) <= 1e-8:
                    break
                p = step(g, B, radius)
                predicted = -(g @ p + 0.5 * p @ B @ p)
                rho = (rosen(x) - rosen(x + p)) / predicted if predicted > 0 else -1.0
                if rho < 0.25:
                    radius *= 0.25
                elif rho > 0.75 and np.linalg.norm(p) >= 0.99 * radius:
                    radius = min(2 * radius, 100.0)
                if rho > 1e-4:
                    x = x + p
                values.append(rosen(x))
            return values


        def dogleg_or_cauchy(g, B, radius):
            if np.linalg.eigvalsh(B).min() > 0:
                return dogleg_step(g, B, radius)
            return cauchy_point(g, B, radius)


        def nonlinear_cg(kind, max_iter=300):
            x = np.array([-1.2, 1.0])
            g = rosen_grad(x)
            p, values = -g, [rosen(x)]
            for _ in range(max_iter):
                if np.linalg.norm(g) <= 1e-8:
                    break
                if g @ p >= 0:
                    p = -g                      # not a descent direction: restart
                alpha = 1.0
                while rosen(x + alpha * p) > rosen(x) + 1e-4 * alpha * (g @ p) and alpha > 1e-14:
                    alpha *= 0.5
                x = x + alpha * p
                g_new = rosen_grad(x)
                p = -g_new + float(cg_beta(g_new, g, p, kind)) * p
                g = g_new
                values.append(rosen(x))
            return values


        runs = {
            "CG, spread eigenvalues": lambda: residuals(np.geomspace(1.0, 1000.0, 40)),
            "CG, three clusters": lambda: residuals(np.repeat([1.0, 30.0, 1000.0], [14, 13, 13])
                                                    * np.linspace(1.0, 1.001, 40)),
            "trust region, Cauchy point": lambda: trust_region(cauchy_point),
            "trust region, dogleg": lambda: trust_region(dogleg_or_cauchy),
            "trust region, CG-Steihaug": lambda: trust_region(
                lambda g, B, radius: steihaug_cg(g, lambda v: B @ v, radius)),
            "nonlinear CG, PR+": lambda: nonlinear_cg("pr+"),
            "nonlinear CG, FR": lambda: nonlinear_cg("fr"),
        }
        curves = {}
        for label, run in runs.items():
            try:
                curves[label] = np.array(run())
            except NotImplementedError:
                print(f"{label}: skipped, an exercise it needs is not solved yet")
            except Exception as exc:  # show the problem instead of stopping the notebook
                print(f"{label}: failed with {type(exc).__name__}: {exc}")

        if curves:
            import matplotlib.pyplot as plt

            fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
            for label, values in curves.items():
                ax = left if label.startswith("CG") else right
                ax.semilogy(np.maximum(values, 1e-20), label=label)
                if label.startswith("CG"):
                    below = np.flatnonzero(values <= 1e-10)
                    when = f"after {below[0]} steps" if below.size else "never in 40 steps"
                    print(f"{label:>28}: residual below 1e-10 {when}, {values[-1]:.1e} at 40")
                else:
                    print(f"{label:>28}: {len(values) - 1} steps, last value {values[-1]:.1e}")
            left.set(xlabel="CG steps k", ylabel=r"$\\|A x_k - b\\| / \\|b\\|$",
                     title="Linear CG, condition number 1000")
            right.set(xlabel="iteration", ylabel="$f(x_k)$", title="Rosenbrock from (-1.2, 1)")
            for ax in (left, right):
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(fontsize=8)
            plt.show()
        else:
            print("Solve the exercises above to see your CG and trust-region methods at work.")
        ''')
    return nb


_CG = "def conjugate_gradient(A, b, x0=None, tol=1e-10, max_iter=None):\n"
_CG_BODY = (
    "    mv = A if callable(A) else (lambda v: A @ v)\n"
    "    n = len(b)\n    max_iter = n if max_iter is None else max_iter\n"
    "    bn = np.linalg.norm(b)\n"
    "    x = np.zeros(n) if x0 is None else np.array(x0, dtype=float)\n"
    "    r = mv(x) - b\n    p = -r\n"
)
_STEIHAUG = "def steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None):\n"
_ROOT = (
    "    def roots(z, d):\n"
    "        a, b, c = d @ d, 2 * (z @ d), z @ z - radius**2\n"
    "        q = np.sqrt(b * b - 4 * a * c)\n"
    "        return (-b - q) / (2 * a), (-b + q) / (2 * a)\n"
    "    def root(z, d):\n"
    "        return roots(z, d)[1]\n"
)
_LOWER = (
    "        lo, hi = roots(z, d)\n"
    "        m = [t * (r @ d) + 0.5 * t * t * dBd for t in (lo, hi)]\n"
    "        return z + (hi if m[1] <= m[0] else lo) * d\n"
)


def _steihaug(neg: str = _LOWER,
              bound: str = "            return z + root(z, d) * d\n",
              test: str = "np.linalg.norm(r) <= tol * np.linalg.norm(g)",
              iters: str = "max_iter = len(g) if max_iter is None else max_iter\n") -> str:
    return (_STEIHAUG + _ROOT + "    " + iters +
            "    z, r, d = np.zeros_like(g), g.copy(), -g\n"
            "    if not np.any(g):\n        return z\n"
            "    for _ in range(max_iter):\n"
            "        Bd = hvp(d)\n        dBd = d @ Bd\n"
            "        if dBd <= 0:\n" + "".join("    " + line for line in neg.splitlines(True)) +
            "        a = (r @ r) / dBd\n"
            "        if np.linalg.norm(z + a * d) >= radius:\n" + bound +
            "        z = z + a * d\n        r_new = r + a * Bd\n"
            f"        if {test.replace('r)', 'r_new)')}:\n            return z\n"
            "        d = -r_new + (r_new @ r_new) / (r @ r) * d\n        r = r_new\n"
            "    return z")


WRONG = {
    "conjugate_gradient": {
        "absolute tolerance": _CG + _CG_BODY + (
            "    for _ in range(max_iter):\n"
            "        if np.linalg.norm(r) <= tol:\n            break\n"
            "        Ap = mv(p)\n        a = (r @ r) / (p @ Ap)\n"
            "        x = x + a * p\n        r_new = r + a * Ap\n"
            "        p = -r_new + (r_new @ r_new) / (r @ r) * p\n        r = r_new\n"
            "    return x"),
        "beta from the old residual only (steepest descent)": _CG + _CG_BODY + (
            "    for _ in range(max_iter):\n"
            "        if np.linalg.norm(r) <= tol * bn:\n            break\n"
            "        Ap = mv(p)\n        a = (r @ r) / (p @ Ap)\n"
            "        x = x + a * p\n        r = r + a * Ap\n        p = -r\n"
            "    return x"),
        "steps before testing (0/0 at the solution)": _CG + _CG_BODY + (
            "    for _ in range(max_iter):\n"
            "        Ap = mv(p)\n        a = (r @ r) / (p @ Ap)\n"
            "        x = x + a * p\n        r_new = r + a * Ap\n"
            "        if np.linalg.norm(r_new) <= tol * bn:\n            return x\n"
            "        p = -r_new + (r_new @ r_new) / (r @ r) * p\n        r = r_new\n"
            "    return x"),
        "ignores x0": _CG + _CG_BODY.replace(
            "np.zeros(n) if x0 is None else np.array(x0, dtype=float)", "np.zeros(n)") + (
            "    for _ in range(max_iter):\n"
            "        if np.linalg.norm(r) <= tol * bn:\n            break\n"
            "        Ap = mv(p)\n        a = (r @ r) / (p @ Ap)\n"
            "        x = x + a * p\n        r_new = r + a * Ap\n"
            "        p = -r_new + (r_new @ r_new) / (r @ r) * p\n        r = r_new\n"
            "    return x"),
        "wrong sign of the residual update": _CG + _CG_BODY + (
            "    for _ in range(max_iter):\n"
            "        if np.linalg.norm(r) <= tol * bn:\n            break\n"
            "        Ap = mv(p)\n        a = (r @ r) / (p @ Ap)\n"
            "        x = x + a * p\n        r_new = r - a * Ap\n"
            "        p = -r_new + (r_new @ r_new) / (r @ r) * p\n        r = r_new\n"
            "    return x"),
        "no default max_iter (runs to tol)": _CG + _CG_BODY.replace(
            "max_iter = n if max_iter is None else max_iter", "max_iter = max_iter or 10 * n") + (
            "    for _ in range(max_iter):\n"
            "        if np.linalg.norm(r) <= tol * bn:\n            break\n"
            "        Ap = mv(p)\n        a = (r @ r) / (p @ Ap)\n"
            "        x = x + a * p\n        r_new = r + a * Ap\n"
            "        p = -r_new + (r_new @ r_new) / (r @ r) * p\n        r = r_new\n"
            "    return x"),
        "calls the reference": _CG + (
            "    from taylornet.rules import conjugate_gradient as cg\n"
            "    return cg(A, b, x0, tol, max_iter)"),
    },
    "cg_beta": {
        "PR+ as the absolute value": (
            "def cg_beta(g_new, g_old, p_old, kind='pr+'):\n"
            "    y = g_new - g_old\n"
            "    beta = {'fr': (g_new @ g_new) / (g_old @ g_old),\n"
            "            'pr': (g_new @ y) / (g_old @ g_old),\n"
            "            'pr+': abs(g_new @ y) / (g_old @ g_old),\n"
            "            'hs': (g_new @ y) / (y @ p_old)}\n"
            "    if kind not in beta:\n        raise ValueError(kind)\n"
            "    return beta[kind]"),
        "default kind FR": (
            "def cg_beta(g_new, g_old, p_old, kind='fr'):\n"
            "    y = g_new - g_old\n"
            "    beta = {'fr': (g_new @ g_new) / (g_old @ g_old),\n"
            "            'pr': (g_new @ y) / (g_old @ g_old),\n"
            "            'pr+': max((g_new @ y) / (g_old @ g_old), 0.0),\n"
            "            'hs': (g_new @ y) / (y @ p_old)}\n"
            "    if kind not in beta:\n        raise ValueError(kind)\n"
            "    return beta[kind]"),
        "HS with g_old.p_old in the denominator": (
            "def cg_beta(g_new, g_old, p_old, kind='pr+'):\n"
            "    y = g_new - g_old\n"
            "    beta = {'fr': (g_new @ g_new) / (g_old @ g_old),\n"
            "            'pr': (g_new @ y) / (g_old @ g_old),\n"
            "            'pr+': max((g_new @ y) / (g_old @ g_old), 0.0),\n"
            "            'hs': (g_new @ y) / (g_old @ p_old)}\n"
            "    if kind not in beta:\n        raise ValueError(kind)\n"
            "    return beta[kind]"),
        "PR with g_old.g_new": (
            "def cg_beta(g_new, g_old, p_old, kind='pr+'):\n"
            "    y = g_new - g_old\n"
            "    pr = (g_old @ y) / (g_old @ g_old)\n"
            "    beta = {'fr': (g_new @ g_new) / (g_old @ g_old), 'pr': pr,\n"
            "            'pr+': max(pr, 0.0), 'hs': (g_new @ y) / (y @ p_old)}\n"
            "    if kind not in beta:\n        raise ValueError(kind)\n"
            "    return beta[kind]"),
        "unknown kinds fall back to FR": (
            "def cg_beta(g_new, g_old, p_old, kind='pr+'):\n"
            "    y = g_new - g_old\n"
            "    if kind == 'pr':\n        return (g_new @ y) / (g_old @ g_old)\n"
            "    if kind == 'pr+':\n        return max((g_new @ y) / (g_old @ g_old), 0.0)\n"
            "    if kind == 'hs':\n        return (g_new @ y) / (y @ p_old)\n"
            "    return (g_new @ g_new) / (g_old @ g_old)"),
        "case-insensitive kinds": (
            "def cg_beta(g_new, g_old, p_old, kind='pr+'):\n"
            "    y = g_new - g_old\n"
            "    beta = {'fr': (g_new @ g_new) / (g_old @ g_old),\n"
            "            'pr': (g_new @ y) / (g_old @ g_old),\n"
            "            'pr+': max((g_new @ y) / (g_old @ g_old), 0.0),\n"
            "            'hs': (g_new @ y) / (y @ p_old)}\n"
            "    if kind.lower() not in beta:\n        raise ValueError(kind)\n"
            "    return beta[kind.lower()]"),
        "calls the reference": (
            "def cg_beta(g_new, g_old, p_old, kind='pr+'):\n"
            "    from taylornet.rules import cg_beta as b\n"
            "    return b(g_new, g_old, p_old, kind)"),
    },
    "cauchy_point": {
        "no branch for g.Bg <= 0": (
            "def cauchy_point(g, B, radius):\n"
            "    n = np.linalg.norm(g)\n"
            "    if n == 0:\n        return np.zeros_like(g)\n"
            "    tau = min(n**3 / (radius * (g @ B @ g)), 1.0)\n"
            "    return -tau * radius / n * g"),
        "|g|**2 instead of |g|**3": (
            "def cauchy_point(g, B, radius):\n"
            "    n = np.linalg.norm(g)\n"
            "    if n == 0:\n        return np.zeros_like(g)\n"
            "    c = g @ B @ g\n"
            "    tau = 1.0 if c <= 0 else min(n**2 / (radius * c), 1.0)\n"
            "    return -tau * radius / n * g"),
        "always to the boundary": (
            "def cauchy_point(g, B, radius):\n"
            "    n = np.linalg.norm(g)\n"
            "    return np.zeros_like(g) if n == 0 else -radius / n * g"),
        "NaN for g = 0": (
            "def cauchy_point(g, B, radius):\n"
            "    n = np.linalg.norm(g)\n"
            "    c = g @ B @ g\n"
            "    tau = 1.0 if c <= 0 else min(n**3 / (radius * c), 1.0)\n"
            "    return -tau * radius / n * g"),
        "calls the reference": (
            "def cauchy_point(g, B, radius):\n"
            "    from taylornet.rules import cauchy_point as c\n    return c(g, B, radius)"),
    },
    "dogleg_step": {
        "the Newton step scaled to the boundary": (
            "def dogleg_step(g, B, radius):\n"
            "    np.linalg.cholesky(B)\n"
            "    pb = -np.linalg.solve(B, g)\n"
            "    n = np.linalg.norm(pb)\n"
            "    return pb if n <= radius else radius / n * pb"),
        "the negative root on the second leg": (
            "def dogleg_step(g, B, radius):\n"
            "    np.linalg.cholesky(B)\n"
            "    pb = -np.linalg.solve(B, g)\n"
            "    if np.linalg.norm(pb) <= radius:\n        return pb\n"
            "    pu = -(g @ g) / (g @ B @ g) * g\n"
            "    if np.linalg.norm(pu) >= radius:\n        return -radius / np.linalg.norm(g) * g\n"
            "    d = pb - pu\n    a, b, c = d @ d, 2 * (pu @ d), pu @ pu - radius**2\n"
            "    s = (-b - np.sqrt(b * b - 4 * a * c)) / (2 * a)\n"
            "    return pu + s * d"),
        "p_U returned unscaled": (
            "def dogleg_step(g, B, radius):\n"
            "    np.linalg.cholesky(B)\n"
            "    pb = -np.linalg.solve(B, g)\n"
            "    if np.linalg.norm(pb) <= radius:\n        return pb\n"
            "    pu = -(g @ g) / (g @ B @ g) * g\n"
            "    if np.linalg.norm(pu) >= radius:\n        return pu\n"
            "    d = pb - pu\n    a, b, c = d @ d, 2 * (pu @ d), pu @ pu - radius**2\n"
            "    s = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)\n"
            "    return pu + s * d"),
        "the second leg toward p_B from 0": (
            "def dogleg_step(g, B, radius):\n"
            "    np.linalg.cholesky(B)\n"
            "    pb = -np.linalg.solve(B, g)\n"
            "    if np.linalg.norm(pb) <= radius:\n        return pb\n"
            "    pu = -(g @ g) / (g @ B @ g) * g\n"
            "    if np.linalg.norm(pu) >= radius:\n        return -radius / np.linalg.norm(g) * g\n"
            "    t = (radius - np.linalg.norm(pu)) / (np.linalg.norm(pb) - np.linalg.norm(pu))\n"
            "    return pu + t * (pb - pu)"),
        "no check of positive definiteness": (
            "def dogleg_step(g, B, radius):\n"
            "    pb = -np.linalg.solve(B, g)\n"
            "    if np.linalg.norm(pb) <= radius:\n        return pb\n"
            "    pu = -(g @ g) / (g @ B @ g) * g\n"
            "    if np.linalg.norm(pu) >= radius:\n        return -radius / np.linalg.norm(g) * g\n"
            "    d = pb - pu\n    a, b, c = d @ d, 2 * (pu @ d), pu @ pu - radius**2\n"
            "    s = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)\n"
            "    return pu + s * d"),
        "calls the reference": (
            "def dogleg_step(g, B, radius):\n"
            "    from taylornet.rules import dogleg_step as d\n    return d(g, B, radius)"),
    },
    "steihaug_cg": {
        "always the positive root at negative curvature": _steihaug(
            neg="        return z + root(z, d) * d\n"),
        "no test for negative curvature": _steihaug(
            neg="        pass\n"),
        "stops inside at negative curvature, as Newton-CG does": _steihaug(
            neg="        return z if np.any(z) else -radius * g / np.linalg.norm(g)\n"),
        "steepest descent to the boundary at negative curvature": _steihaug(
            neg="        return -radius * g / np.linalg.norm(g)\n"),
        "the full step past the boundary": _steihaug(
            bound="            return z + a * d\n"),
        "the boundary along -g instead of d": _steihaug(
            bound="            return -radius * g / np.linalg.norm(g)\n"),
        "absolute tolerance": _steihaug(test="np.linalg.norm(r) <= tol"),
        "no default max_iter": _steihaug(
            iters="max_iter = 10 * len(g) if max_iter is None else max_iter\n"),
        "calls the reference": _STEIHAUG + (
            "    import taylornet.rules as tr\n"
            "    return tr.steihaug_cg(g, hvp, radius, tol, max_iter)"),
    },
}

#: The entries of ``WRONG`` that the visible tests let through on purpose, with the reason
#: (``tests/test_grading_visible.py``): none, every catalogued slip fails a visible test.
VISIBLE_MISSES: dict[str, dict[str, str]] = {}

#: Other correct implementations; the hidden tests must accept them.
RIGHT = {
    "conjugate_gradient": {
        "the residual b - A x and a while loop": _CG + (
            "    mv = A if callable(A) else (lambda v: A @ v)\n"
            "    n = b.size\n    m = n if max_iter is None else max_iter\n"
            "    x = np.zeros(n) if x0 is None else x0.astype(float)\n"
            "    r = b - mv(x) if x0 is not None else b.copy()\n"
            "    p, k = r.copy(), 0\n"
            "    while k < m and np.linalg.norm(r) > tol * np.linalg.norm(b):\n"
            "        Ap = mv(p)\n        alpha = np.dot(r, r) / np.dot(p, Ap)\n"
            "        x = x + alpha * p\n        r_new = r - alpha * Ap\n"
            "        p = r_new + np.dot(r_new, r_new) / np.dot(r, r) * p\n"
            "        r, k = r_new, k + 1\n"
            "    return x"),
    },
    "cg_beta": {
        "one formula per branch, np.dot": (
            "def cg_beta(g_new, g_old, p_old, kind='pr+'):\n"
            "    if kind not in ('fr', 'pr', 'pr+', 'hs'):\n        raise ValueError(kind)\n"
            "    y = g_new - g_old\n"
            "    if kind == 'fr':\n        return np.dot(g_new, g_new) / np.dot(g_old, g_old)\n"
            "    if kind == 'hs':\n        return np.dot(g_new, y) / np.dot(y, p_old)\n"
            "    beta = np.dot(g_new, y) / np.dot(g_old, g_old)\n"
            "    return beta if kind == 'pr' else np.maximum(beta, 0.0)"),
    },
    "cauchy_point": {
        "np.linalg.norm and one expression": (
            "def cauchy_point(g, B, radius):\n"
            "    n = np.linalg.norm(g)\n"
            "    if n == 0:\n        return np.zeros_like(g)\n"
            "    gBg = np.dot(g, B.dot(g))\n"
            "    tau = 1.0 if gBg <= 0 else min(1.0, n**3 / (radius * gBg))\n"
            "    return -tau * radius * g / n"),
    },
    "dogleg_step": {
        "eigenvalue check and the norm equation in s": (
            "def dogleg_step(g, B, radius):\n"
            "    if np.linalg.eigvalsh(B).min() <= 0:\n        raise ValueError('B not PD')\n"
            "    pb = np.linalg.solve(B, -g)\n"
            "    if np.linalg.norm(pb) <= radius:\n        return pb\n"
            "    pu = -np.dot(g, g) / np.dot(g, B @ g) * g\n"
            "    if np.linalg.norm(pu) >= radius:\n        return -radius * g / np.linalg.norm(g)\n"
            "    d = pb - pu\n"
            "    s = np.roots([d @ d, 2 * pu @ d, pu @ pu - radius**2]).max()\n"
            "    return pu + s * d"),
    },
    "steihaug_cg": {
        "the textbook's variable names": _steihaug(),
    },
}


if __name__ == "__main__":
    sys.exit(main(build, OUTPUT, description=__doc__.splitlines()[0]))
