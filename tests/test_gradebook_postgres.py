"""The gradebook on a real PostgreSQL server, and concurrent writers on both databases.

The server is a throw-away cluster that these tests start themselves (``tests/_postgres.py``:
Debian's binaries, a temporary folder, an unprivileged user, a free loopback port); it
is skipped with the reason where PostgreSQL is not installed, and required in CI.
nbgrader's ``Gradebook`` creates its schema on PostgreSQL as on SQLite; several
processes that write at once (what parallel grading does) lose no row and double
none, on PostgreSQL and, with the busy timeout of
:func:`taylornet_grader.gradebook.with_busy_timeout`, on SQLite; nbgrader's queries
for the formgrader and ``nbgrader export`` run on PostgreSQL.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import _postgres
import pytest

pytestmark = [pytest.mark.grading,
              pytest.mark.filterwarnings("ignore:Object of type <Submitted")]

EXERCISES = Path(__file__).resolve().parents[1] / "exercises"


@pytest.fixture(scope="module")
def server():
    found = _postgres.server_or_skip()
    yield found
    found.stop()


@pytest.fixture(autouse=True)
def alembic_on_path(monkeypatch):
    """nbgrader runs this environment's ``alembic`` script when it creates a gradebook
    (once here: the revision does not change between two new gradebooks)."""
    import nbgrader.api

    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    monkeypatch.setattr(nbgrader.api, "get_alembic_version",
                        functools.partial(_alembic_heads, nbgrader.api.get_alembic_version))


@functools.cache
def _alembic_heads(original) -> str:
    return original()


def _schema(url: str) -> dict[str, set[str]]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        return {t: {c["name"] for c in inspector.get_columns(t)}
                for t in inspector.get_table_names()}
    finally:
        engine.dispose()


def _alembic_version(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as con:
            return con.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()


def test_nbgrader_creates_the_same_schema_on_postgres(server, tmp_path):
    from nbgrader.api import Gradebook

    pg, lite = server.create_database(), f"sqlite:///{tmp_path / 'gradebook.db'}"
    for url in (pg, lite):
        Gradebook(url, course_id="taylornet").close()
    schema = _schema(pg)
    assert {"student", "assignment", "notebook", "grade_cells", "submitted_assignment",
            "submitted_notebook", "grade", "comment", "course", "alembic_version"} <= set(schema)
    assert schema == _schema(lite)
    assert _alembic_version(pg) == _alembic_version(lite)  # `nbgrader db upgrade` works on it


def _counts(url: str) -> dict[str, int]:
    from taylornet_grader.gradebook import rows

    return {table: len(found) for table, found in rows(url, "taylornet").items()}


def _groups(processes: int, per_process: int) -> list[list[str]]:
    return [[f"w{p}_s{i:02d}" for i in range(per_process)] for p in range(processes)]


def test_concurrent_writers_lose_nothing_on_postgres(server):
    url = server.create_database()
    _postgres.add_assignment(url)
    groups = _groups(3, 6)
    assert _postgres.concurrent_writes(url, groups) == 18
    cells = len(_postgres.CELLS)
    assert _counts(url) == {"student": 18, "submission": 18, "notebook": 18,
                            "grade": 18 * cells, "comment": 0}
    from taylornet_grader.gradebook import rows

    grades = rows(url, "taylornet")["grade"]
    assert all(g[4] is not None for g in grades), "every score was written"
    # the same writes, one process after the other, give the same rows
    serial = server.create_database()
    _postgres.add_assignment(serial)
    for group in groups:
        _postgres.write_students(serial, group)
    assert rows(serial, "taylornet") == rows(url, "taylornet")


def test_concurrent_writers_lose_nothing_on_sqlite_with_the_busy_timeout(tmp_path):
    from taylornet_grader.gradebook import rows, with_busy_timeout

    url = with_busy_timeout(f"sqlite:///{tmp_path / 'gradebook.db'}")
    _postgres.add_assignment(url)
    assert _postgres.concurrent_writes(url, _groups(3, 6)) == 18
    assert _counts(url)["grade"] == 18 * len(_postgres.CELLS)
    assert all(g[4] is not None for g in rows(url, "taylornet")["grade"])


def test_formgrader_and_export_queries_run_on_postgres(server, tmp_path):
    """nbgrader's summary queries (formgrader, ``nbgrader export``) are PostgreSQL-clean."""
    from nbgrader.api import Gradebook

    url = server.create_database()
    lite = f"sqlite:///{tmp_path / 'gradebook.db'}"
    for db in (url, lite):
        _postgres.add_assignment(db)
        _postgres.write_students(db, ["alice", "bob", "dave"])
    found = {}
    for db in (url, lite):
        with Gradebook(db, course_id="taylornet") as gb:
            found[db] = (
                sorted((d["student"], d["score"], d["max_score"], d["needs_manual_grade"])
                       for d in gb.notebook_submission_dicts("nb", "a1")),
                sorted((d["id"], d["score"], d["max_score"]) for d in gb.student_dicts()),
                sorted((d["student"], d["score"]) for d in gb.submission_dicts("a1")),
                gb.average_assignment_score("a1"), gb.average_notebook_score("nb", "a1"),
            )
    assert found[url] == found[lite]
    assert found[url][0] == [("alice", 6.0, 6.0, False), ("bob", 6.0, 6.0, False),
                             ("dave", 0.0, 6.0, False)]


def test_the_course_reads_the_gradebook_url_from_the_environment(monkeypatch, tmp_path):
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    def db_url():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(EXERCISES)).load_config()
        return CourseDirectory(config=config).db_url

    monkeypatch.delenv("TAYLORNET_DB_URL", raising=False)
    assert db_url() == f"sqlite:///{EXERCISES / 'gradebook.db'}"
    monkeypatch.setenv("TAYLORNET_DB_URL", "postgresql+psycopg://grader@dbhost:5432/taylornet")
    assert db_url() == "postgresql+psycopg://grader@dbhost:5432/taylornet"


def test_url_helpers():
    from taylornet_grader.gradebook import is_sqlite, redacted, with_busy_timeout

    assert is_sqlite("sqlite:////srv/course/gradebook.db") and is_sqlite("sqlite+pysqlite:///x")
    assert not is_sqlite("postgresql+psycopg://u@h/db")
    assert with_busy_timeout("sqlite:////srv/g.db", 30) == "sqlite:////srv/g.db?timeout=30"
    assert with_busy_timeout("sqlite:////srv/g.db?timeout=5") == "sqlite:////srv/g.db?timeout=5"
    assert with_busy_timeout("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redacted("postgresql+psycopg://u:s3cret@h:5432/db") == \
        "postgresql+psycopg://u:***@h:5432/db"
    assert redacted("postgresql://u@h/db") == "postgresql://u@h/db"


def test_without_a_server_the_tests_skip_or_fail_in_ci(monkeypatch):
    """Where PostgreSQL is missing, the tests skip with the reason, and fail in CI."""
    monkeypatch.setattr(_postgres, "binaries", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        _postgres.server_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required in CI"):
        _postgres.server_or_skip()
