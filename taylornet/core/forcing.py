r"""The forcing term of inexact Newton methods (N&W section 7.1)."""

from __future__ import annotations

import math


def forcing_term(g_norm) -> float:
    r"""N&W (7.3): :math:`\eta_k = \min\bigl(0.5, \sqrt{\|\nabla f_k\|}\bigr)`.

    The inner solver (CG, CG-Steihaug) stops when
    :math:`\|r_k\| \le \eta_k \|\nabla f_k\|`; since :math:`\eta_k \to 0` like
    :math:`\|\nabla f_k\|^{1/2}`, the outer iteration converges superlinearly
    (N&W Theorem 7.2). ``g_norm`` is :math:`\|\nabla f_k\|_2` (a number or a 0-d
    array); the result is a Python float.
    """
    g_norm = float(g_norm)
    if not g_norm >= 0:
        raise ValueError(f"forcing_term: need ||g|| >= 0 (got {g_norm!r})")
    return min(0.5, math.sqrt(g_norm))
