"""Write ``exercises/source/ps01_first_order/ps01_first_order.ipynb``.

Problem set 1: the six first-order rules of ``taylornet.rules`` (CONTRACT.md),
one exercise each. Run from anywhere::

    python exercises/tools/build_ps01.py           # (re)write the notebook
    python exercises/tools/build_ps01.py --check   # exit 1 if it is out of date

Every exercise is a locked statement, a solution cell with an independent
NumPy implementation between ``### BEGIN SOLUTION`` / ``### END SOLUTION``, and
a locked test cell: a visible example worked by hand, then hidden tests
(``### BEGIN HIDDEN TESTS``) that compare with the ``taylornet.rules``
reference through :func:`taylornet.grading.check_against_reference`.

``WRONG`` lists, per exercise, implementations that circulate and that the
hidden tests must reject; the first one of each is also autograded in the
course's round trip (``tests/test_grading_roundtrip.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from notebook_builder import NotebookBuilder, main, points_table

ASSIGNMENT = "ps01_first_order"
OUTPUT = Path(__file__).resolve().parents[1] / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

#: Points per exercise, in proportion to difficulty.
POINTS = {
    "gd_step": 1,
    "momentum_step": 2,
    "nesterov_step": 2,
    "adam_step": 3,
    "rmsprop_step": 2,
    "clip_grad_norm": 2,
}


def build() -> NotebookBuilder:
    nb = NotebookBuilder()

    nb.markdown("title", r"""
        # Problem set 1: first-order update rules

        You will implement the six first-order rules of the chapter on first-order
        methods, each as a small pure function with exactly the name and the
        signature given (the `taylornet` package uses the same ones).

        **Rules of the game**

        * Every function takes NumPy arrays (vectors; the elementwise rules should
          also accept arrays of any shape, since a weight matrix is a parameter too)
          and Python floats, and returns **new** NumPy arrays of the same shape.
        * Never modify an argument: write `x_new = x - lr * g`, not `x -= lr * g`.
        * Use NumPy only. Each function is graded against the reference in
          `taylornet.rules`; a solution that calls (or copies) that reference scores
          nothing for the exercise.
        * The test cell under each exercise checks small examples worked by hand,
          chosen to catch the usual slips (a sign, the old state instead of the new,
          a hyperparameter fixed to its default, a flattened matrix); a failure says
          which idea to look at. Hidden tests check more cases when the notebook is
          graded: tiny gradients, many step counts and hyperparameters, random 2-D
          arrays, and that your inputs are left untouched.
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

    # ------------------------------------------------------------------ 1. GD
    nb.markdown("gd_step_statement", rf"""
        ## 1. Gradient descent ({POINTS["gd_step"]} point)

        Write `gd_step(x, g, lr)` returning one step of gradient descent,

        $$x_{{k+1}} = x_k - \eta\, g_k,$$

        where `x` is the iterate $x_k$, `g` the gradient $g_k = \nabla f(x_k)$ and
        `lr` the learning rate $\eta > 0$. The step minimises the first-order model
        plus a proximity term, $f(x_k) + g_k^\top p + \tfrac{{1}}{{2\eta}}\|p\|^2$.
        """)

    nb.solution("gd_step_solution", '''
        def gd_step(x, g, lr):
            """One gradient-descent step: return x - lr * g as a new array."""
            ### BEGIN SOLUTION
            return x - lr * g
            ### END SOLUTION
        ''')

    nb.tests("gd_step_tests", '''
        # Visible test, worked by hand: x - 0.1 * g = [1 - 0.05, -2 - 0.4].
        x = np.array([1.0, -2.0])
        g = np.array([0.5, 4.0])
        # A weight matrix is a parameter too: W - 0.5 * G, entry by entry.
        W = np.array([[1.0, 2.0], [3.0, 4.0]])
        G = np.array([[2.0, 0.0], [-2.0, 4.0]])
        with inputs_unchanged(x=x, g=g, W=W, G=G):
            x_new = gd_step(x, g, 0.1)
            W_new = gd_step(W, G, 0.5)
        expect_true("gd_step returns a NumPy array", isinstance(x_new, np.ndarray),
                    hint="compute with the arrays themselves; do not build a list",
                    detail=type(x_new).__name__)
        expect_close("gd_step(x, g, lr=0.1)", x_new, [0.95, -2.4],
                     hint="one step moves against the gradient, scaled by lr")
        expect_close("gd_step(W, G, lr=0.5)", W_new, [[0.0, 2.0], [4.0, 2.0]],
                     hint="the rule is elementwise: keep the shape of x, do not flatten")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import case, check_against_reference  # noqa: E402

        rng = np.random.default_rng(101)
        x, g = rng.standard_normal(5), rng.standard_normal(5)
        check_against_reference(gd_step, "gd_step", [
            case("random vectors", (x, g, 0.3)),
            case("large gradient, small learning rate",
                 (rng.standard_normal(7), 1e3 * rng.standard_normal(7), 1e-4)),
            case("lr = 0 leaves x where it is", (x, g, 0.0)),
            case("x = 0: the step itself", (np.zeros(5), g, 0.7),
                 hint="x_new = x - lr * g: minus, and lr times g"),
            case("a weight matrix (2-D parameter)",
                 (rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), 0.05),
                 hint="the rule is elementwise: do not flatten or reshape"),
        ], outputs=("x_new",))
        ### END HIDDEN TESTS
        ''', points=POINTS["gd_step"])

    # ------------------------------------------------------------ 2. momentum
    nb.markdown("momentum_step_statement", rf"""
        ## 2. Heavy-ball momentum ({POINTS["momentum_step"]} points)

        Write `momentum_step(x, v, g, lr, beta)` returning `(x_new, v_new)` in the
        **PyTorch convention** (`torch.optim.SGD(momentum=beta)`): the velocity `v`
        accumulates gradients and the learning rate multiplies the velocity,

        $$v_{{k+1}} = \beta\, v_k + g_k, \qquad x_{{k+1}} = x_k - \eta\, v_{{k+1}}.$$

        Starting from $v_0 = 0$ this produces the same iterates as Polyak's
        $x_{{k+1}} = x_k - \eta g_k + \beta (x_k - x_{{k-1}})$. Other conventions
        circulate, such as $v_{{k+1}} = \beta v_k - \eta g_k,\ x_{{k+1}} = x_k + v_{{k+1}}$
        or the average $v_{{k+1}} = \beta v_k + (1-\beta) g_k$; they store a different
        `v` and give different results for the same inputs. Use the one above.
        """)

    nb.solution("momentum_step_solution", '''
        def momentum_step(x, v, g, lr, beta):
            """Heavy-ball momentum (PyTorch convention); return (x_new, v_new)."""
            ### BEGIN SOLUTION
            v_new = beta * v + g
            x_new = x - lr * v_new
            return x_new, v_new
            ### END SOLUTION
        ''')

    nb.tests("momentum_step_tests", '''
        # Visible test, worked by hand with lr = 0.1, beta = 0.9:
        #   v_new = 0.9 * [0.5, -1] + [1, 1] = [1.45, 0.1]
        #   x_new = [1, 2] - 0.1 * v_new     = [0.855, 1.99]
        x = np.array([1.0, 2.0])
        v = np.array([0.5, -1.0])
        g = np.array([1.0, 1.0])
        with inputs_unchanged(x=x, v=v, g=g):
            result = momentum_step(x, v, g, lr=0.1, beta=0.9)
        x_new, v_new = expect_tuple(result, 2, "momentum_step")
        expect_close("v_new", v_new, [1.45, 0.1],
                     hint="the velocity adds the whole gradient to beta * v (PyTorch convention)")
        expect_close("x_new", x_new, [0.855, 1.99],
                     hint="heavy ball steps along the NEW velocity, times lr")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import case, check_against_reference  # noqa: E402

        rng = np.random.default_rng(202)
        n = 6
        x, v, g = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(n)
        matrix = [rng.standard_normal((3, 2)) for _ in range(3)]
        check_against_reference(momentum_step, "momentum_step", [
            case("first step from v = 0", (x, np.zeros(n), g, 0.1, 0.9),
                 hint="v_new = beta * v + g, with no (1 - beta) factor"),
            case("nonzero velocity", (x, v, g, 0.05, 0.9),
                 hint="PyTorch convention: v_new = beta * v + g, then x_new = x - lr * v_new"),
            case("x = 0: the step itself", (np.zeros(n), v, g, 0.3, 0.5)),
            case("beta = 0 is gradient descent", (x, v, g, 0.1, 0.0)),
            case("beta = 0.99, tiny gradient", (x, 10.0 * v, 1e-6 * g, 0.01, 0.99)),
            case("a weight matrix (2-D parameter)", (*matrix, 0.1, 0.8)),
        ], outputs=("x_new", "v_new"))
        ### END HIDDEN TESTS
        ''', points=POINTS["momentum_step"])

    # ------------------------------------------------------------ 3. Nesterov
    nb.markdown("nesterov_step_statement", rf"""
        ## 3. Nesterov momentum ({POINTS["nesterov_step"]} points)

        Write `nesterov_step(x, v, g, lr, beta)` returning `(x_new, v_new)` in the
        PyTorch convention (`torch.optim.SGD(momentum=beta, nesterov=True)`):

        $$v_{{k+1}} = \beta\, v_k + g_k, \qquad
          x_{{k+1}} = x_k - \eta\,\bigl(g_k + \beta\, v_{{k+1}}\bigr).$$

        This is Sutskever et al.'s look-ahead step rewritten so that the gradient is
        taken at the stored iterate. The velocity is updated exactly as for heavy
        ball; only the step differs: it uses the gradient plus $\beta$ times the
        **new** velocity.
        """)

    nb.solution("nesterov_step_solution", '''
        def nesterov_step(x, v, g, lr, beta):
            """Nesterov momentum (PyTorch convention); return (x_new, v_new)."""
            ### BEGIN SOLUTION
            v_new = beta * v + g
            x_new = x - lr * (g + beta * v_new)
            return x_new, v_new
            ### END SOLUTION
        ''')

    nb.tests("nesterov_step_tests", '''
        # Visible test, worked by hand with lr = 0.1, beta = 0.9 (same inputs as for momentum):
        #   v_new = [1.45, 0.1]
        #   x_new = x - 0.1 * (g + 0.9 * v_new) = [1 - 0.2305, 2 - 0.109] = [0.7695, 1.891]
        x = np.array([1.0, 2.0])
        v = np.array([0.5, -1.0])
        g = np.array([1.0, 1.0])
        with inputs_unchanged(x=x, v=v, g=g):
            result = nesterov_step(x, v, g, lr=0.1, beta=0.9)
        x_new, v_new = expect_tuple(result, 2, "nesterov_step",
                                    hint="return the new iterate and the new velocity")
        expect_close("v_new", v_new, [1.45, 0.1],
                     hint="the velocity is updated exactly as for heavy ball")
        expect_close("x_new", x_new, [0.7695, 1.891],
                     hint="the step is the gradient plus beta times the NEW velocity")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import case, check_against_reference  # noqa: E402

        rng = np.random.default_rng(303)
        n = 6
        x, v, g = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(n)
        matrix = [rng.standard_normal((2, 3)) for _ in range(3)]
        check_against_reference(nesterov_step, "nesterov_step", [
            case("first step from v = 0", (x, np.zeros(n), g, 0.1, 0.9),
                 hint="from v = 0 the step is lr * (1 + beta) * g"),
            case("nonzero velocity", (x, v, g, 0.05, 0.9),
                 hint="x_new = x - lr * (g + beta * v_new), with the NEW velocity"),
            case("x = 0: the step itself", (np.zeros(n), v, g, 0.3, 0.5),
                 hint="x_new = x - lr * (g + beta * v_new), with the NEW velocity"),
            case("beta = 0 is gradient descent", (x, v, g, 0.1, 0.0)),
            case("beta = 0.99, tiny gradient", (x, 10.0 * v, 1e-6 * g, 0.01, 0.99)),
            case("a weight matrix (2-D parameter)", (*matrix, 0.1, 0.8)),
        ], outputs=("x_new", "v_new"))
        ### END HIDDEN TESTS
        ''', points=POINTS["nesterov_step"])

    # ---------------------------------------------------------------- 4. Adam
    nb.markdown("adam_step_statement", rf"""
        ## 4. Adam ({POINTS["adam_step"]} points)

        Write `adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8)`
        returning `(x_new, m_new, v_new)`: one step of Adam (Kingma & Ba 2015,
        Algorithm 1) in the `torch.optim.Adam` convention,

        $$m_t = \beta_1 m_{{t-1}} + (1-\beta_1)\, g, \qquad
          v_t = \beta_2 v_{{t-1}} + (1-\beta_2)\, g^2,$$

        $$\hat m_t = \frac{{m_t}}{{1-\beta_1^{{\,t}}}}, \qquad
          \hat v_t = \frac{{v_t}}{{1-\beta_2^{{\,t}}}}, \qquad
          x_t = x_{{t-1}} - \eta\, \frac{{\hat m_t}}{{\sqrt{{\hat v_t}} + \epsilon}},$$

        with squares, square roots and divisions taken entrywise.

        * `t >= 1` is **this step's** count: 1 on the first call, 2 on the second, and
          so on. The bias correction $1-\beta^t$ undoes the start $m_0 = v_0 = 0$
          after exactly $t$ averages. Correcting with the total number of iterations
          you plan to run (a bug in circulation) all but removes the correction:
          in a long run with the default betas the early steps come out about 3
          times too large at $t = 1$ and 6.6 times at $t = 12$.
        * `eps` is added **outside** the square root, to $\sqrt{{\hat v_t}}$: not to
          $\hat v_t$ under the root, and not to $\sqrt{{v_t}}$ before the correction.
        * `m_new` and `v_new` are the uncorrected averages $m_t$ and $v_t$: they are
          the state passed to the next call.
        """)

    nb.solution("adam_step_solution", '''
        def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
            """One Adam step (torch.optim.Adam convention); return (x_new, m_new, v_new)."""
            ### BEGIN SOLUTION
            m_new = beta1 * m + (1 - beta1) * g
            v_new = beta2 * v + (1 - beta2) * g * g
            m_hat = m_new / (1 - beta1**t)
            v_hat = v_new / (1 - beta2**t)
            x_new = x - lr * m_hat / (np.sqrt(v_hat) + eps)
            return x_new, m_new, v_new
            ### END SOLUTION
        ''')

    nb.tests("adam_step_tests", '''
        # Visible test 1, worked by hand: from m = v = 0 at t = 1 the bias correction gives
        # m_hat = g and v_hat = g**2, so the first step is lr * g / (|g| + eps), about lr * sign(g).
        x, g, zeros = np.array([1.0, 1.0]), np.array([2.0, -0.5]), np.zeros(2)
        with inputs_unchanged(x=x, m=zeros, v=zeros, g=g):
            result = adam_step(x, zeros, zeros, g, t=1, lr=0.1)
            # the same with beta1 = 0.5, beta2 = 0.75, eps = 1: a step lr * g / (|g| + 1)
            other = adam_step(x, zeros, zeros, g, 1, 0.1, beta1=0.5, beta2=0.75, eps=1.0)
        x_new, m_new, v_new = expect_tuple(result, 3, "adam_step")
        moments = "m_new and v_new are the averages before the bias correction"
        expect_close("m_new", m_new, [0.2, -0.05], hint=moments)        # (1 - 0.9) * g
        expect_close("v_new", v_new, [0.004, 0.00025], hint=moments)    # (1 - 0.999) * g**2
        step = np.array([0.1 * 2.0 / (2.0 + 1e-8), -0.1 * 0.5 / (0.5 + 1e-8)])
        expect_close("x_new", x_new, x - step,
                     hint="correct m and v with 1 - beta**t, then add eps to sqrt(v_hat)")
        x_new, m_new, v_new = expect_tuple(other, 3, "adam_step")
        keywords = "use the beta1, beta2 and eps arguments, not fixed numbers"
        expect_close("m_new, beta1 = 0.5", m_new, [1.0, -0.25], hint=keywords)
        expect_close("v_new, beta2 = 0.75", v_new, [1.0, 0.0625], hint=keywords)
        expect_close("x_new, eps = 1", x_new, [1 - 0.2 / 3, 1 + 0.05 / 1.5], hint=keywords)

        # Visible test 2: a constant g keeps m_hat = g, v_hat = g**2: each t moves x by `step`.
        x, m, v = np.zeros(2), np.zeros(2), np.zeros(2)
        for t in (1, 2, 3):
            with inputs_unchanged(x=x, m=m, v=v, g=g):
                x, m, v = expect_tuple(adam_step(x, m, v, g, t, lr=0.1), 3, "adam_step")
            expect_close(f"x after the step with t = {t}", x, -t * step,
                         hint="bias-correct with 1 - beta**t, t being THIS call's step count")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import case, check_against_reference  # noqa: E402

        rng = np.random.default_rng(404)
        n = 6
        x, g = rng.standard_normal(n), rng.standard_normal(n)
        m, v = 0.1 * rng.standard_normal(n), 0.01 * rng.random(n)
        zeros = np.zeros(n)
        tiny = 1e-9 * rng.standard_normal(n)
        mixed = g * 10.0 ** rng.uniform(-8, 1, n)
        mixed[2] = 0.0
        matrix = rng.standard_normal((3, 3))
        bias = "bias-correct with 1 - beta**t, where t is THIS call's step count"
        eps_hint = "add eps outside the square root, after the bias correction: sqrt(v_hat) + eps"
        check_against_reference(adam_step, "adam_step", [
            case("first step, t = 1, from m = v = 0", (x, zeros, zeros, g, 1, 1e-3), hint=bias),
            case("x = 0, t = 1: the step itself", (zeros, zeros, zeros, g, 1, 0.1), hint=bias),
            case("t = 2, with state", (zeros, m, v, g, 2, 1e-2), hint=bias),
            case("t = 10, with state", (x, m, v, g, 10, 1e-2), hint=bias),
            case("t = 1000: correction almost 1", (zeros, m, v, g, 1000, 1e-3)),
            case("tiny gradients (|g| ~ 1e-9), t = 1", (zeros, zeros, zeros, tiny, 1, 1e-3),
                 hint=eps_hint),
            case("tiny gradients with state, t = 3", (zeros, 1e-9 * m, 1e-18 * v, tiny, 3, 1e-3),
                 hint=eps_hint),
            case("gradients over 9 orders of magnitude, one exactly 0",
                 (x, zeros, zeros, mixed, 1, 1e-2),
                 hint="a zero gradient gives a zero step (0 / (0 + eps)), not NaN"),
            case("beta1, beta2, eps given by keyword", (zeros, m, v, g, 5, 1e-2),
                 {"beta1": 0.5, "beta2": 0.9, "eps": 1e-3},
                 hint="use the beta1, beta2 and eps arguments, not fixed numbers"),
            case("a weight matrix (2-D parameter), t = 4",
                 (matrix, 0.1 * matrix, 0.01 * matrix**2, matrix[::-1].copy(), 4, 1e-2)),
        ], outputs=("x_new", "m_new", "v_new"))
        ### END HIDDEN TESTS
        ''', points=POINTS["adam_step"])

    # ------------------------------------------------------------- 5. RMSProp
    nb.markdown("rmsprop_step_statement", rf"""
        ## 5. RMSProp ({POINTS["rmsprop_step"]} points)

        Write `rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8)` returning
        `(x_new, s_new)`: RMSProp (Tieleman & Hinton 2012) in the
        `torch.optim.RMSprop` convention (no centring, no momentum),

        $$s_{{k+1}} = \alpha\, s_k + (1-\alpha)\, g_k^2, \qquad
          x_{{k+1}} = x_k - \eta\, \frac{{g_k}}{{\sqrt{{s_{{k+1}}}} + \epsilon}}.$$

        The step divides by the **new** average $s_{{k+1}}$, `eps` goes **outside**
        the square root, and there is no bias correction: from $s_0 = 0$ the first
        step has size about $\eta / \sqrt{{1-\alpha}}$, ten times `lr` for the default
        $\alpha = 0.99$.
        """)

    nb.solution("rmsprop_step_solution", '''
        def rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8):
            """One RMSProp step (torch.optim.RMSprop convention); return (x_new, s_new)."""
            ### BEGIN SOLUTION
            s_new = alpha * s + (1 - alpha) * g * g
            x_new = x - lr * g / (np.sqrt(s_new) + eps)
            return x_new, s_new
            ### END SOLUTION
        ''')

    nb.tests("rmsprop_step_tests", '''
        # Visible test, worked by hand with lr = 0.01 and the default alpha = 0.99, from s = 0:
        #   s_new = 0.01 * g**2 = [0.04, 0.0025], so sqrt(s_new) = [0.2, 0.05]
        #   x_new = x - 0.01 * g / (sqrt(s_new) + eps), about x - 0.1 * sign(g)
        x = np.array([1.0, 1.0])
        s = np.zeros(2)
        g = np.array([2.0, -0.5])
        with inputs_unchanged(x=x, s=s, g=g):
            result = rmsprop_step(x, s, g, lr=0.01)
        x_new, s_new = expect_tuple(result, 2, "rmsprop_step")
        expect_close("s_new", s_new, [0.04, 0.0025],
                     hint="s_new averages the squared gradient, weights alpha and 1 - alpha")
        step = np.array([0.01 * 2.0 / (0.2 + 1e-8), -0.01 * 0.5 / (0.05 + 1e-8)])
        expect_close("x_new", x_new, x - step,
                     hint="divide by sqrt(s_new) + eps: the NEW average, eps outside the root")
        # With alpha = 0.75: s_new = 0.25 * g**2 = [1, 0.0625], sqrt(s_new) = |g| / 2, so the
        # step is about 2 * lr * sign(g).
        with inputs_unchanged(x=x, s=s, g=g):
            result = rmsprop_step(x, s, g, lr=0.01, alpha=0.75)
        x_new, s_new = expect_tuple(result, 2, "rmsprop_step")
        expect_close("s_new with alpha = 0.75", s_new, [1.0, 0.0625],
                     hint="use the alpha argument, not a fixed number")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import case, check_against_reference  # noqa: E402

        rng = np.random.default_rng(505)
        n = 6
        x, g = rng.standard_normal(n), rng.standard_normal(n)
        s = 0.5 * rng.random(n)
        zeros = np.zeros(n)
        tiny = 1e-9 * rng.standard_normal(n)
        mixed = g * 10.0 ** rng.uniform(-8, 1, n)
        mixed[4] = 0.0
        matrix = rng.standard_normal((2, 4))
        eps_hint = "add eps outside the square root: sqrt(s_new) + eps"
        check_against_reference(rmsprop_step, "rmsprop_step", [
            case("first step from s = 0", (x, zeros, g, 1e-2),
                 hint="s_new = alpha * s + (1 - alpha) * g**2, with no bias correction"),
            case("with state", (x, s, g, 1e-2),
                 hint="divide by the square root of the NEW average s_new"),
            case("x = 0: the step itself", (zeros, s, g, 0.1),
                 hint="divide by the square root of the NEW average s_new"),
            case("tiny gradients (|g| ~ 1e-9) from s = 0", (zeros, zeros, tiny, 1e-3),
                 hint=eps_hint),
            case("tiny gradients with tiny state", (zeros, 1e-18 * s, tiny, 1e-3), hint=eps_hint),
            case("gradients over 9 orders of magnitude, one exactly 0",
                 (x, zeros, mixed, 1e-2),
                 hint="a zero gradient gives a zero step (0 / (0 + eps)), not NaN"),
            case("alpha and eps given by keyword", (zeros, s, g, 1e-2), {"alpha": 0.9, "eps": 1e-4},
                 hint="use the alpha and eps arguments, not fixed numbers"),
            case("a weight matrix (2-D parameter)", (matrix, matrix**2, matrix[::-1].copy(), 1e-2)),
        ], outputs=("x_new", "s_new"))
        ### END HIDDEN TESTS
        ''', points=POINTS["rmsprop_step"])

    # ------------------------------------------------------------- 6. clipping
    nb.markdown("clip_grad_norm_statement", rf"""
        ## 6. Gradient clipping by norm ({POINTS["clip_grad_norm"]} points)

        Write `clip_grad_norm(g, max_norm)` returning the vector `g` rescaled so that
        its Euclidean norm is at most $\tau$ = `max_norm` (Pascanu et al. 2013):

        $$\operatorname{{clip}}_\tau(g) = g\, \min\!\Bigl(1, \frac{{\tau}}{{\|g\|_2}}\Bigr).$$

        * Inside the ball ($\|g\|_2 \le \tau$) the gradient is returned unchanged:
          never scale a small gradient **up**.
        * Outside, the result points the same way as `g` and has norm **exactly**
          `max_norm` (`torch.nn.utils.clip_grad_norm_` divides by $\|g\|_2 + 10^{{-6}}$
          instead; do not).
        * A zero gradient gives a zero vector, with no division by zero and no NaN.

        Here `g` is a 1-D vector and `max_norm > 0`.
        """)

    nb.solution("clip_grad_norm_solution", '''
        def clip_grad_norm(g, max_norm):
            """Rescale g so that its 2-norm is at most max_norm; return a new array."""
            ### BEGIN SOLUTION
            norm = np.sqrt(np.sum(g * g))
            if norm <= max_norm:
                return g.copy()
            return g * (max_norm / norm)
            ### END SOLUTION
        ''')

    nb.tests("clip_grad_norm_tests", '''
        # Visible test, worked by hand: g = [3, 4] has norm 5.
        g, zero = np.array([3.0, 4.0]), np.zeros(3)
        with inputs_unchanged(g=g, zero=zero):
            inside = clip_grad_norm(g, 10.0)
            outside = clip_grad_norm(g, 1.0)
            at_zero = clip_grad_norm(zero, 1.0)
        expect_close("clip_grad_norm([3, 4], max_norm=10)", inside, [3.0, 4.0],
                     hint="inside the ball return g unchanged: never scale a gradient up")
        expect_close("clip_grad_norm([3, 4], max_norm=1)", outside, [0.6, 0.8],
                     hint="outside, keep the direction and make the 2-norm exactly max_norm")
        expect_close("clip_grad_norm(zeros, max_norm=1)", at_zero, [0.0, 0.0, 0.0],
                     hint="the zero vector is inside every ball: no division by its norm")

        ### BEGIN HIDDEN TESTS
        from taylornet.grading import case, check_against_reference  # noqa: E402

        rng = np.random.default_rng(606)
        g = rng.standard_normal(8)
        norm = float(np.sqrt(np.sum(g * g)))
        never_up = "inside the ball return g unchanged: never scale a gradient up"
        exact = "outside the ball, scale by max_norm / ||g|| exactly (no + 1e-6, no np.clip)"
        check_against_reference(clip_grad_norm, "clip_grad_norm", [
            case("inside the ball", (g, 2.0 * norm), hint=never_up),
            case("exactly on the sphere", (np.array([3.0, 4.0]), 5.0), hint=never_up),
            case("outside the ball", (g, 0.5 * norm), hint=exact),
            case("far outside: a huge gradient", (1e6 * g, 1.0), hint=exact),
            case("a small threshold", (g, 1e-3), hint=exact),
            case("one large entry among small ones", (np.array([1e-3, -50.0, 2e-3]), 1.0),
                 hint=exact),
            case("an integer max_norm", (10.0 * g, 3), hint=exact),
            case("the zero gradient", (np.zeros(5), 1.0),
                 hint="a zero gradient is inside every ball: return zeros, not NaN"),
            case("a single coordinate", (np.array([-7.0]), 2.0), hint=exact),
        ], outputs=("clipped g",))
        ### END HIDDEN TESTS
        ''', points=POINTS["clip_grad_norm"])

    # -------------------------------------------------------------- the demo
    nb.markdown("demo_statement", r"""
        ## Your optimizers at work (not graded)

        The cell below runs your functions for 60 steps on the ill-conditioned
        quadratic $f(x) = \tfrac12 (x_1^2 + 25\, x_2^2)$ (condition number 25) from
        $x_0 = (-4.5, 1.5)$ and plots the trajectories. Gradient descent must keep
        $\eta < 2/25$ and crawls along $x_1$. Momentum and Nesterov end far closer to
        the minimum, and so does RMSProp, whose per-coordinate scaling undoes the
        conditioning. Adam ends *behind* gradient descent here: its steps stay
        about $\eta$ long in every coordinate and its momentum ($\beta_1 = 0.9$)
        carries it past the minimum, around which it circles back slowly. It is
        built for noisy gradients; on this clean quadratic, with a constant $\eta$,
        it stays behind. The cell skips the methods whose exercise is not solved
        yet.
        """)

    nb.code("demo", '''
        import matplotlib.pyplot as plt

        curvatures = np.array([1.0, 25.0])    # the Hessian is diag(1, 25)


        def f(x):
            return 0.5 * np.sum(curvatures * x**2)


        def trajectory(method, n_steps=60):
            """Iterates x_0, ..., x_n of one method from x_0 = (-4.5, 1.5), by your functions."""
            x, m, v = np.array([-4.5, 1.5]), np.zeros(2), np.zeros(2)
            path = [x]
            for t in range(1, n_steps + 1):
                g = curvatures * x
                if method == "gradient descent":
                    x = gd_step(x, g, lr=0.075)
                elif method == "gradient descent, clipped to norm 5":
                    x = gd_step(x, clip_grad_norm(g, 5.0), lr=0.075)
                elif method == "momentum":
                    x, v = momentum_step(x, v, g, lr=0.02, beta=0.8)
                elif method == "Nesterov":
                    x, v = nesterov_step(x, v, g, lr=0.02, beta=0.8)
                elif method == "RMSProp":
                    x, v = rmsprop_step(x, v, g, lr=0.1)
                elif method == "Adam":
                    x, m, v = adam_step(x, m, v, g, t, lr=0.2)
                path.append(x)
            return np.array(path)


        paths = {}
        for method in ["gradient descent", "gradient descent, clipped to norm 5", "momentum",
                       "Nesterov", "RMSProp", "Adam"]:
            try:
                paths[method] = trajectory(method)
            except NotImplementedError:
                print(f"{method}: skipped, an exercise it needs is not solved yet")
            except Exception as exc:  # show the problem instead of stopping the notebook
                print(f"{method}: failed with {type(exc).__name__}: {exc}")

        if paths:
            for method, path in paths.items():
                print(f"{method:>38}: f(x_60) = {f(path[-1]):.2e}")
            u, w = np.meshgrid(np.linspace(-5, 5, 201), np.linspace(-2, 2, 161))
            fig, ax = plt.subplots(figsize=(8, 4))
            ax.contour(u, w, 0.5 * (u**2 + 25 * w**2), levels=np.geomspace(0.01, 60, 14),
                       colors="0.8", linewidths=0.8)
            for method, path in paths.items():
                ax.plot(path[:, 0], path[:, 1], ".-", markersize=3, linewidth=1, label=method)
            ax.plot(0, 0, "k*", markersize=10)
            ax.set(xlabel="$x_1$", ylabel="$x_2$", xlim=(-5, 5), ylim=(-2, 2),
                   title="60 steps on $f(x) = (x_1^2 + 25 x_2^2)/2$")
            ax.legend(fontsize=8, loc="lower right")
            plt.show()
        else:
            print("Solve the exercises above to see your optimizers at work.")
        ''')
    return nb


#: Wrong implementations that circulate; the hidden tests of each exercise must reject each.
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


#: Catalogued wrong solutions that the visible tests let pass on purpose, with the reason
#: (tests/test_grading_visible.py); every other entry of ``WRONG`` fails a visible test.
VISIBLE_MISSES: dict[str, dict[str, str]] = {}


if __name__ == "__main__":
    sys.exit(main(build, OUTPUT, description=__doc__.splitlines()[0]))
