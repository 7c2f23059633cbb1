"""``dreamgraph bag record | play | info``: topics to a file and back."""

from __future__ import annotations

import json
from typing import Annotated, List

import typer

from ..core import message as wire
from .common import GraphOption, client

app = typer.Typer(help="Record topics to a file and play them back.", no_args_is_help=True)


@app.command("record")
def bag_record(
    topics: Annotated[List[str], typer.Argument(help="topics to record")],
    out: Annotated[str, typer.Option("--out", "-o", help="bag file to write")],
    duration: Annotated[float, typer.Option(help="seconds to record")] = 10.0,
    graph: GraphOption = None,
):
    """Record the raw messages of TOPICS (frames included) with their timing."""
    from ..tools.bag import record

    counts = record(client(graph), topics, out, duration)
    typer.echo(f"{out}: " + (", ".join(f"/{t} {n}" for t, n in sorted(counts.items())) or "no messages"))


@app.command("play")
def bag_play(
    file: str, rate: Annotated[float, typer.Option(help="playback speed factor")] = 1.0, graph: GraphOption = None
):
    """Publish a bag's messages into the running graph with their original spacing."""
    from ..tools.bag import play

    graph_client = client(graph)
    sent = play(graph_client, file, rate)
    graph_client.close()
    typer.echo(f"played {sent} message(s) from {file}")


@app.command("info")
def bag_info(file: str):
    """Topics, message counts and duration of a bag."""
    from ..tools.bag import info

    wire.load_message_plugins()
    typer.echo(json.dumps(info(file), indent=1))
