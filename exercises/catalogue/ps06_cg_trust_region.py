"""Problem set 6: conjugate gradients and trust regions.

The catalogue of ``problems/ps06_cg_trust_region.md``: implementations its tests must
reject (``@wrong``) or accept (``@right``); ``__init__.py`` says how they are used.
Each one runs in the notebook's namespace: it may use what the set-up cell imports,
nothing else of this module.
"""

import numpy as np

from . import right, wrong

#: The entries of WRONG that the visible tests let through on purpose, with the reason
#: (tests/test_grading_visible.py): none, every catalogued slip fails a visible test.
VISIBLE_MISSES: dict[str, dict[str, str]] = {}


# -------------------------------------------------------------------------- conjugate_gradient
@wrong("conjugate_gradient", "absolute tolerance")
def conjugate_gradient(A, b, x0=None, tol=1e-10, max_iter=None):
    mv = A if callable(A) else (lambda v: A @ v)
    n = len(b)
    max_iter = n if max_iter is None else max_iter
    bn = np.linalg.norm(b)  # noqa: F841 - computed, then forgotten
    x = np.zeros(n) if x0 is None else np.array(x0, dtype=float)
    r = mv(x) - b
    p = -r
    for _ in range(max_iter):
        if np.linalg.norm(r) <= tol:
            break
        Ap = mv(p)
        a = (r @ r) / (p @ Ap)
        x = x + a * p
        r_new = r + a * Ap
        p = -r_new + (r_new @ r_new) / (r @ r) * p
        r = r_new
    return x


@wrong("conjugate_gradient", "beta from the old residual only (steepest descent)")
def conjugate_gradient(A, b, x0=None, tol=1e-10, max_iter=None):
    mv = A if callable(A) else (lambda v: A @ v)
    n = len(b)
    max_iter = n if max_iter is None else max_iter
    bn = np.linalg.norm(b)
    x = np.zeros(n) if x0 is None else np.array(x0, dtype=float)
    r = mv(x) - b
    p = -r
    for _ in range(max_iter):
        if np.linalg.norm(r) <= tol * bn:
            break
        Ap = mv(p)
        a = (r @ r) / (p @ Ap)
        x = x + a * p
        r = r + a * Ap
        p = -r
    return x


@wrong("conjugate_gradient", "steps before testing (0/0 at the solution)")
def conjugate_gradient(A, b, x0=None, tol=1e-10, max_iter=None):
    mv = A if callable(A) else (lambda v: A @ v)
    n = len(b)
    max_iter = n if max_iter is None else max_iter
    bn = np.linalg.norm(b)
    x = np.zeros(n) if x0 is None else np.array(x0, dtype=float)
    r = mv(x) - b
    p = -r
    for _ in range(max_iter):
        Ap = mv(p)
        a = (r @ r) / (p @ Ap)
        x = x + a * p
        r_new = r + a * Ap
        if np.linalg.norm(r_new) <= tol * bn:
            return x
        p = -r_new + (r_new @ r_new) / (r @ r) * p
        r = r_new
    return x


@wrong("conjugate_gradient", "ignores x0")
def conjugate_gradient(A, b, x0=None, tol=1e-10, max_iter=None):
    mv = A if callable(A) else (lambda v: A @ v)
    n = len(b)
    max_iter = n if max_iter is None else max_iter
    bn = np.linalg.norm(b)
    x = np.zeros(n)
    r = mv(x) - b
    p = -r
    for _ in range(max_iter):
        if np.linalg.norm(r) <= tol * bn:
            break
        Ap = mv(p)
        a = (r @ r) / (p @ Ap)
        x = x + a * p
        r_new = r + a * Ap
        p = -r_new + (r_new @ r_new) / (r @ r) * p
        r = r_new
    return x


@wrong("conjugate_gradient", "wrong sign of the residual update")
def conjugate_gradient(A, b, x0=None, tol=1e-10, max_iter=None):
    mv = A if callable(A) else (lambda v: A @ v)
    n = len(b)
    max_iter = n if max_iter is None else max_iter
    bn = np.linalg.norm(b)
    x = np.zeros(n) if x0 is None else np.array(x0, dtype=float)
    r = mv(x) - b
    p = -r
    for _ in range(max_iter):
        if np.linalg.norm(r) <= tol * bn:
            break
        Ap = mv(p)
        a = (r @ r) / (p @ Ap)
        x = x + a * p
        r_new = r - a * Ap
        p = -r_new + (r_new @ r_new) / (r @ r) * p
        r = r_new
    return x


