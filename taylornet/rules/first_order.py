"""Gradient descent and its momentum variants.

Conventions follow ``torch.optim.SGD``: the velocity accumulates *gradients*
(``v <- beta v + g``) and the learning rate multiplies the velocity, so the
rules and ``torch.optim`` give identical iterates.
"""

from __future__ import annotations

from .._array import check_same_shape


def gd_step(x, g, lr):
    r"""One gradient-descent step, :math:`x_{k+1} = x_k - \eta\, g_k`.

    The minimiser of the first-order model plus a proximity term,
    :math:`f(x) + g^\top p + \|p\|^2/(2\eta)` (N&W eq. 2.13 with :math:`B = I/\eta`).
    """
    check_same_shape(x=x, g=g)
    return x - lr * g


def momentum_step(x, v, g, lr, beta):
    r"""Heavy-ball momentum, PyTorch convention (``torch.optim.SGD(momentum=beta)``).

    .. math:: v_{k+1} = \beta v_k + g_k, \qquad x_{k+1} = x_k - \eta\, v_{k+1}

    Polyak (1964) writes :math:`x_{k+1} = x_k - \eta g_k + \beta (x_k - x_{k-1})`;
    with :math:`v_0 = 0` both produce the same iterates. Returns ``(x_new, v_new)``.
    """
    check_same_shape(x=x, v=v, g=g)
    v_new = beta * v + g
    x_new = x - lr * v_new
    return x_new, v_new


def nesterov_step(x, v, g, lr, beta):
    r"""Nesterov momentum, PyTorch convention (``torch.optim.SGD(nesterov=True)``).

    .. math:: v_{k+1} = \beta v_k + g_k, \qquad x_{k+1} = x_k - \eta\,(g_k + \beta v_{k+1})

    This is Sutskever et al. (2013)'s look-ahead rewritten so that the gradient
    is taken at the stored iterate (see the book's chapter 2). Returns
    ``(x_new, v_new)``.
    """
    check_same_shape(x=x, v=v, g=g)
    v_new = beta * v + g
    x_new = x - lr * (g + beta * v_new)
    return x_new, v_new
