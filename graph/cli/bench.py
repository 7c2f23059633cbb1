"""``dreamgraph bench NAME``: the framework's benchmarks (transport, bag, chaos, soak) and the plugged-in ones.

Applications add benchmarks through the entry-point group ``dreamgraph.bench``; each prints one JSON line per
figure (see :mod:`dreamgraph.graph.bench`).
"""

from __future__ import annotations

import json
from typing import Annotated, List, Optional

import typer

from .common import LaunchArgs, LaunchFile, fail, launch_args

app = typer.Typer(help="Benchmarks; each prints one JSON line per figure.", no_args_is_help=True)


@app.command("transport")
def bench_transport(
    frames: Annotated[int, typer.Option(help="frames per throughput case")] = 300, width: int = 1920, height: int = 1080
):
    """1080p RGB frames between two processes over ipc:// and tcp://, with a memcpy baseline."""
    from ..bench.transport import run_transport_bench

    for line in run_transport_bench(frames, width, height):
        typer.echo(json.dumps(line))


@app.command("bag")
def bench_bag(
    seconds: Annotated[float, typer.Option(help="seconds to record per case")] = 10.0,
    width: int = 1920,
    height: int = 1080,
    fps: float = 25.0,
    zstd_level: Annotated[int, typer.Option(help="the recorder's zstd level")] = 1,
):
    """Record 1080p at 25 fps to MCAP (test pattern, natural frames): frames kept, MB/s, bytes per frame."""
    from ..bench.bag import run_bag_bench

    for line in run_bag_bench(seconds, width, height, fps, zstd_level):
        typer.echo(json.dumps(line))


@app.command("chaos")
def bench_chaos(
    file: LaunchFile,
    args: LaunchArgs = None,
    duration: Annotated[float, typer.Option(help="seconds of chaos (after the baseline)")] = 60.0,
    interval: Annotated[float, typer.Option(help="seconds between kills")] = 5.0,
    exclude: Annotated[
        Optional[List[str]],
        typer.Option(help="never kill this node (repeatable); required: true nodes are spared anyway"),
    ] = None,
    topic: Annotated[str, typer.Option(help="output topic whose frame gaps are measured")] = "video",
    fps: Annotated[float, typer.Option(help="output frame rate (0: measured)")] = 0.0,
    baseline: Annotated[
        Optional[float], typer.Option(help="undisturbed seconds first (default: min(10, duration/4))")
    ] = None,
    seed: Annotated[Optional[int], typer.Option(help="random seed for the choice of victims")] = None,
    machine: Annotated[str, typer.Option(help="run only this machine's part (and kill only its nodes)")] = "",
):
    """Kill random nodes with SIGKILL while the graph runs; measure output gaps, restart times and memory."""
    from ..bench.chaos import run_chaos

    cli_args = launch_args(args)
    try:
        lines = run_chaos(file, duration, interval, exclude or [], topic, fps, baseline, seed, cli_args, machine)
    except ValueError as err:
        fail(str(err))
    for line in lines:
        typer.echo(json.dumps(line))


@app.command("soak")
def bench_soak(
    file: LaunchFile,
    args: LaunchArgs = None,
    duration: Annotated[float, typer.Option(help="seconds to run")] = 1800.0,
    warmup: Annotated[float, typer.Option(help="seconds before memory growth is counted")] = 120.0,
    topic: Annotated[str, typer.Option(help="output topic whose rate is watched")] = "video",
):
    """Run a graph for a long time: memory growth per node, frame-rate stability, gaps and restarts."""
    from ..bench.soak import run_soak

    cli_args = launch_args(args)
    if warmup >= duration:
        raise typer.BadParameter("--warmup must be shorter than --duration")
    for line in run_soak(file, duration, warmup, topic, cli_args):
        typer.echo(json.dumps(line))