@wrong("conjugate_gradient", "no default max_iter (runs to tol)")
def conjugate_gradient(A, b, x0=None, tol=1e-10, max_iter=None):
    mv = A if callable(A) else (lambda v: A @ v)
    n = len(b)
    max_iter = max_iter or 10 * n
    bn = np.linalg.norm(b)
    x = np.zeros(n) if x0 is None else np.array(x0, dtype=float)
    r = mv(x) - b
    p = -r
    for _ in range(max_iter):
        if np.linalg.norm(r) <= tol * bn:
            break
        Ap = mv(p)
        a = (r @ r) / (p @ Ap)
        x = x + a * p
        r_new = r + a * Ap
        p = -r_new + (r_new @ r_new) / (r @ r) * p
        r = r_new
    return x


@wrong("conjugate_gradient", "calls the reference")
def conjugate_gradient(A, b, x0=None, tol=1e-10, max_iter=None):
    from taylornet.rules import conjugate_gradient as cg
    return cg(A, b, x0, tol, max_iter)


@right("conjugate_gradient", "the residual b - A x and a while loop")
def conjugate_gradient(A, b, x0=None, tol=1e-10, max_iter=None):
    mv = A if callable(A) else (lambda v: A @ v)
    n = b.size
    m = n if max_iter is None else max_iter
    x = np.zeros(n) if x0 is None else x0.astype(float)
    r = b - mv(x) if x0 is not None else b.copy()
    p, k = r.copy(), 0
    while k < m and np.linalg.norm(r) > tol * np.linalg.norm(b):
        Ap = mv(p)
        alpha = np.dot(r, r) / np.dot(p, Ap)
        x = x + alpha * p
        r_new = r - alpha * Ap
        p = r_new + np.dot(r_new, r_new) / np.dot(r, r) * p
        r, k = r_new, k + 1
    return x


# ------------------------------------------------------------------------------------- cg_beta
@wrong("cg_beta", "PR+ as the absolute value")
def cg_beta(g_new, g_old, p_old, kind='pr+'):
    y = g_new - g_old
    beta = {'fr': (g_new @ g_new) / (g_old @ g_old),
            'pr': (g_new @ y) / (g_old @ g_old),
            'pr+': abs(g_new @ y) / (g_old @ g_old),
            'hs': (g_new @ y) / (y @ p_old)}
    if kind not in beta:
        raise ValueError(kind)
    return beta[kind]


@wrong("cg_beta", "default kind FR")
def cg_beta(g_new, g_old, p_old, kind='fr'):
    y = g_new - g_old
    beta = {'fr': (g_new @ g_new) / (g_old @ g_old),
            'pr': (g_new @ y) / (g_old @ g_old),
            'pr+': max((g_new @ y) / (g_old @ g_old), 0.0),
            'hs': (g_new @ y) / (y @ p_old)}
    if kind not in beta:
        raise ValueError(kind)
    return beta[kind]


@wrong("cg_beta", "HS with g_old.p_old in the denominator")
def cg_beta(g_new, g_old, p_old, kind='pr+'):
    y = g_new - g_old
    beta = {'fr': (g_new @ g_new) / (g_old @ g_old),
            'pr': (g_new @ y) / (g_old @ g_old),
            'pr+': max((g_new @ y) / (g_old @ g_old), 0.0),
            'hs': (g_new @ y) / (g_old @ p_old)}
    if kind not in beta:
        raise ValueError(kind)
    return beta[kind]


@wrong("cg_beta", "PR with g_old.g_new")
def cg_beta(g_new, g_old, p_old, kind='pr+'):
    y = g_new - g_old
    pr = (g_old @ y) / (g_old @ g_old)
    beta = {'fr': (g_new @ g_new) / (g_old @ g_old), 'pr': pr,
            'pr+': max(pr, 0.0), 'hs': (g_new @ y) / (y @ p_old)}
    if kind not in beta:
        raise ValueError(kind)
    return beta[kind]


