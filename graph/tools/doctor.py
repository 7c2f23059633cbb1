"""`dreamgraph doctor`: check a machine before a show, one finding per line with the fix.

With a launch file, the findings are what that graph needs: the framework's (Python, disk, and for graphs that
span machines their ports, clock sync and keys) and each node's own (``Node.preflight``). Without one, every
installed node is checked with its defaults, and what no graph strictly needs only warns.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from ..core.contract import Param, declared, load_node_class, node_modules
from ..core.preflight import Check, disk_check, port_check
from ..orchestration.launcher import DEFAULT_BASE_PORT
from ..orchestration.launchfile import Launch


def python_check() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    return Check("python", sys.version_info >= (3, 10), f"Python {version}", "install Python 3.10 or newer")


def clock_check() -> Check:
    """Graphs that span machines compare timestamps across them: their clocks must be synchronised."""
    fix = "enable NTP: `sudo timedatectl set-ntp true` (systemd-timesyncd) or install chrony"
    if shutil.which("timedatectl"):
        done = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True, text=True, timeout=10
        )
        if done.returncode == 0:
            synced = done.stdout.strip() == "yes"
            return Check("clock", synced, "NTP synchronised" if synced else "not NTP synchronised", fix)
    if shutil.which("chronyc"):
        done = subprocess.run(["chronyc", "-n", "tracking"], capture_output=True, text=True, timeout=10)
        synced = done.returncode == 0 and "Leap status     : Normal" in done.stdout
        return Check("clock", synced, "chrony tracking" if synced else "chrony not synchronised", fix)
    return Check("clock", False, "cannot tell (neither timedatectl nor chronyc answers)", fix)


def keys_check(keys_dir: str) -> Check:
    """The CurveZMQ key directory must be private: anyone who reads it can join the graph."""
    root = Path(keys_dir)
    fix = f"`dreamgraph keys generate {root}` creates it; `chmod 700 {root}; chmod 600 {root}/*.key_secret`"
    if not root.is_dir():
        return Check("keys", False, f"{root} does not exist", fix)
    loose = [
        path.name
        for path in [root, *root.glob("*.key_secret")]
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO) or path.stat().st_uid != os.getuid()
    ]
    if loose:
        return Check("keys", False, f"readable by others or not yours: {', '.join(loose)}", fix)
    return Check("keys", True, f"{root} private (0700, secrets 0600)")


def _params_with_defaults(cls, given: dict) -> dict:
    decls = declared(cls, Param)
    return {name: decl.convert(given[name]) if name in given else decl.default for name, decl in decls.items()}


def node_checks(node_ref: str, params: dict, label: str) -> list[Check]:
    cls = load_node_class(node_ref)
    try:
        found = cls.preflight(_params_with_defaults(cls, params))
    except Exception as err:  # a broken check must not hide the others
        found = [Check("preflight", False, f"the check itself failed: {type(err).__name__}: {err}")]
    return [replace(c, name=f"{label}: {c.name}") for c in found]


def diagnose(launch: Launch | None, machine: str = "") -> list[Check]:
    """Every finding for this launch file (for the nodes placed on ``machine``, when given), or with None, for
    every installed node with its defaults."""
    checks = [python_check(), disk_check(Path.cwd())]
    if launch is None:
        for short, module in sorted(node_modules().items()):
            checks += [replace(c, needed=False) for c in node_checks(module, {}, short)]
        return checks
    here = [(i, spec) for i, spec in enumerate(launch.nodes) if not machine or spec.machine == machine]
    if launch.machines:
        base = int(launch.graph.get("base_port", DEFAULT_BASE_PORT))
        checks.append(clock_check())
        checks += [port_check(f"{spec.name}: graph port", "0.0.0.0", base + 1 + i) for i, spec in here]
    if launch.graph.get("keys"):
        checks.append(keys_check(str(launch.graph["keys"])))
    for _, spec in here:
        checks += node_checks(spec.node, spec.params, spec.name)
    return checks
