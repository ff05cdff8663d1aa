"""nbgrader configuration of the taylornet course (the course root is this folder).

Run the nbgrader commands from here, for example::

    cd exercises
    nbgrader validate source/ps01_first_order/ps01_first_order.ipynb
    nbgrader generate_assignment ps01_first_order
    nbgrader autograde ps01_first_order

The source notebooks are written from ``problems/*.md`` by ``tools/sync.py``; ``release/``,
``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db`` are
generated and ignored by git.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

# The course root is the folder of this file (traitlets defines __file__ when it
# loads a config file), wherever the commands are run from.
_ROOT = os.path.dirname(os.path.abspath(__file__))

# The grader's own code (taylornet_grader/: sandbox, trusted checker, feedback filter)
# lives with the course, not in the taylornet package.
import sys  # noqa: E402

if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

c.CourseDirectory.course_id = "taylornet"
c.CourseDirectory.root = _ROOT
# The gradebook: SQLite in this folder, or the database that TAYLORNET_DB_URL names, e.g.
# postgresql+psycopg://grader@dbhost/taylornet (exercises/README.md, "Parallel grading").
c.CourseDirectory.db_url = os.environ.get("TAYLORNET_DB_URL") or \
    "sqlite:///" + os.path.join(_ROOT, "gradebook.db")

# Each cell of a notebook gets at most this many seconds when it is validated or
# autograded (an infinite loop in a submission costs a minute, not the grader's day).
c.Execute.timeout = 60
c.ExecutePreprocessor.timeout = 60

# What replaces the ### BEGIN SOLUTION ... ### END SOLUTION region in the
# student version: indented like the region, so a function keeps its signature
# and docstring and fails loudly until it is written.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError(\"replace this line with your code\")",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Autograding restores the test cells from the gradebook; a test cell that a
# student deleted is put back (and scored) rather than silently skipped.
# nbgrader 0.9 has no "remove extra cells" option: cells a student adds are kept
# and run; every graded cell is restored to its source version.
c.OverwriteCells.add_missing_cells = True

# Grading you can trust (exercises/README.md, "The autograding sandbox"):
# `autograde` runs each submission in a sandboxed kernel (exercises/taylornet_grader/sandbox.py):
# bubblewrap with no network and a read-only view of its own folder and the installed
# packages only, a writable /tmp, memory / CPU-time / process limits, and a kernel that
# is restarted (the other exercises still graded) when a cell kills it or hangs.
# Without bubblewrap: resource limits only, with a WARNING in the autograde log.
# Each setting can also be given by an environment variable (it wins), e.g.
# TAYLORNET_SANDBOX=limits, TAYLORNET_SANDBOX_MEMORY=2G, TAYLORNET_SANDBOX_CPU=300.
import warnings  # noqa: E402

from nbgrader.converters.autograde import Autograde  # noqa: E402
from nbgrader.preprocessors import Execute, OverwriteCells  # noqa: E402
from sqlalchemy.exc import SAWarning  # noqa: E402

_OURS = {Execute: "taylornet_grader.sandbox.SandboxedExecute",
         # the same, but the restored hidden tests' checksums are expected to differ
         OverwriteCells: "taylornet_grader.overwrite.RestoreCells"}
for _step in ("sanitize_preprocessors", "autograde_preprocessors"):
    setattr(c.Autograde, _step,
            [_OURS.get(p, p) for p in Autograde.class_traits()[_step].default()])

# nbgrader 0.9's gradebook code triggers SQLAlchemy's "Object of type <Submitted...>
# not in session" warnings on every submission; they are harmless (nothing is lost).
warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")
warnings.filterwarnings("ignore", message="Object of type <Submitted", category=SAWarning)
c.SandboxKernelManager.mode = "auto"          # auto | bwrap (required) | limits | off
c.SandboxKernelManager.memory_limit = "4G"    # RLIMIT_DATA of the kernel
c.SandboxKernelManager.cpu_limit = 600        # CPU seconds per kernel (RLIMIT_CPU)
c.SandboxKernelManager.max_processes = 64     # processes/threads beyond the grader's own
c.SandboxKernelManager.tmp_size = "512M"      # the writable /tmp of the sandbox
c.SandboxedExecute.interrupt_grace = 5        # seconds to obey the timeout's interrupt
c.SandboxedExecute.max_restarts = 4           # kernel restarts per notebook

# Partial credit per hidden case (off: a test cell scores all or nothing). "1" gives a
# cell points * (hidden cases passed / cases); the environment variable wins.
os.environ.setdefault("TAYLORNET_PARTIAL_CREDIT", "0")

# Feedback shows pass/fail and points of the hidden tests, never their source
# (exercises/taylornet_grader/feedback.py); the autograded notebooks keep everything.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "taylornet_grader.feedback.HideHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
