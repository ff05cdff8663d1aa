"""The instructor's side of the course's grading: what runs in the grader, never in a kernel.

* :mod:`~taylornet_grader.sandbox`: the sandboxed kernel and the executor of
  ``nbgrader autograde`` (bubblewrap, limits, an unprivileged user, the memory
  watchdog, recovery from dead kernels);
* :mod:`~taylornet_grader.checker` and :mod:`~taylornet_grader.codec`: the trust
  boundary (test cells run here; the student's functions are called in the kernel);
* :mod:`~taylornet_grader.overwrite` and :mod:`~taylornet_grader.feedback`: nbgrader's
  cell restoration without false alarms, and feedback without hidden tests;
* :mod:`~taylornet_grader.item_analysis` and :mod:`~taylornet_grader.rehearsal`: the
  report of what a class got wrong, and a class graded in one process (no nbgrader);
* :mod:`~taylornet_grader.autograde`, :mod:`~taylornet_grader.worker` and
  :mod:`~taylornet_grader.gradebook`: ``nbgrader autograde`` in parallel on Dask (the
  command, the task on each worker), on a SQLite or PostgreSQL gradebook.

It lives with the course (``exercises/``), not in the ``taylornet`` package: it needs
nbgrader and cloudpickle (``make grade-env``), and ``import taylornet`` never loads it.
The course's ``nbgrader_config.py`` puts this folder's parent on ``sys.path``.
"""
