"""Catalogues of implementations that the tests of each problem set must judge right.

One module per problem set, named after it (``ps05_quasi_newton.py``), holds ordinary
functions, each written as a student would write the exercise and registered by its
decorator with the exercise's name and a label::

    @wrong("bfgs_update", "the H formula applied to B")
    def bfgs_update(B, s, y): ...

* ``@wrong``: a slip that circulates; the hidden tests must reject it, and so must the
  visible tests unless the module's ``VISIBLE_MISSES`` lists it with the reason.
* ``@right``: another correct implementation; every test must accept it.

Several functions share a name, as the student's would (hence ruff's F811 is off for
this folder). A function runs in the notebook's namespace (what its set-up cell
imports: ``np``, the helpers, ``LineSearchError``), so it must not use anything else
of its module. :func:`load` returns, per problem set, ``{"WRONG": {exercise: {label:
source}}, "RIGHT": ..., "VISIBLE_MISSES": {exercise: {label: reason}}}`` with the source
of each function as a student's solution cell would hold it (no decorator, named
after the exercise), ready for ``exec``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from collections.abc import Callable
from pathlib import Path

KINDS = ("WRONG", "RIGHT")
_REGISTRY: dict[str, dict[str, dict[str, dict[str, Callable]]]] = {}


def _register(kind: str):
    def decorator(exercise: str, label: str):
        def register(func: Callable) -> Callable:
            books = _REGISTRY.setdefault(func.__module__, {k: {} for k in KINDS})
            book = books[kind].setdefault(exercise, {})
            if label in book:
                raise ValueError(f"{func.__module__}: {kind} {exercise!r} has {label!r} twice")
            book[label] = func
            return func
        return register
    return decorator


#: ``@wrong(exercise, label)``: an implementation the hidden tests must reject.
wrong = _register("WRONG")
#: ``@right(exercise, label)``: another correct implementation they must accept.
right = _register("RIGHT")


def source(func: Callable, name: str) -> str:
    """The code of ``func`` without its decorators, as a function called ``name``."""
    code = textwrap.dedent(inspect.getsource(func))
    (node,) = ast.parse(code).body
    lines = code.splitlines()[node.lineno - 1:]
    lines[0] = lines[0].replace(f"def {node.name}(", f"def {name}(", 1)
    return "\n".join(lines).strip() + "\n"


def assignments() -> list[str]:
    return sorted(p.stem for p in Path(__file__).parent.glob("ps*.py"))


def load(assignment: str) -> dict[str, dict]:
    """``{"WRONG": ..., "RIGHT": ..., "VISIBLE_MISSES": ...}`` of one problem set."""
    module = importlib.import_module(f"{__name__}.{assignment}")
    books = _REGISTRY.get(module.__name__, {k: {} for k in KINDS})
    found = {kind: {exercise: {label: source(func, exercise) for label, func in book.items()}
                    for exercise, book in books[kind].items()} for kind in KINDS}
    found["VISIBLE_MISSES"] = getattr(module, "VISIBLE_MISSES", {})
    return found


def load_all() -> dict[str, dict[str, dict]]:
    """:func:`load` of every problem set, by name."""
    return {assignment: load(assignment) for assignment in assignments()}
