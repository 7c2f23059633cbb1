"""CPU priority of node processes, so that the video path wins the CPU.

A node's ``nice`` is relative to the launcher's own: positive for compute-heavy nodes, negative (higher priority)
for the video path where the system allows it (root with CAP_SYS_NICE, or RLIMIT_NICE). A respawned node, and a
heavy one, starts up quietly: its imports and model loading run STARTUP_NICE lower than its own niceness, which it
gets back at its first heartbeat, so a restart does not take the CPU from a video that is already flowing. Niceness
is per thread on Linux, so changes cover every thread of the node's process group (an encoder it started too).

Each node runs in a session of its own. Where the kernel groups sessions for scheduling (autogroup, on in most
distributions' kernels), groups share the CPU equally whatever their processes' niceness, so a node's niceness
is also given to its session's group: without that, `nice` would change nothing between nodes.
"""

from __future__ import annotations

import os
import resource

from ..core.process import set_session_niceness

STARTUP_NICE = 10
CAP_SYS_NICE = 23  # bit of the capability in /proc/self/status


def niceness(relative: int) -> int:
    """The niceness `relative` to this process's own, within Unix's -20 (highest priority) .. 19 (lowest)."""
    return max(-20, min(19, os.getpriority(os.PRIO_PROCESS, 0) + relative))


def _has_cap_sys_nice() -> bool:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> CAP_SYS_NICE & 1)
    except OSError:
        pass
    return False


def may_raise_to(nice: int) -> bool:
    """Whether this process may lower a niceness down to `nice`, as a quiet start-up's end needs."""
    return nice >= 20 - resource.getrlimit(resource.RLIMIT_NICE)[0] or _has_cap_sys_nice()


def set_own_niceness(nice: int):
    """In a child before exec (and after setsid): take `nice`, or keep the inherited one where the system refuses."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    except PermissionError:
        pass
    set_session_niceness("self", nice)


def _group_threads(pgid: int) -> list[int]:
    """Every thread of every process in process group `pgid` (Linux /proc; elsewhere the leader only)."""
    if not os.path.isdir("/proc/self/task"):
        return [pgid]
    threads = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                group = int(stat.read().rsplit(")", 1)[1].split()[2])  # fields after the command name: state ppid pgrp
            if group == pgid:
                threads += [int(tid) for tid in os.listdir(f"/proc/{entry}/task")]
        except (OSError, ValueError, IndexError):
            continue  # a process that ended meanwhile
    return threads


def set_group_niceness(pgid: int, nice: int) -> bool:
    """Give every thread of process group `pgid` niceness `nice`; False where the system refused."""
    allowed = True
    for tid in _group_threads(pgid):
        try:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
        except ProcessLookupError:
            continue
        except PermissionError:
            allowed = False
    set_session_niceness(pgid, nice)
    return allowed
