"""STUB: to be written (see CONTRACT.md)."""

from __future__ import annotations


def power_iteration(hvp, v0, num_iters=100, tol=1e-8):
    raise NotImplementedError
