"""Which catalogued wrong solutions the *visible* tests catch, without nbgrader.

Each problem set's catalogue (``exercises/catalogue/psXX_name.py``) keeps ``WRONG``:
per exercise, implementations that circulate and that grading must reject. A visible
test should already reject the common ones, so that a student learns from the
feedback before submitting. For every entry this module runs, in a fresh
namespace, the set-up cell, the wrong implementation and the visible part of the
exercise's test cell (everything before ``### BEGIN HIDDEN TESTS``); the entry is
*caught* when that raises.

    python tests/_visible.py            # a table per problem set
    python tests/_visible.py ps05       # one problem set, with every miss named
"""

from __future__ import annotations

import contextlib
import io
import sys
import types
import warnings
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"


def course_modules():
    """``exercises/catalogue`` (the catalogues) and ``exercises/tools/sync.py`` (the text)."""
    paths = [str(EXERCISES), str(EXERCISES / "tools")]
    sys.path[:0] = paths
    try:
        import catalogue
        import sync
    finally:
        for path in paths:
            sys.path.remove(path)
    return catalogue, sync


def load_specs() -> dict:
    """Per problem set (one per ``exercises/problems/*.md``): ``ASSIGNMENT``, ``POINTS``
    (``{exercise: points}`` from its source notebook's test cells, the one source of
    points) and the catalogues ``WRONG``, ``RIGHT`` and ``VISIBLE_MISSES``."""
    catalogue, sync = course_modules()
    specs = {}
    for path in sorted((EXERCISES / "problems").glob("*.md")):
        nb = nbformat.read(sync.notebook_path(path.stem), as_version=4)
        specs[path.stem] = types.SimpleNamespace(ASSIGNMENT=path.stem, POINTS=sync.points(nb),
                                                 **catalogue.load(path.stem))
    return specs


def _cell(nb, gid):
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid]
    return cell.source


def visible_region(source: str) -> str:
    return source.split("### BEGIN HIDDEN TESTS")[0]


def run_visible(nb, name: str, implementation: str) -> str | None:
    """``None`` when the visible test of ``name`` passes ``implementation``, else the failure."""
    namespace = {"__name__": "__main__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(_cell(nb, "setup"), namespace)
        try:
            exec(implementation, namespace)
            exec(compile(visible_region(_cell(nb, f"{name}_tests")), f"{name}_tests", "exec"),
                 namespace)
        except Exception as exc:  # noqa: BLE001 - any failure is a caught mistake
            return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def verdicts(assignment: str, spec) -> dict[tuple[str, str], str | None]:
    path = ROOT / "exercises" / "source" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    return {(name, label): run_visible(nb, name, code)
            for name, catalogue in spec.WRONG.items() for label, code in catalogue.items()}


def main(argv: list[str]) -> int:
    specs = load_specs()
    chosen = [a for a in specs if not argv or any(a.startswith(p) for p in argv)]
    total = caught_total = 0
    for assignment in chosen:
        found = verdicts(assignment, specs[assignment])
        caught = sum(v is not None for v in found.values())
        total, caught_total = total + len(found), caught_total + caught
        print(f"{assignment}: {caught} of {len(found)} wrong solutions fail the visible tests")
        for (name, label), failure in found.items():
            mark = "caught" if failure else "PASSES"
            if argv or failure is None:
                print(f"  {mark:6} {name}: {label}" + (f"  -> {failure[:70]}" if failure else ""))
    print(f"all: {caught_total} of {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
