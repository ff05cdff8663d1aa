"""Argument checks shared by the core solvers (clear errors, nothing lost)."""

from __future__ import annotations

import math


def check_finite(xp, func, **arrays):
    """``ValueError`` naming the first array with a NaN or infinite entry."""
    for name, a in arrays.items():
        if not bool(xp.all(xp.isfinite(a))):
            raise ValueError(f"{func}: {name} contains non-finite values")


def check_radius(func, radius) -> float:
    """The trust-region radius as a Python float; ``ValueError`` unless finite and > 0."""
    r = float(radius)
    if not (math.isfinite(r) and r > 0):
        raise ValueError(f"{func}: radius must be a finite number > 0 (got {radius!r})")
    return r


def check_gradient(xp, func, g):
    """``g`` must be a finite 1-D vector."""
    if g.ndim != 1:
        raise ValueError(f"{func}: g must be a 1-D vector (got shape {tuple(g.shape)})")
    if not bool(xp.all(xp.isfinite(g))):
        raise ValueError(f"{func}: g contains non-finite values")


def check_iteration_limits(func, tol, max_iter, n) -> int:
    """``tol >= 0`` and ``max_iter >= 0``; returns ``max_iter`` (default ``n``)."""
    if not tol >= 0:
        raise ValueError(f"{func}: tol must be >= 0 (got {tol!r})")
    max_iter = n if max_iter is None else max_iter
    if not max_iter >= 0:
        raise ValueError(f"{func}: max_iter must be >= 0 (got {max_iter!r})")
    return max_iter
