r"""The line-search Newton-CG direction: truncated CG on :math:`B p = -g` (N&W Alg. 7.1)."""

from __future__ import annotations

from typing import Any, NamedTuple

from .._array import namespace, norm
from .cg import CGResult, cg
from .forcing import forcing_term


class NewtonCGDirection(NamedTuple):
    """The direction ``p`` and the :class:`~taylornet.core.CGResult` of the inner CG."""

    p: Any
    cg: CGResult


def newton_cg_direction(hvp, g, tol=None, max_iter=None, g_norm=None):
    r"""Inexact Newton direction by truncated CG, N&W Algorithm 7.1.

    CG on :math:`B p = -g` from :math:`p = 0` stops

    - when :math:`\|r\| \le \eta \|g\|` with ``tol`` :math:`= \eta`, by default the
      forcing term :math:`\min(0.5, \sqrt{\|g\|})` (N&W 7.3,
      :func:`~taylornet.core.forcing_term`);
    - at the first direction :math:`d` with :math:`d^\top B d \le 0`: the direction is
      then the last CG iterate, or :math:`-g` when that is the first direction;
    - after ``max_iter`` products (default: the dimension).

    ``hvp`` is a callable ``v -> B v`` (B may be indefinite); ``g_norm``, when
    the caller already has :math:`\|g\|` on the host, saves a read. Returns a
    :class:`NewtonCGDirection`; ``cg.status`` tells why CG stopped and
    ``cg.n_matvec`` how many products it took.
    """
    if tol is None:
        tol = forcing_term(norm(namespace(g), g) if g_norm is None else g_norm)
    result = cg(hvp, -g, tol=tol, max_iter=max_iter, stop_on_negative_curvature=True,
                func="newton_cg_direction")
    if result.status == "negative_curvature" and result.n_iter == 0:
        return NewtonCGDirection(-g, result)
    return NewtonCGDirection(result.x, result)
