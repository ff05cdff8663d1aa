"""Problem set 5: quasi-Newton methods.

The catalogue of ``problems/ps05_quasi_newton.md``: implementations its tests must
reject (``@wrong``) or accept (``@right``); ``__init__.py`` says how they are used.
Each one runs in the notebook's namespace: it may use what the set-up cell imports,
nothing else of this module.
"""

import numpy as np

from . import right, wrong

#: The entries of WRONG that the visible tests let through on purpose, with the reason
#: (tests/test_grading_visible.py): none, every catalogued slip fails a visible test.
VISIBLE_MISSES: dict[str, dict[str, str]] = {}


# ------------------------------------------------------------------------- bfgs_inverse_update
@wrong("bfgs_inverse_update", "the B formula applied to H")
def bfgs_inverse_update(H, s, y):
    if y @ s <= 0:
        return H
    Hs = H @ s
    return H - np.outer(Hs, Hs) / (s @ Hs) + np.outer(y, y) / (y @ s)


@wrong("bfgs_inverse_update", "DFP instead of BFGS")
def bfgs_inverse_update(H, s, y):
    if y @ s <= 0:
        return H
    Hy = H @ y
    return H - np.outer(Hy, Hy) / (y @ Hy) + np.outer(s, s) / (y @ s)


@wrong("bfgs_inverse_update", "no skip when y.s <= 0")
def bfgs_inverse_update(H, s, y):
    rho = 1 / (y @ s)
    L = np.eye(len(s)) - rho * np.outer(s, y)
    return L @ H @ L.T + rho * np.outer(s, s)


@wrong("bfgs_inverse_update", "skips small positive y.s")
def bfgs_inverse_update(H, s, y):
    if y @ s <= 1e-3 * np.linalg.norm(y) * np.linalg.norm(s):
        return H
    rho = 1 / (y @ s)
    L = np.eye(len(s)) - rho * np.outer(s, y)
    return L @ H @ L.T + rho * np.outer(s, s)


@wrong("bfgs_inverse_update", "no transpose on the right (L H L)")
def bfgs_inverse_update(H, s, y):
    if y @ s <= 0:
        return H
    rho = 1 / (y @ s)
    L = np.eye(len(s)) - rho * np.outer(s, y)
    return L @ H @ L + rho * np.outer(s, s)


@wrong("bfgs_inverse_update", "s and y swapped in the outer products")
def bfgs_inverse_update(H, s, y):
    if y @ s <= 0:
        return H
    rho = 1 / (y @ s)
    L = np.eye(len(s)) - rho * np.outer(y, s)
    return L @ H @ L.T + rho * np.outer(s, s)


@wrong("bfgs_inverse_update", "calls the reference")
def bfgs_inverse_update(H, s, y):
    from taylornet.rules import bfgs_inverse_update as b
    return b(H, s, y)


@right("bfgs_inverse_update", "the expanded rank-two form")
def bfgs_inverse_update(H, s, y):
    ys = np.dot(y, s)
    if ys <= 0:
        return H.copy()
    rho, Hy = 1.0 / ys, H @ y
    return (H - rho * (np.outer(s, Hy) + np.outer(Hy, s))
            + (rho**2 * (y @ Hy) + rho) * np.outer(s, s))


# --------------------------------------------------------------------------------- bfgs_update
@wrong("bfgs_update", "the H formula applied to B")
def bfgs_update(B, s, y):
    if y @ s <= 0:
        return B
    rho = 1 / (y @ s)
    L = np.eye(len(s)) - rho * np.outer(s, y)
    return L @ B @ L.T + rho * np.outer(s, s)


@wrong("bfgs_update", "s.s instead of s.B s")
def bfgs_update(B, s, y):
    if y @ s <= 0:
        return B
    Bs = B @ s
    return B - np.outer(Bs, Bs) / (s @ s) + np.outer(y, y) / (y @ s)


@wrong("bfgs_update", "no skip when y.s <= 0")
def bfgs_update(B, s, y):
    Bs = B @ s
    return B - np.outer(Bs, Bs) / (s @ Bs) + np.outer(y, y) / (y @ s)


@wrong("bfgs_update", "in place")
def bfgs_update(B, s, y):
    if y @ s <= 0:
        return B
    Bs = B @ s
    B -= np.outer(Bs, Bs) / (s @ Bs)
    B += np.outer(y, y) / (y @ s)
    return B


