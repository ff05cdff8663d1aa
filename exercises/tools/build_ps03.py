"""Write ``exercises/source/ps03_hessian/ps03_hessian.ipynb``.

Problem set 3: curvature seen through Hessian-vector products (chapter 3 of the
book). ``power_iteration`` and ``hutchinson_trace`` are the contract's
(``taylornet.curvature``); ``classify_stationary_point`` and ``fd_hvp`` are not
in the contract and are graded against ``taylornet.grading_refs``. Run from
anywhere::

    python exercises/tools/build_ps03.py           # (re)write the notebook
    python exercises/tools/build_ps03.py --check   # exit 1 if it is out of date

``WRONG`` lists, per exercise, implementations that the hidden tests must
reject (the first is also autograded in ``tests/test_grading_roundtrip.py``);
``RIGHT`` lists other correct implementations that they must accept.
"""

from __future__ import annotations

import sys
from pathlib import Path

from notebook_builder import NotebookBuilder, main, points_label, points_table

ASSIGNMENT = "ps03_hessian"
OUTPUT = Path(__file__).resolve().parents[1] / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

#: Points per exercise, in proportion to difficulty.
POINTS = {
    "power_iteration": 3,
    "hutchinson_trace": 2,
    "classify_stationary_point": 2,
    "fd_hvp": 2,
}


