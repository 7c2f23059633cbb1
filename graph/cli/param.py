"""``dreamgraph param set``: change a parameter of a running node and report its answer."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from .common import GraphOption, client, fail

app = typer.Typer(help="Change node parameters of the running graph.", no_args_is_help=True)


@app.command("set", context_settings={"ignore_unknown_options": True})  # values like -1 are not options
def param_set(
    node: str,
    name: str,
    value: str,
    graph: GraphOption = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the node's answer")] = 5.0,
):
    """Change a parameter of a running node (NODE '*': every node that has it) and print the answer: applied, or
    refused with the reason. The value is parsed as JSON when it can be. Exits 1 when the change is refused or
    nobody answers (no such node or parameter)."""
    graph_client = client(graph)
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    answers = graph_client.set_param(node, name, parsed, timeout)
    graph_client.close()
    if not answers:
        fail(
            f"no node has a parameter {name!r}"
            if node == "*"
            else f"no answer from node {node!r} within {timeout:g} s: is it running? (see `dreamgraph node list`)"
        )
    for answer in sorted(answers, key=lambda a: a.node):
        if answer.applied:
            typer.echo(f"{answer.node}.{name} = {answer.value!r} (applied)")
        else:
            typer.echo(f"error: {answer.node} refused {name} = {parsed!r}: {answer.reason}", err=True)
    if not all(answer.applied for answer in answers):
        raise typer.Exit(1)
