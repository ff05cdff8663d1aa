r"""Averaging over the processes of a :mod:`torch.distributed` job.

Under :class:`torch.nn.parallel.DistributedDataParallel` every rank holds the
same parameters and evaluates its own shard of the batch. With equal shards
and a mean loss, the full-batch loss, gradient and curvature product are the
averages over ranks:

.. math::
    f(x) = \frac1R \sum_{r=1}^R f_r(x), \qquad
    \nabla f = \frac1R \sum_r \nabla f_r, \qquad
    \nabla^2 f\, v = \frac1R \sum_r \nabla^2 f_r\, v .

DDP averages gradients only inside ``loss.backward()`` (its reducer hooks);
the optimizers here differentiate with :func:`torch.autograd.grad`, which
does not run those hooks, and need the loss and Hessian-vector products too.
So they average every such quantity themselves with one ``all_reduce`` per
evaluation. Every rank then sees identical numbers and takes identical
decisions (line search, CG stopping, damping), which keeps the parameters in
step without any broadcast.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def world_size():
    """Number of processes when :mod:`torch.distributed` is initialised, else 1."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return 1


def average(*tensors):
    """The rank-average of each (detached) tensor, with one ``all_reduce`` for all of them.

    Returns the inputs themselves when there is only one process.
    """
    size = world_size()
    if size == 1:
        return tensors
    flat = torch.cat([t.detach().reshape(-1) for t in tensors])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= size
    return tuple(
        b.view_as(t) for b, t in zip(flat.split([t.numel() for t in tensors]), tensors, strict=True)
    )
