"""The problem sets as text: ``problems/<ps>.md`` (MyST) <-> ``source/<ps>/<ps>.ipynb``.

Run from ``exercises/``::

    python tools/sync.py                    # write every source notebook from its text
    python tools/sync.py --check            # exit 1 if a notebook is out of date
    python tools/sync.py --from-notebooks   # write the text back from edited notebooks
    python tools/sync.py ps05               # only the problem sets whose name starts so

The text is the source of truth: jupytext reads it, and the notebook that nbgrader
uses is written from it byte for byte reproducibly (nbformat 4.5, fixed kernel
metadata, no outputs, cell id = ``grade_id``), so ``git diff`` shows real changes only.
Before writing, the points are checked against their one source, the ``points`` of
each test cell's nbgrader metadata: the title's table, the ``(N points)`` of each
statement heading and the score line that ends each hidden block must agree with it
(``problems()`` lists what does not).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

COURSE = Path(__file__).resolve().parents[1]
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
TEXT_FORMAT = {"extension": ".md", "format_name": "myst", "notebook_metadata_filter":
               "kernelspec,-jupytext.text_representation.jupytext_version"}
# The first and last lines of every hidden block: count its cases, and end the cell with
# its score, a number only when partial credit is on (exercises/README.md).
HIDDEN_BEGIN = ("### BEGIN HIDDEN TESTS\nimport taylornet.grading as _grading  # noqa: E402\n\n"
                "_grading.begin_hidden_tests()\n")
HIDDEN_END = ("_grading.hidden_tests_score({points:g})  # None: all-or-nothing (the default)\n"
              "### END HIDDEN TESTS")
_HELPERS = re.compile(r"from taylornet\.grading import \(\n((?:    \w+,\n)+)\)")


def text_path(assignment: str) -> Path:
    return COURSE / "problems" / f"{assignment}.md"


def notebook_path(assignment: str) -> Path:
    return COURSE / "source" / assignment / f"{assignment}.ipynb"


def points_label(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")


def notebook(path: Path):
    """The source notebook of one text file, as nbgrader gets it."""
    cells = []
    for cell in jupytext.read(path, fmt="md:myst").cells:
        new = (new_code_cell if cell.cell_type == "code" else new_markdown_cell)(cell.source)
        new.metadata = {"nbgrader": cell.metadata.get("nbgrader", {})}
        new.id = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell-{len(cells)}"
        cells.append(new)
    nb = new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC),
                                             "language_info": dict(LANGUAGE_INFO)})
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def text(nb) -> str:
    """The MyST text of a notebook (code cells as ``{code-cell} ipython3``)."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:  # only nbgrader's metadata: not Jupyter's tags, timings, ...
        cell.metadata = {"nbgrader": cell.metadata.get("nbgrader", {})}
    nb.metadata["language_info"] = {**LANGUAGE_INFO, "pygments_lexer": "ipython3"}
    return jupytext.writes(nb, fmt=TEXT_FORMAT)


def points(nb) -> dict[str, float]:
    """``{exercise: points}`` from the test cells ``<exercise>_tests``, in notebook order."""
    return {c.metadata.nbgrader.grade_id.removesuffix("_tests"): c.metadata.nbgrader.get("points")
            for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}


