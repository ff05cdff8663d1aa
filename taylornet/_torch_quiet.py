"""Load torch's forward-mode AD support once, without its deprecation notice.

The first forward-mode derivative (``torch.func.jvp``) in a process imports
``torch._decomp.decompositions_for_jvp``, which calls ``torch.jit.script`` and, on
torch 2.13 and later, warns that ``torch.jit.script`` is deprecated (a
DeprecationWarning on 2.13, a FutureWarning on 2.14). The notice is about torch's
internals, not about anything a user of taylornet can change, so the modules
that use forward mode load it here, quietly, when they are imported.
"""

from __future__ import annotations

import warnings


def load_forward_ad_quietly() -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.* is deprecated")
        try:
            from torch._decomp import decompositions_for_jvp  # noqa: F401
        except ImportError:  # another torch layout: nothing to preload
            pass
