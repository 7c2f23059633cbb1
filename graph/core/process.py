"""Process lifetime helpers shared by the launcher, the node processes and the nodes' own children."""

from __future__ import annotations

import ctypes
import signal

PR_SET_PDEATHSIG = 1  # prctl option: the signal this process gets when its parent thread exits


def die_with_parent(sig: int = signal.SIGTERM):
    """Ask Linux to signal this process when its parent dies, so nothing outlives the process that started it.
    Safe as a ``preexec_fn``: it only calls prctl."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)
    except (OSError, AttributeError):
        pass
