"""What every verb of the command line shares: errors, the running graph, options and name=value lists."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

COMPLETION_LISTEN_S = 1.2  # every node sends its heartbeat once a second


def _running_statuses() -> list:
    """Heartbeats of the only running graph, for shell completion: nothing (never an error) when none runs."""
    from ..core.runtime import find_graph
    from ..tools.introspect import GraphClient

    try:
        graph_client = GraphClient(find_graph(None))
    except LookupError:
        return []
    try:
        return list(graph_client.statuses(COMPLETION_LISTEN_S).values())
    finally:
        graph_client.close()


def complete_node(incomplete: str) -> list[str]:
    return sorted(s.node for s in _running_statuses() if s.node.startswith(incomplete))


def complete_topic(incomplete: str) -> list[str]:
    topics = {f"/{t}" for s in _running_statuses() for t in list(s.inputs) + list(s.outputs)}
    return sorted(t for t in topics if t.startswith(incomplete) or t[1:].startswith(incomplete))


GraphOption = Annotated[Optional[str], typer.Option("--graph", "-g", help="graph id (when several graphs run)")]
NodeName = Annotated[str, typer.Argument(help="a node of the running graph", autocompletion=complete_node)]
TopicName = Annotated[str, typer.Argument(help="a topic (leading / optional)", autocompletion=complete_topic)]
LaunchFile = Annotated[str, typer.Argument(help="launch file: a path, or a shipped one by name (stream, twitch, ...)")]
LaunchArgs = Annotated[Optional[List[str]], typer.Argument(help="launch arguments as name:=value")]


def fail(text: str, code: int = 1):
    typer.echo(f"error: {text}", err=True)
    raise typer.Exit(code)


def client(graph_name: Optional[str]):
    """A client of the running graph (the only one, or the one named), or exit with the reason."""
    from ..core.runtime import find_graph
    from ..tools.introspect import GraphClient

    try:
        return GraphClient(find_graph(graph_name))
    except LookupError as err:
        fail(str(err))


def parse_assignments(items: List[str], sep: str, what: str) -> dict[str, str]:
    """``name<sep>value`` items as a mapping; ``name:=value`` (the launch syntax, as in ROS 2) is taken too."""
    out = {}
    for item in items:
        launch_style = sep == "=" and 0 <= item.find(":=") == item.find("=") - 1
        key, found, value = item.partition(":=" if launch_style else sep)
        if not found or not key:
            fail(f"{what} {item!r} must look like name{sep}value")
        out[key] = value
    return out


def launch_args(args: Optional[List[str]]) -> dict[str, str]:
    """``name:=value`` launch arguments as a mapping, or a usage error naming the malformed one."""
    from ..orchestration.launchfile import parse_launch_args

    try:
        return parse_launch_args(args)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None


def parse_or_fail(file: str, args: List[str]):
    """The validated launch file, or every problem on stderr and exit code 1."""
    from ..orchestration.launchfile import LaunchError, parse_launch, parse_launch_args

    try:
        return parse_launch(file, parse_launch_args(args))
    except LaunchError as err:
        for problem in err.problems:
            typer.echo(problem, err=True)
        typer.echo(f"{len(err.problems)} problem(s) in {file}", err=True)
        raise typer.Exit(1) from None
    except ValueError as err:  # a malformed name:=value
        fail(str(err))
