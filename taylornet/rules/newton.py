"""STUB: to be written (see CONTRACT.md)."""

from __future__ import annotations


def newton_direction(g, H):
    raise NotImplementedError


def damped_newton_direction(g, H, damping):
    raise NotImplementedError
