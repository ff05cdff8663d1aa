"""taylornet.minimize vs scipy.optimize.minimize, side by side in one run.

Same problems, same starting points, same derivatives (analytic, NumPy), and
as far as scipy allows the same stopping test ``||grad||_inf <= 1e-6``:

* BFGS and CG: scipy's ``gtol`` with ``norm=inf`` is exactly our test.
* L-BFGS-B: ``pgtol`` is the projected-gradient inf-norm (the same test when
  unconstrained); ``ftol=0`` so it does not stop on relative decrease.
* Newton-CG: scipy stops on the step size (``xtol``) only (see the book's
  Common mistakes appendix); its final ``||g||_inf`` is reported as it is.
* trust-ncg / dogleg: scipy's ``gtol`` tests the 2-norm, which is stricter.

Run:  .venv/bin/python benchmarks/solvers.py [--repeat 3] [--problems mgh21 beale]
      [--methods lbfgs bfgs]   (a short run: a few problems or methods)
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import scipy
import scipy.optimize as so

import taylornet
from taylornet.problems import beale, logistic_regression, rosenbrock_chained, rosenbrock_mgh21

GTOL = 1e-6

# (taylornet method, scipy method, scipy options)
PAIRS = {
    "lbfgs": ("L-BFGS-B", {"gtol": GTOL, "ftol": 0.0, "maxiter": 20000, "maxcor": 10}),
    "bfgs": ("BFGS", {"gtol": GTOL, "norm": np.inf, "maxiter": 20000}),
    "cg": ("CG", {"gtol": GTOL, "norm": np.inf, "maxiter": 20000}),
    "newton-cg": ("Newton-CG", {"maxiter": 20000}),
    "trust-ncg": ("trust-ncg", {"gtol": GTOL, "maxiter": 20000}),
}


def problems():
    return [
        rosenbrock_chained(2),
        beale(),
        rosenbrock_mgh21(100),
        rosenbrock_mgh21(1000),
        logistic_regression(n_samples=1000, n_features=50, seed=0),
    ]


def best_time(fn, repeat):
    """Best of ``repeat`` runs; a run longer than 1 s is not repeated."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        if best > 1.0:
            break
    return best, out


def run_pair(problem, ours, repeat):
    theirs, opts = PAIRS[ours]
    t_ours, r_ours = best_time(lambda: taylornet.minimize(
        problem.fun, problem.x0, ours, jac=problem.grad, hess=problem.hess,
        hessp=problem.hessp, gtol=GTOL, max_iter=20000), repeat)
    kw = {"jac": problem.grad}
    if theirs in ("Newton-CG", "trust-ncg"):
        kw["hessp"] = problem.hessp
    t_sp, r_sp = best_time(lambda: so.minimize(problem.fun, problem.x0, method=theirs,
                                               options=opts, **kw), repeat)
    g_sp = float(np.max(np.abs(problem.grad(r_sp.x))))
    rows = []
    for impl, r, t, g in (("taylornet", r_ours, t_ours, float(np.max(np.abs(r_ours.grad)))),
                          ("scipy", r_sp, t_sp, g_sp)):
        rows.append(dict(problem=problem.name, method=ours if impl == "taylornet" else theirs,
                         impl=impl, nit=int(r.nit), nfev=int(r.nfev),
                         ngev=int(getattr(r, "ngev", getattr(r, "njev", 0))),
                         nhev=int(getattr(r, "nhev", 0)), time=t, gnorm=g,
                         ok=g <= GTOL))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings")
    parser.add_argument("--problems", nargs="+", metavar="NAME",
                        help="only problems whose name contains one of these (e.g. beale mgh21)")
    parser.add_argument("--methods", nargs="+", choices=list(PAIRS),
                        help="only these taylornet methods (with their scipy pairs)")
    args = parser.parse_args()
    chosen = [p for p in problems()
              if not args.problems or any(word in p.name for word in args.problems)]
    if not chosen:
        parser.error(f"no problem matches {args.problems}")
    print(f"# machine: {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, NumPy {np.__version__}, "
          f"SciPy {scipy.__version__}, taylornet {taylornet.__version__}")
    header = ("| problem | method | impl | nit | nfev | ngev | nhev | time [ms] | "
              "ms/iter | final ‖g‖∞ | ≤1e-6 | nfev ratio | time ratio |")
    print(header)
    print("|" + "---|" * 13)
    for problem in chosen:
        for ours in args.methods or PAIRS:
            a, b = run_pair(problem, ours, args.repeat)
            for row in (a, b):
                ratio_f = ratio_t = ""
                if row is a:
                    ratio_f = f"{a['nfev'] / max(b['nfev'], 1):.2f}"
                    ratio_t = f"{a['time'] / b['time']:.2f}"
                print(f"| {row['problem']} | {row['method']} | {row['impl']} | {row['nit']} | "
                      f"{row['nfev']} | {row['ngev']} | {row['nhev']} | "
                      f"{1e3 * row['time']:.1f} | {1e3 * row['time'] / max(row['nit'], 1):.3f} | "
                      f"{row['gnorm']:.1e} | {'yes' if row['ok'] else 'NO'} | "
                      f"{ratio_f} | {ratio_t} |")


if __name__ == "__main__":
    main()
