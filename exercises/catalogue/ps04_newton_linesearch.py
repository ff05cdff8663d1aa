"""Problem set 4: Newton directions and line searches.

The catalogue of ``problems/ps04_newton_linesearch.md``: implementations its tests must
reject (``@wrong``) or accept (``@right``); ``__init__.py`` says how they are used.
Each one runs in the notebook's namespace: it may use what the set-up cell imports,
nothing else of this module.
"""

import numpy as np

from taylornet.errors import LineSearchError

from . import right, wrong

#: The entries of WRONG that the visible tests let through on purpose, with the reason
#: (tests/test_grading_visible.py): none, every catalogued slip fails a visible test.
VISIBLE_MISSES: dict[str, dict[str, str]] = {}


# ---------------------------------------------------------------------------- newton_direction
@wrong("newton_direction", "solves H p = g (no minus)")
def newton_direction(g, H):
    return np.linalg.solve(H, g)


@wrong("newton_direction", "divides by the diagonal")
def newton_direction(g, H):
    return -g / np.diag(H)


@wrong("newton_direction", "least squares hides a singular H")
def newton_direction(g, H):
    return np.linalg.lstsq(H, -g, rcond=None)[0]


@wrong("newton_direction", "the transpose of the solve")
def newton_direction(g, H):
    return -np.linalg.solve(H.T @ H, g)


@wrong("newton_direction", "calls the reference")
def newton_direction(g, H):
    import taylornet
    return taylornet.rules.newton_direction(g, H)


@right("newton_direction", "minus the solve")
def newton_direction(g, H):
    return -np.linalg.solve(H, g)


# --------------------------------------------------------------------- damped_newton_direction
@wrong("damped_newton_direction", "damping added to every entry")
def damped_newton_direction(g, H, damping):
    if damping < 0:
        raise ValueError('damping')
    return np.linalg.solve(H + damping, -g)


@wrong("damped_newton_direction", "damping multiplies H")
def damped_newton_direction(g, H, damping):
    if damping < 0:
        raise ValueError('damping')
    return np.linalg.solve((1 + damping) * H, -g)


@wrong("damped_newton_direction", "modifies H in place")
def damped_newton_direction(g, H, damping):
    if damping < 0:
        raise ValueError('damping')
    H[np.diag_indices_from(H)] += damping
    return np.linalg.solve(H, -g)


@wrong("damped_newton_direction", "accepts a negative damping")
def damped_newton_direction(g, H, damping):
    return np.linalg.solve(H + damping * np.eye(len(g)), -g)


@wrong("damped_newton_direction", "calls the reference")
def damped_newton_direction(g, H, damping):
    from taylornet.rules import damped_newton_direction as d
    return d(g, H, damping)


@right("damped_newton_direction", "np.identity and a copy")
def damped_newton_direction(g, H, damping):
    if damping < 0:
        raise ValueError('negative damping')
    A = H.copy()
    A += damping * np.identity(len(g))
    return -np.linalg.solve(A, g)


