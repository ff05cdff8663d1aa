"""Feedback without hidden tests: a ``generate_feedback`` preprocessor.

nbgrader's feedback is the autograded notebook rendered to HTML, so by default
it shows the hidden tests that autograding restored into each test cell. The
course's ``nbgrader_config.py`` adds :class:`HideHiddenTests` to
``GenerateFeedback.preprocessors``; it works on the copy being rendered (the
autograded notebook and the gradebook keep everything) and

* replaces each ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region
  of a graded cell by one comment saying how many lines are hidden;
* shortens the traceback of an error in such a cell to its last line
  (``AssertionError: adam_step is wrong ...``), since an IPython traceback
  quotes the failing source lines with their neighbours;
* replaces, in every output of every cell, any text that repeats a hidden line
  (a submission may print ``In[-1]`` or raise it as an error message) by
  ``[hidden test]``.

It also drops the record of each test cell's hidden cases (an output of type
``application/vnd.taylornet.cases+json``, kept for the instructor's item analysis):
it names every hidden case.

What is left: pass/fail and points per cell (``GetGrades``), the visible tests,
the error names and the messages of the grading helpers (the failing case and a
hint), which are written to be shown.
"""

from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Integer, Unicode

from taylornet.grading import CASES_MIME

__all__ = ["HideHiddenTests", "hidden_lines"]

_BEGIN = "BEGIN HIDDEN TESTS"
_END = "END HIDDEN TESTS"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _split(source: str) -> tuple[list[str], list[str]]:
    """``(shown lines, hidden lines)`` of a cell: the hidden region and its markers are hidden."""
    shown, hidden, inside = [], [], False
    for line in source.splitlines():
        if _BEGIN in line:
            inside = True
        if inside:
            hidden.append(line)
        else:
            shown.append(line)
        if _END in line:
            inside = False
    return shown, hidden


def hidden_lines(nb, min_length: int = 8) -> list[str]:
    """The stripped hidden-test lines of ``nb`` worth redacting, longest first."""
    lines = set()
    for cell in nb.cells:
        if _is_test_cell(cell):
            lines.update(line.strip() for line in _split(cell.source)[1])
    lines = {line for line in lines if len(line) >= min_length}
    return sorted(lines, key=len, reverse=True)


class HideHiddenTests(Preprocessor):
    """Remove the source of hidden tests (and any echo of it) from the feedback copy."""

    enabled = Bool(True, help="nbconvert preprocessors are off unless enabled").tag(config=True)
    placeholder = Unicode("# ### {n} lines of hidden tests: not shown in the feedback").tag(
        config=True)
    min_length = Integer(8, help="hidden lines shorter than this are not redacted in outputs").tag(
        config=True)

    def preprocess(self, nb, resources):
        secrets = hidden_lines(nb, self.min_length)
        pattern = re.compile("|".join(re.escape(s) for s in secrets)) if secrets else None
        for cell in nb.cells:
            if cell.get("cell_type") != "code":
                continue
            had_hidden = False
            if _is_test_cell(cell):
                shown, hidden = _split(cell.source)
                if hidden:
                    had_hidden = True
                    where = next(i for i, line in enumerate(cell.source.splitlines())
                                 if _BEGIN in line)
                    indent = re.match(r"\s*", hidden[0]).group()
                    shown.insert(where, indent + self.placeholder.format(n=len(hidden)))
                    cell.source = "\n".join(shown)
            if "outputs" in cell:  # the hidden cases' record is for the instructor only
                cell.outputs = [o for o in cell.outputs if CASES_MIME not in o.get("data", {})]
            for output in cell.get("outputs", []):
                self._clean(output, pattern, short_traceback=had_hidden)
        return nb, resources

    @staticmethod
    def _redact(text, pattern):
        if pattern is None or not isinstance(text, str):
            return text
        return pattern.sub("[hidden test]", text)

    @classmethod
    def _redact_ansi(cls, text, pattern):
        """Redact a traceback line, whose colour codes may split a hidden line."""
        plain = _ANSI.sub("", text) if isinstance(text, str) else text
        if pattern is not None and isinstance(plain, str) and pattern.search(plain):
            return cls._redact(plain, pattern)
        return text

    def _clean(self, output, pattern, short_traceback: bool) -> None:
        kind = output.get("output_type")
        if kind == "stream":
            output["text"] = self._redact(output.get("text", ""), pattern)
        elif kind == "error":
            output["evalue"] = self._redact(output.get("evalue", ""), pattern)
            if short_traceback:
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output['evalue']}"]
            else:
                output["traceback"] = [self._redact_ansi(t, pattern)
                                       for t in output.get("traceback", [])]
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            for mime, value in data.items():
                if mime.startswith("text/") or mime.endswith("json"):
                    if isinstance(value, list):
                        data[mime] = [self._redact(v, pattern) for v in value]
                    else:
                        data[mime] = self._redact(value, pattern)