@wrong("bfgs_update", "calls the reference")
def bfgs_update(B, s, y):
    import taylornet.rules
    return taylornet.rules.bfgs_update(B, s, y)


# -------------------------------------------------------------------------- dfp_inverse_update
@wrong("dfp_inverse_update", "inverse BFGS instead of DFP")
def dfp_inverse_update(H, s, y):
    if y @ s <= 0:
        return H
    rho = 1 / (y @ s)
    L = np.eye(len(s)) - rho * np.outer(s, y)
    return L @ H @ L.T + rho * np.outer(s, s)


@wrong("dfp_inverse_update", "s and y not exchanged (the B formula)")
def dfp_inverse_update(H, s, y):
    if y @ s <= 0:
        return H
    Hs = H @ s
    return H - np.outer(Hs, Hs) / (s @ Hs) + np.outer(y, y) / (y @ s)


@wrong("dfp_inverse_update", "no skip when y.s <= 0")
def dfp_inverse_update(H, s, y):
    Hy = H @ y
    return H - np.outer(Hy, Hy) / (y @ Hy) + np.outer(s, s) / (y @ s)


@wrong("dfp_inverse_update", "y.y instead of y.H y")
def dfp_inverse_update(H, s, y):
    if y @ s <= 0:
        return H
    Hy = H @ y
    return H - np.outer(Hy, Hy) / (y @ y) + np.outer(s, s) / (y @ s)


@wrong("dfp_inverse_update", "calls the reference")
def dfp_inverse_update(H, s, y):
    from taylornet.rules import dfp_inverse_update as d
    return d(H, s, y)


@right("dfp_inverse_update", "with y^T H written out")
def dfp_inverse_update(H, s, y):
    if not np.dot(y, s) > 0:
        return H.copy()
    Hy, yH = H @ y, y @ H
    return H - np.outer(Hy, yH) / np.dot(yH, y) + np.outer(s, s) / np.dot(s, y)


# ---------------------------------------------------------------------------------- sr1_update
@wrong("sr1_update", "skips when y.s <= 0 (the BFGS rule)")
def sr1_update(B, s, y, r=1e-8):
    v = y - B @ s
    if y @ s <= 0 or abs(s @ v) < r * np.linalg.norm(s) * np.linalg.norm(v):
        return B
    return B + np.outer(v, v) / (s @ v)


@wrong("sr1_update", "no safeguard")
def sr1_update(B, s, y, r=1e-8):
    v = y - B @ s
    if s @ v == 0:
        return B
    return B + np.outer(v, v) / (s @ v)


@wrong("sr1_update", "absolute threshold |s.v| < r")
def sr1_update(B, s, y, r=1e-8):
    v = y - B @ s
    if abs(s @ v) < r:
        return B
    return B + np.outer(v, v) / (s @ v)


@wrong("sr1_update", "hard-coded r")
def sr1_update(B, s, y, r=1e-8):
    v = y - B @ s
    if abs(s @ v) < 1e-8 * np.linalg.norm(s) * np.linalg.norm(v) or s @ v == 0:
        return B
    return B + np.outer(v, v) / (s @ v)


@wrong("sr1_update", "0/0 when y = B s")
def sr1_update(B, s, y, r=1e-8):
    v = y - B @ s
    if abs(s @ v) < r * np.linalg.norm(s) * np.linalg.norm(v):
        return B
    return B + np.outer(v, v) / (s @ v)


@wrong("sr1_update", "y.s in the denominator")
def sr1_update(B, s, y, r=1e-8):
    v = y - B @ s
    if abs(s @ v) < r * np.linalg.norm(s) * np.linalg.norm(v) or s @ v == 0:
        return B
    return B + np.outer(v, v) / (s @ y)


@wrong("sr1_update", "calls the reference")
def sr1_update(B, s, y, r=1e-8):
    from taylornet.rules import sr1_update as sr1
    return sr1(B, s, y, r)


@right("sr1_update", "np.linalg.norm and a single test")
def sr1_update(B, s, y, r=1e-8):
    v = y - B @ s
    d = np.dot(v, s)
    if not abs(d) >= r * np.linalg.norm(s) * np.linalg.norm(v) or d == 0:
        return B.copy()
    return B + np.outer(v, v) / d


