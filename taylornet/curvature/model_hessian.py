r"""Curvature operators of a real network: :math:`v \mapsto H v` and :math:`v \mapsto G v`.

:class:`HessianOperator` and :class:`GaussNewtonOperator` turn
``(model, loss_fn, batch)`` into a symmetric linear operator on the flat
parameter vector :math:`\theta \in \mathbb R^n` of the loss

.. math:: \ell(\theta) = \texttt{loss\_fn}(\texttt{model}_\theta(X), y),

frozen at the parameters the model has when the operator is built. ``H @ v``
takes a flat vector (or an ``(n, k)`` matrix of columns) of the parameters'
dtype and device. The spectral tools of :mod:`taylornet.curvature` (Lanczos,
stochastic Lanczos quadrature, Hutchinson, power iteration) run on it through
the methods :meth:`~_CurvatureOperator.eigenvalues`,
:meth:`~_CurvatureOperator.spectral_density`, :meth:`~_CurvatureOperator.trace`
and :meth:`~_CurvatureOperator.power_iteration`.

Train and eval mode (BatchNorm makes the two Hessians differ)
-------------------------------------------------------------
The mode is the model's ``training`` flag when the operator is built, or
``train=True/False``; it is fixed for the operator's life (see the book's
Common mistakes appendix: "the Hessian" of a network with BatchNorm).

* **eval**: BatchNorm normalises with its running mean and variance, which are
  constants; the loss is a sum of per-example terms.
* **train**: BatchNorm normalises with the *batch* mean and variance, which
  are functions of :math:`\theta` (through the layers below it) and of every
  example: the loss couples the examples, and its Hessian has extra terms
  from differentiating the batch statistics. This is the Hessian of the loss
  that a training step actually descends.

Either way the products never change the model: the parameters are read
through :func:`torch.func.functional_call` from a snapshot, every module's
``training`` flag is restored afterwards, and in train mode BatchNorm layers
are told not to track running statistics while the products run (their
``running_mean``, ``running_var`` and ``num_batches_tracked`` stay as they
were; the output does not use them in train mode). Dropout in train mode
makes the loss random, so it is refused.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, jvp

from .._torch_quiet import load_forward_ad_quietly
from .gauss_newton import GaussNewtonProducts
from .hutchinson import _hutchinson_samples
from .lanczos import lanczos_eigenvalues
from .lanczos import spectral_density as _spectral_density
from .power_iteration import power_iteration as _power_iteration

load_forward_ad_quietly()

__all__ = ["GaussNewtonOperator", "HessianOperator"]

_BATCHNORM = nn.modules.batchnorm._BatchNorm
_DROPOUT = nn.modules.dropout._DropoutNd


class _ModelLoss:
    """``theta -> loss_fn(model_theta(X), y)`` at a fixed mode, never mutating ``model``."""

    def __init__(self, model, loss_fn, batch, train, func):
        if not isinstance(model, nn.Module):
            raise TypeError(f"{func}: model must be a torch.nn.Module")
        if not callable(loss_fn):
            raise TypeError(f"{func}: loss_fn must be callable as loss_fn(outputs, targets)")
        try:
            inputs, targets = batch
        except (TypeError, ValueError):
            raise ValueError(f"{func}: batch must be a pair (inputs, targets)") from None
        self.model, self.loss_fn, self.inputs, self.targets = model, loss_fn, inputs, targets
        self.train = model.training if train is None else bool(train)
        named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        if not named:
            raise ValueError(f"{func}: model has no parameters that require grad")
        dtypes = {p.dtype for _, p in named}
        devices = {p.device for _, p in named}
        if len(dtypes) > 1 or len(devices) > 1:
            raise ValueError(f"{func}: parameters must share one dtype and device "
                             f"(got {sorted(map(str, dtypes))} on {sorted(map(str, devices))})")
        if self.train and any(isinstance(m, _DROPOUT) and m.p > 0 for m in model.modules()):
            raise ValueError(f"{func}: dropout in train mode makes the loss random; "
                             "use train=False (eval mode) or remove dropout")
        self.names = tuple(n for n, _ in named)
        self.shapes = tuple(p.shape for _, p in named)
        self.sizes = tuple(p.numel() for _, p in named)
        self.theta = tuple(p.detach().clone() for _, p in named)  # the snapshot
        self.dtype, self.device = named[0][1].dtype, named[0][1].device
        self.dim = sum(self.sizes)

    @contextlib.contextmanager
    def mode(self):
        """The model in the operator's mode, BatchNorm not tracking; everything restored."""
        modules = list(self.model.modules())
        training = [m.training for m in modules]
        tracking = [(m, m.track_running_stats) for m in modules if isinstance(m, _BATCHNORM)]
        try:
            self.model.train(self.train)
            if self.train:  # batch statistics are used; running ones must not move
                for m, _ in tracking:
                    m.track_running_stats = False
            yield
        finally:
            for m, flag in zip(modules, training, strict=True):
                m.training = flag
            for m, flag in tracking:
                m.track_running_stats = flag

    def outputs(self, theta):
        """``model_theta(X)``; call inside :meth:`mode`."""
        return functional_call(self.model, dict(zip(self.names, theta, strict=True)),
                               (self.inputs,))

    def loss(self, theta):
        """``loss_fn(model_theta(X), y)``; call inside :meth:`mode`."""
        return self.loss_fn(self.outputs(theta), self.targets)

    def unflatten(self, v):
        """Flat ``v`` as a tuple of views shaped like the parameters."""
        return tuple(t.view(s) for t, s in
                     zip(torch.split(v, self.sizes), self.shapes, strict=True))

    @staticmethod
    def flatten(ts):
        return torch.cat([t.reshape(-1) for t in ts])


