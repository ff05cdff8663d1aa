"""STUB: to be written (see CONTRACT.md)."""

from __future__ import annotations


def taylor_step(x, lr, g, Hg=None, H2g=None, T3gg=None):
    raise NotImplementedError
