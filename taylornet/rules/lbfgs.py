"""STUB: to be written (see CONTRACT.md)."""

from __future__ import annotations


def lbfgs_direction(g, s_hist, y_hist):
    raise NotImplementedError
