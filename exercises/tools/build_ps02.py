"""Write ``exercises/source/ps02_taylor/ps02_taylor.ipynb``.

Problem set 2: the gradient-flow Taylor step ``taylor_step`` of
``taylornet.rules`` (CONTRACT.md, chapter 4 of the book). Run from anywhere::

    python exercises/tools/build_ps02.py           # (re)write the notebook
    python exercises/tools/build_ps02.py --check   # exit 1 if it is out of date

``WRONG`` lists, per exercise, implementations that circulate and that the
hidden tests must reject; the first one of each is also autograded in the
course's round trip (``tests/test_grading_roundtrip.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from notebook_builder import NotebookBuilder, main, points_label, points_table

ASSIGNMENT = "ps02_taylor"
OUTPUT = Path(__file__).resolve().parents[1] / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

#: Points per exercise, in proportion to difficulty.
POINTS = {
    "taylor_step": 4,
}


def build() -> NotebookBuilder:
    nb = NotebookBuilder()

    nb.markdown("title", r"""
        # Problem set 2: Taylor steps of the gradient flow

        Gradient descent is the first-order Taylor step of the *gradient flow*
        $x'(t) = -\nabla f(x(t))$. Adding the second- and third-order terms of the
        flow's own Taylor series gives the higher-order steps of chapter 4
        (*Gradient-flow Taylor updates*). You will implement them as one function,
        with exactly the name and the signature given (the `taylornet` package uses
        the same ones).

        **Rules of the game**

        * The function takes NumPy arrays and a Python float and returns a **new**
          NumPy array of the shape of `x`. Never modify an argument.
        * Use NumPy only. The function is graded against the reference in
          `taylornet.rules`; a solution that calls (or copies) that reference scores
          nothing.
        * The test cell under the exercise checks small examples worked by hand:
          each order on a quadratic, the third order on the quartic of the chapter's
          pitfall, and the `ValueError` rules; a failure says which idea to look at.
          Hidden tests check more cases when the notebook is graded: random vectors,
          long steps, arguments by keyword, and that your inputs are left untouched.
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

    nb.exercise(
        "taylor_step",
        points=POINTS["taylor_step"],
        statement=rf"""
        ## 1. The Taylor step of the gradient flow ({points_label(POINTS["taylor_step"])})

        *Chapter 4, Gradient-flow Taylor updates; Barrett & Dherin, Implicit Gradient
        Regularization (ICLR 2021).* Differentiate the flow $x' = -g$, with
        $g = \nabla f(x)$ and $H = \nabla^2 f(x)$, along itself: $x'' = H g$ and
        $x''' = -\bigl(H^2 g + D^3 f[g, g]\bigr)$. A step of length $\eta$ is

        $$x_{{k+1}} = x_k - \eta\, g + \frac{{\eta^2}}{{2}}\, H g
          - \frac{{\eta^3}}{{6}}\,\bigl(H^2 g + D^3 f[g, g]\bigr),$$

        truncated at the order the caller gives. Write
        `taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None)` where `lr` is $\eta$,
        `Hg` is $H g$, `H2g` is $H (H g)$ and `T3gg` is the contraction
        $D^3 f[g, g]_i = \sum_{{jk}} \partial_i \partial_j \partial_k f \; g_j g_k$
        (all of them vectors like `x`, computed by the caller):

        * `g` alone: order 1, gradient descent;
        * `g` and `Hg`: order 2;
        * `g`, `Hg`, `H2g` and `T3gg`: order 3.

        The second-order term has a **plus** sign (a widely copied version has a minus
        and does worse than gradient descent), and the third-order term needs
        **both** `H2g` and `T3gg`. Raise `ValueError` when exactly one of `H2g`, `T3gg`
        is given, and when they are given without `Hg`.
        """,
        solution='''
        def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):
            """One step of the truncated Taylor series of the gradient flow x' = -grad f(x)."""
            ### BEGIN SOLUTION
            if (H2g is None) != (T3gg is None):
                raise ValueError("the third-order term needs H2g and T3gg together")
            if H2g is not None and Hg is None:
                raise ValueError("a third-order step (H2g, T3gg) also needs Hg")
            step = -lr * g
            if Hg is not None:
                step = step + 0.5 * lr**2 * Hg
            if H2g is not None:
                step = step - (lr**3 / 6.0) * (H2g + T3gg)
            return x + step
            ### END SOLUTION
        ''',
        tests='''
        # Visible test 1, worked by hand for f(x) = (x1**2 + 2 x2**2) / 2 at x = (1, 1), lr = 0.1:
        #   g = (1, 2), Hg = (1, 4), H2g = (1, 8), and T3gg = 0 (f is quadratic).
        x, T3gg = np.array([1.0, 1.0]), np.zeros(2)
        g, Hg, H2g = np.array([1.0, 2.0]), np.array([1.0, 4.0]), np.array([1.0, 8.0])
        with inputs_unchanged(x=x, g=g, Hg=Hg, H2g=H2g, T3gg=T3gg):
            order1 = taylor_step(x, 0.1, g)
            order2 = taylor_step(x, 0.1, g, Hg)
            order3 = taylor_step(x, 0.1, g, Hg, H2g, T3gg)
        terms = "mind the sign and the factorial of each term of the flow's series"
        expect_close("order 1: x - lr g", order1, [0.9, 0.8], hint="order 1 is gradient descent")
        expect_close("order 2: ... + lr**2/2 Hg", order2, [0.905, 0.82], hint=terms)
        expect_close("order 3: ... - lr**3/6 (H2g + T3gg)", order3,
                     [0.905 - 0.001 / 6, 0.82 - 0.008 / 6], hint=terms)
        # Visible test 2, f = (y1**4 + y2**4) / 4 at y = (1, -1), lr = 0.1: g = y**3, Hg = 3 y**5,
        # H2g = 9 y**7, T3gg = 6 y**7; order 3 gives 1 - 0.1 + 0.015 - 0.0025 = 0.9125 in y1.
        y = np.array([1.0, -1.0])
        with inputs_unchanged(y=y):
            quartic = taylor_step(y, 0.1, y**3, 3 * y**5, 9 * y**7, 6 * y**7)
        expect_close("order 3 on the quartic", quartic, [0.9125, -0.9125],
                     hint="T3gg is not zero here: the third-order term uses H2g AND T3gg")
        rule = "order 3 needs H2g and T3gg together, and Hg as well"
        with inputs_unchanged(x=x, g=g, Hg=Hg, H2g=H2g, T3gg=T3gg):
            with expect_raises(ValueError, "H2g, no T3gg", hint=rule):
                taylor_step(x, 0.1, g, Hg, H2g=H2g)
            with expect_raises(ValueError, "order 3, no Hg", hint=rule):
                taylor_step(x, 0.1, g, H2g=H2g, T3gg=T3gg)

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import case, check_against_reference, check_raises  # noqa: E402

        rng = np.random.default_rng(2024)
        n = 5
        x, g, Hg, H2g, T3gg = (rng.standard_normal(n) for _ in range(5))
        # f(x) = sum(x**4) / 4 at x0: g = x0**3, H = 3 x0**2, H g = 3 x0**5,
        # H^2 g = 9 x0**7 and D3f[g, g] = 6 x0 * g**2 = 6 x0**7 (PITFALL 1 of the book)
        x0 = np.array([1.0, -0.8, 1.5])
        plus = "the second-order term is + lr**2 / 2 * Hg (plus sign, factor 1/2)"
        third = "the third-order term is - lr**3 / 6 * (H2g + T3gg): both, minus, 1/6"
        check_against_reference(taylor_step, "taylor_step", [
            case("order 1 is gradient descent", (x, 0.3, g)),
            case("order 2", (x, 0.3, g, Hg), hint=plus),
            case("order 2, Hg by keyword, a long step", (x, 2.0, g), {"Hg": Hg}, hint=plus),
            case("order 3", (x, 0.3, g, Hg, H2g, T3gg), hint=third),
            case("order 3, everything by keyword, a long step", (x, 2.0, g),
                 {"Hg": Hg, "H2g": H2g, "T3gg": T3gg}, hint=third),
            case("order 3 with T3gg = 0 (a quadratic)", (x, 1.5, g, Hg, H2g, np.zeros(n)),
                 hint=third),
            case("order 3 with H2g = 0", (x, 1.5, g, Hg, np.zeros(n), T3gg), hint=third),
            case("x = 0, order 3: the step itself", (np.zeros(n), 0.7, g, Hg, H2g, T3gg),
                 hint=third),
            case("lr = 0 leaves x where it is", (x, 0.0, g, Hg, H2g, T3gg)),
            case("the quartic f = sum(x**4)/4, h = 0.05, order 2",
                 (x0, 0.05, x0**3, 3 * x0**5), hint=plus),
            case("the quartic f = sum(x**4)/4, h = 0.05, order 3",
                 (x0, 0.05, x0**3, 3 * x0**5, 9 * x0**7, 6 * x0**7), hint=third),
            case("a single coordinate", (np.array([2.0]), 0.1, np.array([-1.0]),
                                         np.array([3.0]), np.array([-2.0]), np.array([5.0]))),
        ], outputs=("x_new",))
        order_rule = "raise ValueError: order 3 needs H2g and T3gg together, and Hg as well"
        check_raises(taylor_step, "taylor_step", [
            case("H2g without T3gg", (x, 0.1, g, Hg, H2g), hint=order_rule),
            case("T3gg without H2g", (x, 0.1, g, Hg), {"T3gg": T3gg}, hint=order_rule),
            case("H2g and T3gg without Hg", (x, 0.1, g), {"H2g": H2g, "T3gg": T3gg},
                 hint=order_rule),
        ], ValueError)
        ### END HIDDEN TESTS
        ''',
    )

    nb.markdown("demo_statement", r"""
        ## Your Taylor steps at work (not graded)

        The cell below follows the gradient flow of the quartic
        $f(x) = \tfrac14 (x_1^4 + x_2^4)$, whose flow is known exactly,
        $x_i(t) = x_i(0) / \sqrt{1 + 2 x_i(0)^2 t}$, with 40 steps of $h = 0.05$ of
        each order, and plots the distance to the exact flow. The last curve is the
        widely copied second-order step with the **wrong** sign, $-\tfrac{h^2}{2} H g$:
        it is worse than gradient descent (PITFALL 1 of chapter 4).
        """)

    nb.code("demo", '''
        x_start, h, n_steps = np.array([1.5, -1.0]), 0.05, 40


        def derivatives(x):
            """g, H g, H^2 g and D3f[g, g] of f(x) = sum(x**4) / 4 (H is diagonal: 3 x**2)."""
            g = x**3
            return g, 3 * x**2 * g, 9 * x**4 * g, 6 * x * g**2


        def exact_flow(t):
            return x_start / np.sqrt(1 + 2 * x_start**2 * t)


        def errors(step):
            x, out = x_start.copy(), []
            for k in range(1, n_steps + 1):
                x = step(x)
                out.append(np.linalg.norm(x - exact_flow(k * h)))
            return np.array(out)


        def order(n):
            """One step of your taylor_step of order n."""
            def step(x):
                g, Hg, H2g, T3gg = derivatives(x)
                if n == 1:
                    return taylor_step(x, h, g)
                if n == 2:
                    return taylor_step(x, h, g, Hg)
                return taylor_step(x, h, g, Hg, H2g, T3gg)
            return step


        def wrong_sign(x):
            g, Hg, _, _ = derivatives(x)
            return x - h * g - h**2 / 2 * Hg


        curves = {}
        for label, step in [("order 1 (gradient descent)", order(1)), ("order 2", order(2)),
                            ("order 3", order(3))]:
            try:
                curves[label] = errors(step)
            except NotImplementedError:
                print(f"{label}: skipped, taylor_step is not solved yet")
            except Exception as exc:  # show the problem instead of stopping the notebook
                print(f"{label}: failed with {type(exc).__name__}: {exc}")

        if curves:
            import matplotlib.pyplot as plt

            curves["order 2 with the wrong sign"] = errors(wrong_sign)
            for label, err in curves.items():
                print(f"{label:>28}: distance to the flow after {n_steps} steps = {err[-1]:.2e}")
            fig, ax = plt.subplots(figsize=(7, 4))
            for label, err in curves.items():
                ax.semilogy(np.arange(1, n_steps + 1), err, label=label,
                            linestyle="--" if "wrong" in label else "-")
            ax.set(xlabel="step", ylabel="distance to the exact flow",
                   title=r"Taylor steps of the flow of $f = (x_1^4 + x_2^4)/4$, $h = 0.05$")
            ax.legend()
            plt.show()
        else:
            print("Solve the exercise above to see your Taylor steps at work.")
        ''')
    return nb


