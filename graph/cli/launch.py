"""``dreamgraph launch | check | graph``: start, validate and draw a launch file."""

from __future__ import annotations

import os
import subprocess
from typing import Annotated, Optional

import typer

from .common import LaunchArgs, LaunchFile, fail, parse_or_fail


def launch(
    file: LaunchFile,
    args: LaunchArgs = None,
    duration: Annotated[Optional[float], typer.Option(help="stop after this many seconds")] = None,
    machine: Annotated[str, typer.Option(help="start only the nodes placed on this machine")] = "",
    remote: Annotated[str, typer.Option(help="'ssh': also start the other machines' nodes over ssh")] = "",
    show_args: Annotated[bool, typer.Option("--show-args", help="list the file's arguments and exit")] = False,
    log_format: Annotated[
        str, typer.Option(help="text (ISO 8601 times, the node's name once) or json (one object per line)")
    ] = "text",
):
    """Start every node of a launch file; Ctrl-C stops them all."""
    if show_args:
        _show_args(file)
        return
    from ..core.logformat import LOG_FORMAT_ENV
    from ..orchestration.launcher import Supervisor
    from ..orchestration.runner import configure_logging
    from ..orchestration.wiring import check_wiring

    if log_format not in ("text", "json"):
        fail(f"--log-format must be text or json, not {log_format!r}")
    os.environ[LOG_FORMAT_ENV] = log_format  # the launcher and every node it starts
    configure_logging("INFO")
    spec = parse_or_fail(file, args or [])
    for problem in check_wiring(spec).errors:  # not fatal: a topic may come from outside (`topic pub`, a bag)
        typer.echo(f"warning: {problem}", err=True)
    remote_procs = []
    try:
        supervisor = Supervisor(spec, machine=machine, duration=duration)
        if remote:
            from ..orchestration.remote import start_remote_machines

            remote_procs = start_remote_machines(file, args or [], spec, machine, remote, duration)
    except ValueError as err:
        fail(str(err))
    code = supervisor.run()
    for proc in remote_procs:
        proc.terminate()  # ssh goes away; the remote launcher is hung up and stops its nodes
    for proc in remote_procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    raise typer.Exit(code)


def _show_args(file: str):
    """The arguments a launch file takes, as `ros2 launch --show-args` lists them."""
    from ..orchestration.launchfile import declared_args

    try:
        found = declared_args(file)
    except (OSError, ValueError) as err:
        fail(f"cannot read {file}: {err}")
    if not found:
        typer.echo(f"{file} takes no arguments")
    for name, default, doc in found:
        typer.echo(f"{name}:={'(required)' if default is None else default}" + (f"\n    {doc}" if doc else ""))


def check(
    file: LaunchFile,
    args: LaunchArgs = None,
    strict: Annotated[bool, typer.Option(help="treat notes (outputs nobody reads, unset variables) as errors")] = False,
):
    """Validate a launch file and its wiring without starting anything; errors name the file, line and node."""
    from ..orchestration.wiring import check_wiring

    spec = parse_or_fail(file, args or [])
    wiring = check_wiring(spec)
    notes = spec.notes + wiring.notes
    for note in notes:
        typer.echo(f"note: {note}")
    problems = wiring.errors + (notes if strict else [])
    for problem in wiring.errors:
        typer.echo(problem, err=True)
    if problems:
        typer.echo(f"{len(problems)} problem(s) in {file}" + (" (--strict: notes count)" if strict else ""), err=True)
        raise typer.Exit(1)
    typer.echo(
        f"{file}: OK ({len(spec.nodes)} nodes"
        + (f", machines {', '.join(spec.machines)}" if spec.machines else "")
        + ")"
    )


def graph(
    file: LaunchFile,
    args: LaunchArgs = None,
    dot: Annotated[bool, typer.Option("--dot", help="print Graphviz DOT")] = False,
    mermaid: Annotated[bool, typer.Option("--mermaid", help="print a Mermaid flowchart (renders on GitHub)")] = False,
):
    """Show the nodes and topics of a launch file (text, DOT with --dot, Mermaid with --mermaid)."""
    from ..orchestration.launchfile import node_topics
    from ..tools import diagram

    spec = parse_or_fail(file, args or [])
    edges = [(node, *node_topics(node)) for node in spec.nodes]
    draw = diagram.dot if dot else diagram.mermaid if mermaid else diagram.text
    typer.echo(draw(edges))
