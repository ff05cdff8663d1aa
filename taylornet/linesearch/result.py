"""The record every line search returns."""

from __future__ import annotations

from typing import Any, NamedTuple


class LineSearchResult(NamedTuple):
    r"""Outcome of a line search along ``p`` from ``x``.

    Attributes
    ----------
    alpha : float
        The step length taken; ``0.0`` when no acceptable step was found.
    x : array
        The new point :math:`x + \alpha p` (``x`` itself when ``alpha == 0``),
        same back end as the input.
    f : float
        :math:`f(x + \alpha p)`, always finite.
    g : array or None
        :math:`\nabla f(x + \alpha p)` when the search evaluates gradients
        (strong Wolfe), ``None`` for function-only searches (backtracking).
    nfev, ngev : int
        Function and gradient evaluations spent.
    success : bool
        Whether the search's acceptance conditions hold at ``alpha``.
    message : str
        A human-readable account, in particular of why a search failed.
    n_nonfinite : int
        Trial points whose value or gradient was not finite (each was treated
        as "too long" and shortened); counted by the strong Wolfe search.
    """

    alpha: float
    x: Any
    f: float
    g: Any
    nfev: int
    ngev: int
    success: bool
    message: str
    n_nonfinite: int = 0
