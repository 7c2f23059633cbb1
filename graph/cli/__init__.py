"""The ``dreamgraph`` command line, one module per verb group as in ROS 2's ros2cli: launch (launch, check,
graph), doctor, run, topic, node, param, interface, bag, keys, bench and docs (nodes-doc).

Commands that belong to an application (not to the framework) are plugged in through the entry-point groups
``dreamgraph.commands`` (a typer app becomes a command group, a function a command) and ``dreamgraph.bench``
(a function becomes ``dreamgraph bench NAME``).
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from . import bag, bench, docs, doctor, interface, keys, launch, node, param, run, topic

app = typer.Typer(help="dreamgraph: run and inspect node graphs.", no_args_is_help=True)
app.command("launch")(launch.launch)
app.command("check")(launch.check)
app.command("run")(run.run)
app.command("graph")(launch.graph)
app.command("doctor")(doctor.doctor)
app.add_typer(topic.app, name="topic")
app.add_typer(node.app, name="node")
app.add_typer(param.app, name="param")
app.add_typer(interface.app, name="interface")
app.add_typer(keys.app, name="keys")
app.add_typer(bag.app, name="bag")
app.add_typer(bench.app, name="bench")
app.command("nodes-doc")(docs.nodes_doc)
app.command("schema")(docs.schema)


def _plugins():
    for ep in entry_points(group="dreamgraph.commands"):
        try:
            obj = ep.load()
        except Exception as err:  # a broken optional plug-in must not break the whole CLI
            typer.echo(f"warning: command {ep.name} unavailable: {err}", err=True)
            continue
        if isinstance(obj, typer.Typer):
            app.add_typer(obj, name=ep.name)
        else:
            app.command(ep.name)(obj)
    for ep in entry_points(group="dreamgraph.bench"):
        try:
            bench.app.command(ep.name)(ep.load())
        except Exception as err:
            typer.echo(f"warning: benchmark {ep.name} unavailable: {err}", err=True)


def main():
    from ..core.extras import MissingExtra
    from ..core.runtime import UnsafeRuntimeDir

    _plugins()
    try:
        app()
    except (UnsafeRuntimeDir, MissingExtra) as err:
        typer.echo(f"error: {err}", err=True)
        raise SystemExit(1) from None
