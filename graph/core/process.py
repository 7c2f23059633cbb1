"""Process lifetime helpers shared by the launcher, the node processes and the nodes' own children."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading

PR_SET_PDEATHSIG = 1  # prctl option: the signal this process gets when its parent thread exits


def die_with_parent(sig: int = signal.SIGTERM):
    """Ask Linux to signal this process when its parent dies, so nothing outlives the process that started it.
    Safe as a ``preexec_fn``: it only calls prctl."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)
    except (OSError, AttributeError):
        pass


def set_session_niceness(pid: int | str, nice: int) -> bool:
    """Give the scheduler group of `pid`'s session (autogroup) niceness `nice`; False where there is no such group
    (autogroup off, not Linux) or the system refused."""
    try:
        with open(f"/proc/{pid}/autogroup", "w") as group:
            group.write(str(nice))
        return True
    except OSError:
        return False


def keep_niceness_in_session():
    """In a child after setsid, as a ``preexec_fn``: its new session's scheduler group takes the niceness the
    child inherited, so a new session does not lift a low-priority process (or sink a favoured one)."""
    set_session_niceness("self", os.getpriority(os.PRIO_PROCESS, 0))


@contextlib.contextmanager
def stop_signals_interrupt():
    """Within the block, SIGINT and SIGTERM raise KeyboardInterrupt, whatever this process inherited: a tool
    started in the background by a shell inherits SIGINT ignored, and launchers and ``timeout`` send SIGTERM."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
