r"""Truncated Taylor series of the gradient flow :math:`x'(t) = -\nabla f(x(t))`.

Differentiating the flow along itself gives (Barrett & Dherin 2021)

.. math::
    x'' = H g, \qquad x''' = -\bigl(H^2 g + D^3 f[g, g]\bigr),

so one step of length :math:`\eta` is

.. math::
    x(t+\eta) = x - \eta\, g + \frac{\eta^2}{2} H g
                 - \frac{\eta^3}{6}\bigl(H^2 g + D^3 f[g, g]\bigr) + O(\eta^4).

Note the **plus** sign of the second-order term (see the book's Common mistakes
appendix: the wrong sign of the second-order term): the
widely copied ``- eta**2/2 * H g`` is worse than plain gradient descent.
"""

from __future__ import annotations

from .._array import check_same_shape


def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):
    r"""One step of the order-1, 2 or 3 Taylor expansion of the gradient flow.

    .. math::
        x_{k+1} = x_k - \eta\, g + \frac{\eta^2}{2} H g
                  - \frac{\eta^3}{6}\bigl(H^2 g + D^3 f[g, g]\bigr)

    truncated at the order given: ``g`` alone is order 1 (gradient descent),
    with ``Hg`` order 2, with ``H2g`` and ``T3gg`` order 3. Here ``Hg`` is
    :math:`H g`, ``H2g`` is :math:`H (H g)` and ``T3gg[i]`` is
    :math:`\sum_{jk} \partial^3 f/\partial x_i \partial x_j \partial x_k \, g_j g_k`,
    best computed as the derivative of :math:`H(x) g` along :math:`g` (a jvp of
    an hvp), never as ``third_grad * (g @ g)``.

    The third-order term needs *both* ``H2g`` and ``T3gg``; giving one of them,
    or giving them without ``Hg``, raises ``ValueError``.
    """
    if (H2g is None) != (T3gg is None):
        raise ValueError(
            "taylor_step: the third-order term needs both H2g and T3gg "
            "(the flow's third derivative is -(H^2 g + D^3f[g,g]))"
        )
    if H2g is not None and Hg is None:
        raise ValueError("taylor_step: H2g and T3gg (order 3) also need Hg (order 2)")

    given = {"x": x, "g": g, "Hg": Hg, "H2g": H2g, "T3gg": T3gg}
    check_same_shape(**{name: a for name, a in given.items() if a is not None})

    x_new = x - lr * g
    if Hg is not None:
        x_new = x_new + lr**2 / 2 * Hg
    if H2g is not None:
        x_new = x_new - lr**3 / 6 * (H2g + T3gg)
    return x_new