# ------------------------------------------------------------------------- armijo_backtracking
@wrong("armijo_backtracking", "one trial step short (range(max_iter))")
def armijo_backtracking(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
    s = g @ p
    if s >= 0:
        raise ValueError('ascent')
    for k in range(max_iter):
        a = alpha0 * rho**k
        if f(x + a * p) <= fx + c1 * a * s:
            return a
    raise LineSearchError('none')


@wrong("armijo_backtracking", "a while loop accepts NaN")
def armijo_backtracking(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
    s = g @ p
    if s >= 0:
        raise ValueError('ascent')
    a, k = alpha0, 0
    while f(x + a * p) > fx + c1 * a * s:
        a, k = a * rho, k + 1
        if k > max_iter:
            raise LineSearchError('none')
    return a


@wrong("armijo_backtracking", "no c1 * alpha in the test")
def armijo_backtracking(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
    s = g @ p
    if s >= 0:
        raise ValueError('ascent')
    for k in range(max_iter + 1):
        a = alpha0 * rho**k
        if f(x + a * p) <= fx + c1 * s:
            return a
    raise LineSearchError('none')


@wrong("armijo_backtracking", "evaluates f(x) again")
def armijo_backtracking(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
    s = g @ p
    if s >= 0:
        raise ValueError('ascent')
    f0 = f(x)
    for k in range(max_iter + 1):
        a = alpha0 * rho**k
        if f(x + a * p) <= f0 + c1 * a * s:
            return a
    raise LineSearchError('none')


@wrong("armijo_backtracking", "returns the last step on failure")
def armijo_backtracking(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
    s = g @ p
    if s >= 0:
        raise ValueError('ascent')
    for k in range(max_iter + 1):
        a = alpha0 * rho**k
        if f(x + a * p) <= fx + c1 * a * s:
            return a
    return a


@wrong("armijo_backtracking", "RuntimeError instead of LineSearchError")
def armijo_backtracking(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
    s = g @ p
    if s >= 0:
        raise ValueError('ascent')
    for k in range(max_iter + 1):
        a = alpha0 * rho**k
        if f(x + a * p) <= fx + c1 * a * s:
            return a
    raise RuntimeError('none')


@wrong("armijo_backtracking", "accepts g.p = 0")
def armijo_backtracking(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
    s = g @ p
    if s > 0:
        raise ValueError('ascent')
    for k in range(max_iter + 1):
        a = alpha0 * rho**k
        if f(x + a * p) <= fx + c1 * a * s:
            return a
    raise LineSearchError('none')


@wrong("armijo_backtracking", "no check of the direction")
def armijo_backtracking(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
    s = g @ p
    for k in range(max_iter + 1):
        a = alpha0 * rho**k
        if f(x + a * p) <= fx + c1 * a * s:
            return a
    raise LineSearchError('none')


@wrong("armijo_backtracking", "calls the reference")
def armijo_backtracking(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
    from taylornet.rules import armijo_backtracking as a
    return a(f, x, fx, g, p, alpha0, c1, rho, max_iter)


@right("armijo_backtracking", "a while loop that multiplies alpha by rho")
def armijo_backtracking(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
    slope = np.dot(g, p)
    if not slope < 0:
        raise ValueError('not a descent direction')
    alpha, k = alpha0, 0
    while not f(x + alpha * p) <= fx + c1 * alpha * slope:
        if k == max_iter:
            raise LineSearchError('no step')
        alpha, k = alpha * rho, k + 1
    return alpha


# ---------------------------------------------------------------------------- wolfe_conditions
@wrong("wolfe_conditions", "weak curvature condition")
def wolfe_conditions(f, grad, x, p, alpha, c1=1e-4, c2=0.9):
    s0, s = grad(x) @ p, grad(x + alpha * p) @ p
    return (bool(f(x + alpha * p) <= f(x) + c1 * alpha * s0), bool(s >= c2 * s0))


@wrong("wolfe_conditions", "curvature without absolute values")
def wolfe_conditions(f, grad, x, p, alpha, c1=1e-4, c2=0.9):
    s0, s = grad(x) @ p, grad(x + alpha * p) @ p
    return (bool(f(x + alpha * p) <= f(x) + c1 * alpha * s0), bool(s <= c2 * s0))


@wrong("wolfe_conditions", "gradient norms instead of slopes")
def wolfe_conditions(f, grad, x, p, alpha, c1=1e-4, c2=0.9):
    s0 = grad(x) @ p
    gn = grad(x + alpha * p)
    ok = np.linalg.norm(gn) <= c2 * np.linalg.norm(grad(x))
    return (bool(f(x + alpha * p) <= f(x) + c1 * alpha * s0), bool(ok))


@wrong("wolfe_conditions", "decrease without alpha")
def wolfe_conditions(f, grad, x, p, alpha, c1=1e-4, c2=0.9):
    s0, s = grad(x) @ p, grad(x + alpha * p) @ p
    return (bool(f(x + alpha * p) <= f(x) + c1 * s0), bool(abs(s) <= c2 * abs(s0)))


@wrong("wolfe_conditions", "c1 and c2 swapped")
def wolfe_conditions(f, grad, x, p, alpha, c1=1e-4, c2=0.9):
    s0, s = grad(x) @ p, grad(x + alpha * p) @ p
    return (bool(f(x + alpha * p) <= f(x) + c2 * alpha * s0),
            bool(abs(s) <= c1 * abs(s0)))


@wrong("wolfe_conditions", "returns NumPy arrays")
def wolfe_conditions(f, grad, x, p, alpha, c1=1e-4, c2=0.9):
    s0, s = grad(x) @ p, grad(x + alpha * p) @ p
    return (np.array(f(x + alpha * p) <= f(x) + c1 * alpha * s0),
            np.array(abs(s) <= c2 * abs(s0)))


@wrong("wolfe_conditions", "calls the reference")
def wolfe_conditions(f, grad, x, p, alpha, c1=1e-4, c2=0.9):
    import taylornet.rules as rules
    return rules.wolfe_conditions(f, grad, x, p, alpha, c1, c2)


@right("wolfe_conditions", "np.dot and np.abs")
def wolfe_conditions(f, grad, x, p, alpha, c1=1e-4, c2=0.9):
    phi0, dphi0 = f(x), np.dot(grad(x), p)
    dphi = np.dot(grad(x + alpha * p), p)
    armijo = f(x + alpha * p) <= phi0 + c1 * alpha * dphi0
    return bool(armijo), bool(np.abs(dphi) <= c2 * np.abs(dphi0))


# ---------------------------------------------------------------------- gauss_newton_direction
@wrong("gauss_newton_direction", "normal equations (singular for dependent columns)")
def gauss_newton_direction(J, r):
    return np.linalg.solve(J.T @ J, -J.T @ r)


@wrong("gauss_newton_direction", "no minus sign")
def gauss_newton_direction(J, r):
    return np.linalg.lstsq(J, r, rcond=None)[0]


@wrong("gauss_newton_direction", "steepest descent -J^T r")
def gauss_newton_direction(J, r):
    return -J.T @ r


@wrong("gauss_newton_direction", "J J^T instead of J^T J")
def gauss_newton_direction(J, r):
    A = J @ J.T + 1e-12 * np.eye(len(r))
    return -J.T @ np.linalg.lstsq(A, r, rcond=None)[0]


@wrong("gauss_newton_direction", "calls the reference")
def gauss_newton_direction(J, r):
    from taylornet.rules import gauss_newton_direction as gn
    return gn(J, r)


@right("gauss_newton_direction", "the pseudo-inverse")
def gauss_newton_direction(J, r):
    return -np.linalg.pinv(J) @ r


# --------------------------------------------------------------- levenberg_marquardt_direction
@wrong("levenberg_marquardt_direction", "Marquardt's scaling lam * diag(J^T J)")
def levenberg_marquardt_direction(J, r, lam):
    if lam < 0:
        raise ValueError('lam')
    A = J.T @ J
    return np.linalg.solve(A + lam * np.diag(np.diag(A)), -J.T @ r)


@wrong("levenberg_marquardt_direction", "lam added to every entry")
def levenberg_marquardt_direction(J, r, lam):
    if lam < 0:
        raise ValueError('lam')
    return np.linalg.solve(J.T @ J + lam, -J.T @ r)


@wrong("levenberg_marquardt_direction", "no minus sign")
def levenberg_marquardt_direction(J, r, lam):
    if lam < 0:
        raise ValueError('lam')
    return np.linalg.solve(J.T @ J + lam * np.eye(J.shape[1]), J.T @ r)


@wrong("levenberg_marquardt_direction", "lam squared")
def levenberg_marquardt_direction(J, r, lam):
    if lam < 0:
        raise ValueError('lam')
    return np.linalg.solve(J.T @ J + lam**2 * np.eye(J.shape[1]), -J.T @ r)


@wrong("levenberg_marquardt_direction", "accepts a negative lam")
def levenberg_marquardt_direction(J, r, lam):
    return np.linalg.solve(J.T @ J + lam * np.eye(J.shape[1]), -J.T @ r)


@wrong("levenberg_marquardt_direction", "calls the reference")
def levenberg_marquardt_direction(J, r, lam):
    from taylornet.rules import levenberg_marquardt_direction as lm
    return lm(J, r, lam)


@right("levenberg_marquardt_direction", "the stacked least-squares problem")
def levenberg_marquardt_direction(J, r, lam):
    if lam < 0:
        raise ValueError('negative lam')
    n = J.shape[1]
    A = np.vstack([J, np.sqrt(lam) * np.eye(n)])
    b = np.concatenate([r, np.zeros(n)])
    return -np.linalg.lstsq(A, b, rcond=None)[0]