@wrong("cg_beta", "unknown kinds fall back to FR")
def cg_beta(g_new, g_old, p_old, kind='pr+'):
    y = g_new - g_old
    if kind == 'pr':
        return (g_new @ y) / (g_old @ g_old)
    if kind == 'pr+':
        return max((g_new @ y) / (g_old @ g_old), 0.0)
    if kind == 'hs':
        return (g_new @ y) / (y @ p_old)
    return (g_new @ g_new) / (g_old @ g_old)


@wrong("cg_beta", "case-insensitive kinds")
def cg_beta(g_new, g_old, p_old, kind='pr+'):
    y = g_new - g_old
    beta = {'fr': (g_new @ g_new) / (g_old @ g_old),
            'pr': (g_new @ y) / (g_old @ g_old),
            'pr+': max((g_new @ y) / (g_old @ g_old), 0.0),
            'hs': (g_new @ y) / (y @ p_old)}
    if kind.lower() not in beta:
        raise ValueError(kind)
    return beta[kind.lower()]


@wrong("cg_beta", "calls the reference")
def cg_beta(g_new, g_old, p_old, kind='pr+'):
    from taylornet.rules import cg_beta as b
    return b(g_new, g_old, p_old, kind)


@right("cg_beta", "one formula per branch, np.dot")
def cg_beta(g_new, g_old, p_old, kind='pr+'):
    if kind not in ('fr', 'pr', 'pr+', 'hs'):
        raise ValueError(kind)
    y = g_new - g_old
    if kind == 'fr':
        return np.dot(g_new, g_new) / np.dot(g_old, g_old)
    if kind == 'hs':
        return np.dot(g_new, y) / np.dot(y, p_old)
    beta = np.dot(g_new, y) / np.dot(g_old, g_old)
    return beta if kind == 'pr' else np.maximum(beta, 0.0)


# -------------------------------------------------------------------------------- cauchy_point
@wrong("cauchy_point", "no branch for g.Bg <= 0")
def cauchy_point(g, B, radius):
    n = np.linalg.norm(g)
    if n == 0:
        return np.zeros_like(g)
    tau = min(n**3 / (radius * (g @ B @ g)), 1.0)
    return -tau * radius / n * g


@wrong("cauchy_point", "|g|**2 instead of |g|**3")
def cauchy_point(g, B, radius):
    n = np.linalg.norm(g)
    if n == 0:
        return np.zeros_like(g)
    c = g @ B @ g
    tau = 1.0 if c <= 0 else min(n**2 / (radius * c), 1.0)
    return -tau * radius / n * g


@wrong("cauchy_point", "always to the boundary")
def cauchy_point(g, B, radius):
    n = np.linalg.norm(g)
    return np.zeros_like(g) if n == 0 else -radius / n * g


@wrong("cauchy_point", "NaN for g = 0")
def cauchy_point(g, B, radius):
    n = np.linalg.norm(g)
    c = g @ B @ g
    tau = 1.0 if c <= 0 else min(n**3 / (radius * c), 1.0)
    return -tau * radius / n * g


@wrong("cauchy_point", "calls the reference")
def cauchy_point(g, B, radius):
    from taylornet.rules import cauchy_point as c
    return c(g, B, radius)


@right("cauchy_point", "np.linalg.norm and one expression")
def cauchy_point(g, B, radius):
    n = np.linalg.norm(g)
    if n == 0:
        return np.zeros_like(g)
    gBg = np.dot(g, B.dot(g))
    tau = 1.0 if gBg <= 0 else min(1.0, n**3 / (radius * gBg))
    return -tau * radius * g / n


# --------------------------------------------------------------------------------- dogleg_step
@wrong("dogleg_step", "the Newton step scaled to the boundary")
def dogleg_step(g, B, radius):
    np.linalg.cholesky(B)
    pb = -np.linalg.solve(B, g)
    n = np.linalg.norm(pb)
    return pb if n <= radius else radius / n * pb


@wrong("dogleg_step", "the negative root on the second leg")
def dogleg_step(g, B, radius):
    np.linalg.cholesky(B)
    pb = -np.linalg.solve(B, g)
    if np.linalg.norm(pb) <= radius:
        return pb
    pu = -(g @ g) / (g @ B @ g) * g
    if np.linalg.norm(pu) >= radius:
        return -radius / np.linalg.norm(g) * g
    d = pb - pu
    a, b, c = d @ d, 2 * (pu @ d), pu @ pu - radius**2
    s = (-b - np.sqrt(b * b - 4 * a * c)) / (2 * a)
    return pu + s * d


