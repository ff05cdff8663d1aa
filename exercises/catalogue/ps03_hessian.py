"""Problem set 3: Hessian geometry.

The catalogue of ``problems/ps03_hessian.md``: implementations its tests must
reject (``@wrong``) or accept (``@right``); ``__init__.py`` says how they are used.
Each one runs in the notebook's namespace: it may use what the set-up cell imports,
nothing else of this module.
"""

import numpy as np

from . import right, wrong

#: The entries of WRONG that the visible tests let through on purpose, with the reason
#: (tests/test_grading_visible.py): none, every catalogued slip fails a visible test.
VISIBLE_MISSES: dict[str, dict[str, str]] = {}


# ----------------------------------------------------------------------------- power_iteration
@wrong("power_iteration", "norm instead of the Rayleigh quotient")
def power_iteration(hvp, v0, num_iters=100, tol=1e-8):
    if not np.any(v0):
        raise ValueError('zero')
    w = v0
    for _ in range(num_iters):
        v = w / np.linalg.norm(w)
        w = hvp(v)
        lam = np.linalg.norm(w)
        if np.linalg.norm(w - lam * v) <= tol * abs(lam):
            break
    return lam, v


@wrong("power_iteration", "returns the next iterate")
def power_iteration(hvp, v0, num_iters=100, tol=1e-8):
    if not np.any(v0):
        raise ValueError('zero')
    w = v0
    for _ in range(num_iters):
        v = w / np.linalg.norm(w)
        w = hvp(v)
        lam = v @ w
        if np.linalg.norm(w - lam * v) <= tol * abs(lam):
            break
    return lam, w / np.linalg.norm(w)


@wrong("power_iteration", "stops on the change of the eigenvalue")
def power_iteration(hvp, v0, num_iters=100, tol=1e-8):
    if not np.any(v0):
        raise ValueError('zero')
    w, old = v0, np.inf
    for _ in range(num_iters):
        v = w / np.linalg.norm(w)
        w = hvp(v)
        lam = v @ w
        if abs(lam - old) <= tol * abs(lam):
            break
        old = lam
    return lam, v


@wrong("power_iteration", "ignores num_iters")
def power_iteration(hvp, v0, num_iters=100, tol=1e-8):
    if not np.any(v0):
        raise ValueError('zero')
    w = v0
    for _ in range(1000):
        v = w / np.linalg.norm(w)
        w = hvp(v)
        lam = v @ w
        if np.linalg.norm(w - lam * v) <= tol * abs(lam):
            break
    return lam, v


@wrong("power_iteration", "strict stopping test divides by zero for H = 0")
def power_iteration(hvp, v0, num_iters=100, tol=1e-8):
    if not np.any(v0):
        raise ValueError('zero')
    w = v0
    for _ in range(num_iters):
        v = w / np.linalg.norm(w)
        w = hvp(v)
        lam = v @ w
        if np.linalg.norm(w - lam * v) < tol * abs(lam):
            break
    return lam, v


@wrong("power_iteration", "no ValueError for v0 = 0")
def power_iteration(hvp, v0, num_iters=100, tol=1e-8):
    w = v0
    for _ in range(num_iters):
        v = w / np.linalg.norm(w)
        w = hvp(v)
        lam = v @ w
        if np.linalg.norm(w - lam * v) <= tol * abs(lam):
            break
    return lam, v


@wrong("power_iteration", "calls the reference")
def power_iteration(hvp, v0, num_iters=100, tol=1e-8):
    import taylornet.curvature as tc
    return tc.power_iteration(hvp, v0, num_iters, tol)


@right("power_iteration", "np.linalg.norm and a while loop")
def power_iteration(hvp, v0, num_iters=100, tol=1e-8):
    if np.linalg.norm(v0) == 0:
        raise ValueError('v0 = 0')
    w, k = np.asarray(v0, dtype=float), 0
    while k < num_iters:
        v = w / np.linalg.norm(w)
        w = hvp(v)
        k += 1
        lam = float(np.dot(v, w))
        if np.linalg.norm(w - lam * v) <= tol * abs(lam):
            break
    return lam, v


# ---------------------------------------------------------------------------- hutchinson_trace
@wrong("hutchinson_trace", "Gaussian probes")
def hutchinson_trace(hvp, dim, num_samples, seed=None):
    rng = np.random.default_rng(seed)
    zs = [rng.standard_normal(dim) for _ in range(num_samples)]
    return float(np.mean([z @ hvp(z) for z in zs]))


@wrong("hutchinson_trace", "the sum, not the mean")
def hutchinson_trace(hvp, dim, num_samples, seed=None):
    rng = np.random.default_rng(seed)
    zs = [rng.choice([-1.0, 1.0], size=dim) for _ in range(num_samples)]
    return float(np.sum([z @ hvp(z) for z in zs]))


@wrong("hutchinson_trace", "probes of 0 and 1")
def hutchinson_trace(hvp, dim, num_samples, seed=None):
    rng = np.random.default_rng(seed)
    zs = [rng.integers(0, 2, size=dim).astype(float) for _ in range(num_samples)]
    return float(np.mean([z @ hvp(z) for z in zs]))


@wrong("hutchinson_trace", "a new generator for every probe")
def hutchinson_trace(hvp, dim, num_samples, seed=None):
    total = 0.0
    for _ in range(num_samples):
        z = np.random.default_rng(seed).choice([-1.0, 1.0], size=dim)
        total += z @ hvp(z)
    return total / num_samples


