"""Write ``exercises/source/ps04_newton_linesearch/ps04_newton_linesearch.ipynb``.

Problem set 4: Newton directions, line searches and the least-squares directions
of ``taylornet.rules`` (CONTRACT.md, chapter 5 of the book). Run from anywhere::

    python exercises/tools/build_ps04.py           # (re)write the notebook
    python exercises/tools/build_ps04.py --check   # exit 1 if it is out of date

``WRONG`` lists, per exercise, implementations that the hidden tests must
reject (the first is also autograded in ``tests/test_grading_roundtrip.py``);
``RIGHT`` lists other correct implementations that they must accept.
"""

from __future__ import annotations

import sys
from pathlib import Path

from notebook_builder import NotebookBuilder, main, points_label, points_table

ASSIGNMENT = "ps04_newton_linesearch"
OUTPUT = Path(__file__).resolve().parents[1] / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

#: Points per exercise, in proportion to difficulty.
POINTS = {
    "newton_direction": 1,
    "damped_newton_direction": 1,
    "armijo_backtracking": 3,
    "wolfe_conditions": 2,
    "gauss_newton_direction": 2,
    "levenberg_marquardt_direction": 2,
}


def build() -> NotebookBuilder:
    nb = NotebookBuilder()

    nb.markdown("title", r"""
        # Problem set 4: Newton directions and line searches

        Newton's method minimises the quadratic model $g^\top p + \tfrac12 p^\top H p$;
        a line search then decides how far to move along the direction found; for
        least squares, Gauss-Newton and Levenberg-Marquardt replace the Hessian by
        $J^\top J$. You will implement these rules of chapter 5 (*Newton's method,
        line searches and trust regions*), each with exactly the name and the
        signature given (the `taylornet` package uses the same ones).

        **Rules of the game**

        * Vectors are 1-D NumPy arrays, matrices 2-D; `f` and `grad` are functions of
          a vector. Return new arrays; never modify an argument.
        * Solve linear systems with `np.linalg.solve` or `np.linalg.lstsq`; never form
          an inverse. Use NumPy only. Each function is graded against the reference in
          `taylornet.rules`; a solution that calls (or copies) that reference scores
          nothing for the exercise.
        * Some rules must **raise** an exception: `ValueError`, NumPy's
          `np.linalg.LinAlgError`, or `LineSearchError`, which the set-up cell imports
          from `taylornet.errors`. The statements say when.
        * The test cell under each exercise checks small examples worked by hand,
          chosen so that the usual slips fail with a hint: singular and indefinite
          matrices, dependent columns, a `NaN` value, the `max_iter` boundary, strong
          against weak Wolfe. It also checks that your inputs are left untouched and
          that the reference is not called. Hidden tests check more cases when the
          notebook is graded: larger random problems, extreme damping, steps that
          need many reductions, and more step lengths and parameters.
        * Before you submit, run *Kernel → Restart & Run All* and validate.

        {points_table}
        """, points_table=points_table(POINTS))

    nb.code("setup", """
        # Run this cell first: it loads NumPy and the grading helpers before any of your code.
        import numpy as np

        from taylornet.errors import LineSearchError
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

    # ------------------------------------------------------------ 1. Newton
    nb.exercise(
        "newton_direction",
        points=POINTS["newton_direction"],
        statement=rf"""
        ## 1. The Newton direction ({points_label(POINTS["newton_direction"])})

        *Chapter 5, Newton's method; N&W (2.15).* The minimiser of the quadratic
        model $m(p) = f + g^\top p + \tfrac12 p^\top H p$ solves

        $$H\, p = -g .$$

        Write `newton_direction(g, H)` returning $p$ by a linear solve
        (`np.linalg.solve`), never by an explicit inverse. When $H$ is singular,
        `np.linalg.solve` raises `np.linalg.LinAlgError`: let it. When $H$ is
        indefinite $p$ is still the model's stationary point, but it need not be a
        descent direction (the next exercise and the trust regions of problem set 6
        deal with that).
        """,
        solution='''
        def newton_direction(g, H):
            """The Newton direction p solving H p = -g."""
            ### BEGIN SOLUTION
            return np.linalg.solve(H, -g)
            ### END SOLUTION
        ''',
        tests='''
        # Visible test, worked by hand: H = [[2, 1], [1, 3]], g = (1, -2): H p = -g = (-1, 2) is
        # solved by p = (-1, 1) (check: 2 (-1) + 1 = -1 and -1 + 3 (1) = 2).
        g, H = np.array([1.0, -2.0]), np.array([[2.0, 1.0], [1.0, 3.0]])
        H_singular = np.array([[1.0, 2.0], [2.0, 4.0]])       # row 2 = 2 * row 1
        with inputs_unchanged(g=g, H=H):
            p = newton_direction(g, H)
        expect_close("newton_direction", p, [-1.0, 1.0],
                     hint="solve H p = -g (the whole matrix H, and the minus sign)")
        with inputs_unchanged(g=g, H=H_singular):
            with expect_raises(np.linalg.LinAlgError, "singular H",
                               hint="np.linalg.solve raises LinAlgError for a singular H; "
                                    "least squares or a pseudo-inverse would hide it"):
                newton_direction(g, H_singular)

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import (  # noqa: E402
            case,
            check_against_reference,
            check_raises,
            run_student,
        )

        rng = np.random.default_rng(404)
        n = 5
        M = rng.standard_normal((n, n))
        H_pd = M @ M.T + n * np.eye(n)
        Q, _ = np.linalg.qr(M)
        H_ind = (Q * np.array([3.0, -2.0, 1.0, 0.5, -4.0])) @ Q.T
        g = rng.standard_normal(n)
        solve = "p solves H p = -g: np.linalg.solve(H, -g)"
        check_against_reference(newton_direction, "newton_direction", [
            case("positive definite H", (g, H_pd), hint=solve),
            case("indefinite H: still the model's stationary point", (g, H_ind), hint=solve),
            case("badly scaled H = diag(1e-3, 1, 1e3)", (np.ones(3), np.diag([1e-3, 1.0, 1e3])),
                 hint=solve),
            case("g = 0", (np.zeros(n), H_pd)),
            case("1 x 1", (np.array([2.0]), np.array([[4.0]])), hint=solve),
        ], outputs=("p",))
        check_raises(newton_direction, "newton_direction", [
            case("a singular H", (g[:3], np.diag([1.0, 0.0, 2.0])),
                 hint="a linear solve raises np.linalg.LinAlgError for a singular H; "
                      "least squares or a pseudo-inverse would hide it"),
        ], np.linalg.LinAlgError)
        p = run_student(newton_direction, "newton_direction", (g, H_pd), label="descent")
        assert g @ p < 0, "with a positive definite H the Newton direction is a descent direction"
        ### END HIDDEN TESTS
        ''',
    )

    # ------------------------------------------------------ 2. damped Newton
    nb.exercise(
        "damped_newton_direction",
        points=POINTS["damped_newton_direction"],
        statement=rf"""
        ## 2. The damped Newton direction ({points_label(POINTS["damped_newton_direction"])})

        *Chapter 5, Newton's method with Hessian modification; N&W section 3.4.*
        Adding a multiple $\tau \ge 0$ of the identity shifts every eigenvalue by
        $\tau$:

        $$(H + \tau I)\, p = -g .$$

        Write `damped_newton_direction(g, H, damping)` returning this $p$ (again by a
        linear solve). For $\tau > -\lambda_{{\min}}(H)$ the matrix is positive definite
        and $p$ is a descent direction; $\tau = 0$ is Newton's direction, and for large
        $\tau$, $p \approx -g/\tau$, a short gradient step. Raise `ValueError` when
        `damping` is negative. Do not modify `H` (adding to its diagonal in place
        would).
        """,
        solution='''
        def damped_newton_direction(g, H, damping):
            """The direction p solving (H + damping * I) p = -g, for damping >= 0."""
            ### BEGIN SOLUTION
            if damping < 0:
                raise ValueError(f"damping must be >= 0, got {damping}")
            shifted = H + damping * np.eye(H.shape[0])
            return np.linalg.solve(shifted, -g)
            ### END SOLUTION
        ''',
        tests='''
        # Visible test, worked by hand: H = [[-1, 2], [2, 1]] is indefinite (eigenvalues +-2.24);
        # with damping 3, H + 3 I = [[2, 2], [2, 4]] and (H + 3 I) p = -g = (-1, 0) for
        # g = (1, 0) is solved by p = (-1, 1/2).
        g, H = np.array([1.0, 0.0]), np.array([[-1.0, 2.0], [2.0, 1.0]])
        with inputs_unchanged(g=g, H=H):
            p = damped_newton_direction(g, H, 3.0)
        expect_close("damped_newton_direction(damping=3)", p, [-1.0, 0.5],
                     hint="solve (H + damping * I) p = -g: damping on the diagonal only")
        with inputs_unchanged(g=g, H=H):
            with expect_raises(ValueError, "damping -0.5",
                               hint="raise ValueError when damping < 0"):
                damped_newton_direction(g, H, -0.5)

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import (  # noqa: E402
            case,
            check_against_reference,
            check_raises,
            run_student,
        )

        rng = np.random.default_rng(414)
        n = 5
        M = rng.standard_normal((n, n))
        Q, _ = np.linalg.qr(M)
        H_ind = (Q * np.array([3.0, -2.0, 1.0, 0.5, -4.0])) @ Q.T
        H_pd = M @ M.T + np.eye(n)
        g = rng.standard_normal(n)
        shift = "solve (H + damping * I) p = -g: damping on the diagonal only"
        check_against_reference(damped_newton_direction, "damped_newton_direction", [
            case("positive definite H, damping 0.5", (g, H_pd, 0.5), hint=shift),
            case("indefinite H, damping 5 > 4 = -lambda_min", (g, H_ind, 5.0), hint=shift),
            case("damping 0 is Newton", (g, H_pd, 0.0), hint=shift),
            case("huge damping: p ~ -g / damping", (g, H_ind, 1e8), hint=shift),
            case("an integer damping", (g, H_ind, 7), hint=shift),
            case("1 x 1", (np.array([3.0]), np.array([[-1.0]]), 2.0), hint=shift),
        ], outputs=("p",))
        check_raises(damped_newton_direction, "damped_newton_direction", [
            case("damping = -1", (g, H_pd, -1.0), hint="raise ValueError for negative damping"),
        ], ValueError)
        p = run_student(damped_newton_direction, "damped_newton_direction", (g, H_ind, 5.0),
                        label="descent")
        assert g @ p < 0, "damping above -lambda_min(H) must give a descent direction"
        ### END HIDDEN TESTS
        ''',
    )

    # ------------------------------------------------------------- 3. Armijo
    nb.exercise(
        "armijo_backtracking",
        points=POINTS["armijo_backtracking"],
        statement=rf"""
        ## 3. Backtracking line search ({points_label(POINTS["armijo_backtracking"])})

        *Chapter 5, line searches; N&W Algorithm 3.1 and (3.4).* Along a descent
        direction $p$ ($g^\top p < 0$), try $\alpha = \alpha_0, \alpha_0\rho,
        \alpha_0\rho^2, \dots$ and return the first that gives sufficient decrease:

        $$f(x + \alpha p) \le f(x) + c_1\, \alpha\, g^\top p .$$

        Write `armijo_backtracking(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5,
        max_iter=50)` returning that $\alpha = \alpha_0 \rho^k$ (a float).

        * `fx` is $f(x)$, already known: evaluate `f` exactly once per trial step and
          never at `x` itself.
        * Try $k = 0, 1, \dots,$ `max_iter`, that is `max_iter + 1` trial steps; if
          none is accepted, raise `LineSearchError` (imported in the set-up cell).
        * A trial value that is `NaN` (or infinite) fails the test: keep reducing.
        * Raise `ValueError` when $g^\top p \ge 0$ (not a descent direction).
        """,
        solution='''
        def armijo_backtracking(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
            """The first alpha0 * rho**k with sufficient decrease (N&W Algorithm 3.1)."""
            ### BEGIN SOLUTION
            slope = float(g @ p)
            if slope >= 0:
                raise ValueError(f"p is not a descent direction: g.p = {slope} >= 0")
            alpha = alpha0
            for k in range(max_iter + 1):
                alpha = alpha0 * rho**k
                value = f(x + alpha * p)
                if value <= fx + c1 * alpha * slope:  # False for NaN
                    return float(alpha)
            raise LineSearchError(f"no sufficient decrease after {max_iter} reductions")
            ### END SOLUTION
        ''',
        tests='''
        # Visible test, worked by hand: f(z) = z.z, undefined (NaN) where z[0] < -0.9, from
        # x = (1, 1), fx = 2, along p = -g = (-2, -2): g.p = -8. alpha = 1 lands on (-1, -1),
        # where f is NaN: reject; alpha = 0.5 lands on (0, 0), f = 0 <= 2 - 1e-4 * 0.5 * 8: accept.
        calls = []


        def f(z):
            calls.append(z)
            return z @ z if z[0] >= -0.9 else np.nan


        x, g = np.array([1.0, 1.0]), np.array([2.0, 2.0])
        with inputs_unchanged(x=x, g=g):
            alpha = armijo_backtracking(f, x, 2.0, g, -g)
            n_calls = len(calls)
            alpha_1 = armijo_backtracking(f, x, 2.0, g, -g, max_iter=1)    # k = 0 and k = 1
            # alpha0 = 0.75: f(-0.5, -0.5) = 0.5 <= 2 - 0.2 * 0.75 * 8 = 0.8, accepted at once
            alpha_c1 = armijo_backtracking(f, x, 2.0, g, -g, alpha0=0.75, c1=0.2)
        expect_close("armijo_backtracking along -g", alpha, 0.5,
                     hint="a NaN value fails the test (NaN <= a is False): keep reducing")
        expect_equal("calls of f", n_calls, 2,
                     hint="fx is given: never evaluate f(x); one call of f per trial step")
        expect_close("max_iter = 1", alpha_1, 0.5,
                     hint="try k = 0, 1, ..., max_iter: max_iter + 1 trial steps")
        expect_close("alpha0 = 0.75, c1 = 0.2", alpha_c1, 0.75,
                     hint="accept when f(x + alpha p) <= fx + c1 * alpha * g.p")
        for label, p in [("p = +g", g), ("g.p = 0", np.array([1.0, -1.0]))]:
            with inputs_unchanged(x=x, g=g):
                with expect_raises(ValueError, label, hint="raise ValueError when g.p >= 0"):
                    armijo_backtracking(f, x, 2.0, g, p)
        with inputs_unchanged(x=x, g=g):
            with expect_raises(LineSearchError, "1 try",      # max_iter = 0: alpha = 1 only
                               hint="max_iter = 0 allows one trial step, alpha = 1, where f is "
                                    "NaN; when no step is accepted raise LineSearchError"):
                armijo_backtracking(f, x, 2.0, g, -g, max_iter=0)

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import (  # noqa: E402
            case,
            check_against_reference,
            check_raises,
            reference,
            run_student,
        )


        def rosen(z):
            return (1 - z[0]) ** 2 + 100 * (z[1] - z[0] ** 2) ** 2


        def rosen_grad(z):
            return np.array([-2 * (1 - z[0]) - 400 * z[0] * (z[1] - z[0] ** 2),
                             200 * (z[1] - z[0] ** 2)])


        def rosen_nan(z):  # undefined far away: a NaN must fail the test
            return rosen(z) if z @ z < 9.0 else np.nan


        def quadratic(z):
            return 0.5 * (z @ z)


        x = np.array([-1.2, 1.0])
        g = rosen_grad(x)
        alpha = reference("armijo_backtracking")(rosen, x, rosen(x), g, -g)
        k = round(np.log(alpha) / np.log(0.5))   # reductions needed along -g
        xq = np.array([1.0, -2.0, 0.5])
        first = "return the FIRST alpha0 * rho**k, k = 0, 1, ..., with sufficient decrease"
        check_against_reference(armijo_backtracking, "armijo_backtracking", [
            case("a quadratic along the Newton direction: alpha0 at once",
                 (quadratic, xq, quadratic(xq), xq, -xq), hint=first),
            case(f"Rosenbrock along -g: {k} reductions", (rosen, x, rosen(x), g, -g), hint=first),
            case("alpha0 = 2, rho = 0.3, c1 = 0.4 by keyword", (rosen, x, rosen(x), g, -g),
                 {"alpha0": 2.0, "rho": 0.3, "c1": 0.4},
                 hint="use the alpha0, rho and c1 arguments"),
            case("a short direction accepted at k = 0", (rosen, x, rosen(x), g, -1e-4 * g),
                 hint=first),
            case(f"success at exactly k = max_iter = {k}", (rosen, x, rosen(x), g, -g),
                 {"max_iter": k}, hint="try k = 0, 1, ..., max_iter: max_iter + 1 steps"),
            case("f is NaN for long steps", (rosen_nan, x, rosen(x), g, -g),
                 hint="a NaN value fails the test (NaN <= a is False): keep reducing"),
        ], outputs=("alpha",))

        line_search = ("after max_iter reductions (max_iter + 1 trial steps) raise "
                       "LineSearchError, imported from taylornet.errors")
        check_raises(armijo_backtracking, "armijo_backtracking", [
            case("an ascent direction", (rosen, x, rosen(x), g, g),
                 hint="raise ValueError when g.p >= 0"),
            case("g.p = 0", (quadratic, np.array([1.0, 0.0]), 0.5, np.array([1.0, 0.0]),
                             np.array([0.0, 1.0])),
                 hint="g.p = 0 is not a descent direction either: ValueError"),
        ], ValueError)
        check_raises(armijo_backtracking, "armijo_backtracking", [
            case(f"max_iter = {k - 1}, one reduction short", (rosen, x, rosen(x), g, -g),
                 {"max_iter": k - 1}, hint=line_search),
            case("f never decreases", (lambda z: 10.0, x, 0.0, g, -g, 1.0, 1e-4, 0.5, 5),
                 hint=line_search),
        ], LineSearchError)

        calls = []


        def counted(z):
            calls.append(z.copy())
            return rosen(z)


        got = run_student(armijo_backtracking, "armijo_backtracking", (counted, x, rosen(x), g, -g),
                          label="counting evaluations of f")
        assert len(calls) == k + 1, (
            f"armijo_backtracking evaluated f {len(calls)} times to accept alpha = {got}; "
            f"it needs {k + 1}: one per trial step, and fx is given (do not evaluate f(x))")
        ### END HIDDEN TESTS
        ''',
    )

    # -------------------------------------------------------------- 4. Wolfe
    nb.exercise(
        "wolfe_conditions",
        points=POINTS["wolfe_conditions"],
        statement=rf"""
        ## 4. The strong Wolfe conditions ({points_label(POINTS["wolfe_conditions"])})

        *Chapter 5, line searches; N&W (3.7).* With $\phi(\alpha) = f(x + \alpha p)$
        and $0 < c_1 < c_2 < 1$, a step length $\alpha$ satisfies the strong Wolfe
        conditions when

        $$f(x + \alpha p) \le f(x) + c_1 \alpha\, \nabla f(x)^\top p
          \quad \text{{(3.7a)}}, \qquad
          |\nabla f(x + \alpha p)^\top p| \le c_2\, |\nabla f(x)^\top p|
          \quad \text{{(3.7b)}}.$$

        Write `wolfe_conditions(f, grad, x, p, alpha, c1=1e-4, c2=0.9)` returning
        `(sufficient_decrease, curvature)`, two Python bools. Note the absolute
        values in (3.7b): the *strong* curvature condition also rejects steps that
        overshoot to a steep upward slope, which the weak form
        $\nabla f(x + \alpha p)^\top p \ge c_2 \nabla f(x)^\top p$ accepts.
        """,
        solution='''
        def wolfe_conditions(f, grad, x, p, alpha, c1=1e-4, c2=0.9):
            """(sufficient_decrease, curvature): the strong Wolfe conditions N&W (3.7)."""
            ### BEGIN SOLUTION
            x_new = x + alpha * p
            slope0 = grad(x) @ p
            slope = grad(x_new) @ p
            sufficient_decrease = bool(f(x_new) <= f(x) + c1 * alpha * slope0)
            curvature = bool(abs(slope) <= c2 * abs(slope0))
            return sufficient_decrease, curvature
            ### END SOLUTION
        ''',
        tests='''
        # Visible test, worked by hand: f(z) = z.z / 2, grad f(z) = z, from x = (2, 4) along
        # p = (-1, 0): f(x) = 10, grad(x).p = -2, f(x + alpha p) = 10 - 2 alpha + alpha**2 / 2
        # and the slope grad(x + alpha p).p = alpha - 2. Curvature (c2 = 0.9): |alpha - 2| <= 1.8.
        def f(z):
            return 0.5 * (z @ z)


        def grad(z):
            return z


        x, p = np.array([2.0, 4.0]), np.array([-1.0, 0.0])
        for alpha, c1, want in [(1.0, 1e-4, (True, True)),     # 8.5 <= 9.9998;  |-1| <= 1.8
                                (0.1, 1e-4, (True, False)),    # 9.805 <= 9.99998; |-1.9| > 1.8
                                (3.9, 1e-4, (True, False)),    # 9.805 <= 9.99922; |1.9| > 1.8
                                (3.0, 0.5, (False, True))]:    # 8.5 > 10 - 0.5 * 3 * 2 = 7
            with inputs_unchanged(x=x, p=p):
                result = wolfe_conditions(f, grad, x, p, alpha, c1=c1)
            decrease, curvature = expect_tuple(result, 2, "wolfe_conditions")
            expect_equal(f"alpha = {alpha}, c1 = {c1}: sufficient decrease", decrease, want[0],
                         hint="f(x + alpha p) <= f(x) + c1 alpha grad(x).p, as a Python bool")
            expect_equal(f"alpha = {alpha}: curvature", curvature, want[1],
                         hint="strong Wolfe: |grad(x + alpha p).p| <= c2 |grad(x).p|, slopes "
                              "along p with absolute values, as a Python bool")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import case, check_against_reference  # noqa: E402

        rng = np.random.default_rng(424)
        n = 4
        M = rng.standard_normal((n, n))
        A = M @ M.T + np.eye(n)


        def quad(z):
            return 0.5 * (z @ A @ z)


        def quad_grad(z):
            return A @ z


        def rosen(z):
            return (1 - z[0]) ** 2 + 100 * (z[1] - z[0] ** 2) ** 2


        def rosen_grad(z):
            return np.array([-2 * (1 - z[0]) - 400 * z[0] * (z[1] - z[0] ** 2),
                             200 * (z[1] - z[0] ** 2)])


        x = rng.standard_normal(n)
        p = -quad_grad(x)
        best = -(quad_grad(x) @ p) / (p @ A @ p)    # the exact minimiser along p
        xr = np.array([-1.2, 1.0])
        pr = -rosen_grad(xr)
        strong = "strong Wolfe: |grad(x + alpha p).p| <= c2 |grad(x).p|, with absolute values"
        check_against_reference(wolfe_conditions, "wolfe_conditions", [
            case("the exact minimiser along p", (quad, quad_grad, x, p, best)),
            case("a tiny step", (quad, quad_grad, x, p, 0.05 * best),
                 hint="curvature: compare the slopes grad(x + alpha p).p and grad(x).p"),
            case("a step far too long", (quad, quad_grad, x, p, 2.5 * best),
                 hint="f rises above f(x) + c1 alpha grad(x).p, and the slope overshoots: "
                      "|grad(x + alpha p).p| > c2 |grad(x).p|"),
            case("overshoot to a steep upward slope", (quad, quad_grad, x, p, 1.95 * best),
                 hint=strong),
            case("c2 = 0.1 (nonlinear CG), a near-exact step", (quad, quad_grad, x, p, 1.05 * best),
                 {"c2": 0.1}, hint="use the c2 argument"),
            case("c2 = 0.1, a step too short for it", (quad, quad_grad, x, p, 0.7 * best),
                 {"c2": 0.1}, hint="use the c2 argument"),
            case("c1 = 0.6 rejects the exact minimiser", (quad, quad_grad, x, p, best),
                 {"c1": 0.6}, hint="use the c1 argument"),
            case("Rosenbrock along -g, alpha = 1e-3", (rosen, rosen_grad, xr, pr, 1e-3)),
            case("Rosenbrock along -g, alpha = 1e-4", (rosen, rosen_grad, xr, pr, 1e-4)),
        ], outputs=("sufficient_decrease", "curvature"))
        ### END HIDDEN TESTS
        ''',
    )

    # ------------------------------------------------------- 5. Gauss-Newton
    nb.exercise(
        "gauss_newton_direction",
        points=POINTS["gauss_newton_direction"],
        statement=rf"""
        ## 5. The Gauss-Newton direction ({points_label(POINTS["gauss_newton_direction"])})

        *Chapter 5, least squares; N&W section 10.3.* For $f(x) = \tfrac12 \|r(x)\|^2$
        with Jacobian $J$, the gradient is $J^\top r$ and Gauss-Newton replaces the
        Hessian by $J^\top J$: the direction minimises the linearised residual,

        $$p = \arg\min_p \|J p + r\|_2, \qquad\text{{i.e.}}\qquad J^\top J\, p = -J^\top r .$$

        Write `gauss_newton_direction(J, r)` for an $m \times n$ `J` and a length-$m$
        `r`. Solve it as a least-squares problem (`np.linalg.lstsq`), which avoids
        forming $J^\top J$ and squaring the condition number. When the columns of
        $J$ are dependent the minimiser is not unique: return the one of **least
        norm** (which `np.linalg.lstsq` gives).
        """,
        solution='''
        def gauss_newton_direction(J, r):
            """The least-norm minimiser p of ||J p + r||."""
            ### BEGIN SOLUTION
            p, *_ = np.linalg.lstsq(J, -r, rcond=None)
            return p
            ### END SOLUTION
        ''',
        tests='''
        # Visible test, worked by hand: J^T J = [[2, 1], [1, 2]], J^T r = (1, 2), so p = (0, -1).
        J = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        r = np.array([1.0, 2.0, 0.0])
        # Dependent columns: J_dep p = (b.p) (1, 1, 1) with b = (1, 2), so ||J_dep p + r|| is
        # least for b.p = -mean(r) = -3, and the least-norm such p is -3 b / (b.b) = (-0.6, -1.2).
        J_dep, r_dep = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]]), np.array([1.0, 3.0, 5.0])
        with inputs_unchanged(J=J, r=r, J_dep=J_dep, r_dep=r_dep):
            p = gauss_newton_direction(J, r)
            p_dep = gauss_newton_direction(J_dep, r_dep)
        expect_close("gauss_newton_direction", p, [0.0, -1.0], atol=1e-12,
                     hint="p minimises ||J p + r||: np.linalg.lstsq(J, -r)")
        expect_close("dependent columns: the least-norm p", p_dep, [-0.6, -1.2],
                     hint="J^T J is singular here: solve the least-squares problem in J itself "
                          "(np.linalg.lstsq), which returns the least-norm minimiser")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import case, check_against_reference  # noqa: E402

        rng = np.random.default_rng(444)
        J = rng.standard_normal((8, 3))
        r = rng.standard_normal(8)
        J_dep = J.copy()
        J_dep[:, 2] = J[:, 0] - 2.0 * J[:, 1]       # rank 2
        w = np.array([0.5, -1.0, 2.0])
        least = "p = argmin ||J p + r||: np.linalg.lstsq(J, -r)"
        check_against_reference(gauss_newton_direction, "gauss_newton_direction", [
            case("a tall Jacobian of full rank", (J, r), hint=least),
            case("a square Jacobian: p = -J^{-1} r", (J[:3] + 3 * np.eye(3), r[:3]), hint=least),
            case("dependent columns: the least-norm solution", (J_dep, r),
                 hint="the normal equations are singular; lstsq returns the least-norm p"),
            case("r in the range of J: J p = -r exactly", (J, J @ w), hint=least),
            case("r = 0", (J, np.zeros(8))),
            case("one column", (J[:, :1], r), hint=least),
        ], outputs=("p",))
        ### END HIDDEN TESTS
        ''',
    )

    # ------------------------------------------------- 6. Levenberg-Marquardt
    lm_points = points_label(POINTS["levenberg_marquardt_direction"])
    nb.exercise(
        "levenberg_marquardt_direction",
        points=POINTS["levenberg_marquardt_direction"],
        statement=rf"""
        ## 6. The Levenberg-Marquardt direction ({lm_points})

        *Chapter 5, least squares and trust regions; N&W section 10.3.* Damping the
        Gauss-Newton matrix by $\lambda \ge 0$ gives

        $$(J^\top J + \lambda I)\, p = -J^\top r .$$

        Write `levenberg_marquardt_direction(J, r, lam)` returning this $p$. The
        matrix is $J^\top J$ plus $\lambda$ on the **diagonal** (not Marquardt's
        scaled variant $\lambda\,\mathrm{{diag}}(J^\top J)$), positive definite for
        every $\lambda > 0$, even when $J$ has dependent columns. $\lambda = 0$ is
        Gauss-Newton (for $J$ of full column rank); for large $\lambda$,
        $p \approx -J^\top r / \lambda$. Raise `ValueError` when `lam` is negative.
        """,
        solution='''
        def levenberg_marquardt_direction(J, r, lam):
            """The direction p solving (J^T J + lam * I) p = -J^T r, for lam >= 0."""
            ### BEGIN SOLUTION
            if lam < 0:
                raise ValueError(f"lam must be >= 0, got {lam}")
            n = J.shape[1]
            return np.linalg.solve(J.T @ J + lam * np.eye(n), -(J.T @ r))
            ### END SOLUTION
        ''',
        tests='''
        # Visible test, worked by hand: J^T J = [[2, 1], [1, 2]], J^T r = (1, 2); with lam = 3,
        # [[5, 1], [1, 5]] p = -(1, 2) gives p = -(5 - 2, -1 + 10) / 24 = (-1/8, -3/8).
        J = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        r = np.array([1.0, 2.0, 0.0])
        with inputs_unchanged(J=J, r=r):
            p = levenberg_marquardt_direction(J, r, 3.0)
        expect_close("LM direction, lam = 3", p, [-0.125, -0.375],
                     hint="solve (J^T J + lam * I) p = -J^T r: lam itself, on the diagonal only")
        with inputs_unchanged(J=J, r=r):
            with expect_raises(ValueError, "lam = -0.5",
                               hint="raise ValueError when lam < 0"):
                levenberg_marquardt_direction(J, r, -0.5)

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import case, check_against_reference, check_raises  # noqa: E402

        rng = np.random.default_rng(454)
        J = rng.standard_normal((8, 3))
        r = rng.standard_normal(8)
        J_dep = J.copy()
        J_dep[:, 2] = J[:, 0] - 2.0 * J[:, 1]       # rank 2
        damped = "solve (J^T J + lam * I) p = -J^T r: lam on the diagonal only"
        check_against_reference(levenberg_marquardt_direction, "levenberg_marquardt_direction", [
            case("lam = 1", (J, r, 1.0), hint=damped),
            case("lam = 0.01", (J, r, 0.01), hint=damped),
            case("lam = 0 is Gauss-Newton", (J, r, 0.0), hint=damped),
            case("dependent columns, lam = 0.5", (J_dep, r, 0.5), hint=damped),
            case("huge lam: p ~ -J^T r / lam", (J, r, 1e6), hint=damped),
            case("an integer lam", (J, r, 3), hint=damped),
            case("r = 0", (J, np.zeros(8), 1.0)),
        ], outputs=("p",))
        check_raises(levenberg_marquardt_direction, "levenberg_marquardt_direction", [
            case("lam = -1", (J, r, -1.0), hint="raise ValueError for a negative lam"),
        ], ValueError)
        ### END HIDDEN TESTS
        ''',
    )

    # -------------------------------------------------------------- the demo
    nb.markdown("demo_statement", r"""
        ## Your Newton methods at work (not graded)

        Left: Newton's method with your backtracking line search on the Rosenbrock
        function from $(-1.2, 1)$, damping the Hessian (your damped direction)
        whenever the Newton direction is not a descent direction, next to gradient
        descent with the same line search; your `wolfe_conditions` counts how many
        accepted steps also satisfy the strong Wolfe conditions. Right: fitting
        $y = a\, e^{b t}$ by Gauss-Newton and by Levenberg-Marquardt with your
        directions. Methods whose exercises are not solved yet are skipped.
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


        def line_search_method(newton, max_iter=200):
            x, path, wolfe = np.array([-1.2, 1.0]), [np.array([-1.2, 1.0])], 0
            for _ in range(max_iter):
                g = rosen_grad(x)
                if np.abs(g).max() <= 1e-8:
                    break
                p = -g
                if newton:
                    H = rosen_hess(x)
                    p, damping = newton_direction(g, H), 0.0
                    while g @ p >= 0:  # not a descent direction: damp the Hessian
                        damping = max(2 * damping, 1e-3)
                        p = damped_newton_direction(g, H, damping)
                alpha = armijo_backtracking(rosen, x, rosen(x), g, p)
                try:
                    wolfe += all(wolfe_conditions(rosen, rosen_grad, x, p, alpha))
                except NotImplementedError:
                    wolfe = None
                x = x + alpha * p
                path.append(x)
            return np.array(path), wolfe


        t = np.linspace(0.0, 2.0, 12)
        y = 2.5 * np.exp(-1.3 * t) + 0.02 * np.random.default_rng(0).standard_normal(12)


        def residual(c):
            return c[0] * np.exp(c[1] * t) - y


        def jacobian(c):
            return np.column_stack([np.exp(c[1] * t), c[0] * t * np.exp(c[1] * t)])


        def least_squares_method(lm, n_iter=15):
            c, lam, norms = np.array([1.0, 0.0]), 1.0, []
            for _ in range(n_iter):
                r, J = residual(c), jacobian(c)
                norms.append(np.linalg.norm(r))
                if not lm:
                    c = c + gauss_newton_direction(J, r)
                    continue
                p = levenberg_marquardt_direction(J, r, lam)
                if np.linalg.norm(residual(c + p)) < norms[-1]:
                    c, lam = c + p, lam / 3     # accepted: trust the model more
                else:
                    lam = 2 * lam               # rejected: damp more
            norms.append(np.linalg.norm(residual(c)))
            return np.array(norms)


        paths, norms = {}, {}
        for label, run, store in [
            ("Newton + backtracking", lambda: line_search_method(True), paths),
            ("gradient descent + backtracking", lambda: line_search_method(False), paths),
            ("Gauss-Newton", lambda: least_squares_method(False), norms),
            ("Levenberg-Marquardt", lambda: least_squares_method(True), norms),
        ]:
            try:
                store[label] = run()
            except NotImplementedError:
                print(f"{label}: skipped, an exercise it needs is not solved yet")
            except Exception as exc:  # show the problem instead of stopping the notebook
                print(f"{label}: failed with {type(exc).__name__}: {exc}")

        for label, (path, wolfe) in paths.items():
            print(f"{label}: {len(path) - 1} steps to f = {rosen(path[-1]):.1e}"
                  + ("" if wolfe is None else f", {wolfe} of them strong-Wolfe steps"))
        for label, r in norms.items():
            print(f"{label}: ||r|| from {r[0]:.3f} to {r[-1]:.5f}")

        if paths or norms:
            import matplotlib.pyplot as plt

            fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
            u, w = np.meshgrid(np.linspace(-1.6, 1.4, 241), np.linspace(-0.6, 1.6, 181))
            left.contour(u, w, (1 - u) ** 2 + 100 * (w - u**2) ** 2,
                         levels=np.geomspace(0.05, 800, 16), colors="0.8", linewidths=0.8)
            for label, (path, _) in paths.items():
                left.plot(path[:, 0], path[:, 1], ".-", markersize=3, linewidth=1, label=label)
            left.plot(1, 1, "k*", markersize=10)
            left.set(xlabel="$x_1$", ylabel="$x_2$", title="Rosenbrock from (-1.2, 1)")
            for label, r in norms.items():
                right.semilogy(r, "o-", label=label)
            right.set(xlabel="iteration", ylabel=r"$\\|r\\|$", title=r"fitting $a e^{bt}$")
            for ax in (left, right):
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(fontsize=8)
            plt.show()
        else:
            print("Solve the exercises above to see your Newton methods at work.")
        ''')
    return nb


def _armijo(body: str) -> str:
    return ("def armijo_backtracking(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, "
            "max_iter=50):\n" + body)


_WOLFE = "def wolfe_conditions(f, grad, x, p, alpha, c1=1e-4, c2=0.9):\n"

WRONG = {
    "newton_direction": {
        "solves H p = g (no minus)": (
            "def newton_direction(g, H):\n    return np.linalg.solve(H, g)"),
        "divides by the diagonal": "def newton_direction(g, H):\n    return -g / np.diag(H)",
        "least squares hides a singular H": (
            "def newton_direction(g, H):\n    return np.linalg.lstsq(H, -g, rcond=None)[0]"),
        "the transpose of the solve": (
            "def newton_direction(g, H):\n    return -np.linalg.solve(H.T @ H, g)"),
        "calls the reference": (
            "def newton_direction(g, H):\n"
            "    import taylornet\n    return taylornet.rules.newton_direction(g, H)"),
    },
    "damped_newton_direction": {
        "damping added to every entry": (
            "def damped_newton_direction(g, H, damping):\n"
            "    if damping < 0:\n        raise ValueError('damping')\n"
            "    return np.linalg.solve(H + damping, -g)"),
        "damping multiplies H": (
            "def damped_newton_direction(g, H, damping):\n"
            "    if damping < 0:\n        raise ValueError('damping')\n"
            "    return np.linalg.solve((1 + damping) * H, -g)"),
        "modifies H in place": (
            "def damped_newton_direction(g, H, damping):\n"
            "    if damping < 0:\n        raise ValueError('damping')\n"
            "    H[np.diag_indices_from(H)] += damping\n"
            "    return np.linalg.solve(H, -g)"),
        "accepts a negative damping": (
            "def damped_newton_direction(g, H, damping):\n"
            "    return np.linalg.solve(H + damping * np.eye(len(g)), -g)"),
        "calls the reference": (
            "def damped_newton_direction(g, H, damping):\n"
            "    from taylornet.rules import damped_newton_direction as d\n"
            "    return d(g, H, damping)"),
    },
    "armijo_backtracking": {
        "one trial step short (range(max_iter))": _armijo(
            "    s = g @ p\n    if s >= 0:\n        raise ValueError('ascent')\n"
            "    for k in range(max_iter):\n"
            "        a = alpha0 * rho**k\n"
            "        if f(x + a * p) <= fx + c1 * a * s:\n            return a\n"
            "    raise LineSearchError('none')"),
        "a while loop accepts NaN": _armijo(
            "    s = g @ p\n    if s >= 0:\n        raise ValueError('ascent')\n"
            "    a, k = alpha0, 0\n"
            "    while f(x + a * p) > fx + c1 * a * s:\n"
            "        a, k = a * rho, k + 1\n"
            "        if k > max_iter:\n            raise LineSearchError('none')\n"
            "    return a"),
        "no c1 * alpha in the test": _armijo(
            "    s = g @ p\n    if s >= 0:\n        raise ValueError('ascent')\n"
            "    for k in range(max_iter + 1):\n"
            "        a = alpha0 * rho**k\n"
            "        if f(x + a * p) <= fx + c1 * s:\n            return a\n"
            "    raise LineSearchError('none')"),
        "evaluates f(x) again": _armijo(
            "    s = g @ p\n    if s >= 0:\n        raise ValueError('ascent')\n"
            "    f0 = f(x)\n"
            "    for k in range(max_iter + 1):\n"
            "        a = alpha0 * rho**k\n"
            "        if f(x + a * p) <= f0 + c1 * a * s:\n            return a\n"
            "    raise LineSearchError('none')"),
        "returns the last step on failure": _armijo(
            "    s = g @ p\n    if s >= 0:\n        raise ValueError('ascent')\n"
            "    for k in range(max_iter + 1):\n"
            "        a = alpha0 * rho**k\n"
            "        if f(x + a * p) <= fx + c1 * a * s:\n            return a\n"
            "    return a"),
        "RuntimeError instead of LineSearchError": _armijo(
            "    s = g @ p\n    if s >= 0:\n        raise ValueError('ascent')\n"
            "    for k in range(max_iter + 1):\n"
            "        a = alpha0 * rho**k\n"
            "        if f(x + a * p) <= fx + c1 * a * s:\n            return a\n"
            "    raise RuntimeError('none')"),
        "accepts g.p = 0": _armijo(
            "    s = g @ p\n    if s > 0:\n        raise ValueError('ascent')\n"
            "    for k in range(max_iter + 1):\n"
            "        a = alpha0 * rho**k\n"
            "        if f(x + a * p) <= fx + c1 * a * s:\n            return a\n"
            "    raise LineSearchError('none')"),
        "no check of the direction": _armijo(
            "    s = g @ p\n"
            "    for k in range(max_iter + 1):\n"
            "        a = alpha0 * rho**k\n"
            "        if f(x + a * p) <= fx + c1 * a * s:\n            return a\n"
            "    raise LineSearchError('none')"),
        "calls the reference": _armijo(
            "    from taylornet.rules import armijo_backtracking as a\n"
            "    return a(f, x, fx, g, p, alpha0, c1, rho, max_iter)"),
    },
    "wolfe_conditions": {
        "weak curvature condition": _WOLFE + (
            "    s0, s = grad(x) @ p, grad(x + alpha * p) @ p\n"
            "    return (bool(f(x + alpha * p) <= f(x) + c1 * alpha * s0), bool(s >= c2 * s0))"),
        "curvature without absolute values": _WOLFE + (
            "    s0, s = grad(x) @ p, grad(x + alpha * p) @ p\n"
            "    return (bool(f(x + alpha * p) <= f(x) + c1 * alpha * s0), bool(s <= c2 * s0))"),
        "gradient norms instead of slopes": _WOLFE + (
            "    s0 = grad(x) @ p\n    gn = grad(x + alpha * p)\n"
            "    ok = np.linalg.norm(gn) <= c2 * np.linalg.norm(grad(x))\n"
            "    return (bool(f(x + alpha * p) <= f(x) + c1 * alpha * s0), bool(ok))"),
        "decrease without alpha": _WOLFE + (
            "    s0, s = grad(x) @ p, grad(x + alpha * p) @ p\n"
            "    return (bool(f(x + alpha * p) <= f(x) + c1 * s0), bool(abs(s) <= c2 * abs(s0)))"),
        "c1 and c2 swapped": _WOLFE + (
            "    s0, s = grad(x) @ p, grad(x + alpha * p) @ p\n"
            "    return (bool(f(x + alpha * p) <= f(x) + c2 * alpha * s0),\n"
            "            bool(abs(s) <= c1 * abs(s0)))"),
        "returns NumPy arrays": _WOLFE + (
            "    s0, s = grad(x) @ p, grad(x + alpha * p) @ p\n"
            "    return (np.array(f(x + alpha * p) <= f(x) + c1 * alpha * s0),\n"
            "            np.array(abs(s) <= c2 * abs(s0)))"),
        "calls the reference": _WOLFE + (
            "    import taylornet.rules as rules\n"
            "    return rules.wolfe_conditions(f, grad, x, p, alpha, c1, c2)"),
    },
    "gauss_newton_direction": {
        "normal equations (singular for dependent columns)": (
            "def gauss_newton_direction(J, r):\n    return np.linalg.solve(J.T @ J, -J.T @ r)"),
        "no minus sign": (
            "def gauss_newton_direction(J, r):\n    return np.linalg.lstsq(J, r, rcond=None)[0]"),
        "steepest descent -J^T r": "def gauss_newton_direction(J, r):\n    return -J.T @ r",
        "J J^T instead of J^T J": (
            "def gauss_newton_direction(J, r):\n"
            "    A = J @ J.T + 1e-12 * np.eye(len(r))\n"
            "    return -J.T @ np.linalg.lstsq(A, r, rcond=None)[0]"),
        "calls the reference": (
            "def gauss_newton_direction(J, r):\n"
            "    from taylornet.rules import gauss_newton_direction as gn\n    return gn(J, r)"),
    },
    "levenberg_marquardt_direction": {
        "Marquardt's scaling lam * diag(J^T J)": (
            "def levenberg_marquardt_direction(J, r, lam):\n"
            "    if lam < 0:\n        raise ValueError('lam')\n"
            "    A = J.T @ J\n"
            "    return np.linalg.solve(A + lam * np.diag(np.diag(A)), -J.T @ r)"),
        "lam added to every entry": (
            "def levenberg_marquardt_direction(J, r, lam):\n"
            "    if lam < 0:\n        raise ValueError('lam')\n"
            "    return np.linalg.solve(J.T @ J + lam, -J.T @ r)"),
        "no minus sign": (
            "def levenberg_marquardt_direction(J, r, lam):\n"
            "    if lam < 0:\n        raise ValueError('lam')\n"
            "    return np.linalg.solve(J.T @ J + lam * np.eye(J.shape[1]), J.T @ r)"),
        "lam squared": (
            "def levenberg_marquardt_direction(J, r, lam):\n"
            "    if lam < 0:\n        raise ValueError('lam')\n"
            "    return np.linalg.solve(J.T @ J + lam**2 * np.eye(J.shape[1]), -J.T @ r)"),
        "accepts a negative lam": (
            "def levenberg_marquardt_direction(J, r, lam):\n"
            "    return np.linalg.solve(J.T @ J + lam * np.eye(J.shape[1]), -J.T @ r)"),
        "calls the reference": (
            "def levenberg_marquardt_direction(J, r, lam):\n"
            "    from taylornet.rules import levenberg_marquardt_direction as lm\n"
            "    return lm(J, r, lam)"),
    },
}

#: The entries of ``WRONG`` that the visible tests let through on purpose, with the reason
#: (``tests/test_grading_visible.py``): none, every catalogued slip fails a visible test.
VISIBLE_MISSES: dict[str, dict[str, str]] = {}

#: Other correct implementations; the hidden tests must accept them.
RIGHT = {
    "newton_direction": {
        "minus the solve": "def newton_direction(g, H):\n    return -np.linalg.solve(H, g)",
    },
    "damped_newton_direction": {
        "np.identity and a copy": (
            "def damped_newton_direction(g, H, damping):\n"
            "    if damping < 0:\n        raise ValueError('negative damping')\n"
            "    A = H.copy()\n    A += damping * np.identity(len(g))\n"
            "    return -np.linalg.solve(A, g)"),
    },
    "armijo_backtracking": {
        "a while loop that multiplies alpha by rho": _armijo(
            "    slope = np.dot(g, p)\n"
            "    if not slope < 0:\n        raise ValueError('not a descent direction')\n"
            "    alpha, k = alpha0, 0\n"
            "    while not f(x + alpha * p) <= fx + c1 * alpha * slope:\n"
            "        if k == max_iter:\n            raise LineSearchError('no step')\n"
            "        alpha, k = alpha * rho, k + 1\n"
            "    return alpha"),
    },
    "wolfe_conditions": {
        "np.dot and np.abs": _WOLFE + (
            "    phi0, dphi0 = f(x), np.dot(grad(x), p)\n"
            "    dphi = np.dot(grad(x + alpha * p), p)\n"
            "    armijo = f(x + alpha * p) <= phi0 + c1 * alpha * dphi0\n"
            "    return bool(armijo), bool(np.abs(dphi) <= c2 * np.abs(dphi0))"),
    },
    "gauss_newton_direction": {
        "the pseudo-inverse": (
            "def gauss_newton_direction(J, r):\n    return -np.linalg.pinv(J) @ r"),
    },
    "levenberg_marquardt_direction": {
        "the stacked least-squares problem": (
            "def levenberg_marquardt_direction(J, r, lam):\n"
            "    if lam < 0:\n        raise ValueError('negative lam')\n"
            "    n = J.shape[1]\n"
            "    A = np.vstack([J, np.sqrt(lam) * np.eye(n)])\n"
            "    b = np.concatenate([r, np.zeros(n)])\n"
            "    return -np.linalg.lstsq(A, b, rcond=None)[0]"),
    },
}


if __name__ == "__main__":
    sys.exit(main(build, OUTPUT, description=__doc__.splitlines()[0]))
