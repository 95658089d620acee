"""Child processes that end with the process that started them, however it ends."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Ask Linux to end this process when ``parent`` dies, however it dies (SIGKILL included).

    Called in the child: an extraction worker, or the pywb that ``scrapy browse`` runs. A parent
    killed with SIGKILL cannot stop its children; without this they would run on as orphans.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the call took effect (adopted by init or a subreaper)
            os._exit(0)
