"""A throw-away PostgreSQL server for the gradebook tests.

:func:`start` makes a cluster with ``initdb`` in a fresh temporary folder, starts
``postgres`` on a free port of the loopback interface (no other address, no Unix
socket outside that folder) and returns a :class:`Server`; :meth:`Server.stop`
stops it and removes the folder. PostgreSQL refuses to run as root: when the tests
run as root, the cluster belongs to an unprivileged user (``postgres`` when
Debian's package made it, else ``nobody``) and every server process runs as that
user.

The binaries are Debian's (``apt-get install postgresql``; the Makefile installs
it for ``make test``): ``initdb`` and ``pg_ctl`` on ``PATH`` or under
``/usr/lib/postgresql/<version>/bin``. Where they are missing or the server cannot
start, :func:`server_or_skip` skips the test with the reason, and fails it in CI
(environment variable ``CI`` set), where the server is required.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass

import pytest

SUPERUSER = "taylornet"


def binaries() -> str | None:
    """The folder of ``initdb``, ``pg_ctl`` and ``postgres``, or ``None``."""
    found = shutil.which("initdb")
    if found:
        folder = os.path.dirname(os.path.realpath(found))
        if os.path.exists(os.path.join(folder, "pg_ctl")):
            return folder
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0)
    return os.path.dirname(versions[-1]) if versions else None


def _owner() -> pwd.struct_passwd | None:
    """The user who runs the server when we are root, else ``None`` (ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, and neither user postgres nor nobody exists")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    folder: str
    port: int
    bindir: str
    owner: pwd.struct_passwd | None

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of ``database`` (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        name = name or f"gradebook_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER,
                             dbname="postgres", autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        _run([os.path.join(self.bindir, "pg_ctl"), "stop", "-D", self.data, "-m", "immediate",
              "-w", "-t", "30"], self.owner, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def data(self) -> str:
        return os.path.join(self.folder, "data")


def _run(cmd: list[str], owner, check: bool = True) -> subprocess.CompletedProcess:
    kwargs = {}
    if owner is not None:
        kwargs = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
                              "TZ": "UTC"}, cwd="/", **kwargs)
    if check and run.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:2])} failed ({run.returncode}):\n"
                           f"{run.stdout}{run.stderr}")
    return run


def start() -> Server:
    """Start a fresh server (raises ``RuntimeError`` with the reason when it cannot)."""
    bindir = binaries()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise RuntimeError("psycopg is not installed (pip install 'psycopg[binary]')") from exc
    owner = _owner()
    # under /tmp when the server runs as another user: a private TMPDIR may be closed to it
    folder = tempfile.mkdtemp(prefix="taylornet-postgres-", dir="/tmp" if owner else None)
    os.chmod(folder, 0o700)
    if owner is not None:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    server = Server(folder, free_port(), bindir, owner)
    try:
        _run([os.path.join(bindir, "initdb"), "-D", server.data, "-U", SUPERUSER,
              "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], owner)
        options = (f"-c listen_addresses=127.0.0.1 -c port={server.port} "
                   f"-c unix_socket_directories={folder} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        _run([os.path.join(bindir, "pg_ctl"), "start", "-D", server.data, "-w", "-t", "60",
              "-l", os.path.join(folder, "server.log"), "-o", options], owner)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    except Exception:
        log = os.path.join(folder, "server.log")
        text = open(log, encoding="utf-8", errors="replace").read() if os.path.exists(log) else ""
        server.stop()
        raise RuntimeError(f"the PostgreSQL server did not start: {text[-2000:]}") from None
    return server


def server_or_skip() -> Server:
    """:func:`start`, or skip the test (fail it in CI) with the reason."""
    try:
        return start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}")
        pytest.skip(f"no PostgreSQL server for the gradebook tests: {exc}")


# ------------------------------------------------------------- concurrent writers
#: The assignment of :func:`concurrent_writes`: one notebook with these graded cells.
CELLS = ("f_tests", "g_tests", "h_tests")


def add_assignment(url: str, course_id: str = "taylornet") -> None:
    """An assignment ``a1`` with one notebook ``nb`` and the graded cells :data:`CELLS`."""
    from nbgrader.api import Gradebook

    with Gradebook(url, course_id=course_id) as gb:
        gb.add_assignment("a1")
        gb.add_notebook("nb", "a1")
        for points, cell in enumerate(CELLS, start=1):
            gb.add_grade_cell(cell, "nb", "a1", max_score=points, cell_type="code")
            gb.add_source_cell(cell, "nb", "a1", cell_type="code", source="pass")
    Gradebook(url).close()  # the default course, as nbgrader's preprocessors open it


def write_students(url: str, students: list[str], course_id: str = "taylornet") -> int:
    """What autograde writes for each student, with nbgrader's API: the student, the
    submission and its grades (a score per cell), one commit per grade; the number written."""
    from nbgrader.api import Gradebook

    for student in students:
        with Gradebook(url, course_id=course_id) as gb:
            gb.update_or_create_student(student)
            gb.update_or_create_submission("a1", student, timestamp="2027-01-01 10:00:00 UTC")
        with Gradebook(url) as gb:  # SaveAutoGrades opens it like this
            for points, cell in enumerate(CELLS, start=1):
                grade = gb.find_grade(cell, "nb", "a1", student)
                grade.auto_score = points * (len(student) % 2)
                grade.needs_manual_grade = False
                gb.db.commit()
    return len(students)


def concurrent_writes(url: str, groups: list[list[str]]) -> int:
    """:func:`write_students` of each group in its own process, all at once."""
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(len(groups), mp_context=context) as pool:
        return sum(pool.map(write_students, [url] * len(groups), groups))