@wrong("hutchinson_trace", "ignores the seed")
def hutchinson_trace(hvp, dim, num_samples, seed=None):
    rng = np.random.default_rng(0)
    zs = [rng.choice([-1.0, 1.0], size=dim) for _ in range(num_samples)]
    return float(np.mean([z @ hvp(z) for z in zs]))


@wrong("hutchinson_trace", "calls the reference")
def hutchinson_trace(hvp, dim, num_samples, seed=None):
    from taylornet.curvature import hutchinson_trace as h
    return h(hvp, dim, num_samples, seed)


@right("hutchinson_trace", "a list of probes and np.mean")
def hutchinson_trace(hvp, dim, num_samples, seed=None):
    rng = np.random.default_rng(seed)
    probes = [rng.choice([-1.0, 1.0], size=dim) for _ in range(num_samples)]
    return float(np.mean([np.dot(z, hvp(z)) for z in probes]))


# ------------------------------------------------------------------- classify_stationary_point
@wrong("classify_stationary_point", "diagonal entries instead of eigenvalues")
def classify_stationary_point(H, tol=1e-8):
    d = np.diag(H)
    if np.all(d > tol):
        return 'minimum'
    if np.all(d < -tol):
        return 'maximum'
    if np.any(d > tol) and np.any(d < -tol):
        return 'saddle'
    return 'degenerate'


@wrong("classify_stationary_point", "determinant and trace (2-D rule)")
def classify_stationary_point(H, tol=1e-8):
    det, tr = np.linalg.det(H), np.trace(H)
    if abs(det) <= tol:
        return 'degenerate'
    if det < 0:
        return 'saddle'
    return 'minimum' if tr > 0 else 'maximum'


@wrong("classify_stationary_point", "a zero eigenvalue always degenerate")
def classify_stationary_point(H, tol=1e-8):
    e = np.linalg.eigvalsh(H)
    if np.any(np.abs(e) <= tol):
        return 'degenerate'
    if np.all(e > 0):
        return 'minimum'
    if np.all(e < 0):
        return 'maximum'
    return 'saddle'


@wrong("classify_stationary_point", "ignores tol")
def classify_stationary_point(H, tol=1e-8):
    e = np.linalg.eigvalsh(H)
    if np.all(e > 0):
        return 'minimum'
    if np.all(e < 0):
        return 'maximum'
    if np.any(e > 0) and np.any(e < 0):
        return 'saddle'
    return 'degenerate'


@wrong("classify_stationary_point", "semidefinite counts as a minimum")
def classify_stationary_point(H, tol=1e-8):
    e = np.linalg.eigvalsh(H)
    if np.all(e >= -tol):
        return 'minimum'
    if np.all(e <= tol):
        return 'maximum'
    return 'saddle'


@wrong("classify_stationary_point", "calls the reference")
def classify_stationary_point(H, tol=1e-8):
    from taylornet import grading_refs
    return grading_refs.classify_stationary_point(H, tol)


@right("classify_stationary_point", "sorted eigenvalues of np.linalg.eigh")
def classify_stationary_point(H, tol=1e-8):
    lo, hi = np.linalg.eigh(H)[0][[0, -1]]
    if lo > tol:
        return 'minimum'
    if hi < -tol:
        return 'maximum'
    return 'saddle' if lo < -tol and hi > tol else 'degenerate'


# -------------------------------------------------------------------------------------- fd_hvp
@wrong("fd_hvp", "one-sided difference")
def fd_hvp(grad, x, v, eps=1e-5):
    return (grad(x + eps * v) - grad(x)) / eps


@wrong("fd_hvp", "missing factor 2")
def fd_hvp(grad, x, v, eps=1e-5):
    return (grad(x + eps * v) - grad(x - eps * v)) / eps


@wrong("fd_hvp", "normalises v")
def fd_hvp(grad, x, v, eps=1e-5):
    n = np.linalg.norm(v)
    if n == 0:
        return np.zeros_like(x)
    u = v / n
    return n * (grad(x + eps * u) - grad(x - eps * u)) / (2 * eps)


@wrong("fd_hvp", "hard-coded eps")
def fd_hvp(grad, x, v, eps=1e-5):
    return (grad(x + 1e-5 * v) - grad(x - 1e-5 * v)) / 2e-5


@wrong("fd_hvp", "moves x in place")
def fd_hvp(grad, x, v, eps=1e-5):
    x += eps * v
    g_plus = grad(x)
    x -= 2 * eps * v
    g_minus = grad(x)
    return (g_plus - g_minus) / (2 * eps)


@wrong("fd_hvp", "three gradient evaluations")
def fd_hvp(grad, x, v, eps=1e-5):
    g0 = grad(x)
    return ((grad(x + eps * v) - g0) + (g0 - grad(x - eps * v))) / (2 * eps)


@wrong("fd_hvp", "calls the reference")
def fd_hvp(grad, x, v, eps=1e-5):
    from taylornet.grading_refs import fd_hvp as ref
    return ref(grad, x, v, eps)


@right("fd_hvp", "half the difference over eps")
def fd_hvp(grad, x, v, eps=1e-5):
    step = eps * v
    return 0.5 * (grad(x + step) - grad(x - step)) / eps
