"""Item analysis of one graded assignment: what the class got right, and what it missed.

After ``nbgrader autograde`` (or the parallel autograde), :func:`write_report` reads the
score of every student in every graded cell from the gradebook (nbgrader's
``Gradebook`` API, so any ``db_url`` nbgrader accepts: SQLite, PostgreSQL) and, from the
autograded notebooks, the record of each test cell's hidden cases that the grader's
checker keeps (an output of type ``application/vnd.taylornet.cases+json``, see
:class:`taylornet.grading.CaseRecorder`), and writes ``<out>/<assignment>/``:

* ``report.html``: one self-contained page (plots embedded), for a browser;
* ``exercises.csv``: per exercise (graded cell): points, mean score, fraction with full
  marks and with zero, discrimination, how the cells ended;
* ``cases.csv``: per hidden case (exercise, label): students who reached it, who failed
  it, the most common failure message; most often failed first;
* ``messages.csv``: the first line of each cell's error, counted (visible checks
  included: a cell that fails a visible check shows it first);
* ``students.csv``: per student, the score of every cell and the total;
* ``scores.png``, ``totals.png``, ``cases.png``, ``items.png``: the plots.

Only :func:`read_gradebook` (and so :func:`write_report`) needs nbgrader; the analysis
and the plots work on a :class:`ClassResults`, which a rehearsal in one process
(:mod:`taylornet_grader.rehearsal`) builds as well.

**Discrimination** of an exercise ``i`` is the corrected item-total correlation: the
Pearson correlation, over the students, of the score ``x_i`` with the rest of the test
``R_i = T - x_i`` (``T`` the total), so that the exercise is not correlated with itself
(Nunnally & Bernstein, *Psychometric Theory*, 3rd ed., 1994, section 8). Near ``0``:
the exercise does not separate the students who do well elsewhere from those who do
not (often: a trap everybody falls into, or a gift); ``0.3`` and more: it does. Not
defined (empty) with fewer than three students or when ``x_i`` or ``R_i`` is constant.
"""

from __future__ import annotations

import argparse
import base64
import csv
import html
import io
import json
import math
import statistics
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from taylornet.grading import CASES_MIME

#: How a test cell ended, from its record (``"unrecorded"``: graded without records).
CELL_STATUSES = ("pass", "partial", "fail", "timeout", "kernel died", "reference",
                 "unrecorded")
#: Case outcomes that count as failing the case.
FAILING = ("fail", "timeout", "kernel died", "reference")

__all__ = ["CASES_MIME", "ClassResults", "NoSubmissions", "case_table", "discrimination",
           "exercise_table", "main", "message_table", "plot_cases", "plot_items",
           "plot_scores", "plot_totals", "png", "read_gradebook", "render_html", "write_report",
           "write_tables"]


class NoSubmissions(ValueError):
    """The gradebook has the assignment, but no graded submission of it."""


@dataclass
class ClassResults:
    """The scores and case records of one assignment.

    ``points``: ``{cell: max score}`` in notebook order; ``scores``: ``{student: {cell:
    score}}``; ``records``: ``{student: {cell: record}}`` (a record as
    :func:`taylornet.grading.cell_record` writes it; a cell without one is unrecorded;
    a missing score counts as zero).
    """

    assignment: str
    points: dict[str, float]
    scores: dict[str, dict[str, float]]
    records: dict[str, dict[str, dict]] = field(default_factory=dict)
    source: str = ""  # where the results come from, for the report's header

    @property
    def cells(self) -> list[str]:
        return list(self.points)

    @property
    def students(self) -> list[str]:
        return sorted(self.scores)

    def total(self, student: str) -> float:
        return sum(self.scores[student].get(cell, 0.0) for cell in self.cells)


def exercise_name(cell: str) -> str:
    """``adam_step_tests`` -> ``adam_step``."""
    return cell.removesuffix("_tests")


def _pearson(x: list[float], y: list[float]) -> float | None:
    n = len(x)
    if n < 3:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx <= 1e-12 * max(1.0, mx * mx) * n or syy <= 1e-12 * max(1.0, my * my) * n:
        return None
    return sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / math.sqrt(sxx * syy)


def discrimination(results: ClassResults, cell: str) -> float | None:
    """Corrected item-total correlation of ``cell`` (module docstring), or ``None``."""
    x = [results.scores[s].get(cell, 0.0) for s in results.students]
    rest = [results.total(s) - xi for s, xi in zip(results.students, x, strict=True)]
    return _pearson(x, rest)


