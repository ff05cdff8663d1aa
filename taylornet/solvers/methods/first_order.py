"""First-order methods as fixed-step rules (chapter 2).

Each proposes the whole step of its rule from :mod:`taylornet.rules`; the
driver takes it as it is (``search = "fixed"``). The learning rate is the
option ``lr``.
"""

from __future__ import annotations

from ... import rules
from .base import LineSearchMethod


class _FixedStep(LineSearchMethod):
    search = "fixed"
    default_lr = 1e-2

    def __init__(self, obj, x0, lr=None, **options):
        super().__init__(obj, x0, **options)
        self.lr = self.default_lr if lr is None else float(lr)
        if not self.lr > 0:
            raise ValueError(f"lr must be positive (got {lr!r})")


class GradientDescent(_FixedStep):
    """``x <- x - lr g`` (:func:`taylornet.rules.gd_step`)."""

    def direction(self, x, f, g):
        return rules.gd_step(x, g, self.lr) - x


class _Momentum(_FixedStep):
    rule = None

    def __init__(self, obj, x0, beta=0.9, **options):
        super().__init__(obj, x0, **options)
        self.beta = beta
        self.v = x0 * 0
        self._pending = None

    def direction(self, x, f, g):
        x_new, self._pending = type(self).rule(x, self.v, g, self.lr, self.beta)
        return x_new - x

    def update(self, s, y, g_new):
        self.v = self._pending


class Momentum(_Momentum):
    """Heavy ball, PyTorch convention (:func:`taylornet.rules.momentum_step`)."""

    rule = staticmethod(rules.momentum_step)


class Nesterov(_Momentum):
    """Nesterov momentum, PyTorch convention (:func:`taylornet.rules.nesterov_step`)."""

    rule = staticmethod(rules.nesterov_step)


class Adam(_FixedStep):
    """Adam with bias correction by this step's count (:func:`taylornet.rules.adam_step`)."""

    default_lr = 1e-3

    def __init__(self, obj, x0, beta1=0.9, beta2=0.999, eps=1e-8, **options):
        super().__init__(obj, x0, **options)
        self.hyper = dict(beta1=beta1, beta2=beta2, eps=eps)
        self.m, self.v, self.t = x0 * 0, x0 * 0, 0
        self._pending = None

    def direction(self, x, f, g):
        x_new, m, v = rules.adam_step(x, self.m, self.v, g, self.t + 1, self.lr, **self.hyper)
        self._pending = (m, v)
        return x_new - x

    def update(self, s, y, g_new):
        self.m, self.v = self._pending
        self.t += 1


class RMSProp(_FixedStep):
    """RMSProp (:func:`taylornet.rules.rmsprop_step`)."""

    default_lr = 1e-3

    def __init__(self, obj, x0, alpha=0.99, eps=1e-8, **options):
        super().__init__(obj, x0, **options)
        self.alpha, self.eps = alpha, eps
        self.s = x0 * 0
        self._pending = None

    def direction(self, x, f, g):
        x_new, self._pending = rules.rmsprop_step(x, self.s, g, self.lr, self.alpha, self.eps)
        return x_new - x

    def update(self, s, y, g_new):
        self.s = self._pending
