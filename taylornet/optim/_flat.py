r"""All parameters of an optimizer seen as one flat vector :math:`x \in \mathbb R^n`.

The second-order and quasi-Newton methods work on :math:`x`, the concatenation
of every parameter of every group (in group order, then parameter order), and
on the matching flat gradient :math:`g = \nabla f(x)`. Curvature couples all
parameters, so the direction is always computed on the whole vector.
"""

from __future__ import annotations

import torch

from .._array import reject_half_precision


class FlatParams:
    """The parameters of ``param_groups`` as blocks of one flat vector.

    All parameters must share one dtype (floating point) and one device, so
    that :math:`x` is a single tensor there; ``ValueError`` otherwise.
    """

    def __init__(self, param_groups, owner):
        self.params = [p for group in param_groups for p in group["params"]]
        if not self.params:
            raise ValueError(f"{owner}: got an empty parameter list")
        first = self.params[0]
        for i, p in enumerate(self.params):
            if not p.requires_grad:
                raise ValueError(
                    f"{owner}: parameter {i} (shape {tuple(p.shape)}) does not require grad; "
                    "leave it out of the optimizer or set requires_grad=True"
                )
            if not p.is_floating_point():
                raise ValueError(f"{owner}: parameter {i} has dtype {p.dtype}, not floating point")
            reject_half_precision(owner, **{f"parameter {i}": p})
            if p.is_sparse:
                raise ValueError(f"{owner}: parameter {i} is a sparse tensor (not supported)")
            if p.dtype != first.dtype or p.device != first.device:
                raise ValueError(
                    f"{owner}: all parameters must share one dtype and device (the method works "
                    f"on their concatenation); parameter 0 is {first.dtype} on {first.device}, "
                    f"parameter {i} is {p.dtype} on {p.device}"
                )
        self.dtype, self.device = first.dtype, first.device
        self.numels = [p.numel() for p in self.params]
        self.n = sum(self.numels)
        # The slice of x that belongs to each group, in order.
        self.group_slices = []
        start = 0
        for group in param_groups:
            size = sum(p.numel() for p in group["params"])
            self.group_slices.append(slice(start, start + size))
            start += size

    def get(self):
        """A copy of the current parameters as one flat vector."""
        return torch.cat([p.detach().reshape(-1) for p in self.params])

    @torch.no_grad()
    def set_(self, x):
        """Write the flat vector ``x`` into the parameters (in place)."""
        for p, block in zip(self.params, x.split(self.numels), strict=True):
            p.copy_(block.view_as(p))

    def flatten(self, tensors, what="gradient"):
        """Concatenate per-parameter tensors; ``None`` (parameter unused) counts as zeros."""
        blocks = []
        for i, (t, p) in enumerate(zip(tensors, self.params, strict=True)):
            if t is None:
                blocks.append(p.new_zeros(p.numel()))
            elif t.is_sparse:
                raise RuntimeError(
                    f"the {what} of parameter {i} is sparse; these optimizers need dense "
                    "gradients (e.g. nn.Embedding(sparse=False))"
                )
            else:
                blocks.append(t.reshape(-1))
        return torch.cat(blocks)

    def unflatten(self, x):
        """Views of ``x`` shaped like the parameters."""
        return tuple(
            b.view_as(p) for p, b in zip(self.params, x.split(self.numels), strict=True)
        )

    def per_group(self, values):
        """A flat vector holding ``values[i]`` on group ``i``'s block (a diagonal scaling)."""
        d = torch.empty(self.n, dtype=self.dtype, device=self.device)
        for s, v in zip(self.group_slices, values, strict=True):
            d[s] = v
        return d
