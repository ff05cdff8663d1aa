"""Exceptions shared by the whole package."""


class LineSearchError(RuntimeError):
    """A line search found no acceptable step length.

    Raised, for example, by :func:`taylornet.rules.armijo_backtracking` when
    ``max_iter`` reductions of the step all fail the sufficient-decrease test.
    """
