"""STUB: to be written (see CONTRACT.md)."""

from __future__ import annotations


def hutchinson_trace(hvp, dim, num_samples, seed=None):
    raise NotImplementedError
