"""STUB: to be written (see CONTRACT.md)."""

from __future__ import annotations


def conjugate_gradient(A, b, x0=None, tol=1e-10, max_iter=None):
    raise NotImplementedError


def cg_beta(g_new, g_old, p_old, kind="pr+"):
    raise NotImplementedError