def _cell_status(record: dict | None) -> str:
    return "unrecorded" if record is None else record.get("status", "unrecorded")


def exercise_table(results: ClassResults) -> list[dict]:
    """One row per graded cell, in notebook order (see the module docstring)."""
    rows = []
    n = len(results.students)
    for cell, points in results.points.items():
        scores = [results.scores[s].get(cell, 0.0) for s in results.students]
        statuses = Counter(_cell_status(results.records.get(s, {}).get(cell))
                           for s in results.students)
        before_hidden = sum(1 for s in results.students
                            if (r := results.records.get(s, {}).get(cell)) is not None
                            and r.get("status") != "pass" and not r.get("cases"))
        d = discrimination(results, cell)
        rows.append({
            "exercise": exercise_name(cell), "cell": cell, "points": points, "students": n,
            "mean": sum(scores) / n if n else float("nan"),
            "mean_fraction": sum(scores) / (n * points) if n and points else float("nan"),
            "full_marks": sum(s >= points - 1e-9 for s in scores) / n if n else float("nan"),
            "zero": sum(s <= 1e-9 for s in scores) / n if n else float("nan"),
            "discrimination": d,
            "stopped_before_hidden": before_hidden,
            **{f"status_{k.replace(' ', '_')}": statuses.get(k, 0) for k in CELL_STATUSES},
        })
    return rows


def case_table(results: ClassResults) -> list[dict]:
    """One row per hidden case (cell, exercise, label), the most often failed first.

    ``reached``: students whose record has the case run (not ``"not run"``); ``failed``:
    of those, the ones whose case ended in :data:`FAILING`; a student counts once per
    case even if the cell ran it twice. Ties keep the order of the notebook.
    """
    order: dict[tuple, int] = {}
    reached: dict[tuple, set] = {}
    failed: dict[tuple, set] = {}
    messages: dict[tuple, Counter] = {}
    for student in results.students:
        for cell in results.cells:
            record = results.records.get(student, {}).get(cell)
            for case in (record or {}).get("cases", []):
                key = (cell, case.get("exercise", exercise_name(cell)), case.get("label", ""))
                order.setdefault(key, len(order))
                if case.get("status") == "not run":
                    continue
                reached.setdefault(key, set()).add(student)
                if case.get("status") in FAILING:
                    failed.setdefault(key, set()).add(student)
                    messages.setdefault(key, Counter())[case.get("message", "")] += 1
    rows = []
    for key in order:
        cell, exercise, label = key
        n_reached, n_failed = len(reached.get(key, ())), len(failed.get(key, ()))
        common = messages.get(key, Counter()).most_common(1)
        rows.append({"cell": cell, "exercise": exercise, "label": label,
                     "reached": n_reached, "failed": n_failed,
                     "failed_fraction": n_failed / n_reached if n_reached else float("nan"),
                     "message": common[0][0] if common else ""})
    rows.sort(key=lambda r: (-r["failed"], order[(r["cell"], r["exercise"], r["label"])]))
    return rows


def message_table(results: ClassResults) -> list[dict]:
    """The first line of each failing cell's error, counted per cell, most frequent first."""
    counts: Counter = Counter()
    for student in results.students:
        for cell in results.cells:
            record = results.records.get(student, {}).get(cell)
            if record is not None and record.get("status") not in ("pass", "partial"):
                counts[(cell, record.get("status", ""), record.get("message", ""))] += 1
    return [{"exercise": exercise_name(cell), "cell": cell, "status": status,
             "message": message, "students": n}
            for (cell, status, message), n in counts.most_common()]


# ----------------------------------------------------------------------------- plots
def _figure(width: float, height: float):
    from matplotlib.figure import Figure  # Agg, and no pyplot state: safe in a server

    return Figure(figsize=(width, height), layout="constrained")


