"""STUB: to be written (see CONTRACT.md)."""

from __future__ import annotations


def gauss_newton_direction(J, r):
    raise NotImplementedError


def levenberg_marquardt_direction(J, r, lam):
    raise NotImplementedError