@wrong("dogleg_step", "p_U returned unscaled")
def dogleg_step(g, B, radius):
    np.linalg.cholesky(B)
    pb = -np.linalg.solve(B, g)
    if np.linalg.norm(pb) <= radius:
        return pb
    pu = -(g @ g) / (g @ B @ g) * g
    if np.linalg.norm(pu) >= radius:
        return pu
    d = pb - pu
    a, b, c = d @ d, 2 * (pu @ d), pu @ pu - radius**2
    s = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
    return pu + s * d


@wrong("dogleg_step", "the second leg toward p_B from 0")
def dogleg_step(g, B, radius):
    np.linalg.cholesky(B)
    pb = -np.linalg.solve(B, g)
    if np.linalg.norm(pb) <= radius:
        return pb
    pu = -(g @ g) / (g @ B @ g) * g
    if np.linalg.norm(pu) >= radius:
        return -radius / np.linalg.norm(g) * g
    t = (radius - np.linalg.norm(pu)) / (np.linalg.norm(pb) - np.linalg.norm(pu))
    return pu + t * (pb - pu)


@wrong("dogleg_step", "no check of positive definiteness")
def dogleg_step(g, B, radius):
    pb = -np.linalg.solve(B, g)
    if np.linalg.norm(pb) <= radius:
        return pb
    pu = -(g @ g) / (g @ B @ g) * g
    if np.linalg.norm(pu) >= radius:
        return -radius / np.linalg.norm(g) * g
    d = pb - pu
    a, b, c = d @ d, 2 * (pu @ d), pu @ pu - radius**2
    s = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
    return pu + s * d


@wrong("dogleg_step", "calls the reference")
def dogleg_step(g, B, radius):
    from taylornet.rules import dogleg_step as d
    return d(g, B, radius)


@right("dogleg_step", "eigenvalue check and the norm equation in s")
def dogleg_step(g, B, radius):
    if np.linalg.eigvalsh(B).min() <= 0:
        raise ValueError('B not PD')
    pb = np.linalg.solve(B, -g)
    if np.linalg.norm(pb) <= radius:
        return pb
    pu = -np.dot(g, g) / np.dot(g, B @ g) * g
    if np.linalg.norm(pu) >= radius:
        return -radius * g / np.linalg.norm(g)
    d = pb - pu
    s = np.roots([d @ d, 2 * pu @ d, pu @ pu - radius**2]).max()
    return pu + s * d


# --------------------------------------------------------------------------------- steihaug_cg
@wrong("steihaug_cg", "always the positive root at negative curvature")
def steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None):
    def roots(z, d):
        a, b, c = d @ d, 2 * (z @ d), z @ z - radius**2
        q = np.sqrt(b * b - 4 * a * c)
        return (-b - q) / (2 * a), (-b + q) / (2 * a)
    def root(z, d):
        return roots(z, d)[1]
    max_iter = len(g) if max_iter is None else max_iter
    z, r, d = np.zeros_like(g), g.copy(), -g
    if not np.any(g):
        return z
    for _ in range(max_iter):
        Bd = hvp(d)
        dBd = d @ Bd
        if dBd <= 0:
            return z + root(z, d) * d
        a = (r @ r) / dBd
        if np.linalg.norm(z + a * d) >= radius:
            return z + root(z, d) * d
        z = z + a * d
        r_new = r + a * Bd
        if np.linalg.norm(r_new) <= tol * np.linalg.norm(g):
            return z
        d = -r_new + (r_new @ r_new) / (r @ r) * d
        r = r_new
    return z


@wrong("steihaug_cg", "no test for negative curvature")
def steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None):
    def roots(z, d):
        a, b, c = d @ d, 2 * (z @ d), z @ z - radius**2
        q = np.sqrt(b * b - 4 * a * c)
        return (-b - q) / (2 * a), (-b + q) / (2 * a)
    def root(z, d):
        return roots(z, d)[1]
    max_iter = len(g) if max_iter is None else max_iter
    z, r, d = np.zeros_like(g), g.copy(), -g
    if not np.any(g):
        return z
    for _ in range(max_iter):
        Bd = hvp(d)
        dBd = d @ Bd
        if dBd <= 0:
            pass
        a = (r @ r) / dBd
        if np.linalg.norm(z + a * d) >= radius:
            return z + root(z, d) * d
        z = z + a * d
        r_new = r + a * Bd
        if np.linalg.norm(r_new) <= tol * np.linalg.norm(g):
            return z
        d = -r_new + (r_new @ r_new) / (r @ r) * d
        r = r_new
    return z