def _whole(axis) -> None:
    """Ticks at whole numbers only (counts of students)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def plot_scores(results: ClassResults, columns: int = 3):
    """Per exercise, how many students scored 0, 1/4, ..., all of its points."""
    cells = results.cells
    ncols = min(columns, max(1, len(cells)))
    nrows = max(1, math.ceil(len(cells) / ncols))
    fig = _figure(3.2 * ncols, 2.3 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    n = len(results.students)
    for ax, cell in zip(axes.flat, cells, strict=False):
        points = results.points[cell]
        quarters = [0.0, 0.25, 0.5, 0.75, 1.0]
        counts = Counter(min(quarters, key=lambda q, s=s: abs(q - s / points)) if points else 0.0
                         for s in (results.scores[st].get(cell, 0.0) for st in results.students))
        ax.bar([q * points for q in quarters], [counts.get(q, 0) for q in quarters],
               width=0.2 * points if points else 0.2, color="#4c72b0")
        ax.set_title(f"{exercise_name(cell)} ({points:g} pt)", fontsize=9)
        ax.set_xlabel("score", fontsize=8)
        ax.set_xticks([q * points for q in quarters])
        ax.set_xticklabels([f"{q * points:g}" for q in quarters], fontsize=7)
        ax.set_ylim(0, max(1, n) * 1.05)
        _whole(ax.yaxis)
    for ax in axes.flat[len(cells):]:
        ax.set_axis_off()
    for ax in axes[:, 0]:
        ax.set_ylabel("students", fontsize=8)
    return fig


def plot_totals(results: ClassResults):
    """The distribution of the total score, with its mean."""
    fig = _figure(6.0, 3.0)
    ax = fig.subplots()
    totals = [results.total(s) for s in results.students]
    maximum = sum(results.points.values())
    width = max(1.0, math.ceil(maximum / 30))  # one bar per point, up to 30 bars
    edges = [(k - 0.5) * width for k in range(int(math.ceil(maximum / width)) + 2)]
    counts, _, _ = ax.hist(totals, bins=edges, color="#55a868", edgecolor="white")
    if totals:
        mean = sum(totals) / len(totals)
        ax.axvline(mean, color="black", linestyle="--", linewidth=1)
        ax.annotate(f"mean {mean:.1f}", (mean, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(0, 3), textcoords="offset points", fontsize=8, ha="center")
    ax.set_xlabel(f"total score (of {maximum:g})")
    ax.set_ylabel("students")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0, max(1.0, max(counts, default=0)) * 1.08)
    _whole(ax.yaxis)
    return fig


def plot_cases(results: ClassResults, top: int = 15):
    """The ``top`` hidden cases failed by the most students, as horizontal bars."""
    rows = [r for r in case_table(results) if r["failed"] > 0][:top]
    fig = _figure(7.0, 0.3 * max(len(rows), 3) + 1.4)
    ax = fig.subplots()
    if not rows:
        ax.text(0.5, 0.5, "no hidden case failed", ha="center", va="center")
        ax.set_axis_off()
        return fig
    exercises = list(dict.fromkeys(r["exercise"] for r in rows))
    colours = {e: f"C{i % 10}" for i, e in enumerate(exercises)}
    y = list(range(len(rows)))[::-1]
    for exercise in exercises:  # one bar series per exercise, for the legend
        mine = [(yi, r) for yi, r in zip(y, rows, strict=True) if r["exercise"] == exercise]
        ax.barh([yi for yi, _ in mine], [r["failed"] for _, r in mine],
                color=colours[exercise], label=exercise)
    for yi, r in zip(y, rows, strict=True):
        ax.annotate(f"{r['failed']}/{r['reached']}", (r["failed"], yi), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=8)
    ax.set_yticks(y)
    ax.set_yticklabels([_short(r["label"], 44) for r in rows], fontsize=8)
    ax.set_xlabel("students failing the case (of those whose cell reached it)")
    ax.set_xlim(0, max(r["failed"] for r in rows) * 1.18)
    _whole(ax.xaxis)
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2,
              frameon=False)
    return fig


def plot_items(results: ClassResults):
    """Each exercise as a point: mean fraction of its points against its discrimination."""
    fig = _figure(6.5, 3.6)
    ax = fig.subplots()
    markers = "osD^vP*Xh<>p"
    for k, row in enumerate(exercise_table(results)):
        d = row["discrimination"]
        if d is None:
            continue
        ax.scatter(row["mean_fraction"], d, color=f"C{k % 10}", marker=markers[k % 12],
                   s=45, label=row["exercise"])
    ax.axhline(0.3, color="grey", linestyle=":", linewidth=1)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(min(-0.2, ax.get_ylim()[0]), 1.0)
    ax.set_xlabel("mean score (fraction of the points)")
    ax.set_ylabel("discrimination (item-rest r)")
    if ax.collections:
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return fig


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def png(fig) -> bytes:
    """A figure of this module as PNG bytes (no pyplot needed)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


