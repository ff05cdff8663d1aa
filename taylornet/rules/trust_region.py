"""STUB: to be written (see CONTRACT.md)."""

from __future__ import annotations


def cauchy_point(g, B, radius):
    raise NotImplementedError


def dogleg_step(g, B, radius):
    raise NotImplementedError


def steihaug_cg(g, hvp, radius, tol=1e-10, max_iter=None):
    raise NotImplementedError
