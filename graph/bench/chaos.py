"""``dreamgraph bench chaos FILE``: run a graph, SIGKILL a random node every few seconds, and measure the damage.

The graph first runs undisturbed for a baseline period, then a random victim is killed with SIGKILL every
``--interval`` seconds. Victims are the nodes the launch file lets respawn (``respawn: true``), except those it
marks ``required: true`` (their death stops the graph by design) and those named in ``--exclude``. Measured:

- output frame gaps: arrivals on the output topic (``--topic``, default ``video``) further apart than 2 frame
  periods, per minute, during the chaos period against the baseline period (``ratio``). They are taken as a
  viewer of the output sees them, at the priority of the graph's most favoured node; ``max_gap_sent`` is the
  longest gap in the publisher's own send times, which no receiver's scheduling can lengthen;
- restarts: for each kill, the time until the victim's new process reports (its first Status heartbeat, sent
  right after its setup), which includes the node's respawn delay;
- memory: RSS of every node process (psutil), at the start and end and at its peak.

One JSON line per figure (see :mod:`dreamgraph.graph.bench`).
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import time

from . import bench_line
from .watch import MemoryWatch, OutputWatch, StatusWatch, frame_gaps


def _line(case: str, metric: str, value, unit: str, baseline=None, **extra) -> dict:
    return bench_line("chaos", case, metric, value, unit, "cpu", baseline, **extra)


def victims(spec, exclude: list[str], machine: str = "") -> list:
    """The nodes chaos may kill: respawning, not required, not excluded by name, on `machine` if one is given."""
    return [
        n
        for n in spec.nodes
        if n.respawn and not n.required and n.name not in exclude and (not machine or n.machine == machine)
    ]


def run_chaos(
    file: str,
    duration: float = 60.0,
    interval: float = 5.0,
    exclude: list[str] | None = None,
    topic: str = "video",
    fps: float = 0.0,
    baseline_s: float | None = None,
    seed: int | None = None,
    args: dict[str, str] | None = None,
    machine: str = "",
) -> list[dict]:
    """Run the chaos bench; returns the JSON-able figures."""
    from ..orchestration.launchfile import parse_launch
    from ..testing.harness import GraphHarness

    spec = parse_launch(file, args or {})
    candidates = victims(spec, exclude or [], machine)
    if not candidates:
        raise ValueError(
            "no node to kill: every node lacks respawn: true, is required: true or is excluded"
            + (f" ({', '.join(exclude)})" if exclude else "")
        )
    rng = random.Random(seed)
    baseline_s = min(10.0, duration / 4) if baseline_s is None else baseline_s
    extra = ["--machine", machine] if machine else []
    with GraphHarness(file, args=args, extra=extra) as h:
        h.wait_output("starting")
        client = h.client
        start = time.monotonic()
        end = start + baseline_s + duration
        status = StatusWatch(client, end - start + 2)
        status.start()
        memory = MemoryWatch(status, end)
        memory.start()
        output = OutputWatch(client, topic, end - start, spec)
        output.start()
        chaos_start = start + baseline_s
        time.sleep(max(0.0, chaos_start - time.monotonic()))
        kills = []
        next_kill = time.monotonic()
        while next_kill < end - interval / 2:
            time.sleep(max(0.0, next_kill - time.monotonic()))
            victim = rng.choice(candidates)
            pid = status.pid(victim.name)
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills.append((victim, time.monotonic(), pid))
                except ProcessLookupError:
                    pass  # between a death and its respawn: try another next time
            next_kill += interval
        time.sleep(max(0.0, end - time.monotonic()))
        output.join(5)
        status.join(5)
        memory.join(3)
        launcher_text = h.text()

    lines = []
    arrivals = output.times
    wall_ahead = time.time() - time.monotonic()
    sent = [t - wall_ahead for t in output.sent]  # the publisher's send times on this clock
    if not fps:
        periods = sorted(b - a for a, b in zip(arrivals, arrivals[1:]))
        fps = 1.0 / periods[len(periods) // 2] if periods else 25.0
    base_start = start + min(2.0, baseline_s / 2)  # skip start-up
    base = frame_gaps(arrivals, base_start, chaos_start, fps)
    chaos = frame_gaps(arrivals, chaos_start, end, fps)
    base_window = chaos_start - base_start
    base_rate = base["frames"] / base_window if base_window > 0 and base["frames"] else None
    lines.append(
        _line(f"/{topic}", "frame_rate", chaos["frames"] / (end - chaos_start), "Hz", base_rate, frames=chaos["frames"])
    )
    lines.append(
        _line(
            f"/{topic}",
            "gaps_per_min",
            chaos["gaps_per_min"],
            "1/min",
            base["gaps_per_min"],
            gap_limit_ms=2000 / fps,
            fps=fps,
        )
    )
    lines.append(_line(f"/{topic}", "max_gap", chaos["max_gap_s"] * 1000, "ms", base["max_gap_s"] * 1000 or None))
    sent_base, sent_chaos = (
        frame_gaps(sent, *window, fps) for window in ((base_start, chaos_start), (chaos_start, end))
    )
    lines.append(
        _line(
            f"/{topic}",
            "max_gap_sent",
            sent_chaos["max_gap_s"] * 1000,
            "ms",
            sent_base["max_gap_s"] * 1000 or None,
            gaps_per_min=sent_chaos["gaps_per_min"],
            baseline_gaps_per_min=sent_base["gaps_per_min"],
        )
    )
    lines.append(_line(f"/{topic}", "lost_time", chaos["lost_s"], "s"))
    recoveries = []
    for victim, killed_at, old_pid in kills:
        back = status.first_after(victim.name, killed_at, old_pid)
        recovery = back - killed_at if back is not None else None
        if recovery is not None:
            recoveries.append(recovery)
        lines.append(
            _line(
                victim.name,
                "time_to_first_status",
                recovery,
                "s",
                respawn_delay_s=victim.respawn_delay,
                recovered=recovery is not None,
            )
        )
    lines.append(_line("all", "kills", len(kills), "kills"))
    lines.append(_line("all", "restarts_recovered", len(recoveries), "restarts", len(kills) or None))
    if recoveries:
        lines.append(_line("all", "time_to_first_status_p50", statistics.median(recoveries), "s"))
        lines.append(_line("all", "time_to_first_status_max", max(recoveries), "s"))
    for node, samples in sorted(memory.samples.items()):
        lines.append(
            _line(node, "rss_end", samples[-1], "MiB", samples[0], rss_max_mib=max(samples), samples=len(samples))
        )
    lines.append(_line("all", "launcher_lines", len(launcher_text.splitlines()), "lines"))
    return lines
