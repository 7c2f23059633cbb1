"""``dreamgraph bench soak FILE --duration S``: run a graph undisturbed for a long time and watch it age.

Reported: each node's memory (RSS) at the end of the warm-up and at the end, with the growth in percent;
the output topic's frame rate per minute (lowest, median, highest) and its gaps; and restarts, if any node
died on its own. The 2015 original froze after 2 to 10 hours; this is how to show a graph does not.
"""

from __future__ import annotations

import statistics
import time

from . import bench_line
from .watch import MemoryWatch, OutputWatch, StatusWatch, frame_gaps


def _line(case: str, metric: str, value, unit: str, baseline=None, **extra) -> dict:
    return bench_line("soak", case, metric, value, unit, "cpu", baseline, **extra)


def run_soak(file: str, duration: float, warmup: float, topic: str, args: dict[str, str]) -> list[dict]:
    from ..orchestration.launchfile import parse_launch
    from ..testing.harness import GraphHarness

    with GraphHarness(file, args=args) as h:
        h.wait_output("starting")
        client = h.client
        start = time.monotonic()
        end = start + duration
        status = StatusWatch(client, duration + 2)
        status.start()
        memory = MemoryWatch(status, end)
        memory.start()
        output = OutputWatch(client, topic, duration, parse_launch(file, args))
        output.start()
        time.sleep(duration)
        output.join(5)
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
        lines.append(
            _line(
                node,
                "rss_growth",
                growth,
                "%",
                None,
                rss_after_warmup_mib=after_warmup,
                rss_end_mib=last,
                rss_max_mib=max(samples[warm_samples:]),
            )
        )
    arrivals = output.times
    periods = sorted(b - a for a, b in zip(arrivals, arrivals[1:]))
    fps = 1.0 / periods[len(periods) // 2] if periods else 0.0
    minutes = []
    t = start + warmup
    while t + 60 <= end:
        minutes.append(sum(1 for a in arrivals if t <= a < t + 60) / 60.0)
        t += 60
    if minutes:
        lines.append(
            _line(
                f"/{topic}",
                "frame_rate_per_minute_min",
                min(minutes),
                "Hz",
                statistics.median(minutes),
                max_hz=max(minutes),
                minutes=len(minutes),
            )
        )
    gaps = frame_gaps(arrivals, start + warmup, end, fps or 25.0)
    lines.append(
        _line(
            f"/{topic}",
            "gaps",
            gaps["gaps"],
            "gaps",
            None,
            max_gap_ms=gaps["max_gap_s"] * 1000,
            frames=gaps["frames"],
            fps=fps,
        )
    )
    restarts = sum(info.get("restarts", 0) for state in states.values() for info in state.nodes.values())
    lines.append(_line("all", "restarts", restarts, "restarts"))
    return lines
