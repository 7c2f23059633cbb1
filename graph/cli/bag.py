"""``dreamgraph bag record | play | info | convert``: topics to an MCAP file and back."""

from __future__ import annotations

import json
import time
from typing import Annotated, List, Optional

import typer

from ..core import message as wire
from .common import GraphOption, client, fail

app = typer.Typer(help="Record topics to an MCAP file (Foxglove opens it) and play them back.", no_args_is_help=True)


@app.command("record")
def bag_record(
    topics: Annotated[Optional[List[str]], typer.Argument(help="topics to record")] = None,
    out: Annotated[
        Optional[str], typer.Option("--out", "-o", help="MCAP file to write (default: dreamgraph-DATE-TIME.mcap)")
    ] = None,
    all_topics: Annotated[
        bool, typer.Option("--all", "-a", help="every topic a node publishes, including nodes that start later")
    ] = False,
    exclude: Annotated[
        Optional[List[str]], typer.Option("--exclude", "-x", help="leave out topics matching PATTERN (repeatable)")
    ] = None,
    duration: Annotated[Optional[float], typer.Option(help="seconds to record (default: until Ctrl-C)")] = None,
    compress_images: Annotated[
        bool,
        typer.Option(
            "--compress-images/--raw-images",
            help="images' Foxglove view as JPEG (foxglove.CompressedImage) or exact pixels (foxglove.RawImage); "
            "replay uses the exact frames either way",
        ),
    ] = True,
    zstd_level: Annotated[int, typer.Option(help="zstd level of the chunks (higher: smaller, slower)")] = 1,
    graph: GraphOption = None,
):
    """Record TOPICS (frames included) with their timing, until Ctrl-C; the file is indexed when it ends."""
    from ..tools.bag import record

    if not topics and not all_topics:
        fail("name the topics to record, or record all with -a")
    out = out or time.strftime("dreamgraph-%Y%m%d-%H%M%S.mcap")
    what = "every published topic" if all_topics else " ".join(f"/{t.lstrip('/')}" for t in topics)
    counts = record(
        client(graph),
        topics or [],
        out,
        duration,
        all_topics,
        exclude or [],
        compress_images,
        zstd_level,
        on_start=lambda: typer.echo(f"recording {what} to {out} (Ctrl-C to stop)", err=True),
    )
    typer.echo(f"{out}: " + (", ".join(f"/{t} {n}" for t, n in sorted(counts.items())) or "no messages"))


@app.command("play")
def bag_play(
    file: str,
    rate: Annotated[float, typer.Option(help="playback speed factor")] = 1.0,
    loop: Annotated[bool, typer.Option(help="start again at the end, until Ctrl-C")] = False,
    start_offset: Annotated[float, typer.Option(help="skip this many seconds from the start")] = 0.0,
    topics: Annotated[Optional[List[str]], typer.Option("--topics", help="play only this topic (repeatable)")] = None,
    graph: GraphOption = None,
):
    """Publish a bag's messages (MCAP, or the old msgpack format) into the running graph with their spacing."""
    from ..tools.bag import play

    if rate <= 0:
        fail("--rate must be positive")
    graph_client = client(graph)
    try:
        sent = play(graph_client, file, rate, start_offset, topics, loop)
    except ValueError as err:
        fail(f"{file}: {err}")
    finally:
        graph_client.close()
    typer.echo(f"played {sent} message(s) from {file}")


@app.command("info")
def bag_info(file: str):
    """Topics, types, message counts, duration, compression and size (MCAP: from the index alone)."""
    from ..tools.bag import info

    wire.load_message_plugins()
    try:
        typer.echo(json.dumps(info(file), indent=1))
    except ValueError as err:
        fail(f"{file}: {err}")


@app.command("convert")
def bag_convert(source: str, target: str):
    """Convert a bag of the old msgpack format to MCAP."""
    from ..tools.bag import convert, is_mcap

    if is_mcap(source):
        fail(f"{source} is MCAP already")
    wire.load_message_plugins()
    typer.echo(f"{target}: {convert(source, target)} message(s)")
