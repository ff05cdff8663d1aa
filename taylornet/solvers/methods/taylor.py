"""Gradient-flow Taylor steps of order 2 and 3 (chapter 4).

The exact flow ``x'(t) = -grad f(x(t))`` has the series (Barrett & Dherin 2021)

    x(t + h) = x - h g + h^2/2 H g - h^3/6 (H^2 g + D3f[g, g]) + O(h^4),

implemented by :func:`taylornet.rules.taylor_step`. ``Hg`` and ``H2g`` come
from Hessian-vector products, ``D3f[g, g]`` from a jvp of an hvp. The step
``h`` is the option ``lr``; ``search="armijo"`` backtracks along the Taylor
step instead of taking it whole.
"""

from __future__ import annotations

from ... import rules
from .base import LineSearchMethod


class TaylorFlow(LineSearchMethod):
    order = 2
    needs = ("hessp",)

    def __init__(self, obj, x0, lr=1e-2, search="fixed", **options):
        super().__init__(obj, x0, **options)
        if search not in ("fixed", "armijo"):
            raise ValueError(f"taylor methods take search='fixed' or 'armijo' (got {search!r})")
        self.lr, self.search = float(lr), search

    def direction(self, x, f, g):
        Hg, H2g, T3gg = self.obj.taylor_terms(x, g, self.order)
        return rules.taylor_step(x, self.lr, g, Hg=Hg, H2g=H2g, T3gg=T3gg) - x


class Taylor2(TaylorFlow):
    """Order 2: ``-h g + h^2/2 H g``."""

    order = 2


class Taylor3(TaylorFlow):
    """Order 3: adds ``-h^3/6 (H^2 g + D3f[g, g])``."""

    order = 3
    needs = ("hessp", "third")
