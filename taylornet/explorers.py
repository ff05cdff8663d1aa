"""ipywidgets explorers when a notebook is executed without a front end.

Each chapter has an explorer: ``widgets.interactive(draw, **sliders)``. In a
live Jupyter session the sliders redraw the figure. When the book is built
(``jupyter-book`` executes every chapter through nbclient), or a test executes
a chapter, nobody moves the sliders, and the widgets' comm messages only cost:
nbclient can stall until the cell timeout after a cell that opens widget comms
(jupyter/nbclient#312; seen here with pyzmq 27.3, jupyter_client 8.10,
nbclient 0.11, in about one run in three).

:func:`headless_widgets` removes that cost. When the environment variable
``TAYLORNET_HEADLESS_WIDGETS`` is set (``make book`` and the test suite set
it), widgets are created with :class:`comm.DummyComm`, which sends nothing to
the front end: the widget objects, their values and observers work as usual,
``interactive`` still calls ``draw`` once with the initial values, and that
figure lands in the cell's output instead of in a widget nobody can see. In a
live session (variable unset) it does nothing.
"""

from __future__ import annotations

import os

ENV_VAR = "TAYLORNET_HEADLESS_WIDGETS"


def headless_widgets() -> bool:
    """Make widgets local-only when ``TAYLORNET_HEADLESS_WIDGETS`` is set; return whether it did."""
    if os.environ.get(ENV_VAR, "") in ("", "0"):
        return False
    import comm

    comm.create_comm = comm.DummyComm
    return True
