"""Counting the reads of tensor values by the host (what a GPU synchronises on).

``aten._local_scalar_dense`` is the op behind ``float(t)``, ``int(t)``, ``bool(t)``
and ``t.item()``; ``Tensor.tolist``, ``Tensor.numpy`` and ``Tensor.__array__`` read
whole tensors without passing through the dispatcher, so they are counted by
wrapping them. On the CPU nothing waits, but the count is the one a CUDA run pays.
"""

from __future__ import annotations

import contextlib

import torch
from torch.utils._python_dispatch import TorchDispatchMode

_BULK_READS = ("tolist", "numpy", "__array__")


class HostReads(TorchDispatchMode):
    """Counts host reads while active: ``with HostReads() as reads: ...; reads.count``."""

    def __init__(self):
        super().__init__()
        self.count = 0
        self._inside = False
        self._stack = contextlib.ExitStack()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            self.count += 1
        return func(*args, **(kwargs or {}))

    def __enter__(self):
        for name in _BULK_READS:
            original = getattr(torch.Tensor, name)

            def counted(tensor, *args, __original=original, **kwargs):
                if self._inside:  # __array__ calls numpy(): one read, not two
                    return __original(tensor, *args, **kwargs)
                self.count += 1
                self._inside = True
                try:
                    return __original(tensor, *args, **kwargs)
                finally:
                    self._inside = False
            self._stack.callback(setattr, torch.Tensor, name, original)
            setattr(torch.Tensor, name, counted)
        return super().__enter__()

    def __exit__(self, *exc):
        try:
            return super().__exit__(*exc)
        finally:
            self._stack.close()


def host_reads(f, *args, **kwargs):
    """The number of host reads of ``f(*args, **kwargs)``."""
    with HostReads() as reads:
        f(*args, **kwargs)
    return reads.count
