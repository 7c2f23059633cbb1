"""``dreamgraph node list``: the nodes of the running graph."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import GraphOption, NodeName, client, fail

app = typer.Typer(help="Inspect the nodes of the running graph.", no_args_is_help=True)


@app.command("list")
def node_list(graph: GraphOption = None, seconds: Annotated[float, typer.Option(help="listening time")] = 1.5):
    """Every node of the running graph: pid, state, restarts, message rates, errors, hangs (times the launcher's
    watchdog stopped it for a missing heartbeat), CPU (% of one core, its child processes included) and memory."""
    graph_client = client(graph)
    launches = graph_client.launch_states()
    statuses = graph_client.statuses(seconds)
    rows = {}
    for state in launches.values():
        for name, info in state.nodes.items():
            rows[name] = dict(info)
    for name, status in statuses.items():
        row = rows.setdefault(name, {"state": "running", "restarts": 0, "machine": ""})
        row["pid"] = status.pid
        row["host"] = status.host
        row["in"] = sum(i["rate"] for i in status.inputs.values() if not i.get("type", "").endswith(("ParamSet",)))
        row["out"] = sum(o["rate"] for o in status.outputs.values())
        row["errors"] = sum(status.errors.values())
        row["problem"] = status.problem
        row["cpu"], row["rss"] = status.cpu_percent, status.rss_mb
        row["heard"] = True
    if not rows:
        fail("no node found")
    typer.echo(
        f"{'NAME':20} {'PID':>7} {'STATE':9} {'RESTARTS':>8} {'IN/s':>8} {'OUT/s':>8} {'ERRORS':>6} {'HANGS':>5} "
        f"{'CPU%':>6} {'RSS_MB':>7}  MACHINE"
    )
    for name in sorted(rows):
        r = rows[name]
        state = r.get("state", "?")
        if state == "running" and not r.get("heard"):
            state = "silent"
        typer.echo(
            f"{name:20} {r.get('pid', 0) or '-':>7} {state:9} {r.get('restarts', 0):>8} "
            f"{r.get('in', 0):>8.1f} {r.get('out', 0):>8.1f} {r.get('errors', 0):>6} {r.get('hangs', 0):>5} "
            f"{r.get('cpu', 0):>6.1f} {r.get('rss', 0):>7.0f}  "
            f"{r.get('machine') or r.get('host', '')}" + (f"  PROBLEM: {r['problem']}" if r.get("problem") else "")
        )


@app.command("info")
def node_info(
    node: NodeName, graph: GraphOption = None, seconds: Annotated[float, typer.Option(help="listening time")] = 1.5
):
    """A running node's contract (topics, parameters) with its live rates and parameter values."""
    from ..core.contract import describe, load_node_class

    statuses = client(graph).statuses(seconds)
    if node not in statuses:
        fail(f"no node {node!r} reported within {seconds:g} s; running: {', '.join(sorted(statuses)) or 'none'}")
    status = statuses[node]
    contract = describe(load_node_class(status.node_class))
    typer.echo(f"{node}  ({status.node_class}, pid {status.pid} on {status.host}, state {status.state})")
    if contract["summary"]:
        typer.echo(f"  {contract['summary']}")
    typer.echo("  inputs:")
    for topic, info in sorted(status.inputs.items()):
        typer.echo(f"    /{topic}  [{info['type']}]  {info['rate']:.1f}/s")
    typer.echo("  outputs:")
    for topic, info in sorted(status.outputs.items()):
        typer.echo(f"    /{topic}  [{info['type']}]  {info['rate']:.1f}/s")
    docs = {p["name"]: p for p in contract["params"]}
    typer.echo("  parameters:")
    for name, value in sorted(status.params.items()):
        unit = docs.get(name, {}).get("unit", "")
        typer.echo(f"    {name} = {value!r}{' ' + unit if unit else ''}  {docs.get(name, {}).get('doc', '')}".rstrip())
    if status.errors:
        typer.echo("  errors: " + ", ".join(f"{k} {v}" for k, v in sorted(status.errors.items())))
