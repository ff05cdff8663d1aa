"""Build nbgrader source notebooks from readable Python specs.

An assignment spec (``build_ps01.py``, ...) lists its cells with the methods of
:class:`NotebookBuilder`, one method per kind of nbgrader cell:

==================  =====================  =====  ========  ======  ======
method              cell                   grade  solution  locked  points
==================  =====================  =====  ========  ======  ======
``markdown``        read-only text         no     no        yes     --
``code``            read-only code         no     no        yes     --
``solution``        student's code         no     yes       no      --
``tests``           autograded tests       yes    no        yes     yes
==================  =====================  =====  ========  ======  ======

:meth:`NotebookBuilder.exercise` adds the usual trio of one exercise,
``<name>_statement``, ``<name>_solution`` and ``<name>_tests``;
:func:`points_table` writes the table of exercises and points of a title cell,
and :func:`main` is the command line of every spec (``--check``, ``--output``).

Every cell gets the nbgrader metadata of schema version 3 (``grade``,
``solution``, ``locked``, ``task``, ``grade_id``, ``schema_version`` and, for
graded cells, ``points``) and a cell ``id`` equal to its ``grade_id``, so the
output is byte-for-byte reproducible and ``git diff`` shows only real changes.
Sources are dedented and stripped, outputs empty.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
_VALID_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# The first and last lines of every hidden block: count its cases, and end the cell
# with its score, a number only when partial credit is on (exercises/README.md).
_COUNT_CASES = ("import taylornet.grading as _grading  # noqa: E402\n\n"
                "_grading.begin_hidden_tests()")
_SCORE = "_grading.hidden_tests_score({points:g})  # None: all-or-nothing (the default)"


def _clean(source: str) -> str:
    return textwrap.dedent(source).strip("\n").rstrip() if source else ""


def points_label(points: float) -> str:
    """``"1 point"``, ``"3 points"``, ``"1.5 points"``."""
    return f"{points:g} point" + ("" if points == 1 else "s")


def points_table(points: dict[str, float], *, heading: str = "function") -> str:
    """The markdown table ``| # | function | points |`` of an assignment, with its total.

    Put ``{points_table}`` on a line of its own in a markdown template and pass
    ``points_table=points_table(POINTS)`` to :meth:`NotebookBuilder.markdown`.
    """
    rows = [f"| # | {heading} | points |", f"|---|{'-' * (len(heading) + 2)}|--------|"]
    rows += [f"| {i} | `{name}` | {pts:g} |" for i, (name, pts) in enumerate(points.items(), 1)]
    rows.append(f"|   | **total** | **{sum(points.values()):g}** |")
    return "\n".join(rows)


class NotebookBuilder:
    """Collects the cells of one nbgrader source notebook."""

    def __init__(self) -> None:
        self.cells: list = []
        self._ids: set[str] = set()

    # -- one method per kind of cell ------------------------------------
    def markdown(self, grade_id: str, source: str, **blocks: str):
        """A locked (read-only) markdown cell: titles, statements, instructions.

        Each ``{key}`` of ``blocks`` in the dedented source is replaced by its
        text, which may span several lines (a table, say) without upsetting the
        dedent.
        """
        source = _clean(source)
        for key, text in blocks.items():
            source = source.replace("{" + key + "}", text)
        return self._add(new_markdown_cell(source), grade_id, locked=True)

    def code(self, grade_id: str, source: str):
        """A locked code cell that is not graded: set-up imports, demonstrations."""
        return self._add(new_code_cell(_clean(source)), grade_id, locked=True)

    def solution(self, grade_id: str, source: str):
        """An editable solution cell; ``### BEGIN/END SOLUTION`` marks what is cleared."""
        source = _clean(source)
        if "### BEGIN SOLUTION" not in source or "### END SOLUTION" not in source:
            raise ValueError(f"solution cell {grade_id!r} has no BEGIN/END SOLUTION region")
        return self._add(new_code_cell(source), grade_id, solution=True)

    def tests(self, grade_id: str, source: str, points: float):
        """A locked autograded test cell worth ``points``."""
        if not points > 0:
            raise ValueError(f"test cell {grade_id!r} needs positive points, got {points!r}")
        source = _clean(source)
        if source.count("### BEGIN HIDDEN TESTS") != source.count("### END HIDDEN TESTS"):
            raise ValueError(f"test cell {grade_id!r} has unbalanced HIDDEN TESTS markers")
        if source.count("### BEGIN HIDDEN TESTS") > 1:
            raise ValueError(f"test cell {grade_id!r} has more than one hidden block")
        source = source.replace("### BEGIN HIDDEN TESTS", "### BEGIN HIDDEN TESTS\n" + _COUNT_CASES)
        source = source.replace("### END HIDDEN TESTS", _SCORE.format(points=points)
                                + "\n### END HIDDEN TESTS")
        return self._add(new_code_cell(source), grade_id, grade=True, locked=True, points=points)

    def exercise(self, name: str, *, points: float, statement: str, solution: str, tests: str):
        """One exercise: locked statement, solution cell, locked tests worth ``points``.

        The grade ids are ``<name>_statement``, ``<name>_solution`` and
        ``<name>_tests``; the tests in the course's round trip look them up by
        these names.
        """
        self.markdown(f"{name}_statement", statement)
        self.solution(f"{name}_solution", solution)
        self.tests(f"{name}_tests", tests, points=points)

    # -- output ---------------------------------------------------------
    @property
    def total_points(self) -> float:
        return sum(c.metadata.nbgrader.get("points", 0) for c in self.cells)

    def notebook(self):
        nb = new_notebook(cells=_prune_helper_imports(list(self.cells)))
        nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO)}
        nb.nbformat, nb.nbformat_minor = 4, 5
        nbformat.validate(nb)
        return nb

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.text(), encoding="utf-8")
        return path

    def text(self) -> str:
        """The notebook as nbformat writes it (sorted keys, one-space indent)."""
        return nbformat.writes(self.notebook()) + "\n"

    # -- internals ------------------------------------------------------
    def _add(self, cell, grade_id, *, grade=False, solution=False, locked=False, points=None):
        if not _VALID_ID.match(grade_id):
            raise ValueError(f"invalid grade_id {grade_id!r} (letters, digits, _ and - only)")
        if grade_id in self._ids:
            raise ValueError(f"duplicate grade_id {grade_id!r}")
        self._ids.add(grade_id)
        meta = {
            "grade": grade,
            "grade_id": grade_id,
            "locked": locked,
            "schema_version": 3,
            "solution": solution,
            "task": False,
        }
        if grade:
            meta["points"] = points
        cell.id = grade_id
        cell.metadata = {"nbgrader": meta}
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        self.cells.append(cell)
        return cell


