"""The gradebook behind parallel grading: SQLite (the default) or PostgreSQL.

nbgrader's ``Gradebook`` speaks SQLAlchemy, so its database is whatever
``c.CourseDirectory.db_url`` names: ``sqlite:///.../gradebook.db`` by default, or a
PostgreSQL server, ``postgresql+psycopg://user@host:5432/database`` (the course's
``nbgrader_config.py`` reads it from ``TAYLORNET_DB_URL``). nbgrader creates the tables
itself on first use (``Base.metadata.create_all``, then it records the ``alembic``
revision), on PostgreSQL as on SQLite.

Several processes write at once when submissions are graded in parallel. Each
submission owns its rows (its student, its submission, its grades and comments), and
nbgrader's unique constraints (one submission per student and assignment, one grade
per cell and submitted notebook) forbid a second copy, so concurrent writers cannot
lose or double a row; what remains is SQLite's single writer lock, which a busy
timeout (:func:`with_busy_timeout`) turns from ``database is locked`` into a wait.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["is_sqlite", "prepare", "redacted", "rows", "with_busy_timeout"]

#: Seconds a SQLite writer waits for the lock before it fails ("database is locked").
SQLITE_BUSY_TIMEOUT = 120


def is_sqlite(url: str) -> bool:
    return url.split(":", 1)[0].split("+", 1)[0] == "sqlite"


def redacted(url: str) -> str:
    """``url`` without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def with_busy_timeout(url: str, seconds: float = SQLITE_BUSY_TIMEOUT) -> str:
    """A SQLite URL whose connections wait ``seconds`` for the write lock (others unchanged)."""
    if not is_sqlite(url):
        return url
    base, _, query = url.partition("?")  # not urlsplit: it drops the slashes of sqlite:////
    params = dict(parse_qsl(query))
    params.setdefault("timeout", f"{seconds:g}")
    return f"{base}?{urlencode(params)}"


def prepare(url: str, course_id: str, assignment: str) -> None:
    """Create the gradebook's tables and course rows before the workers write to it.

    nbgrader creates the tables, the ``alembic`` revision and the course row when a
    process first opens the gradebook; several workers doing that at once on a new
    database would race, so the client does it first. Raises ``LookupError`` when
    ``assignment`` is not in the gradebook (``nbgrader generate_assignment`` adds it).
    """
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(url, course_id=course_id) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise LookupError(f"no assignment {assignment!r} in the gradebook "
                              f"{redacted(url)}: run `nbgrader generate_assignment "
                              f"{assignment}` first") from None
    # nbgrader's preprocessors open the gradebook with the default course id
    Gradebook(url).close()


def rows(url: str, course_id: str | None = None) -> dict[str, list[tuple]]:
    """Every row that grading writes, keyed by names instead of ids, sorted.

    Two gradebooks that graded the same submissions alike give equal results,
    whichever database they are in and in whatever order the rows were written
    (nbgrader's primary keys are random). Tables: ``student``, ``submission``
    (assignment, student, timestamp, extension), ``notebook`` (late penalty, flag),
    ``grade`` (auto and manual score, extra credit, needs manual grade) and
    ``comment``.
    """
    from nbgrader.api import (
        Comment,
        Grade,
        Gradebook,
        Student,
        SubmittedAssignment,
        SubmittedNotebook,
    )

    with Gradebook(url, course_id=course_id or "default_course") as gb:
        db = gb.db
        out = {
            "student": [(s.id, s.first_name, s.last_name, s.email)
                        for s in db.query(Student)],
            "submission": [
                (a.assignment.name, a.student.id, str(a.timestamp), str(a.extension))
                for a in db.query(SubmittedAssignment)],
            "notebook": [
                (n.assignment.assignment.name, n.student.id, n.notebook.name,
                 n.late_submission_penalty, n.flagged)
                for n in db.query(SubmittedNotebook)],
            "grade": [
                (g.assignment.name, g.student.id, g.notebook.name, g.cell.name, g.auto_score,
                 g.manual_score, g.extra_credit, g.needs_manual_grade)
                for g in db.query(Grade)],
            "comment": [
                (c.assignment.name, c.student.id, c.notebook.name, c.cell.name, c.auto_comment,
                 c.manual_comment)
                for c in db.query(Comment)],
        }
    return {table: sorted(found, key=repr) for table, found in out.items()}
