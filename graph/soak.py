"""``dreamgraph bench soak FILE --duration S``: run a graph undisturbed for a long time and watch it age.

Reported: each node's memory (RSS) at the end of the warm-up and at the end, with the growth in percent;
the output topic's frame rate per minute (lowest, median, highest) and its gaps; and restarts, if any node
died on its own. The 2015 original froze after 2 to 10 hours; this is how to show a graph does not.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from typing import List

import typer

from graph.chaos import _line, _MemoryWatch, _StatusWatch, frame_gaps


def run_soak(file: str, duration: float, warmup: float, topic: str, args: dict[str, str]) -> list[dict]:
    from graph.testing import GraphHarness

    with GraphHarness(file, args=args) as h:
        h.wait_output("starting")
        client = h.client
        start = time.monotonic()
        end = start + duration
        status = _StatusWatch(client, duration + 2)
        status.start()
        memory = _MemoryWatch(status, end)
        memory.start()
        arrivals: list[float] = []
        counter = threading.Thread(target=lambda: arrivals.extend(client.count(topic, duration)[0]), daemon=True)
        counter.start()
        time.sleep(duration)
        counter.join(5)
        status.join(5)
        memory.join(3)
        states = client.launch_states()
    warm_samples = int(warmup)  # memory is sampled once a second
    lines = []
    for node, samples in sorted(memory.samples.items()):
        if len(samples) <= warm_samples + 1:
            continue
        after_warmup, last = samples[warm_samples], samples[-1]
        growth = 100.0 * (last - after_warmup) / after_warmup
        lines.append(_line(node, "rss_growth", round(growth, 2), "%", None, bench="soak",
                           rss_after_warmup_mib=round(after_warmup, 1), rss_end_mib=round(last, 1),
                           rss_max_mib=round(max(samples[warm_samples:]), 1)))
    periods = sorted(b - a for a, b in zip(arrivals, arrivals[1:]))
    fps = 1.0 / periods[len(periods) // 2] if periods else 0.0
    minutes = []
    t = start + warmup
    while t + 60 <= end:
        minutes.append(sum(1 for a in arrivals if t <= a < t + 60) / 60.0)
        t += 60
    if minutes:
        lines.append(_line(f"/{topic}", "frame_rate_per_minute_min", round(min(minutes), 2), "Hz",
                           round(statistics.median(minutes), 2), bench="soak", max_hz=round(max(minutes), 2),
                           minutes=len(minutes)))
    gaps = frame_gaps(arrivals, start + warmup, end, fps or 25.0)
    lines.append(_line(f"/{topic}", "gaps", gaps["gaps"], "gaps", None, bench="soak", max_gap_ms=round(gaps["max_gap_s"] * 1000, 1),
                       frames=gaps["frames"], fps=round(fps, 2)))
    restarts = sum(info.get("restarts", 0) for state in states.values() for info in state.nodes.values())
    lines.append(_line("all", "restarts", restarts, "restarts", bench="soak"))
    return lines


def bench_soak(file: str = typer.Argument(..., help="launch file (YAML)"),
               args: List[str] = typer.Argument(None, help="launch arguments as name:=value"),
               duration: float = typer.Option(1800.0, help="seconds to run"),
               warmup: float = typer.Option(120.0, help="seconds before memory growth is counted"),
               topic: str = typer.Option("video", help="output topic whose rate is watched")):
    """Run a graph for a long time: memory growth per node, frame-rate stability, gaps and restarts."""
    from graph.launchfile import parse_launch_args

    try:
        cli_args = parse_launch_args(args)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    if warmup >= duration:
        raise typer.BadParameter("--warmup must be shorter than --duration")
    for line in run_soak(file, duration, warmup, topic, cli_args):
        typer.echo(json.dumps(line))