@wrong("steihaug_cg", "stops inside at negative curvature, as Newton-CG does")
def steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None):
    def roots(z, d):
        a, b, c = d @ d, 2 * (z @ d), z @ z - radius**2
        q = np.sqrt(b * b - 4 * a * c)
        return (-b - q) / (2 * a), (-b + q) / (2 * a)
    def root(z, d):
        return roots(z, d)[1]
    max_iter = len(g) if max_iter is None else max_iter
    z, r, d = np.zeros_like(g), g.copy(), -g
    if not np.any(g):
        return z
    for _ in range(max_iter):
        Bd = hvp(d)
        dBd = d @ Bd
        if dBd <= 0:
            return z if np.any(z) else -radius * g / np.linalg.norm(g)
        a = (r @ r) / dBd
        if np.linalg.norm(z + a * d) >= radius:
            return z + root(z, d) * d
        z = z + a * d
        r_new = r + a * Bd
        if np.linalg.norm(r_new) <= tol * np.linalg.norm(g):
            return z
        d = -r_new + (r_new @ r_new) / (r @ r) * d
        r = r_new
    return z


@wrong("steihaug_cg", "steepest descent to the boundary at negative curvature")
def steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None):
    def roots(z, d):
        a, b, c = d @ d, 2 * (z @ d), z @ z - radius**2
        q = np.sqrt(b * b - 4 * a * c)
        return (-b - q) / (2 * a), (-b + q) / (2 * a)
    def root(z, d):
        return roots(z, d)[1]
    max_iter = len(g) if max_iter is None else max_iter
    z, r, d = np.zeros_like(g), g.copy(), -g
    if not np.any(g):
        return z
    for _ in range(max_iter):
        Bd = hvp(d)
        dBd = d @ Bd
        if dBd <= 0:
            return -radius * g / np.linalg.norm(g)
        a = (r @ r) / dBd
        if np.linalg.norm(z + a * d) >= radius:
            return z + root(z, d) * d
        z = z + a * d
        r_new = r + a * Bd
        if np.linalg.norm(r_new) <= tol * np.linalg.norm(g):
            return z
        d = -r_new + (r_new @ r_new) / (r @ r) * d
        r = r_new
    return z


@wrong("steihaug_cg", "the full step past the boundary")
def steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None):
    def roots(z, d):
        a, b, c = d @ d, 2 * (z @ d), z @ z - radius**2
        q = np.sqrt(b * b - 4 * a * c)
        return (-b - q) / (2 * a), (-b + q) / (2 * a)
    def root(z, d):
        return roots(z, d)[1]
    max_iter = len(g) if max_iter is None else max_iter
    z, r, d = np.zeros_like(g), g.copy(), -g
    if not np.any(g):
        return z
    for _ in range(max_iter):
        Bd = hvp(d)
        dBd = d @ Bd
        if dBd <= 0:
            lo, hi = roots(z, d)
            m = [t * (r @ d) + 0.5 * t * t * dBd for t in (lo, hi)]
            return z + (hi if m[1] <= m[0] else lo) * d
        a = (r @ r) / dBd
        if np.linalg.norm(z + a * d) >= radius:
            return z + a * d
        z = z + a * d
        r_new = r + a * Bd
        if np.linalg.norm(r_new) <= tol * np.linalg.norm(g):
            return z
        d = -r_new + (r_new @ r_new) / (r @ r) * d
        r = r_new
    return z


@wrong("steihaug_cg", "the boundary along -g instead of d")
def steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None):
    def roots(z, d):
        a, b, c = d @ d, 2 * (z @ d), z @ z - radius**2
        q = np.sqrt(b * b - 4 * a * c)
        return (-b - q) / (2 * a), (-b + q) / (2 * a)
    def root(z, d):
        return roots(z, d)[1]
    max_iter = len(g) if max_iter is None else max_iter
    z, r, d = np.zeros_like(g), g.copy(), -g
    if not np.any(g):
        return z
    for _ in range(max_iter):
        Bd = hvp(d)
        dBd = d @ Bd
        if dBd <= 0:
            lo, hi = roots(z, d)
            m = [t * (r @ d) + 0.5 * t * t * dBd for t in (lo, hi)]
            return z + (hi if m[1] <= m[0] else lo) * d
        a = (r @ r) / dBd
        if np.linalg.norm(z + a * d) >= radius:
            return -radius * g / np.linalg.norm(g)
        z = z + a * d
        r_new = r + a * Bd
        if np.linalg.norm(r_new) <= tol * np.linalg.norm(g):
            return z
        d = -r_new + (r_new @ r_new) / (r @ r) * d
        r = r_new
    return z


