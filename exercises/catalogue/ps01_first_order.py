"""Problem set 1: first-order update rules.

The catalogue of ``problems/ps01_first_order.md``: implementations its tests must
reject (``@wrong``) or accept (``@right``); ``__init__.py`` says how they are used.
Each one runs in the notebook's namespace: it may use what the set-up cell imports,
nothing else of this module.
"""

import numpy as np

from . import wrong

#: The entries of WRONG that the visible tests let through on purpose, with the reason
#: (tests/test_grading_visible.py): none, every catalogued slip fails a visible test.
VISIBLE_MISSES: dict[str, dict[str, str]] = {}


# ------------------------------------------------------------------------------------- gd_step
@wrong("gd_step", "ascent")
def gd_step(x, g, lr):
    return x + lr * g


@wrong("gd_step", "ignores lr")
def gd_step(x, g, lr):
    return x - g


@wrong("gd_step", "in place")
def gd_step(x, g, lr):
    x -= lr * g
    return x


@wrong("gd_step", "returns a list")
def gd_step(x, g, lr):
    return list(x - lr * g)


@wrong("gd_step", "flattens")
def gd_step(x, g, lr):
    return (x - lr * g).ravel()


# ------------------------------------------------------------------------------- momentum_step
@wrong("momentum_step", "dampened average")
def momentum_step(x, v, g, lr, beta):
    v = beta * v + (1 - beta) * g
    return x - lr * v, v


@wrong("momentum_step", "Sutskever convention")
def momentum_step(x, v, g, lr, beta):
    v = beta * v - lr * g
    return x + v, v


@wrong("momentum_step", "old velocity in the step")
def momentum_step(x, v, g, lr, beta):
    return x - lr * v, beta * v + g


@wrong("momentum_step", "in place")
def momentum_step(x, v, g, lr, beta):
    v *= beta
    v += g
    return x - lr * v, v


@wrong("momentum_step", "Nesterov instead")
def momentum_step(x, v, g, lr, beta):
    v_new = beta * v + g
    return x - lr * (g + beta * v_new), v_new


# ------------------------------------------------------------------------------- nesterov_step
@wrong("nesterov_step", "heavy ball instead")
def nesterov_step(x, v, g, lr, beta):
    v_new = beta * v + g
    return x - lr * v_new, v_new


@wrong("nesterov_step", "old velocity in the look-ahead")
def nesterov_step(x, v, g, lr, beta):
    return x - lr * (g + beta * v), beta * v + g


@wrong("nesterov_step", "Sutskever look-ahead state")
def nesterov_step(x, v, g, lr, beta):
    v_new = beta * v - lr * g
    return x + beta * v_new - lr * g, v_new


@wrong("nesterov_step", "returns only x")
def nesterov_step(x, v, g, lr, beta):
    v_new = beta * v + g
    return x - lr * (g + beta * v_new)


# ----------------------------------------------------------------------------------- adam_step
@wrong("adam_step", "total iteration count")
def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2
    mh, vh = m / (1 - beta1**100), v / (1 - beta2**100)
    return x - lr * mh / (np.sqrt(vh) + eps), m, v


@wrong("adam_step", "off by one in t")
def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2
    mh, vh = m / (1 - beta1**(t + 1)), v / (1 - beta2**(t + 1))
    return x - lr * mh / (np.sqrt(vh) + eps), m, v


@wrong("adam_step", "no bias correction")
def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2
    return x - lr * m / (np.sqrt(v) + eps), m, v


@wrong("adam_step", "eps inside the square root")
def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2
    mh, vh = m / (1 - beta1**t), v / (1 - beta2**t)
    return x - lr * mh / np.sqrt(vh + eps), m, v


@wrong("adam_step", "eps before the correction (Kingma-Ba's efficient form)")
def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2
    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    return x - lr_t * m / (np.sqrt(v) + eps), m, v


@wrong("adam_step", "returns corrected moments")
def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2
    mh, vh = m / (1 - beta1**t), v / (1 - beta2**t)
    return x - lr * mh / (np.sqrt(vh) + eps), mh, vh


@wrong("adam_step", "hard-coded hyperparameters")
def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g**2
    mh, vh = m / (1 - 0.9**t), v / (1 - 0.999**t)
    return x - lr * mh / (np.sqrt(vh) + 1e-8), m, v


@wrong("adam_step", "in place")
def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g**2
    mh, vh = m / (1 - beta1**t), v / (1 - beta2**t)
    return x - lr * mh / (np.sqrt(vh) + eps), m, v


@wrong("adam_step", "calls the reference")
def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    import taylornet.rules
    return taylornet.rules.adam_step(x, m, v, g, t, lr, beta1, beta2, eps)


# -------------------------------------------------------------------------------- rmsprop_step
@wrong("rmsprop_step", "old average in the step")
def rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8):
    return x - lr * g / (np.sqrt(s) + eps), alpha * s + (1 - alpha) * g**2


@wrong("rmsprop_step", "eps inside the square root")
def rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8):
    s = alpha * s + (1 - alpha) * g**2
    return x - lr * g / np.sqrt(s + eps), s


@wrong("rmsprop_step", "alpha and 1 - alpha swapped")
def rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8):
    s = (1 - alpha) * s + alpha * g**2
    return x - lr * g / (np.sqrt(s) + eps), s


@wrong("rmsprop_step", "bias-corrected like Adam")
def rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8):
    s = alpha * s + (1 - alpha) * g**2
    return x - lr * g / (np.sqrt(s / (1 - alpha)) + eps), s


@wrong("rmsprop_step", "hard-coded alpha")
def rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8):
    s = 0.99 * s + 0.01 * g**2
    return x - lr * g / (np.sqrt(s) + eps), s


@wrong("rmsprop_step", "no eps")
def rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8):
    s = alpha * s + (1 - alpha) * g**2
    return x - lr * g / np.sqrt(s), s


# ------------------------------------------------------------------------------ clip_grad_norm
@wrong("clip_grad_norm", "always normalises")
def clip_grad_norm(g, max_norm):
    return g * max_norm / np.linalg.norm(g)


@wrong("clip_grad_norm", "PyTorch's + 1e-6")
def clip_grad_norm(g, max_norm):
    n = np.linalg.norm(g)
    return g * min(1.0, max_norm / (n + 1e-6))


@wrong("clip_grad_norm", "per-entry clipping")
def clip_grad_norm(g, max_norm):
    return np.clip(g, -max_norm, max_norm)


@wrong("clip_grad_norm", "in place")
def clip_grad_norm(g, max_norm):
    n = np.linalg.norm(g)
    if n > max_norm:
        g *= max_norm / n
    return g


@wrong("clip_grad_norm", "NaN on the zero vector")
def clip_grad_norm(g, max_norm):
    n = np.linalg.norm(g)
    return g / n * min(n, max_norm)


@wrong("clip_grad_norm", "squared norm")
def clip_grad_norm(g, max_norm):
    n = np.sum(g * g)
    return g * min(1.0, max_norm / n) if n else g.copy()
