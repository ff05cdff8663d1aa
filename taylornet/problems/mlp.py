r"""A small multilayer perceptron regression, parameters as one flat vector."""

from __future__ import annotations

import numpy as np

from .base import Constants, Problem, namespace


def mlp_regression(n_samples=64, hidden=(16,), n_inputs=1, noise=0.05, seed=0):
    r"""Least-squares regression with a ``tanh`` MLP.

    .. math:: f(\theta) = \frac{1}{2m}\sum_{j=1}^m (\hat y_j(\theta) - y_j)^2

    Data from ``numpy.random.default_rng(seed)``: inputs uniform in
    :math:`[-2, 2]^d` (``n_inputs`` :math:`d \in \{1, 2\}`), targets
    :math:`\sin(2 t)` for :math:`d = 1` and :math:`\sin(x_1)\cos(x_2)` for
    :math:`d = 2`, plus ``noise`` times standard normal noise.

    Network: :math:`a_0 = x`, :math:`a_\ell = \tanh(W_\ell a_{\ell-1} + b_\ell)` for
    each width in ``hidden``, :math:`\hat y = W_{L+1} a_L + b_{L+1}` (linear
    output). :math:`\theta` stacks, layer by layer, :math:`W_\ell` (shape
    ``(out, in)``, row-major) then :math:`b_\ell`; ``x0`` is a seeded
    initialisation with :math:`W \sim N(0, 1/\text{fan-in})`, :math:`b = 0`.

    ``fun`` and ``grad`` are written with the array API (``grad`` is hand-written
    backpropagation, checked against torch autograd in the tests). ``hess`` and
    ``hessp`` use torch autograd (:func:`taylornet.autodiff.hessian`,
    :func:`taylornet.autodiff.hvp`; NumPy in, NumPy out): exact, and the honest
    way to get second derivatives of a network. Non-convex: no ``x_star``.
    """
    if n_inputs not in (1, 2):
        raise ValueError(f"n_inputs must be 1 or 2, got {n_inputs}")
    rng = np.random.default_rng(seed)
    inputs = rng.uniform(-2.0, 2.0, size=(n_samples, n_inputs))
    if n_inputs == 1:
        clean = np.sin(2.0 * inputs[:, 0])
    else:
        clean = np.sin(inputs[:, 0]) * np.cos(inputs[:, 1])
    targets = clean + noise * rng.standard_normal(n_samples)
    consts = Constants(X=inputs, y=targets)

    widths = [n_inputs, *hidden, 1]
    shapes = list(zip(widths[1:], widths[:-1], strict=True))  # (out, in) per layer
    n_params = sum(o * i + o for o, i in shapes)

    def unpack(theta):
        xp = namespace(theta)
        layers, k = [], 0
        for out, inp in shapes:
            w = xp.reshape(theta[k : k + out * inp], (out, inp))
            k += out * inp
            b = theta[k : k + out]
            k += out
            layers.append((w, b))
        return layers

    def forward(theta, inputs):
        """Activations a_0, ..., a_L and the prediction."""
        xp = namespace(theta)
        layers = unpack(theta)
        acts = [inputs]
        for w, b in layers[:-1]:
            acts.append(xp.tanh(acts[-1] @ w.T + b))
        w, b = layers[-1]
        pred = xp.reshape(acts[-1] @ w.T + b, (-1,))
        return acts, layers, pred

    def fun(theta):
        xp, c = namespace(theta), consts(theta)
        _, _, pred = forward(theta, c.X)
        err = pred - c.y
        return 0.5 * xp.sum(err * err) / n_samples

    def grad(theta):
        xp, c = namespace(theta), consts(theta)
        acts, layers, pred = forward(theta, c.X)
        delta = xp.reshape((pred - c.y) / n_samples, (-1, 1))  # d f / d (pre-activation)
        pieces = []
        for ell in range(len(layers) - 1, -1, -1):
            w, _ = layers[ell]
            a_in = acts[ell]
            pieces.append(xp.sum(delta, axis=0))  # d f / d b
            pieces.append(xp.reshape(delta.T @ a_in, (-1,)))  # d f / d W
            if ell > 0:
                delta = (delta @ w) * (1.0 - a_in * a_in)  # through tanh' = 1 - tanh^2
        return xp.concat(pieces[::-1])

    def hess(theta):
        from .. import autodiff

        return autodiff.hessian(fun, theta)

    def hessp(theta, p):
        from .. import autodiff

        return autodiff.hvp(fun, theta, p)

    x0_parts = []
    for out, inp in shapes:
        x0_parts.append(rng.standard_normal(out * inp) / np.sqrt(inp))
        x0_parts.append(np.zeros(out))
    x0 = np.concatenate(x0_parts)
    assert x0.shape == (n_params,)

    return Problem(
        name=f"mlp_regression(d={n_inputs}, hidden={tuple(hidden)}, m={n_samples})",
        fun=fun,
        x0=x0,
        grad=grad,
        hess=hess,
        hessp=hessp,
        description=f"tanh MLP {widths} least squares, {n_params} parameters",
    )
