"""Shared fixtures: seeded generators and the two array back ends."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

# The course's own packages (the grader's side of grading, the catalogues of solutions)
# live in exercises/, as nbgrader_config.py sees them.
_EXERCISES = str(Path(__file__).resolve().parents[1] / "exercises")
if _EXERCISES not in sys.path:
    sys.path.insert(0, _EXERCISES)

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
