"""Shared fixtures: seeded generators and the two array back ends."""

from __future__ import annotations

import numpy as np
import pytest
import torch

BACKENDS = ["numpy", "torch"]


@pytest.fixture
def rng():
    return np.random.default_rng(20261123)


def to_backend(backend, *arrays):
    """Convert NumPy float64 arrays to the requested back end."""
    if backend == "numpy":
        out = tuple(np.array(a, dtype=np.float64) for a in arrays)
    else:
        out = tuple(torch.tensor(np.asarray(a), dtype=torch.float64) for a in arrays)
    return out if len(out) > 1 else out[0]


def to_numpy(a):
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)