PLOTS = {"totals": plot_totals, "scores": plot_scores, "cases": plot_cases,
         "items": plot_items}


# ----------------------------------------------------------------------------- outputs
def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def _write_csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})


EXERCISE_COLUMNS = ["exercise", "cell", "points", "students", "mean", "mean_fraction",
                    "full_marks", "zero", "discrimination", "stopped_before_hidden",
                    *(f"status_{k.replace(' ', '_')}" for k in CELL_STATUSES)]
CASE_COLUMNS = ["exercise", "label", "failed", "reached", "failed_fraction", "message", "cell"]
MESSAGE_COLUMNS = ["exercise", "status", "students", "message", "cell"]


def write_tables(results: ClassResults, folder: Path) -> dict[str, Path]:
    """``exercises.csv``, ``cases.csv``, ``messages.csv`` and ``students.csv`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.csv" for name in ("exercises", "cases", "messages",
                                                         "students")}
    _write_csv(paths["exercises"], exercise_table(results), EXERCISE_COLUMNS)
    _write_csv(paths["cases"], case_table(results), CASE_COLUMNS)
    _write_csv(paths["messages"], message_table(results), MESSAGE_COLUMNS)
    students = [{"student": s, **results.scores[s], "total": results.total(s)}
                for s in results.students]
    _write_csv(paths["students"], students, ["student", *results.cells, "total"])
    return paths


def _table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(row.get(key)))}</td>"
                                    for key, _ in columns) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f4f4f4; } td:nth-child(n+2) { font-variant-numeric: tabular-nums; }
img { max-width: 100%; } .note { color: #555; font-size: 0.9rem; }
"""


def render_html(results: ClassResults, images: dict[str, bytes], top: int = 25) -> str:
    """The report page: summary, plots (PNG, embedded), and the tables' first rows."""
    n = len(results.students)
    title = f"Item analysis: {results.assignment}"
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>"]
    if results.source:
        parts.append(f"<p class='note'>From {html.escape(results.source)}.</p>")
    if n == 0:
        parts.append("<p><strong>No graded submission of this assignment.</strong> Run "
                     "<code>nbgrader autograde " + html.escape(results.assignment) +
                     "</code> first; then this page shows the class's scores.</p>")
        parts.append("</body></html>")
        return "".join(parts)

    def img(name: str, alt: str) -> str:
        data = base64.b64encode(images[name]).decode("ascii")
        return f"<img src='data:image/png;base64,{data}' alt='{html.escape(alt)}'>"

    totals = sorted(results.total(s) for s in results.students)
    maximum = sum(results.points.values())
    unrecorded = sum(1 for s in results.students for c in results.cells
                     if results.records.get(s, {}).get(c) is None)
    parts.append(
        f"<p>{n} graded submissions; total score out of {maximum:g}: mean "
        f"{statistics.fmean(totals):.2f}, median {statistics.median(totals):.2f}, "
        f"lowest {totals[0]:g}, highest {totals[-1]:g}.</p>")
    if unrecorded:
        parts.append(f"<p class='note'>{unrecorded} graded cells have no record of their "
                     "hidden cases (graded without the course's checker, or not run): "
                     "they count in the scores, not in the case table.</p>")
    parts += ["<h2>Total score</h2>", img("totals", "histogram of the total scores"),
              "<h2>Exercises</h2>",
              "<p class='note'><em>mean</em>: mean score; <em>full</em> and <em>zero</em>: "
              "fraction of the students with all and with none of the points; "
              "<em>discrimination</em>: correlation of the exercise's score with the rest "
              "of the test (near 0: it does not separate strong from weak students); "
              "<em>before hidden</em>: cells that failed before any hidden case ran (a "
              "visible check, or an exception).</p>",
              _table(exercise_table(results), [
                  ("exercise", "exercise"), ("points", "points"), ("mean", "mean"),
                  ("full_marks", "full"), ("zero", "zero"),
                  ("discrimination", "discrimination"),
                  ("stopped_before_hidden", "before hidden"),
                  ("status_timeout", "timeouts"), ("status_kernel_died", "kernel died"),
                  ("status_reference", "called the reference")]),
              img("scores", "score histograms, one per exercise"),
              img("items", "mean score against discrimination, per exercise"),
              "<h2>Hidden cases failed most often</h2>",
              "<p class='note'>Every hidden case of a test cell runs, also after a failed "
              "one, so each count is the number of students whose function is wrong "
              "there (of those whose cell reached the hidden tests).</p>",
              img("cases", "the hidden cases failed most often"),
              _table(case_table(results)[:top], [
                  ("exercise", "exercise"), ("label", "case"), ("failed", "failed"),
                  ("reached", "reached"), ("message", "most common message")]),
              f"<p class='note'>All cases: cases.csv. Showing the first {top}.</p>",
              "<h2>Why cells failed</h2>",
              _table(message_table(results)[:top], [
                  ("exercise", "exercise"), ("status", "status"),
                  ("students", "students"), ("message", "first failure shown")]),
              "</body></html>"]
    return "".join(parts)


