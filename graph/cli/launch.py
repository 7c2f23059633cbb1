"""``dreamgraph launch | check | graph``: start, validate and draw a launch file."""

from __future__ import annotations

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
):
    """Start every node of a launch file; Ctrl-C stops them all."""
    from ..orchestration.launcher import Supervisor
    from ..orchestration.runner import configure_logging
    from ..orchestration.wiring import check_wiring

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
):
    """Show the nodes and topics of a launch file (text, or DOT with --dot)."""
    from ..orchestration.launchfile import node_topics

    spec = parse_or_fail(file, args or [])
    edges = []
    for node in spec.nodes:
        ins, outs = node_topics(node)
        edges.append((node, ins, outs))
    if dot:
        typer.echo("digraph dreamgraph {\n  rankdir=LR;")
        for node, ins, outs in edges:
            typer.echo(f'  "{node.name}" [shape=box, label="{node.name}\\n{node.node}"];')
            for topic, type_name in outs:
                typer.echo(f'  "{node.name}" -> "/{topic}" [label="{type_name}"];')
            for topic, _ in ins:
                typer.echo(f'  "/{topic}" -> "{node.name}";')
        topics = {t for _, ins, outs in edges for t, _ in ins + outs}
        for topic in sorted(topics):
            typer.echo(f'  "/{topic}" [shape=ellipse];')
        typer.echo("}")
        return
    for node, ins, outs in edges:
        where = f" @{node.machine}" if node.machine else ""
        typer.echo(f"{node.name} ({node.node}){where}")
        for topic, type_name in ins:
            typer.echo(f"  <- /{topic} [{type_name}]")
        for topic, type_name in outs:
            typer.echo(f"  -> /{topic} [{type_name}]")