class _CurvatureOperator:
    r"""A symmetric :math:`n \times n` operator seen through ``op @ v``; spectral tools on it."""

    _name = "operator"

    def __init__(self, model_loss, check_finite):
        self._f = model_loss
        self.check_finite = check_finite
        self.n_products = 0

    # --- linear-operator protocol ---------------------------------------------------
    @property
    def dim(self):
        """:math:`n`, the number of trainable parameters."""
        return self._f.dim

    @property
    def shape(self):
        return (self._f.dim, self._f.dim)

    @property
    def dtype(self):
        return self._f.dtype

    @property
    def device(self):
        return self._f.device

    @property
    def train(self):
        """Whether the products are those of the train-mode loss (see the module docstring)."""
        return self._f.train

    def __matmul__(self, v):
        return self.matvec(v)

    def __call__(self, v):
        return self.matvec(v)

    def matvec(self, v):
        """``op @ v`` for a flat ``v`` of shape ``(n,)`` or a matrix of columns ``(n, k)``."""
        func = f"{self._name} @ v"
        if not isinstance(v, torch.Tensor):
            raise TypeError(f"{func}: v must be a torch tensor (got {type(v).__name__})")
        if v.ndim not in (1, 2) or v.shape[0] != self.dim:
            raise ValueError(f"{func}: v has shape {tuple(v.shape)}, expected ({self.dim},) "
                             f"or ({self.dim}, k)")
        if v.dtype != self.dtype or v.device != self.device:
            raise ValueError(f"{func}: v is {v.dtype} on {v.device}, the parameters are "
                             f"{self.dtype} on {self.device}")
        if self.check_finite and not bool(torch.isfinite(v).all()):
            raise ValueError(f"{func}: v contains non-finite values")
        if v.ndim == 2:
            return torch.stack([self._product(v[:, j]) for j in range(v.shape[1])], dim=1)
        return self._product(v)

    def _product(self, v):
        self.n_products += 1
        with self._f.mode():
            return self._f.flatten(self._tuple_product(self._f.unflatten(v))).detach()

    def to_dense(self):
        """The :math:`n \\times n` matrix, one product per column (small models only)."""
        return self.matvec(torch.eye(self.dim, dtype=self.dtype, device=self.device))

    # --- spectral tools: the existing taylornet.curvature functions ----------------------
    def _like(self):
        return torch.empty(0, dtype=self.dtype, device=self.device)

    def eigenvalues(self, k, which="largest", num_steps=None, seed=None):
        """``k`` extreme eigenvalues by Lanczos with full reorthogonalisation.

        :func:`taylornet.curvature.lanczos_eigenvalues` on this operator;
        ``which`` is ``"largest"``, ``"smallest"`` or ``"both"``. NumPy float64,
        ascending.
        """
        return lanczos_eigenvalues(self.matvec, self.dim, k, which=which, num_steps=num_steps,
                                   seed=seed, like=self._like())

    def spectral_density(self, num_probes, num_steps, seed=None, probes="rademacher"):
        """SLQ nodes and weights: :func:`taylornet.curvature.spectral_density` on this operator."""
        return _spectral_density(self.matvec, self.dim, num_probes, num_steps, seed=seed,
                                 like=self._like(), probes=probes)

    def trace(self, num_samples, seed=None, return_stderr=False):
        r"""Hutchinson's estimate of :math:`\operatorname{tr}`; with its standard error if asked.

        The terms are those of :func:`taylornet.curvature.hutchinson_trace`; the
        standard error is their sample standard deviation over
        :math:`\sqrt m` (``ddof=1``; needs ``num_samples >= 2``).
        """
        samples = _hutchinson_samples(self.matvec, self.dim, num_samples, seed, like=self._like())
        estimate = float(np.mean(samples))
        if not return_stderr:
            return estimate
        if samples.size < 2:
            raise ValueError("trace: return_stderr needs num_samples >= 2")
        return estimate, float(np.std(samples, ddof=1) / np.sqrt(samples.size))

    def power_iteration(self, num_iters=100, tol=1e-8, seed=None):
        """Eigenpair of largest magnitude: :func:`taylornet.curvature.power_iteration`."""
        v0 = torch.as_tensor(np.random.default_rng(seed).standard_normal(self.dim),
                             dtype=self.dtype, device=self.device)
        return _power_iteration(self.matvec, v0, num_iters=num_iters, tol=tol)

    def __repr__(self):
        mode = "train" if self.train else "eval"
        return (f"{type(self).__name__}(dim={self.dim}, mode={mode!r}, dtype={self.dtype}, "
                f"device={self.device})")