@wrong("steihaug_cg", "absolute tolerance")
def steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None):
    def roots(z, d):
        a, b, c = d @ d, 2 * (z @ d), z @ z - radius**2
        q = np.sqrt(b * b - 4 * a * c)
        return (-b - q) / (2 * a), (-b + q) / (2 * a)
    def root(z, d):
        return roots(z, d)[1]
    max_iter = len(g) if max_iter is None else max_iter
    z, r, d = np.zeros_like(g), g.copy(), -g
    if not np.any(g):
        return z
    for _ in range(max_iter):
        Bd = hvp(d)
        dBd = d @ Bd
        if dBd <= 0:
            lo, hi = roots(z, d)
            m = [t * (r @ d) + 0.5 * t * t * dBd for t in (lo, hi)]
            return z + (hi if m[1] <= m[0] else lo) * d
        a = (r @ r) / dBd
        if np.linalg.norm(z + a * d) >= radius:
            return z + root(z, d) * d
        z = z + a * d
        r_new = r + a * Bd
        if np.linalg.norm(r_new) <= tol:
            return z
        d = -r_new + (r_new @ r_new) / (r @ r) * d
        r = r_new
    return z


@wrong("steihaug_cg", "no default max_iter")
def steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None):
    def roots(z, d):
        a, b, c = d @ d, 2 * (z @ d), z @ z - radius**2
        q = np.sqrt(b * b - 4 * a * c)
        return (-b - q) / (2 * a), (-b + q) / (2 * a)
    def root(z, d):
        return roots(z, d)[1]
    max_iter = 10 * len(g) if max_iter is None else max_iter
    z, r, d = np.zeros_like(g), g.copy(), -g
    if not np.any(g):
        return z
    for _ in range(max_iter):
        Bd = hvp(d)
        dBd = d @ Bd
        if dBd <= 0:
            lo, hi = roots(z, d)
            m = [t * (r @ d) + 0.5 * t * t * dBd for t in (lo, hi)]
            return z + (hi if m[1] <= m[0] else lo) * d
        a = (r @ r) / dBd
        if np.linalg.norm(z + a * d) >= radius:
            return z + root(z, d) * d
        z = z + a * d
        r_new = r + a * Bd
        if np.linalg.norm(r_new) <= tol * np.linalg.norm(g):
            return z
        d = -r_new + (r_new @ r_new) / (r @ r) * d
        r = r_new
    return z


@wrong("steihaug_cg", "calls the reference")
def steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None):
    import taylornet.rules as tr
    return tr.steihaug_cg(g, hvp, radius, tol, max_iter)


@right("steihaug_cg", "the textbook's variable names")
def steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None):
    def roots(z, d):
        a, b, c = d @ d, 2 * (z @ d), z @ z - radius**2
        q = np.sqrt(b * b - 4 * a * c)
        return (-b - q) / (2 * a), (-b + q) / (2 * a)
    def root(z, d):
        return roots(z, d)[1]
    max_iter = len(g) if max_iter is None else max_iter
    z, r, d = np.zeros_like(g), g.copy(), -g
    if not np.any(g):
        return z
    for _ in range(max_iter):
        Bd = hvp(d)
        dBd = d @ Bd
        if dBd <= 0:
            lo, hi = roots(z, d)
            m = [t * (r @ d) + 0.5 * t * t * dBd for t in (lo, hi)]
            return z + (hi if m[1] <= m[0] else lo) * d
        a = (r @ r) / dBd
        if np.linalg.norm(z + a * d) >= radius:
            return z + root(z, d) * d
        z = z + a * d
        r_new = r + a * Bd
        if np.linalg.norm(r_new) <= tol * np.linalg.norm(g):
            return z
        d = -r_new + (r_new @ r_new) / (r @ r) * d
        r = r_new
    return z
