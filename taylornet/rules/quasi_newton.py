"""STUB: to be written (see CONTRACT.md)."""

from __future__ import annotations


def bfgs_inverse_update(H, s, y):
    raise NotImplementedError


def bfgs_update(B, s, y):
    raise NotImplementedError


def dfp_inverse_update(H, s, y):
    raise NotImplementedError


def sr1_update(B, s, y, r=1e-8):
    raise NotImplementedError
