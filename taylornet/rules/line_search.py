"""STUB: to be written (see CONTRACT.md)."""

from __future__ import annotations


def armijo_backtracking(f, x, fx, g, p, alpha0=1.0, c1=1e-4, rho=0.5, max_iter=50):
    raise NotImplementedError


def wolfe_conditions(f, grad, x, p, alpha, c1=1e-4, c2=0.9):
    raise NotImplementedError
