"""Pre-show checks (`dreamgraph doctor`): one finding per thing a graph needs from the machine, with the fix.

Nodes say what they need through ``Node.preflight(params)``, with the common checks below; the framework adds
what every graph needs (dreamgraph.graph.tools.doctor).
"""

from __future__ import annotations

import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

MIN_FREE_DISK_GB = 2.0  # about an hour of 1080p recording at 4.5 Mbit/s


@dataclass(frozen=True)
class Check:
    """One finding. ``needed``: the graph cannot run without it, so a failure makes `doctor` exit non-zero;
    otherwise a failure is reported as a warning (for example CUDA when the device is ``auto``)."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    needed: bool = True


def disk_check(folder: Path, needed: bool = True) -> Check:
    try:
        free_gb = shutil.disk_usage(folder).free / 1e9
    except OSError as err:
        return Check("disk", False, f"cannot read the free space of {folder}: {err.strerror}", needed=needed)
    return Check(
        "disk",
        free_gb >= MIN_FREE_DISK_GB,
        f"{free_gb:.1f} GB free in {folder}",
        f"free at least {MIN_FREE_DISK_GB:g} GB there, or record elsewhere",
        needed,
    )


def port_check(name: str, host: str, port: int) -> Check:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError as err:
            return Check(name, False, f"port {port} on {host} is taken ({err.strerror})", "stop what uses it")
    return Check(name, True, f"port {port} on {host} is free")