def write_results(results: ClassResults, folder: str | Path) -> Path:
    """Write the report of ``results`` into ``folder``; the path of ``report.html``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_tables(results, folder)
    images = {}
    if results.students:
        for name, plot in PLOTS.items():
            images[name] = png(plot(results))
            (folder / f"{name}.png").write_bytes(images[name])
    path = folder / "report.html"
    path.write_text(render_html(results, images), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- nbgrader
def _config(course_root: Path):
    from traitlets.config.loader import PyFileConfigLoader

    if not (course_root / "nbgrader_config.py").is_file():
        raise FileNotFoundError(f"{course_root} is not a course root (no nbgrader_config.py)")
    return PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()


def _records_of(path: Path, cells: set[str]) -> dict[str, dict]:
    """The case records of the graded test cells of one autograded notebook.

    Only a test cell's own record counts (a record's ``cell`` must be the cell's grade
    id): a student's code cannot put one there, since test cells run in the grader.
    A test cell without one gets a record read off its outputs, without cases.
    """
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id")
        if (cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("solution")
                or gid not in cells):
            continue
        outputs = cell.get("outputs", [])
        records = [o["data"][CASES_MIME] for o in outputs
                   if CASES_MIME in o.get("data", {})
                   and isinstance(o["data"][CASES_MIME], dict)
                   and o["data"][CASES_MIME].get("cell") == gid]
        if records:
            found[gid] = records[-1]
            continue
        errors = [o for o in outputs if o.get("output_type") == "error"]
        if not errors:
            continue  # passed, or graded before records existed: nothing known per case
        ename = errors[-1].get("ename", "")
        status = ("kernel died" if ename == "KernelDied" else
                  "timeout" if ename in ("KernelUnresponsive", "CellTimeoutError") else "fail")
        message = (errors[0].get("evalue", "") or ename).strip().splitlines()
        found[gid] = {"version": 1, "cell": gid, "status": status,
                      "message": message[0] if message else ename, "cases": []}
    return found


def read_gradebook(course_root: str | Path, assignment: str, *,
                   db_url: str | None = None) -> ClassResults:
    """The scores (gradebook) and case records (autograded notebooks) of ``assignment``.

    ``db_url`` defaults to the course's ``c.CourseDirectory.db_url``. Raises
    ``ValueError`` when the gradebook does not know the assignment and
    :class:`NoSubmissions` when nobody's submission of it is graded.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.coursedir import CourseDirectory

    root = Path(course_root).resolve()
    config = _config(root)
    coursedir = CourseDirectory(config=config)
    if not coursedir.root or not Path(coursedir.root).is_dir():
        coursedir.root = str(root)
    url = db_url or coursedir.db_url or f"sqlite:///{root / 'gradebook.db'}"
    with Gradebook(url, course_id=coursedir.course_id) as gb:
        try:
            entry = gb.find_assignment(assignment)
        except MissingEntry:
            known = ", ".join(sorted(a.name for a in gb.assignments)) or "none"
            raise ValueError(f"the gradebook ({_safe(url)}) has no assignment {assignment!r} "
                             f"(it has: {known})") from None
        notebooks = [nb.name for nb in entry.notebooks]
        cells: dict[str, tuple[str, str, float]] = {}  # key -> (notebook, grade id, points)
        for nb in entry.notebooks:
            for gc in sorted(nb.grade_cells, key=lambda c: _position(root, assignment, nb.name,
                                                                      c.name)):
                key = gc.name if len(notebooks) == 1 else f"{nb.name}:{gc.name}"
                cells[key] = (nb.name, gc.name, float(gc.max_score))
        scores: dict[str, dict[str, float]] = {}
        for submission in entry.submissions:
            student = submission.student.id
            row = {}
            for nb_sub in submission.notebooks:
                for grade in nb_sub.grades:
                    key = grade.name if len(notebooks) == 1 else f"{nb_sub.name}:{grade.name}"
                    if key in cells and grade.score is not None:
                        row[key] = float(grade.score)
            if row:
                scores[student] = row
    if not scores:
        raise NoSubmissions(f"no graded submission of {assignment!r} in the gradebook "
                            f"({_safe(url)}): run `nbgrader autograde {assignment}` first")
    records: dict[str, dict[str, dict]] = {}
    for student in scores:
        folder = Path(coursedir.format_path(coursedir.autograded_directory, student,
                                            assignment))
        for notebook in notebooks:
            ids = {gid for nb, gid, _ in cells.values() if nb == notebook}
            for gid, record in _records_of(folder / f"{notebook}.ipynb", ids).items():
                key = gid if len(notebooks) == 1 else f"{notebook}:{gid}"
                records.setdefault(student, {})[key] = record
    return ClassResults(assignment=assignment,
                        points={k: points for k, (_, _, points) in cells.items()},
                        scores=scores, records=records,
                        source=f"the gradebook {_safe(url)} and {coursedir.autograded_directory}/")


