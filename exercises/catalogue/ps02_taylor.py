"""Problem set 2: Taylor steps of the gradient flow.

The catalogue of ``problems/ps02_taylor.md``: implementations its tests must
reject (``@wrong``) or accept (``@right``); ``__init__.py`` says how they are used.
Each one runs in the notebook's namespace: it may use what the set-up cell imports,
nothing else of this module.
"""


from . import right, wrong

#: The entries of WRONG that the visible tests let through on purpose, with the reason
#: (tests/test_grading_visible.py): none, every catalogued slip fails a visible test.
VISIBLE_MISSES: dict[str, dict[str, str]] = {}


# --------------------------------------------------------------------------------- taylor_step
@wrong("taylor_step", "minus sign on the second-order term")
def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):
    if (H2g is None) != (T3gg is None) or (H2g is not None and Hg is None):
        raise ValueError('orders')
    x_new = x - lr * g
    if Hg is not None:
        x_new = x_new - lr**2 / 2 * Hg
    if H2g is not None:
        x_new = x_new - lr**3 / 6 * (H2g + T3gg)
    return x_new


@wrong("taylor_step", "no factorials")
def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):
    if (H2g is None) != (T3gg is None) or (H2g is not None and Hg is None):
        raise ValueError('orders')
    x_new = x - lr * g
    if Hg is not None:
        x_new = x_new + lr**2 * Hg
    if H2g is not None:
        x_new = x_new - lr**3 * (H2g + T3gg)
    return x_new


@wrong("taylor_step", "third order without T3gg")
def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):
    if (H2g is None) != (T3gg is None) or (H2g is not None and Hg is None):
        raise ValueError('orders')
    x_new = x - lr * g
    if Hg is not None:
        x_new = x_new + lr**2 / 2 * Hg
    if H2g is not None:
        x_new = x_new - lr**3 / 6 * H2g
    return x_new


@wrong("taylor_step", "third order without H2g")
def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):
    if (H2g is None) != (T3gg is None) or (H2g is not None and Hg is None):
        raise ValueError('orders')
    x_new = x - lr * g
    if Hg is not None:
        x_new = x_new + lr**2 / 2 * Hg
    if T3gg is not None:
        x_new = x_new - lr**3 / 6 * T3gg
    return x_new


@wrong("taylor_step", "plus sign on the third-order term")
def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):
    if (H2g is None) != (T3gg is None) or (H2g is not None and Hg is None):
        raise ValueError('orders')
    x_new = x - lr * g
    if Hg is not None:
        x_new = x_new + lr**2 / 2 * Hg
    if H2g is not None:
        x_new = x_new + lr**3 / 6 * (H2g + T3gg)
    return x_new


@wrong("taylor_step", "a missing T3gg counts as zero")
def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):
    x_new = x - lr * g
    if Hg is not None:
        x_new = x_new + lr**2 / 2 * Hg
    if H2g is not None or T3gg is not None:
        H2g = 0 * x if H2g is None else H2g
        T3gg = 0 * x if T3gg is None else T3gg
        x_new = x_new - lr**3 / 6 * (H2g + T3gg)
    return x_new


@wrong("taylor_step", "order 3 allowed without Hg")
def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):
    if (H2g is None) != (T3gg is None):
        raise ValueError('orders')
    x_new = x - lr * g
    if Hg is not None:
        x_new = x_new + lr**2 / 2 * Hg
    if H2g is not None:
        x_new = x_new - lr**3 / 6 * (H2g + T3gg)
    return x_new


@wrong("taylor_step", "in place")
def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):
    if (H2g is None) != (T3gg is None) or (H2g is not None and Hg is None):
        raise ValueError('orders')
    x -= lr * g
    if Hg is not None:
        x += lr**2 / 2 * Hg
    if H2g is not None:
        x -= lr**3 / 6 * (H2g + T3gg)
    return x


@wrong("taylor_step", "calls the reference")
def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):
    from taylornet.rules import taylor_step as reference
    return reference(x, lr, g, Hg, H2g, T3gg)


@right("taylor_step", "a list of terms")
def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):
    if (H2g is None) ^ (T3gg is None):
        raise ValueError('H2g and T3gg')
    if H2g is not None and Hg is None:
        raise ValueError('Hg')
    terms = [-lr * g]
    if Hg is not None:
        terms.append(lr * lr / 2 * Hg)
    if H2g is not None:
        terms.append(-(lr**3) * (H2g + T3gg) / 6)
    return x + sum(terms)
