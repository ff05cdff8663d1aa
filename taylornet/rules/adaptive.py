"""Adaptive per-coordinate step sizes: RMSProp and Adam."""

from __future__ import annotations

from .._array import check_same_shape, namespace


def rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8):
    r"""RMSProp (Tieleman & Hinton 2012), ``torch.optim.RMSprop`` convention.

    .. math:: s_{k+1} = \alpha s_k + (1-\alpha) g_k^2, \qquad
              x_{k+1} = x_k - \eta\, g_k / (\sqrt{s_{k+1}} + \epsilon)

    ``eps`` is added *outside* the square root. Returns ``(x_new, s_new)``.
    """
    check_same_shape(x=x, s=s, g=g)
    xp = namespace(x, s, g)
    s_new = alpha * s + (1 - alpha) * g**2
    x_new = x - lr * g / (xp.sqrt(s_new) + eps)
    return x_new, s_new


def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    r"""Adam (Kingma & Ba 2015, Algorithm 1), ``torch.optim.Adam`` convention.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g, \quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g^2, \\
        \hat m_t = m_t / (1-\beta_1^t), \quad \hat v_t = v_t / (1-\beta_2^t), \quad
        x_t = x_{t-1} - \eta\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)

    ``t >= 1`` is *this* step's count: the bias correction undoes the
    initialisation ``m_0 = v_0 = 0`` after exactly ``t`` averages. Correcting
    with the total number of iterations ``T`` instead (a bug in circulation)
    scales step ``t`` by ``(1-beta1**t)/(1-beta1**T) * sqrt((1-beta2**T)/(1-beta2**t))``:
    about 2.5 times too large at ``t = 1`` for the default betas and ``T = 1000``.
    Returns ``(x_new, m_new, v_new)``.
    """
    check_same_shape(x=x, m=m, v=v, g=g)
    if not t >= 1:
        raise ValueError(f"adam_step: the step count t must be >= 1 (got {t!r})")
    xp = namespace(x, m, v, g)
    m_new = beta1 * m + (1 - beta1) * g
    v_new = beta2 * v + (1 - beta2) * g**2
    m_hat = m_new / (1 - beta1**t)
    v_hat = v_new / (1 - beta2**t)
    x_new = x - lr * m_hat / (xp.sqrt(v_hat) + eps)
    return x_new, m_new, v_new
