"""``dreamgraph launch FILE --machine NAME --remote ssh``: start the other machines' parts of a graph over ssh.

For every machine of the launch file other than this one, runs ``dreamgraph launch FILE --machine OTHER`` on it
through ``ssh [USER@]ADDRESS`` (the machine's address from the launch file). The remote side needs the same
repository and virtual environment at the same path as here (the command is
``cd $PWD && $PYTHON -m dreamgraph.graph.cli``), or ``DREAMGRAPH_REMOTE_CMD`` naming the command to run there
instead (for example ``/opt/dreamgraph/bin/dreamgraph`` or ``cd ~/dreamgraph && .venv/bin/dreamgraph``); the
launch file path is passed as given here, relative to that directory. The keys directory must already be on
each machine (``DREAMGRAPH_KEYS`` there, or ``keys:=DIR``).

Environment: ``DREAMGRAPH_SSH_USER`` (login name; default: ssh's own choice), ``DREAMGRAPH_SSH`` (the ssh command,
default ``ssh``, e.g. ``ssh -i ~/.ssh/dream``). Launch arguments are passed on resolved, so every machine agrees
on the addresses; arguments whose values came from secret-looking environment variables are not passed (they
would show in process listings) and must be set on the remote machine's environment.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

from .launchfile import Launch

SSH_ENV = "DREAMGRAPH_SSH"
USER_ENV = "DREAMGRAPH_SSH_USER"
REMOTE_CMD_ENV = "DREAMGRAPH_REMOTE_CMD"
KINDS = ("ssh",)


def remote_command(
    file: str,
    spec: Launch,
    machine: str,
    duration: float | None,
    environ: dict[str, str] | None = None,
    cwd: str | None = None,
) -> list[str]:
    """The argv that starts ``machine``'s part of the graph: ``ssh ... HOST 'cd ... && dreamgraph launch ...'``."""
    environ = os.environ if environ is None else environ
    cwd = os.getcwd() if cwd is None else cwd
    base = (
        environ.get(REMOTE_CMD_ENV)
        or f"cd {shlex.quote(cwd)} && exec {shlex.quote(sys.executable)} -m dreamgraph.graph.cli"
    )
    secrets = set(spec.secrets)
    launch_args = ["launch", file, "--machine", machine]
    launch_args += [f"{name}:={value}" for name, value in sorted(spec.args.items()) if value not in secrets]
    if duration:
        launch_args += ["--duration", f"{duration:g}"]
    host = spec.machines[machine]
    user = environ.get(USER_ENV)
    # -tt: the remote launcher gets a terminal, so it is hung up (and stops its nodes) when ssh goes away.
    ssh = shlex.split(environ.get(SSH_ENV) or "ssh") + ["-tt", "-o", "BatchMode=yes"]
    return [*ssh, f"{user}@{host}" if user else host, f"{base} {shlex.join(launch_args)}"]


def start_remote_machines(
    file: str, args: list[str], spec: Launch, machine: str, remote: str, duration: float | None
) -> list[subprocess.Popen]:
    """Start every other machine's part of the graph; returns their local ssh processes.

    ``args`` (the command line's name:=value list) is already folded into ``spec.args``; it is accepted so the
    CLI can pass what it has.
    """
    if remote not in KINDS:
        raise ValueError(f"--remote {remote!r}: only {', '.join(KINDS)} is supported")
    if not spec.machines:
        raise ValueError("--remote needs a launch file with a machines: section")
    if machine not in spec.machines:
        raise ValueError(f"--remote needs --machine NAME for this machine (one of {', '.join(spec.machines)})")
    procs = []
    for other in sorted(spec.machines):
        if other == machine:
            continue
        argv = remote_command(file, spec, other, duration)
        print(f"[launch] starting machine {other} on {spec.machines[other]} over ssh", flush=True)
        procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL))
    return procs