def _safe(url: str) -> str:
    """A database URL without its password."""
    head, sep, tail = url.partition("://")
    if sep and "@" in tail:
        credentials, host = tail.rsplit("@", 1)
        return f"{head}://{credentials.split(':', 1)[0]}:***@{host}"
    return url


def _position(root: Path, assignment: str, notebook: str, cell: str) -> tuple[int, str]:
    """Where ``cell`` is in the source notebook (graded cells in the order students see)."""
    order = _source_order(root, assignment, notebook)
    return (order.index(cell) if cell in order else len(order), cell)


_ORDERS: dict[tuple, list[str]] = {}


def _source_order(root: Path, assignment: str, notebook: str) -> list[str]:
    key = (str(root), assignment, notebook)
    if key not in _ORDERS:
        path = root / "source" / assignment / f"{notebook}.ipynb"
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            cells = []
        _ORDERS[key] = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
                        for c in cells]
    return _ORDERS[key]


def write_report(course_root: str | Path, assignment: str, out_dir: str | Path | None = None,
                 *, db_url: str | None = None) -> Path:
    """Write the item analysis of ``assignment`` to ``<out_dir>/<assignment>/``.

    ``out_dir`` defaults to ``<course_root>/reports``; a folder already named after the
    assignment is used as it is. Returns the path of ``report.html``. With no graded
    submission the page says so (and the tables are empty); an assignment the
    gradebook does not know raises ``ValueError``.
    """
    root = Path(course_root).resolve()
    folder = Path(out_dir or root / "reports")
    if folder.name != assignment:
        folder = folder / assignment
    try:
        results = read_gradebook(root, assignment, db_url=db_url)
    except NoSubmissions as empty:
        results = ClassResults(assignment=assignment, points={}, scores={},
                               source=str(empty))
    return write_results(results, folder)


def main(argv: list[str] | None = None) -> int:
    """``python -m taylornet_grader.item_analysis ASSIGNMENT [--out DIR]``, from the course."""
    parser = argparse.ArgumentParser(
        prog="python -m taylornet_grader.item_analysis",
        description="Item analysis of an autograded assignment: report.html and CSV files.")
    parser.add_argument("assignment")
    parser.add_argument("--out", default=None, help="folder of the reports (default: reports/)")
    parser.add_argument("--course", default=".", help="the course root (default: here)")
    parser.add_argument("--db-url", default=None, help="the gradebook (default: the course's)")
    args = parser.parse_args(argv)
    try:
        results = read_gradebook(args.course, args.assignment, db_url=args.db_url)
    except (NoSubmissions, ValueError, FileNotFoundError) as problem:
        print(f"item analysis: {problem}", file=sys.stderr)
        return 1
    folder = Path(args.out or Path(args.course) / "reports") / args.assignment
    path = write_results(results, folder)
    top = case_table(results)[:3]
    print(f"{len(results.students)} submissions of {args.assignment}: {path}")
    for row in top:
        if row["failed"]:
            print(f"  {row['failed']:>4} of {row['reached']:<4} {row['exercise']}: {row['label']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