class HessianOperator(_CurvatureOperator):
    r"""The loss Hessian :math:`H = \nabla^2_\theta \ell(\theta)` as ``H @ v``.

    Parameters
    ----------
    model : ``torch.nn.Module``; its trainable parameters, at their values now,
        are :math:`\theta` (a snapshot: later updates of the model are not seen).
    loss_fn : ``loss_fn(outputs, targets) -> scalar tensor``.
    batch : ``(inputs, targets)``.
    mode : how :math:`Hv` is computed, both exact (Pearlmutter 1994):

        * ``"double_backward"`` (default): reverse-over-reverse. The gradient
          :math:`g(\theta)` is built once with ``create_graph=True``, and each
          product is one more backward pass, :math:`Hv = \nabla_\theta
          \langle g(\theta), v\rangle` (``torch.autograd.grad(g, theta, v)``).
        * ``"jvp"``: forward-over-reverse, ``torch.func.jvp(torch.func.grad(loss),
          (theta,), (v,))``, the directional derivative of the gradient map;
          it redoes the forward and backward pass with dual numbers on every
          product. It needs forward-mode rules for every backward op; where
          torch lacks one (``F.mse_loss`` in torch 2.13: write the MSE as
          ``((z - y)**2).mean()``) the product raises ``NotImplementedError``.

        Why the default: measured on CPU (float32, MLP 784-1024-1024-10 with
        tanh, batch 512, cross-entropy; ``benchmarks/torch_optim.py``, figures
        in ``benchmarks/README.md``), one product costs 1.8 gradients with
        ``"double_backward"`` (2.8 when the graph is built for a single
        product) and 3.3 with ``"jvp"``: reusing the recorded gradient graph saves the
        forward and backward pass that every ``"jvp"`` product repeats, and
        forward-mode kernels on the CPU are slower than reverse ones. The
        price is memory: the double graph stays alive as long as the operator.
    train : ``None`` (the model's mode now), ``True`` or ``False``; see the
        module docstring for what this means with BatchNorm.
    check_finite : reject non-finite ``v`` with ``ValueError`` (one host read
        per product).

    ``H @ v`` accepts a flat tensor of shape ``(n,)`` or ``(n, k)`` with the
    parameters' dtype and device and returns the same shape.
    """

    _name = "HessianOperator"
    modes = ("double_backward", "jvp")

    def __init__(self, model, loss_fn, batch, mode="double_backward", train=None,
                 check_finite=True):
        func = "HessianOperator"
        if mode not in self.modes:
            raise ValueError(f"{func}: mode must be one of {self.modes} (got {mode!r})")
        f = _ModelLoss(model, loss_fn, batch, train, func)
        super().__init__(f, check_finite)
        self.mode = mode
        if mode == "double_backward":
            self._theta = tuple(t.clone().requires_grad_() for t in f.theta)
            with f.mode():
                self.loss = f.loss(self._theta)
                self._grad = torch.autograd.grad(self.loss, self._theta, create_graph=True)
            self.loss = self.loss.detach()
            self.grad = f.flatten(self._grad).detach()
        else:
            self._theta = f.theta
            with f.mode():
                self.loss = f.loss(f.theta).detach()

    def _tuple_product(self, v):
        if self.mode == "double_backward":
            hv = torch.autograd.grad(self._grad, self._theta, grad_outputs=v,
                                     retain_graph=True, allow_unused=True)
            return tuple(torch.zeros_like(t) if h is None else h
                         for h, t in zip(hv, self._theta, strict=True))
        try:
            return jvp(grad(self._f.loss), (self._theta,), (v,))[1]
        except RuntimeError as err:  # e.g. F.mse_loss: its backward has no forward-mode rule
            raise NotImplementedError(
                "HessianOperator: mode='jvp' failed inside torch's forward-over-reverse AD "
                f"for this model or loss ({err}); use mode='double_backward'") from err