WRONG = {
    "taylor_step": {
        "minus sign on the second-order term": (
            "def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):\n"
            "    if (H2g is None) != (T3gg is None) or (H2g is not None and Hg is None):\n"
            "        raise ValueError('orders')\n"
            "    x_new = x - lr * g\n"
            "    if Hg is not None:\n        x_new = x_new - lr**2 / 2 * Hg\n"
            "    if H2g is not None:\n        x_new = x_new - lr**3 / 6 * (H2g + T3gg)\n"
            "    return x_new"),
        "no factorials": (
            "def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):\n"
            "    if (H2g is None) != (T3gg is None) or (H2g is not None and Hg is None):\n"
            "        raise ValueError('orders')\n"
            "    x_new = x - lr * g\n"
            "    if Hg is not None:\n        x_new = x_new + lr**2 * Hg\n"
            "    if H2g is not None:\n        x_new = x_new - lr**3 * (H2g + T3gg)\n"
            "    return x_new"),
        "third order without T3gg": (
            "def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):\n"
            "    if (H2g is None) != (T3gg is None) or (H2g is not None and Hg is None):\n"
            "        raise ValueError('orders')\n"
            "    x_new = x - lr * g\n"
            "    if Hg is not None:\n        x_new = x_new + lr**2 / 2 * Hg\n"
            "    if H2g is not None:\n        x_new = x_new - lr**3 / 6 * H2g\n"
            "    return x_new"),
        "third order without H2g": (
            "def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):\n"
            "    if (H2g is None) != (T3gg is None) or (H2g is not None and Hg is None):\n"
            "        raise ValueError('orders')\n"
            "    x_new = x - lr * g\n"
            "    if Hg is not None:\n        x_new = x_new + lr**2 / 2 * Hg\n"
            "    if T3gg is not None:\n        x_new = x_new - lr**3 / 6 * T3gg\n"
            "    return x_new"),
        "plus sign on the third-order term": (
            "def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):\n"
            "    if (H2g is None) != (T3gg is None) or (H2g is not None and Hg is None):\n"
            "        raise ValueError('orders')\n"
            "    x_new = x - lr * g\n"
            "    if Hg is not None:\n        x_new = x_new + lr**2 / 2 * Hg\n"
            "    if H2g is not None:\n        x_new = x_new + lr**3 / 6 * (H2g + T3gg)\n"
            "    return x_new"),
        "a missing T3gg counts as zero": (
            "def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):\n"
            "    x_new = x - lr * g\n"
            "    if Hg is not None:\n        x_new = x_new + lr**2 / 2 * Hg\n"
            "    if H2g is not None or T3gg is not None:\n"
            "        H2g = 0 * x if H2g is None else H2g\n"
            "        T3gg = 0 * x if T3gg is None else T3gg\n"
            "        x_new = x_new - lr**3 / 6 * (H2g + T3gg)\n"
            "    return x_new"),
        "order 3 allowed without Hg": (
            "def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):\n"
            "    if (H2g is None) != (T3gg is None):\n        raise ValueError('orders')\n"
            "    x_new = x - lr * g\n"
            "    if Hg is not None:\n        x_new = x_new + lr**2 / 2 * Hg\n"
            "    if H2g is not None:\n        x_new = x_new - lr**3 / 6 * (H2g + T3gg)\n"
            "    return x_new"),
        "in place": (
            "def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):\n"
            "    if (H2g is None) != (T3gg is None) or (H2g is not None and Hg is None):\n"
            "        raise ValueError('orders')\n"
            "    x -= lr * g\n"
            "    if Hg is not None:\n        x += lr**2 / 2 * Hg\n"
            "    if H2g is not None:\n        x -= lr**3 / 6 * (H2g + T3gg)\n"
            "    return x"),
        "calls the reference": (
            "def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):\n"
            "    from taylornet.rules import taylor_step as reference\n"
            "    return reference(x, lr, g, Hg, H2g, T3gg)"),
    },
}

#: Other correct implementations; the hidden tests must accept them.
RIGHT = {
    "taylor_step": {
        "a list of terms": (
            "def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):\n"
            "    if (H2g is None) ^ (T3gg is None):\n        raise ValueError('H2g and T3gg')\n"
            "    if H2g is not None and Hg is None:\n        raise ValueError('Hg')\n"
            "    terms = [-lr * g]\n"
            "    if Hg is not None:\n        terms.append(lr * lr / 2 * Hg)\n"
            "    if H2g is not None:\n        terms.append(-(lr**3) * (H2g + T3gg) / 6)\n"
            "    return x + sum(terms)"),
    },
}


#: Catalogued wrong solutions that the visible tests let pass on purpose, with the reason
#: (tests/test_grading_visible.py); every other entry of ``WRONG`` fails a visible test.
VISIBLE_MISSES: dict[str, dict[str, str]] = {}


if __name__ == "__main__":
    sys.exit(main(build, OUTPUT, description=__doc__.splitlines()[0]))