_HELPERS = re.compile(r"from taylornet\.grading import \(\n((?:    \w+,\n)+)\)")


def _prune_helper_imports(cells: list) -> list:
    """The set-up cell imports the visible-test helpers that the notebook uses, no others."""
    for cell in cells:
        found = _HELPERS.search(cell.source) if cell.cell_type == "code" else None
        if not found:
            continue
        others = "\n".join(c.source for c in cells if c is not cell)
        names = [n.strip(" ,") for n in found.group(1).splitlines()]
        kept = [n for n in names if n in cell.source.replace(found.group(0), "")
                or re.search(rf"\b{n}\b", others)]
        block = "from taylornet.grading import (\n" + "".join(f"    {n},\n" for n in kept) + ")"
        cell.source = cell.source.replace(found.group(0), block)
    return cells


def main(build: Callable[[], NotebookBuilder], output: Path, argv=None, *,
         description: str = "") -> int:
    """Command line of a spec: write ``build()``'s notebook to ``output``, or ``--check`` it."""
    parser = argparse.ArgumentParser(description=description or None)
    parser.add_argument("--output", type=Path, default=output, help="where to write the notebook")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the notebook on disk is out of date")
    args = parser.parse_args(argv)
    text = build().text()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            print(f"{args.output} is out of date: run {Path(sys.argv[0]).name}", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0