# ----------------------------------------------------------------------------- lbfgs_direction
@wrong("lbfgs_direction", "gamma from the oldest pair")
def lbfgs_direction(g, s_hist, y_hist):
    if not s_hist:
        return -g
    q, a = g, []
    for s, y in zip(reversed(s_hist), reversed(y_hist)):
        a.append((s @ q) / (y @ s))
        q = q - a[-1] * y
    r = (s_hist[0] @ y_hist[0]) / (y_hist[0] @ y_hist[0]) * q
    for (s, y), ai in zip(zip(s_hist, y_hist), reversed(a)):
        r = r + s * (ai - (y @ r) / (y @ s))
    return -r


@wrong("lbfgs_direction", "no initial scaling (gamma = 1)")
def lbfgs_direction(g, s_hist, y_hist):
    if not s_hist:
        return -g
    q, a = g, []
    for s, y in zip(reversed(s_hist), reversed(y_hist)):
        a.append((s @ q) / (y @ s))
        q = q - a[-1] * y
    r = q
    for (s, y), ai in zip(zip(s_hist, y_hist), reversed(a)):
        r = r + s * (ai - (y @ r) / (y @ s))
    return -r


@wrong("lbfgs_direction", "both loops oldest to newest")
def lbfgs_direction(g, s_hist, y_hist):
    if not s_hist:
        return -g
    q, a = g, []
    for s, y in zip(s_hist, y_hist):
        a.append((s @ q) / (y @ s))
        q = q - a[-1] * y
    r = (s_hist[-1] @ y_hist[-1]) / (y_hist[-1] @ y_hist[-1]) * q
    for (s, y), ai in zip(zip(s_hist, y_hist), a):
        r = r + s * (ai - (y @ r) / (y @ s))
    return -r


@wrong("lbfgs_direction", "returns +H g")
def lbfgs_direction(g, s_hist, y_hist):
    if not s_hist:
        return g
    q, a = g, []
    for s, y in zip(reversed(s_hist), reversed(y_hist)):
        a.append((s @ q) / (y @ s))
        q = q - a[-1] * y
    r = (s_hist[-1] @ y_hist[-1]) / (y_hist[-1] @ y_hist[-1]) * q
    for (s, y), ai in zip(zip(s_hist, y_hist), reversed(a)):
        r = r + s * (ai - (y @ r) / (y @ s))
    return r


@wrong("lbfgs_direction", "reverses the caller's lists")
def lbfgs_direction(g, s_hist, y_hist):
    if not s_hist:
        return -g
    s_hist.reverse()
    y_hist.reverse()
    q, a = g, []
    for s, y in zip(s_hist, y_hist):
        a.append((s @ q) / (y @ s))
        q = q - a[-1] * y
    r = (s_hist[0] @ y_hist[0]) / (y_hist[0] @ y_hist[0]) * q
    for (s, y), ai in zip(zip(reversed(s_hist), reversed(y_hist)), reversed(a)):
        r = r + s * (ai - (y @ r) / (y @ s))
    return -r


@wrong("lbfgs_direction", "fails on an empty history")
def lbfgs_direction(g, s_hist, y_hist):
    q, a = g, []
    for s, y in zip(reversed(s_hist), reversed(y_hist)):
        a.append((s @ q) / (y @ s))
        q = q - a[-1] * y
    r = (s_hist[-1] @ y_hist[-1]) / (y_hist[-1] @ y_hist[-1]) * q
    for (s, y), ai in zip(zip(s_hist, y_hist), reversed(a)):
        r = r + s * (ai - (y @ r) / (y @ s))
    return -r


@wrong("lbfgs_direction", "calls the reference")
def lbfgs_direction(g, s_hist, y_hist):
    from taylornet.rules import lbfgs_direction as l
    return l(g, s_hist, y_hist)


@right("lbfgs_direction", "the dense matrix of the same updates")
def lbfgs_direction(g, s_hist, y_hist):
    if len(s_hist) == 0:
        return -g
    s, y = s_hist[-1], y_hist[-1]
    H = (s @ y) / (y @ y) * np.eye(len(g))
    for s, y in zip(s_hist, y_hist):
        rho = 1 / (y @ s)
        L = np.eye(len(g)) - rho * np.outer(s, y)
        H = L @ H @ L.T + rho * np.outer(s, s)
    return -H @ g
