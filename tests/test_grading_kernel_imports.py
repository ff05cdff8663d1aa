"""A graded kernel never loads torch.

Student code and every exercise are NumPy; the hidden tests compare with the
``taylornet`` references, which are NumPy too. Loading torch would cost each
submission about a second of grading time and hundreds of MB of the sandbox's
memory limit (the default CUDA build cannot even map its libraries under a
0.5 GiB limit). Each source notebook (solutions and hidden tests) is executed in
a fresh kernel, as autograde does, and the kernel is asked what it loaded.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "exercises" / "source").glob("*/*.ipynb"))
PROBE = "import sys; print(sorted(m for m in ('torch', 'nbgrader') if m in sys.modules))"

pytestmark = pytest.mark.grading


def test_every_assignment_is_probed():
    assert len(SOURCES) >= 6


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.parent.name)
def test_graded_kernel_loads_no_torch(source):
    from nbclient import NotebookClient

    nb = nbformat.read(source, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(source.parent)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, f"the solutions of {source.parent.name} fail their own tests"
    assert nb.cells[-1].outputs[0]["text"].strip() == "[]"