def problems(nb) -> list[str]:
    """What is inconsistent in a source notebook (empty when it can be written)."""
    found, ids = [], [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    found += [f"cell {i + 1} has no nbgrader grade_id" for i, gid in enumerate(ids) if not gid]
    found += [f"duplicate grade_id {gid!r}" for gid in sorted({g for g in ids if ids.count(g) > 1})]
    by_id = dict(zip(ids, nb.cells, strict=True))
    for gid, cell in by_id.items():
        if cell.metadata.get("nbgrader", {}).get("solution") and not (
                "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source):
            found.append(f"{gid}: no ### BEGIN/END SOLUTION region")
    pts = points(nb)
    for k, (name, p) in enumerate(pts.items(), 1):
        if not (isinstance(p, int | float) and p > 0):
            found.append(f"{name}_tests: points must be positive, not {p!r}")
            continue
        source = by_id[f"{name}_tests"].source if f"{name}_tests" in by_id else ""
        if source.count("### BEGIN HIDDEN TESTS") != 1 or source.count(HIDDEN_BEGIN) != 1:
            found.append(f"{name}_tests: one hidden block, starting with the lines\n{HIDDEN_BEGIN}")
        if not source.endswith(HIDDEN_END.format(points=p)):
            found.append(f"{name}_tests: the cell must end with its points ({p:g}):\n"
                         + HIDDEN_END.format(points=p))
        statement = by_id.get(f"{name}_statement")
        heading = statement.source.split("\n")[0] if statement else "no statement cell"
        if not re.fullmatch(rf"## {k}\. .* \({points_label(p)}\)", heading):
            found.append(f"{name}_statement: the heading must be '## {k}. ... "
                         f"({points_label(p)})', not {heading!r}")
    pts = {name: p for name, p in pts.items() if isinstance(p, int | float)}
    rows = [f"| {i} | `{name}` | {p:g} |" for i, (name, p) in enumerate(pts.items(), 1)]
    table = "\n".join([*rows, f"|   | **total** | **{sum(pts.values()):g}** |"])
    if nb.cells and table not in nb.cells[0].source:
        found.append(f"title: the points table must end with the rows\n{table}")
    for cell in nb.cells:  # the set-up cell imports the helpers that the notebook uses
        imported = _HELPERS.search(cell.source) if cell.cell_type == "code" else None
        if imported:
            rest = "\n".join(c.source for c in nb.cells if c is not cell)
            rest += cell.source.replace(imported.group(0), "")
            found += [f"{ids[nb.cells.index(cell)]}: {n} is imported but not used" for n in
                      re.findall(r"\w+", imported.group(1)) if not re.search(rf"\b{n}\b", rest)]
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="problem sets (name prefixes); default: all")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="write nothing; exit 1 if a notebook is out of date or inconsistent")
    mode.add_argument("--from-notebooks", action="store_true",
                      help="write problems/*.md from the source notebooks (after editing those)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite a file that was changed after the one it is written from")
    args = parser.parse_args(argv)
    names = sorted(p.stem for p in (COURSE / "problems").glob("*.md"))
    if args.from_notebooks:
        names = sorted(p.parent.name for p in (COURSE / "source").glob("*/*.ipynb")
                       if p.stem == p.parent.name)
    names = [n for n in names if not args.only or n.startswith(tuple(args.only))]
    rc = 0
    for name in names:
        if args.from_notebooks:
            origin, target = notebook_path(name), text_path(name)
            nb = nbformat.read(origin, as_version=4)
            new = text(nb)
        else:
            origin, target = text_path(name), notebook_path(name)
            nb = notebook(origin)
            new = nbformat.writes(nb) + "\n"
        issues = problems(nb)
        for issue in issues:
            print(f"{name}: {issue}", file=sys.stderr)
        old = target.read_text(encoding="utf-8") if target.exists() else None
        rel = target.relative_to(COURSE)
        if issues and not args.from_notebooks:
            rc = 1
            continue
        if not args.from_notebooks:
            nbformat.validate(nb)  # ids, structure: as nbgrader will read it
        if old == new:
            print(f"{rel} is up to date")
        elif args.check:
            print(f"{rel} is out of date: run python tools/sync.py", file=sys.stderr)
            rc = 1
        elif old is not None and target.stat().st_mtime > origin.stat().st_mtime and not args.force:
            other = "" if args.from_notebooks else " --from-notebooks"
            print(f"{rel} was changed after {origin.relative_to(COURSE)}: not overwritten (run "
                  f"python tools/sync.py{other} to keep its changes, or --force)", file=sys.stderr)
            rc = 1
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(new, encoding="utf-8")
            print(f"wrote {rel}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
