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

Every cell gets the nbgrader metadata of schema version 3 (``grade``,
``solution``, ``locked``, ``task``, ``grade_id``, ``schema_version`` and, for
graded cells, ``points``) and a cell ``id`` equal to its ``grade_id``, so the
output is byte-for-byte reproducible and ``git diff`` shows only real changes.
Sources are dedented and stripped, outputs empty.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
LANGUAGE_INFO = {"name": "python"}
_VALID_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _clean(source: str) -> str:
    return textwrap.dedent(source).strip("\n").rstrip() if source else ""


class NotebookBuilder:
    """Collects the cells of one nbgrader source notebook."""

    def __init__(self) -> None:
        self.cells: list = []
        self._ids: set[str] = set()

    # -- one method per kind of cell ------------------------------------
    def markdown(self, grade_id: str, source: str):
        """A locked (read-only) markdown cell: titles, statements, instructions."""
        return self._add(new_markdown_cell(_clean(source)), grade_id, locked=True)

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
        return self._add(new_code_cell(source), grade_id, grade=True, locked=True, points=points)

    # -- output ---------------------------------------------------------
    @property
    def total_points(self) -> float:
        return sum(c.metadata.nbgrader.get("points", 0) for c in self.cells)

    def notebook(self):
        nb = new_notebook(cells=list(self.cells))
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
