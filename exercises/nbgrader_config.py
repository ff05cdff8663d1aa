"""nbgrader configuration of the taylornet course (the course root is this folder).

Run the nbgrader commands from here, for example::

    cd exercises
    nbgrader validate source/ps01_first_order/ps01_first_order.ipynb
    nbgrader generate_assignment ps01_first_order
    nbgrader autograde ps01_first_order

The source notebooks are written by ``tools/build_*.py``; ``release/``,
``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db`` are
generated and ignored by git.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

# The course root is the folder of this file (traitlets defines __file__ when it
# loads a config file), wherever the commands are run from.
_ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "taylornet"
c.CourseDirectory.root = _ROOT
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_ROOT, "gradebook.db")

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