class GaussNewtonOperator(_CurvatureOperator):
    r"""The generalised Gauss-Newton matrix :math:`G = J^\top H_L J` as ``G @ v``.

    :math:`J = \partial z / \partial\theta` for the outputs
    :math:`z = \texttt{model}_\theta(X)` and :math:`H_L = \partial^2
    \texttt{loss\_fn}(z, y) / \partial z^2` (Schraudolph 2002; Martens 2010;
    not :math:`J^\top J` unless the loss is :math:`\tfrac12\|z - y\|^2`, see
    the book's Common mistakes appendix: :math:`J^\top J` as the Gauss-Newton
    matrix). For a loss convex in :math:`z` (MSE,
    softmax cross-entropy) :math:`G` is positive semidefinite. Arguments as
    for :class:`HessianOperator`; ``mode``:

    * ``"reverse"`` (default): :func:`taylornet.curvature.gauss_newton_vector_product`'s
      three reverse passes on a graph recorded once
      (:class:`~taylornet.curvature.GaussNewtonProducts`), :math:`Jv` by the
      double-backward trick;
    * ``"forward"``: :math:`Jv` by ``torch.func.jvp`` of the network (one
      forward-mode pass), then the same :math:`H_L` and :math:`J^\top` passes.

    ``benchmarks/torch_optim.py`` times both; ``"reverse"`` is the default
    because it needs no forward-mode support from the model's layers and
    reuses the recorded graph.
    """

    _name = "GaussNewtonOperator"
    modes = ("reverse", "forward")

    def __init__(self, model, loss_fn, batch, mode="reverse", train=None, check_finite=True):
        func = "GaussNewtonOperator"
        if mode not in self.modes:
            raise ValueError(f"{func}: mode must be one of {self.modes} (got {mode!r})")
        f = _ModelLoss(model, loss_fn, batch, train, func)
        super().__init__(f, check_finite)
        self.mode = mode
        self._theta = tuple(t.clone().requires_grad_() for t in f.theta)
        with f.mode():
            outputs = f.outputs(self._theta)
            loss = f.loss_fn(outputs, f.targets)
        self.loss = loss.detach()
        self._ggn = GaussNewtonProducts(outputs, loss, self._theta)

    def _tuple_product(self, v):
        if self.mode == "reverse":
            jv = self._ggn.jvp(v)
        else:
            jv = jvp(self._f.outputs, (self._f.theta,), (v,))[1]
        return self._ggn.vjp(self._ggn.loss_hvp(jv))

