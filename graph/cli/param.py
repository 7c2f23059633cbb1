"""``dreamgraph param set | get | list | dump | load``: a running node's parameters, as in ROS 2's ``ros2 param``.

Values are read from the nodes' heartbeats (each Status carries its node's parameters); changes go through the
node, which answers applied or refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .common import GraphOption, NodeName, client, fail

app = typer.Typer(help="Read and change node parameters of the running graph.", no_args_is_help=True)


@app.command("set", context_settings={"ignore_unknown_options": True})  # values like -1 are not options
def param_set(
    node: NodeName,
    name: str,
    value: str,
    graph: GraphOption = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the node's answer")] = 5.0,
):
    """Change a parameter of a running node (NODE '*': every node that has it) and print the answer: applied, or
    refused with the reason. The value is parsed as JSON when it can be. Exits 1 when the change is refused or
    nobody answers (no such node or parameter)."""
    graph_client = client(graph)
    ok = _set(graph_client, node, name, _parse(value), timeout)
    graph_client.close()
    if not ok:
        raise typer.Exit(1)


def _parse(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value


def _set(graph_client, node: str, name: str, value, timeout: float) -> bool:
    """Send one change, print every answer; True when every answer says applied."""
    answers = graph_client.set_param(node, name, value, timeout)
    if not answers:
        why = (
            f"no node has a parameter {name!r}"
            if node == "*"
            else f"no answer from node {node!r} within {timeout:g} s: is it running? (see `dreamgraph node list`)"
        )
        typer.echo(f"error: {why}", err=True)
        return False
    for answer in sorted(answers, key=lambda a: a.node):
        if answer.applied:
            typer.echo(f"{answer.node}.{name} = {answer.value!r} (applied)")
        else:
            typer.echo(f"error: {answer.node} refused {name} = {value!r}: {answer.reason}", err=True)
    return all(answer.applied for answer in answers)


def _status(graph_client, node: str, seconds: float):
    """The node's latest heartbeat, or exit 1 naming the nodes that are running."""
    statuses = graph_client.statuses(seconds)
    if node not in statuses:
        fail(f"no node {node!r} reported within {seconds:g} s; running: {', '.join(sorted(statuses)) or 'none'}")
    return statuses[node]


@app.command("get")
def param_get(node: NodeName, name: str, graph: GraphOption = None, seconds: float = 1.5):
    """Print one parameter's current value (JSON). Exits 1 when there is no such node or parameter."""
    params = _status(client(graph), node, seconds).params
    if name not in params:
        fail(f"{node} has no parameter {name!r}; its parameters: {', '.join(sorted(params))}")
    typer.echo(json.dumps(params[name]))


@app.command("list")
def param_list(node: NodeName, graph: GraphOption = None, seconds: float = 1.5):
    """Every parameter of a running node: value, type, unit, range and what it does (from its contract)."""
    from ..core.contract import describe, load_node_class

    status = _status(client(graph), node, seconds)
    contract = {p["name"]: p for p in describe(load_node_class(status.node_class))["params"]}
    for name, value in sorted(status.params.items()):
        decl = contract.get(name, {})
        limits = [f"{k} {decl[k]}" for k in ("min", "max") if decl.get(k) is not None]
        if decl.get("choices"):
            limits.append("one of " + ", ".join(map(str, decl["choices"])))
        extra = "; ".join(filter(None, [decl.get("unit", ""), ", ".join(limits), decl.get("doc", "")]))
        typer.echo(f"{name} = {json.dumps(value)}  [{decl.get('type', '?')}]" + (f"  {extra}" if extra else ""))


@app.command("dump")
def param_dump(node: NodeName, graph: GraphOption = None, seconds: float = 1.5):
    """Print a running node's parameters as YAML, for `param load` or a launch file's `params:`."""
    import yaml

    typer.echo(yaml.safe_dump(_status(client(graph), node, seconds).params, sort_keys=True).rstrip())


@app.command("load")
def param_load(
    node: NodeName,
    file: Path,
    graph: GraphOption = None,
    timeout: Annotated[float, typer.Option(help="seconds to wait for each answer")] = 5.0,
):
    """Set every parameter of a YAML file (as `param dump` writes it) on a running node, one by one, printing
    each answer. Exits 1 when any change is refused or unanswered."""
    import yaml

    try:
        values = yaml.safe_load(file.read_text())
    except (OSError, yaml.YAMLError) as err:
        fail(f"cannot read {file}: {err}")
    if not isinstance(values, dict):
        fail(f"{file} must be a mapping of parameter names to values")
    graph_client = client(graph)
    results = [_set(graph_client, node, str(name), value, timeout) for name, value in values.items()]
    graph_client.close()
    if not all(results):
        raise typer.Exit(1)
