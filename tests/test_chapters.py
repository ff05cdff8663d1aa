"""Every chapter of the book executes top to bottom in a fresh kernel.

The book build does the same (and fails on a failing cell); this test makes
``make test`` catch a broken chapter without building the HTML. The per-cell
timeout is a guard against hangs, not a performance test.

Here the kernel runs BLAS and torch on **one thread**, while the book build (the
browser test, ``make book``) uses every core: each chapter's checks are executed
under two reduction orders, so a claim that holds only for one machine's rounding
fails here rather than on a reader's machine.
"""

from __future__ import annotations

import pathlib

import pytest
from _toc import toc_documents

ROOT = pathlib.Path(__file__).resolve().parents[1]
CELL_TIMEOUT_S = 300
ONE_THREAD = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def toc_chapters():
    return [f for f in toc_documents()[1:] if f.startswith("chapters/")]


def is_notebook(chapter):
    """A chapter with a jupytext header is a notebook; an appendix may be plain MyST."""
    return (ROOT / f"{chapter}.md").read_text().startswith("---\njupytext:")


CHAPTERS = toc_chapters()


def test_toc_lists_every_chapter_file():
    on_disk = {p.relative_to(ROOT).with_suffix("").as_posix()
               for p in (ROOT / "chapters").glob("*.md")}
    assert on_disk == set(CHAPTERS), "chapters/ and _toc.yml disagree"


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if is_notebook(c)])
def test_chapter_executes(chapter, tmp_path, monkeypatch):
    import jupytext
    from nbclient import NotebookClient

    # as in `make book`: widgets send nothing (taylornet/explorers.py, nbclient#312)
    monkeypatch.setenv("TAYLORNET_HEADLESS_WIDGETS", "1")
    for variable in ONE_THREAD:  # torch reads OMP_NUM_THREADS, NumPy's BLAS the others
        monkeypatch.setenv(variable, "1")
    nb = jupytext.read(ROOT / f"{chapter}.md")
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "chapters")}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    # the book build fails on stderr (a warning, under -W), so this test does too
    stderr = [o["text"] for o in outputs if o.get("name") == "stderr"]
    assert not stderr, f"{chapter} writes to stderr: {stderr[0][:300]}"