def build() -> NotebookBuilder:
    nb = NotebookBuilder()

    nb.markdown("title", r"""
        # Problem set 3: Hessian geometry

        A network's Hessian is far too large to form, but a Hessian-vector product
        $v \mapsto H v$ costs about two gradients. In this problem set you measure
        curvature through such products (chapter 3, *Hessian geometry*): the
        dominant eigenvalue, the trace, the kind of a stationary point, and the
        product itself by finite differences. Use exactly the names and the
        signatures given.

        **Rules of the game**

        * `hvp` arguments are functions `v -> H v` of a 1-D NumPy array; `grad` is a
          function `x -> gradient of f at x`. Call them, never look inside.
        * Never modify an argument, and use NumPy only. Each function is graded
          against a reference in `taylornet`; a solution that calls (or copies) that
          reference scores nothing for the exercise.
        * The test cell under each exercise checks small examples worked by hand,
          chosen to catch the usual slips (a lost sign, a missed stopping rule, a
          new generator for every probe, the diagonal read as eigenvalues, a
          one-sided difference); a failure says which idea to look at. Hidden tests
          check more cases when the notebook is graded: random matrices and seeds,
          other tolerances and step counts, larger sizes, and that your inputs are
          left untouched.
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

    # ------------------------------------------------------- 1. power iteration
    nb.exercise(
        "power_iteration",
        points=POINTS["power_iteration"],
        statement=rf"""
        ## 1. Power iteration ({points_label(POINTS["power_iteration"])})

        *Chapter 3, Hessian geometry (the sharpness $\lambda_{{\max}}$); Golub & Van Loan,
        section 7.3.* For a symmetric $H$ seen only through `hvp`, start from
        $w_0 = v_0$ and repeat, for $k = 1, 2, \dots,$ `num_iters`:

        $$v_k = \frac{{w_{{k-1}}}}{{\|w_{{k-1}}\|}}, \qquad w_k = H v_k, \qquad
          \lambda_k = v_k^\top w_k \quad\text{{(the Rayleigh quotient)}}.$$

        Stop as soon as the residual is small, $\|w_k - \lambda_k v_k\| \le$
        `tol` $\cdot\,|\lambda_k|$, or after `num_iters` products. Write
        `power_iteration(hvp, v0, num_iters=100, tol=1e-8)` returning
        `(eigenvalue, eigenvector)` $= (\lambda_k, v_k)$: a float and the unit vector
        whose Rayleigh quotient it is.

        * The iteration finds the eigenvalue of largest **magnitude**, which may be
          negative (a saddle). Keep its sign: $\|H v\|$ would hide it.
        * Use exactly one product per iteration; $H v = 0$ is an exact eigenpair
          with $\lambda = 0$ (the test $0 \le$ `tol`$\cdot 0$ passes: stop there).
        * Raise `ValueError` when `v0` is the zero vector.
        """,
        solution='''
        def power_iteration(hvp, v0, num_iters=100, tol=1e-8):
            """Eigenpair (eigenvalue, unit eigenvector) of largest |eigenvalue|, from products."""
            ### BEGIN SOLUTION
            w = np.array(v0, dtype=float)
            w_norm = np.sqrt(w @ w)
            if w_norm == 0:
                raise ValueError("v0 must be a nonzero vector")
            for _ in range(num_iters):
                v = w / w_norm
                w = hvp(v)
                eigenvalue = float(v @ w)
                residual = w - eigenvalue * v
                if np.sqrt(residual @ residual) <= tol * abs(eigenvalue):
                    break
                w_norm = np.sqrt(w @ w)
            return eigenvalue, v
            ### END SOLUTION
        ''',
        tests='''
        # Visible test: H = [[-1, 4], [4, -1]] has the eigenvalues 3, along (1, 1), and -5,
        # along (1, -1): the dominant one is -5.
        H, v0 = np.array([[-1.0, 4.0], [4.0, -1.0]]), np.array([2.0, 1.0])
        with inputs_unchanged(H=H, v0=v0):
            result = power_iteration(lambda v: H @ v, v0, num_iters=500, tol=1e-12)
            one = power_iteration(lambda v: H @ v, v0, num_iters=1)
            zero = power_iteration(lambda v: 0.0 * v, v0)                       # H = 0
        eigenvalue, eigenvector = expect_tuple(result, 2, "power_iteration")
        expect_close("dominant eigenvalue (negative!)", eigenvalue, -5.0, rtol=1e-9,
                     hint="the eigenvalue is the Rayleigh quotient, sign included")
        expect_close("|eigenvector|", np.abs(eigenvector), [0.5**0.5, 0.5**0.5], atol=1e-6)
        # One product: v = (2, 1)/sqrt(5), H v = (2, 7)/sqrt(5), v.Hv = (4 + 7)/5 = 2.2.
        eigenvalue, eigenvector = expect_tuple(one, 2, "power_iteration")
        expect_close("eigenvalue after one product", eigenvalue, 2.2,
                     hint="num_iters counts the products; the eigenvalue is v_k . H v_k")
        expect_close("eigenvector after one product", eigenvector, v0 / np.sqrt(5.0),
                     hint="return v_k, whose Rayleigh quotient you return, not the next one")
        # H = 0: the first product gives H v = 0 = 0 v, an exact eigenpair.
        expect_close("eigenvalue, eigenvector of H = 0", np.hstack(zero), [0.0, *v0 / 5**0.5],
                     hint="stop when the residual <= tol * |eigenvalue|, here 0 <= 0")
        with inputs_unchanged(H=H), expect_raises(ValueError, "v0 = 0",
                                                  hint="a zero vector has no direction"):
            power_iteration(lambda v: H @ v, np.zeros(2))

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import (  # noqa: E402
            assert_close,
            case,
            check_against_reference,
            check_raises,
            run_student,
        )

        rng = np.random.default_rng(303)
        n = 6
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        A = (Q * np.array([10.0, 4.0, 3.0, -2.0, 1.0, 0.5])) @ Q.T    # dominant +10
        N = (Q * np.array([-12.0, 6.0, 5.0, -3.0, 1.0, 0.0])) @ Q.T   # dominant -12: a saddle
        v0 = rng.standard_normal(n)


        def hvp_A(v):
            return A @ v


        def hvp_N(v):
            return N @ v


        def hvp_zero(v):
            return 0.0 * v


        steps = "v_k = w/|w|, w = hvp(v_k), eigenvalue = v_k.w; return (eigenvalue, v_k)"
        stop = "stop at the first k with |w - eigenvalue v_k| <= tol * |eigenvalue|"
        check_against_reference(power_iteration, "power_iteration", [
            case("one product: the Rayleigh quotient of v0/|v0|", (hvp_A, v0, 1, 0.0),
                 hint=steps),
            case("three products, tol = 0", (hvp_A, v0, 3, 0.0), hint=steps),
            case("a negative dominant eigenvalue, 5 products", (hvp_N, v0, 5, 0.0),
                 hint="keep the sign: the eigenvalue is v.Hv, not |Hv|"),
            case("tol = 1e-3", (hvp_A, v0, 100, 1e-3), hint=stop),
            case("default num_iters and tol", (hvp_A, v0), hint=stop),
            case("v0 is an eigenvector: one product", (hvp_A, 3.0 * Q[:, 1], 50, 1e-8), hint=stop),
            case("H = 0: H v = 0 v is an exact eigenpair", (hvp_zero, v0, 10, 1e-8),
                 hint="the residual 0 <= tol * 0: stop, do not divide by |H v| = 0"),
        ], outputs=("eigenvalue", "eigenvector"))

        for label, hvp, H, true in [("dominant eigenvalue +10", hvp_A, A, 10.0),
                                    ("dominant eigenvalue -12 (a saddle)", hvp_N, N, -12.0)]:
            got = run_student(power_iteration, "power_iteration", (hvp, v0),
                              {"num_iters": 500, "tol": 1e-10}, label=label)
            eigenvalue, v = expect_tuple(got, 2, "power_iteration")
            eigenvalue, v = float(eigenvalue), np.asarray(v, dtype=float)
            context = f"case: {label}, converged"
            assert_close(eigenvalue, true, name="eigenvalue", rtol=1e-8, context=context)
            assert_close(v @ v, 1.0, name="|eigenvector|**2", rtol=1e-10, context=context)
            assert_close(H @ v, eigenvalue * v, name="H v against eigenvalue * v",
                         rtol=0.0, atol=1e-7, context=context)
        check_raises(power_iteration, "power_iteration",
                     [case("v0 = 0", (hvp_A, np.zeros(n)), hint="raise ValueError for v0 = 0")],
                     ValueError)
        ### END HIDDEN TESTS
        ''',
    )

    # ------------------------------------------------------------ 2. Hutchinson
    nb.exercise(
        "hutchinson_trace",
        points=POINTS["hutchinson_trace"],
        statement=rf"""
        ## 2. Hutchinson's trace estimator ({points_label(POINTS["hutchinson_trace"])})

        *Chapter 3, Hessian geometry (the trace as average curvature); Hutchinson (1990).*
        For random probes $z$ with $\mathbb E[z z^\top] = I$,
        $\mathbb E[z^\top H z] = \operatorname{{tr}}(H)$, so

        $$\operatorname{{tr}}(H) \approx \frac1m \sum_{{i=1}}^m z_i^\top H z_i,
          \qquad z_i \in \{{-1, +1\}}^n \text{{ (Rademacher probes)}}.$$

        Write `hutchinson_trace(hvp, dim, num_samples, seed=None)` returning this
        estimate as a float, with $m$ = `num_samples` probes of length `dim`. To make
        the estimate reproducible, draw the probes exactly like this: create one
        generator `rng = np.random.default_rng(seed)`, then, for each sample in turn,
        `z = rng.choice([-1.0, 1.0], size=dim)`.

        Rademacher probes have a property Gaussian ones lack: for a diagonal $H$
        every term $z^\top H z$ equals $\operatorname{{tr}}(H)$ exactly.
        """,
        solution='''
        def hutchinson_trace(hvp, dim, num_samples, seed=None):
            """Estimate trace(H) from products v -> H v with Rademacher probes."""
            ### BEGIN SOLUTION
            rng = np.random.default_rng(seed)
            total = 0.0
            for _ in range(num_samples):
                z = rng.choice([-1.0, 1.0], size=dim)
                total += float(z @ hvp(z))
            return total / num_samples
            ### END SOLUTION
        ''',
        tests='''
        # Visible test 1: a diagonal H is estimated exactly, with any probes.
        D = np.diag([1.0, -2.0, 5.0, 0.5])
        # Visible test 2: the probes of a non-diagonal S, drawn as the statement says.
        S = np.array([[2.0, 1.0, 0.0, 1.0], [1.0, 3.0, -1.0, 0.0],
                      [0.0, -1.0, 1.0, 2.0], [1.0, 0.0, 2.0, -1.0]])
        rng = np.random.default_rng(42)
        z1, z2, z3 = (rng.choice([-1.0, 1.0], size=4) for _ in range(3))
        with inputs_unchanged(D=D, S=S):
            diagonal = hutchinson_trace(lambda v: D @ v, 4, num_samples=3, seed=0)
            one = hutchinson_trace(lambda v: S @ v, 4, 1, seed=42)
            three = hutchinson_trace(lambda v: S @ v, 4, 3, seed=42)
        expect_close("trace of diag(1, -2, 5, 0.5)", diagonal, 4.5,
                     hint="Rademacher probes (entries -1 or +1) make z.Dz = trace(D)")
        expect_close("one sample with seed 42", one, z1 @ S @ z1,
                     hint="the probe comes from np.random.default_rng(seed), as described")
        expect_close("three samples with seed 42", three, (z1 @ S @ z1 + z2 @ S @ z2
                                                          + z3 @ S @ z3) / 3,
                     hint="one generator for all the probes; return the mean of z.Hz")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import (  # noqa: E402
            assert_close,
            case,
            check_against_reference,
            run_student,
        )

        rng = np.random.default_rng(313)
        n = 7
        M = rng.standard_normal((n, n))
        S = M + M.T
        D = np.diag(rng.uniform(-2.0, 3.0, n))


        def hvp_S(v):
            return S @ v


        def hvp_D(v):
            return D @ v


        def hvp_scalar(v):
            return 3.0 * v


        probes = ("one generator rng = np.random.default_rng(seed), then for each sample "
                  "z = rng.choice([-1.0, 1.0], size=dim)")
        check_against_reference(hutchinson_trace, "hutchinson_trace", [
            case("one sample, seed 0", (hvp_S, n, 1, 0), hint=probes),
            case("ten samples, seed 7", (hvp_S, n, 10, 7),
                 hint=probes + "; return the MEAN of z.Hz, not the sum"),
            case("seed by keyword, 25 samples", (hvp_S, n, 25), {"seed": 123}, hint=probes),
            case("dim = 1", (hvp_scalar, 1, 4, 5), hint=probes),
        ], outputs=("trace estimate",))
        for seed in (None, 11):
            label = f"a diagonal matrix, seed = {seed}"
            estimate = run_student(hutchinson_trace, "hutchinson_trace", (hvp_D, n, 3, seed),
                                   label=label)
            assert_close(estimate, np.trace(D), name="trace estimate", rtol=1e-12,
                         context=f"case: {label}; hint: Rademacher probes (entries -1 or +1) "
                                 "give z.Dz = trace(D) exactly for a diagonal D")
        ### END HIDDEN TESTS
        ''',
    )

    # ------------------------------------------------ 3. stationary points
    nb.exercise(
        "classify_stationary_point",
        points=POINTS["classify_stationary_point"],
        statement=rf"""
        ## 3. What kind of stationary point? ({points_label(POINTS["classify_stationary_point"])})

        *Chapter 3, Hessian geometry; N&W Theorems 2.3 and 2.4 (second-order conditions).*
        At a stationary point, $\nabla f(x^*) = 0$, the quadratic model is
        $f(x^* + p) \approx f(x^*) + \tfrac12 p^\top H p$ and the eigenvalues
        $\lambda_1 \le \dots \le \lambda_n$ of the symmetric Hessian $H$ decide.
        Write `classify_stationary_point(H, tol=1e-8)` returning one of four strings,
        treating eigenvalues in $[-\text{{tol}}, \text{{tol}}]$ as zero:

        $$\texttt{{"minimum"}}: \lambda_1 > \text{{tol}}, \qquad
          \texttt{{"maximum"}}: \lambda_n < -\text{{tol}}, \qquad
          \texttt{{"saddle"}}: \lambda_1 < -\text{{tol}} \text{{ and }} \lambda_n > \text{{tol}},$$

        and `"degenerate"` otherwise (some eigenvalue is zero and the others have one
        sign, so the second-order test cannot decide). Mixed signs make a saddle
        even when another eigenvalue is zero. The diagonal entries, the determinant
        or the trace do not decide in general: use the eigenvalues
        (`np.linalg.eigvalsh`).
        """,
        solution='''
        def classify_stationary_point(H, tol=1e-8):
            """'minimum', 'maximum', 'saddle' or 'degenerate', from the eigenvalues of H."""
            ### BEGIN SOLUTION
            eigenvalues = np.linalg.eigvalsh(H)
            positive = eigenvalues > tol
            negative = eigenvalues < -tol
            if positive.all():
                return "minimum"
            if negative.all():
                return "maximum"
            if positive.any() and negative.any():
                return "saddle"
            return "degenerate"
            ### END SOLUTION
        ''',
        tests='''
        # Visible test: S = [[1, 2], [2, 1]] has the eigenvalues 3 and -1, so S + c I has 3 + c
        # and -1 + c; S3, S padded with zeros to 3 x 3, has 3, -1 and 0.
        S, I = np.array([[1.0, 2.0], [2.0, 1.0]]), np.eye(2)
        S3 = np.pad(S, (0, 1))
        for H, tol, eigenvalues, kind, hint in [
            (S + 2 * I, 1e-8, "5, 1", "minimum", ""),
            (-S - 2 * I, 1e-8, "-5, -1", "maximum", ""),
            (S, 1e-8, "3, -1", "saddle", "a positive diagonal does not make a minimum"),
            (S + I, 1e-8, "4, 0", "degenerate", "a zero eigenvalue, no negative one: undecided"),
            (S3, 1e-8, "3, -1, 0", "saddle", "mixed signs decide, even with a zero eigenvalue"),
            (S3 - np.diag([0, 0, 2.0]), 1e-8, "3, -1, -2", "saddle",
             "determinant and trace decide only in two dimensions"),
            (S + 2 * I, 1.5, "5, 1", "degenerate", "use the tol argument"),
        ]:
            with inputs_unchanged(H=H):
                got = classify_stationary_point(H, tol=tol)
            expect_equal(f"eigenvalues {eigenvalues}, tol = {tol}", got, kind, hint=hint)

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import case, check_against_reference  # noqa: E402

        rng = np.random.default_rng(333)
        Q4, _ = np.linalg.qr(rng.standard_normal((4, 4)))
        Q3, _ = np.linalg.qr(rng.standard_normal((3, 3)))


        def rotated(Q, eigenvalues):
            return (Q * np.array(eigenvalues)) @ Q.T


        zero = "eigenvalues within tol of zero count as zero"
        check_against_reference(classify_stationary_point, "classify_stationary_point", [
            case("positive definite, rotated", (rotated(Q4, [0.5, 1.0, 2.0, 3.0]),)),
            case("negative definite, rotated", (rotated(Q4, [-0.5, -1.0, -2.0, -3.0]),)),
            case("indefinite with a positive diagonal", (np.array([[1.0, 2.0], [2.0, 1.0]]),),
                 hint="the signs of the eigenvalues decide, not the diagonal entries"),
            case("eigenvalues -1, -2, 3: positive determinant",
                 (rotated(Q3, [-1.0, -2.0, 3.0]),),
                 hint="determinant and trace decide only in two dimensions"),
            case("positive semidefinite and singular", (rotated(Q4, [0.0, 1.0, 2.0, 3.0]),),
                 hint=zero),
            case("negative semidefinite and singular", (rotated(Q4, [-1.0, 0.0, -2.0, -3.0]),),
                 hint=zero),
            case("eigenvalues 1, -1, 0 and 2", (rotated(Q4, [1.0, -1.0, 0.0, 2.0]),),
                 hint="mixed signs make a saddle, even with a zero eigenvalue"),
            case("smallest eigenvalue 1e-10, below tol", (rotated(Q4, [1e-10, 1.0, 2.0, 3.0]),),
                 hint=zero),
            case("smallest eigenvalue 1e-6, above tol", (rotated(Q4, [1e-6, 1.0, 2.0, 3.0]),)),
            case("tol = 0.5 by keyword", (rotated(Q4, [0.3, 1.0, 2.0, 3.0]),), {"tol": 0.5},
                 hint="use the tol argument"),
            case("tol = 0.5, eigenvalues -0.6, 0.1, 1, 2", (rotated(Q4, [-0.6, 0.1, 1.0, 2.0]),),
                 {"tol": 0.5}, hint="use the tol argument"),
            case("the zero matrix", (np.zeros((3, 3)),), hint=zero),
            case("1 x 1: f = -x**2", (np.array([[-2.0]]),)),
            case("Rosenbrock at its minimiser (1, 1)",
                 (np.array([[802.0, -400.0], [-400.0, 200.0]]),)),
        ], outputs=("kind",))
        ### END HIDDEN TESTS
        ''',
    )

    # ---------------------------------------------------------- 4. FD HVP
    nb.exercise(
        "fd_hvp",
        points=POINTS["fd_hvp"],
        statement=rf"""
        ## 4. Hessian-vector products by finite differences ({points_label(POINTS["fd_hvp"])})

        *Chapter 3, Hessian geometry; N&W section 8.1.* The product $H v$ is the
        derivative of the gradient along $v$, so two gradients approximate it:

        $$\nabla^2 f(x)\, v \approx
          \frac{{\nabla f(x + \epsilon v) - \nabla f(x - \epsilon v)}}{{2 \epsilon}}.$$

        Write `fd_hvp(grad, x, v, eps=1e-5)` computing this central difference, with
        exactly two calls of `grad` (at $x + \epsilon v$ and $x - \epsilon v$). Its
        error is $O(\epsilon^2)$, where the one-sided difference
        $(\nabla f(x + \epsilon v) - \nabla f(x))/\epsilon$ has $O(\epsilon)$. Use
        `eps` as given (do not rescale it by $\|v\|$), and do not modify `x`.
        """,
        solution='''
        def fd_hvp(grad, x, v, eps=1e-5):
            """H(x) v by a central difference of the gradient: two gradient evaluations."""
            ### BEGIN SOLUTION
            g_plus = grad(x + eps * v)
            g_minus = grad(x - eps * v)
            return (g_plus - g_minus) / (2 * eps)
            ### END SOLUTION
        ''',
        tests='''
        # Visible test: f(x) = x1**2 x2 + x1**4 / 4 has the Hessian [[7, 2], [2, 0]] at (1, 2),
        # so H v = (12, 4) along v = (2, -1).
        calls = []


        def grad(x):
            calls.append(x.copy())
            return np.array([2 * x[0] * x[1] + x[0] ** 3, x[0] ** 2])


        x, v = np.array([1.0, 2.0]), np.array([2.0, -1.0])
        with inputs_unchanged(x=x, v=v):
            hv = fd_hvp(grad, x, v)
            n_calls = len(calls)
            coarse = fd_hvp(grad, x, v, eps=0.1)
        central = "a central difference: grad at x + eps*v and at x - eps*v, over 2*eps"
        expect_close("fd_hvp at (1, 2) along (2, -1)", hv, [12.0, 4.0], rtol=1e-8, hint=central)
        expect_equal("gradient evaluations in one fd_hvp", n_calls, 2, hint=central)
        # eps = 0.1: x +- eps*v = (1.2, 1.9) and (0.8, 2.1), and the x1**3 term is not exact:
        # (2 * 1.2 * 1.9 + 1.2**3 - 2 * 0.8 * 2.1 - 0.8**3) / 0.2 = 12.08, and
        # (1.2**2 - 0.8**2) / 0.2 = 4.
        expect_close("fd_hvp with eps = 0.1", coarse, [12.08, 4.0],
                     hint="use eps as given, on v as given (do not normalise v)")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import (  # noqa: E402
            assert_close,
            case,
            check_against_reference,
            run_student,
        )

        rng = np.random.default_rng(343)
        n = 5
        A = rng.standard_normal((n, n))
        A = A + A.T
        b, c = rng.standard_normal(n), rng.uniform(0.5, 1.5, n)
        x, v = 0.5 * rng.standard_normal(n), rng.standard_normal(n)


        def grad_quadratic(z):          # f = z.Az/2 + b.z
            return A @ z + b


        def grad_smooth(z):             # f = sum(c * exp(z)) + (z.z)**2 / 4
            return c * np.exp(z) + (z @ z) * z


        def hvp_smooth(z, w):
            return c * np.exp(z) * w + (z @ z) * w + 2 * z * (z @ w)


        central = "(grad(x + eps*v) - grad(x - eps*v)) / (2*eps): central, not one-sided"
        check_against_reference(fd_hvp, "fd_hvp", [
            case("a quadratic", (grad_quadratic, x, v), hint=central),
            case("a smooth non-quadratic f", (grad_smooth, x, v), hint=central),
            case("eps = 1e-2 by keyword", (grad_smooth, x, v), {"eps": 1e-2},
                 hint="use the eps argument"),
            case("a long v (|v| ~ 100)", (grad_smooth, x, 40.0 * v),
                 hint="eps multiplies v as given: do not normalise v"),
            case("v = 0", (grad_smooth, x, np.zeros(n))),
        ], outputs=("Hv",))

        label = "a smooth non-quadratic f, against the exact H v"
        got = run_student(fd_hvp, "fd_hvp", (grad_smooth, x, v), label=label)
        assert_close(got, hvp_smooth(x, v), name="fd_hvp", rtol=1e-6,
                     context=f"case: {label}; hint: {central}")
        calls = []


        def counted(z):
            calls.append(z.copy())
            return grad_smooth(z)


        run_student(fd_hvp, "fd_hvp", (counted, x, v), label="counting gradients")
        assert len(calls) == 2, (
            f"fd_hvp evaluated grad {len(calls)} times; the central difference needs exactly "
            "two evaluations, at x + eps*v and at x - eps*v")
        ### END HIDDEN TESTS
        ''',
    )

    # -------------------------------------------------------------- the demo
    nb.markdown("demo_statement", r"""
        ## Your curvature tools at work (not graded)

        The function $f(x, y) = x^3 - 3x + \tfrac14 y^4 - \tfrac12 y^2$ has six
        stationary points, $x = \pm 1$, $y \in \{-1, 0, 1\}$. The cell below builds
        each Hessian column by column with your `fd_hvp`, classifies the point with
        your `classify_stationary_point`, and measures the curvature with your
        `power_iteration` and `hutchinson_trace` (using your `fd_hvp` as `hvp`). It
        plots the points on the contours of $f$, coloured by kind, and skips what is
        not solved yet.
        """)

    nb.code("demo", '''
        def grad_f(p):
            x, y = p
            return np.array([3 * x**2 - 3, y**3 - y])


        def exact_hessian(p):
            return np.diag([6 * p[0], 3 * p[1] ** 2 - 1])


        points = [np.array([x, y]) for x in (-1.0, 1.0) for y in (-1.0, 0.0, 1.0)]
        kinds = {}
        solved = 0
        for p in points:
            line = f"({p[0]:+.0f}, {p[1]:+.0f}):"
            try:
                H = np.column_stack([fd_hvp(grad_f, p, e) for e in np.eye(2)])
                line += f" fd Hessian error {np.abs(H - exact_hessian(p)).max():.1e};"
                solved += 1
            except NotImplementedError:
                H = exact_hessian(p)

            def hvp(v, H=H):
                return H @ v

            try:
                kinds[tuple(p)] = classify_stationary_point(H)
                line += f" a {kinds[tuple(p)]};"
                solved += 1
            except NotImplementedError:
                pass
            try:
                eigenvalue, _ = power_iteration(hvp, np.array([1.0, 0.3]), num_iters=200)
                line += f" dominant eigenvalue {eigenvalue:+.3f};"
                solved += 1
            except NotImplementedError:
                pass
            try:
                estimate = hutchinson_trace(hvp, 2, num_samples=4, seed=0)
                line += f" trace {estimate:+.3f} (exact {np.trace(exact_hessian(p)):+.3f})"
                solved += 1
            except NotImplementedError:
                pass
            print(line)

        if solved:
            import matplotlib.pyplot as plt

            u, w = np.meshgrid(np.linspace(-2.2, 2.2, 221), np.linspace(-1.8, 1.8, 181))
            fig, ax = plt.subplots(figsize=(7, 5))
            ax.contour(u, w, u**3 - 3 * u + w**4 / 4 - w**2 / 2, levels=30, colors="0.75",
                       linewidths=0.8)
            colours = {"minimum": "tab:green", "maximum": "tab:red", "saddle": "tab:orange",
                       "degenerate": "tab:gray"}
            for p in points:
                kind = kinds.get(tuple(p), "degenerate")
                ax.plot(*p, "o", color=colours.get(kind, "k"), markersize=10)
                ax.annotate(kinds.get(tuple(p), "?"), p, textcoords="offset points",
                            xytext=(8, 8))
            ax.set(xlabel="$x$", ylabel="$y$",
                   title=r"Stationary points of $x^3 - 3x + y^4/4 - y^2/2$")
            plt.show()
        else:
            print("Solve the exercises above to see your curvature tools at work.")
        ''')
    return nb


WRONG = {
    "power_iteration": {
        "norm instead of the Rayleigh quotient": (
            "def power_iteration(hvp, v0, num_iters=100, tol=1e-8):\n"
            "    if not np.any(v0):\n        raise ValueError('zero')\n"
            "    w = v0\n"
            "    for _ in range(num_iters):\n"
            "        v = w / np.linalg.norm(w)\n        w = hvp(v)\n"
            "        lam = np.linalg.norm(w)\n"
            "        if np.linalg.norm(w - lam * v) <= tol * abs(lam):\n            break\n"
            "    return lam, v"),
        "returns the next iterate": (
            "def power_iteration(hvp, v0, num_iters=100, tol=1e-8):\n"
            "    if not np.any(v0):\n        raise ValueError('zero')\n"
            "    w = v0\n"
            "    for _ in range(num_iters):\n"
            "        v = w / np.linalg.norm(w)\n        w = hvp(v)\n        lam = v @ w\n"
            "        if np.linalg.norm(w - lam * v) <= tol * abs(lam):\n            break\n"
            "    return lam, w / np.linalg.norm(w)"),
        "stops on the change of the eigenvalue": (
            "def power_iteration(hvp, v0, num_iters=100, tol=1e-8):\n"
            "    if not np.any(v0):\n        raise ValueError('zero')\n"
            "    w, old = v0, np.inf\n"
            "    for _ in range(num_iters):\n"
            "        v = w / np.linalg.norm(w)\n        w = hvp(v)\n        lam = v @ w\n"
            "        if abs(lam - old) <= tol * abs(lam):\n            break\n"
            "        old = lam\n"
            "    return lam, v"),
        "ignores num_iters": (
            "def power_iteration(hvp, v0, num_iters=100, tol=1e-8):\n"
            "    if not np.any(v0):\n        raise ValueError('zero')\n"
            "    w = v0\n"
            "    for _ in range(1000):\n"
            "        v = w / np.linalg.norm(w)\n        w = hvp(v)\n        lam = v @ w\n"
            "        if np.linalg.norm(w - lam * v) <= tol * abs(lam):\n            break\n"
            "    return lam, v"),
        "strict stopping test divides by zero for H = 0": (
            "def power_iteration(hvp, v0, num_iters=100, tol=1e-8):\n"
            "    if not np.any(v0):\n        raise ValueError('zero')\n"
            "    w = v0\n"
            "    for _ in range(num_iters):\n"
            "        v = w / np.linalg.norm(w)\n        w = hvp(v)\n        lam = v @ w\n"
            "        if np.linalg.norm(w - lam * v) < tol * abs(lam):\n            break\n"
            "    return lam, v"),
        "no ValueError for v0 = 0": (
            "def power_iteration(hvp, v0, num_iters=100, tol=1e-8):\n"
            "    w = v0\n"
            "    for _ in range(num_iters):\n"
            "        v = w / np.linalg.norm(w)\n        w = hvp(v)\n        lam = v @ w\n"
            "        if np.linalg.norm(w - lam * v) <= tol * abs(lam):\n            break\n"
            "    return lam, v"),
        "calls the reference": (
            "def power_iteration(hvp, v0, num_iters=100, tol=1e-8):\n"
            "    import taylornet.curvature as tc\n"
            "    return tc.power_iteration(hvp, v0, num_iters, tol)"),
    },
    "hutchinson_trace": {
        "Gaussian probes": (
            "def hutchinson_trace(hvp, dim, num_samples, seed=None):\n"
            "    rng = np.random.default_rng(seed)\n"
            "    zs = [rng.standard_normal(dim) for _ in range(num_samples)]\n"
            "    return float(np.mean([z @ hvp(z) for z in zs]))"),
        "the sum, not the mean": (
            "def hutchinson_trace(hvp, dim, num_samples, seed=None):\n"
            "    rng = np.random.default_rng(seed)\n"
            "    zs = [rng.choice([-1.0, 1.0], size=dim) for _ in range(num_samples)]\n"
            "    return float(np.sum([z @ hvp(z) for z in zs]))"),
        "probes of 0 and 1": (
            "def hutchinson_trace(hvp, dim, num_samples, seed=None):\n"
            "    rng = np.random.default_rng(seed)\n"
            "    zs = [rng.integers(0, 2, size=dim).astype(float) for _ in range(num_samples)]\n"
            "    return float(np.mean([z @ hvp(z) for z in zs]))"),
        "a new generator for every probe": (
            "def hutchinson_trace(hvp, dim, num_samples, seed=None):\n"
            "    total = 0.0\n"
            "    for _ in range(num_samples):\n"
            "        z = np.random.default_rng(seed).choice([-1.0, 1.0], size=dim)\n"
            "        total += z @ hvp(z)\n"
            "    return total / num_samples"),
        "ignores the seed": (
            "def hutchinson_trace(hvp, dim, num_samples, seed=None):\n"
            "    rng = np.random.default_rng(0)\n"
            "    zs = [rng.choice([-1.0, 1.0], size=dim) for _ in range(num_samples)]\n"
            "    return float(np.mean([z @ hvp(z) for z in zs]))"),
        "calls the reference": (
            "def hutchinson_trace(hvp, dim, num_samples, seed=None):\n"
            "    from taylornet.curvature import hutchinson_trace as h\n"
            "    return h(hvp, dim, num_samples, seed)"),
    },
    "classify_stationary_point": {
        "diagonal entries instead of eigenvalues": (
            "def classify_stationary_point(H, tol=1e-8):\n"
            "    d = np.diag(H)\n"
            "    if np.all(d > tol):\n        return 'minimum'\n"
            "    if np.all(d < -tol):\n        return 'maximum'\n"
            "    if np.any(d > tol) and np.any(d < -tol):\n        return 'saddle'\n"
            "    return 'degenerate'"),
        "determinant and trace (2-D rule)": (
            "def classify_stationary_point(H, tol=1e-8):\n"
            "    det, tr = np.linalg.det(H), np.trace(H)\n"
            "    if abs(det) <= tol:\n        return 'degenerate'\n"
            "    if det < 0:\n        return 'saddle'\n"
            "    return 'minimum' if tr > 0 else 'maximum'"),
        "a zero eigenvalue always degenerate": (
            "def classify_stationary_point(H, tol=1e-8):\n"
            "    e = np.linalg.eigvalsh(H)\n"
            "    if np.any(np.abs(e) <= tol):\n        return 'degenerate'\n"
            "    if np.all(e > 0):\n        return 'minimum'\n"
            "    if np.all(e < 0):\n        return 'maximum'\n"
            "    return 'saddle'"),
        "ignores tol": (
            "def classify_stationary_point(H, tol=1e-8):\n"
            "    e = np.linalg.eigvalsh(H)\n"
            "    if np.all(e > 0):\n        return 'minimum'\n"
            "    if np.all(e < 0):\n        return 'maximum'\n"
            "    if np.any(e > 0) and np.any(e < 0):\n        return 'saddle'\n"
            "    return 'degenerate'"),
        "semidefinite counts as a minimum": (
            "def classify_stationary_point(H, tol=1e-8):\n"
            "    e = np.linalg.eigvalsh(H)\n"
            "    if np.all(e >= -tol):\n        return 'minimum'\n"
            "    if np.all(e <= tol):\n        return 'maximum'\n"
            "    return 'saddle'"),
        "calls the reference": (
            "def classify_stationary_point(H, tol=1e-8):\n"
            "    from taylornet import grading_refs\n"
            "    return grading_refs.classify_stationary_point(H, tol)"),
    },
    "fd_hvp": {
        "one-sided difference": (
            "def fd_hvp(grad, x, v, eps=1e-5):\n"
            "    return (grad(x + eps * v) - grad(x)) / eps"),
        "missing factor 2": (
            "def fd_hvp(grad, x, v, eps=1e-5):\n"
            "    return (grad(x + eps * v) - grad(x - eps * v)) / eps"),
        "normalises v": (
            "def fd_hvp(grad, x, v, eps=1e-5):\n"
            "    n = np.linalg.norm(v)\n"
            "    if n == 0:\n        return np.zeros_like(x)\n"
            "    u = v / n\n"
            "    return n * (grad(x + eps * u) - grad(x - eps * u)) / (2 * eps)"),
        "hard-coded eps": (
            "def fd_hvp(grad, x, v, eps=1e-5):\n"
            "    return (grad(x + 1e-5 * v) - grad(x - 1e-5 * v)) / 2e-5"),
        "moves x in place": (
            "def fd_hvp(grad, x, v, eps=1e-5):\n"
            "    x += eps * v\n    g_plus = grad(x)\n"
            "    x -= 2 * eps * v\n    g_minus = grad(x)\n"
            "    return (g_plus - g_minus) / (2 * eps)"),
        "three gradient evaluations": (
            "def fd_hvp(grad, x, v, eps=1e-5):\n"
            "    g0 = grad(x)\n"
            "    return ((grad(x + eps * v) - g0) + (g0 - grad(x - eps * v))) / (2 * eps)"),
        "calls the reference": (
            "def fd_hvp(grad, x, v, eps=1e-5):\n"
            "    from taylornet.grading_refs import fd_hvp as ref\n"
            "    return ref(grad, x, v, eps)"),
    },
}

#: Other correct implementations; the hidden tests must accept them.
RIGHT = {
    "power_iteration": {
        "np.linalg.norm and a while loop": (
            "def power_iteration(hvp, v0, num_iters=100, tol=1e-8):\n"
            "    if np.linalg.norm(v0) == 0:\n        raise ValueError('v0 = 0')\n"
            "    w, k = np.asarray(v0, dtype=float), 0\n"
            "    while k < num_iters:\n"
            "        v = w / np.linalg.norm(w)\n        w = hvp(v)\n        k += 1\n"
            "        lam = float(np.dot(v, w))\n"
            "        if np.linalg.norm(w - lam * v) <= tol * abs(lam):\n            break\n"
            "    return lam, v"),
    },
    "hutchinson_trace": {
        "a list of probes and np.mean": (
            "def hutchinson_trace(hvp, dim, num_samples, seed=None):\n"
            "    rng = np.random.default_rng(seed)\n"
            "    probes = [rng.choice([-1.0, 1.0], size=dim) for _ in range(num_samples)]\n"
            "    return float(np.mean([np.dot(z, hvp(z)) for z in probes]))"),
    },
    "classify_stationary_point": {
        "sorted eigenvalues of np.linalg.eigh": (
            "def classify_stationary_point(H, tol=1e-8):\n"
            "    lo, hi = np.linalg.eigh(H)[0][[0, -1]]\n"
            "    if lo > tol:\n        return 'minimum'\n"
            "    if hi < -tol:\n        return 'maximum'\n"
            "    return 'saddle' if lo < -tol and hi > tol else 'degenerate'"),
    },
    "fd_hvp": {
        "half the difference over eps": (
            "def fd_hvp(grad, x, v, eps=1e-5):\n"
            "    step = eps * v\n"
            "    return 0.5 * (grad(x + step) - grad(x - step)) / eps"),
    },
}


#: Catalogued wrong solutions that the visible tests let pass on purpose, with the reason
#: (tests/test_grading_visible.py); every other entry of ``WRONG`` fails a visible test.
VISIBLE_MISSES: dict[str, dict[str, str]] = {}


if __name__ == "__main__":
    sys.exit(main(build, OUTPUT, description=__doc__.splitlines()[0]))
