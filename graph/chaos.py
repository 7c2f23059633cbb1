"""``dreamgraph bench chaos FILE``: run a graph, SIGKILL a random node every few seconds, and measure the damage.

The graph first runs undisturbed for a baseline period, then a random victim (a node with ``respawn: true`` whose
name matches none of ``--exclude``) is killed with SIGKILL every ``--interval`` seconds. Measured:

- output frame gaps: arrivals on the output topic (``--topic``, default ``video``) further apart than 2 frame
  periods, per minute, during the chaos period against the baseline period (``ratio``);
- restarts: for each kill, the time until the victim's new process reports (its first Status heartbeat, sent
  right after its setup), which includes the node's respawn delay;
- memory: RSS of every node process (psutil), at the start and end and at its peak.

One JSON line per figure: bench, case, metric, value, unit, device, baseline, ratio.
"""

from __future__ import annotations

import json
import os
import platform
import random
import signal
import statistics
import threading
import time
from typing import List, Optional

import typer

DEFAULT_EXCLUDE = "video_output,output,recorder"


def _line(case: str, metric: str, value, unit: str, baseline=None, bench: str = "chaos", **extra) -> dict:
    ratio = round(value / baseline, 3) if baseline not in (None, 0) and value is not None else None
    return {"bench": bench, "case": case, "metric": metric, "value": value, "unit": unit,
            "device": platform.node(), "baseline": baseline, "ratio": ratio, **extra}


def frame_gaps(arrivals: list[float], start: float, end: float, fps: float) -> dict:
    """Gaps longer than 2 frame periods among arrivals within [start, end)."""
    times = [t for t in arrivals if start <= t < end]
    limit = 2.0 / fps
    gaps = [b - a for a, b in zip(times, times[1:]) if b - a > limit]
    minutes = max(end - start, 1e-9) / 60.0
    return {"frames": len(times), "gaps": len(gaps), "gaps_per_min": len(gaps) / minutes,
            "max_gap_s": max(gaps, default=0.0), "lost_s": sum(gaps)}


class _StatusWatch(threading.Thread):
    """Records every node's Status heartbeats: (arrival time, pid) per node."""

    def __init__(self, client, seconds: float):
        super().__init__(daemon=True)
        self.client, self.seconds = client, seconds
        self.seen: dict[str, list[tuple[float, int]]] = {}
        self.lock = threading.Lock()

    def run(self):
        for env in self.client.listen("_status", self.seconds):
            with self.lock:
                self.seen.setdefault(env.msg.node, []).append((time.monotonic(), env.msg.pid))

    def pid(self, node: str) -> int:
        with self.lock:
            beats = self.seen.get(node)
            return beats[-1][1] if beats else 0

    def pids(self) -> dict[str, int]:
        with self.lock:
            return {node: beats[-1][1] for node, beats in self.seen.items()}

    def first_after(self, node: str, since: float, not_pid: int) -> float | None:
        with self.lock:
            for at, pid in self.seen.get(node, []):
                if at >= since and pid != not_pid:
                    return at
        return None


class _MemoryWatch(threading.Thread):
    """RSS of each node's current process once a second."""

    def __init__(self, status: _StatusWatch, until: float):
        super().__init__(daemon=True)
        self.status, self.until = status, until
        self.samples: dict[str, list[float]] = {}

    def run(self):
        import psutil

        while time.monotonic() < self.until:
            for node, pid in self.status.pids().items():
                try:
                    rss = psutil.Process(pid).memory_info().rss / 2**20
                except (psutil.Error, OSError):
                    continue  # just killed, or not on this machine
                self.samples.setdefault(node, []).append(rss)
            time.sleep(1.0)


def run_chaos(file: str, duration: float = 60.0, interval: float = 5.0, exclude: str = DEFAULT_EXCLUDE,
              topic: str = "video", fps: float = 0.0, baseline_s: float | None = None, seed: int | None = None,
              args: dict[str, str] | None = None, machine: str = "") -> list[dict]:
    """Run the chaos bench; returns the JSON-able figures."""
    from graph.launchfile import parse_launch
    from graph.testing import GraphHarness

    spec = parse_launch(file, args or {})
    excluded = [word.strip() for word in exclude.split(",") if word.strip()]
    victims = [n for n in spec.nodes if n.respawn and (not machine or n.machine == machine)
               and not any(word in n.name for word in excluded)]
    if not victims:
        raise ValueError(f"no node to kill: every node is excluded ({exclude}) or lacks respawn: true")
    rng = random.Random(seed)
    baseline_s = min(10.0, duration / 4) if baseline_s is None else baseline_s
    extra = ["--machine", machine] if machine else []
    with GraphHarness(file, args=args, extra=extra) as h:
        h.wait_output("starting")
        client = h.client
        start = time.monotonic()
        end = start + baseline_s + duration
        status = _StatusWatch(client, end - start + 2)
        status.start()
        memory = _MemoryWatch(status, end)
        memory.start()
        arrivals: list[float] = []
        counter = threading.Thread(target=lambda: arrivals.extend(client.count(topic, end - start)[0]),
                                   daemon=True)
        counter.start()
        chaos_start = start + baseline_s
        time.sleep(max(0.0, chaos_start - time.monotonic()))
        kills = []
        next_kill = time.monotonic()
        while next_kill < end - interval / 2:
            time.sleep(max(0.0, next_kill - time.monotonic()))
            victim = rng.choice(victims)
            pid = status.pid(victim.name)
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                    kills.append((victim, time.monotonic(), pid))
                except ProcessLookupError:
                    pass  # between a death and its respawn: try another next time
            next_kill += interval
        time.sleep(max(0.0, end - time.monotonic()))
        counter.join(5)
        status.join(5)
        memory.join(3)
        launcher_text = h.text()

    lines = []
    if not fps:
        periods = sorted(b - a for a, b in zip(arrivals, arrivals[1:]))
        fps = 1.0 / periods[len(periods) // 2] if periods else 25.0
    base = frame_gaps(arrivals, start + min(2.0, baseline_s / 2), chaos_start, fps)  # skip start-up
    chaos = frame_gaps(arrivals, chaos_start, end, fps)
    base_window = chaos_start - (start + min(2.0, baseline_s / 2))
    base_rate = round(base["frames"] / base_window, 2) if base_window > 0 and base["frames"] else None
    lines.append(_line(f"/{topic}", "frame_rate", round(chaos["frames"] / (end - chaos_start), 2), "Hz", base_rate,
                       frames=chaos["frames"]))
    lines.append(_line(f"/{topic}", "gaps_per_min", round(chaos["gaps_per_min"], 2), "1/min",
                       round(base["gaps_per_min"], 2), gap_limit_ms=round(2000 / fps, 1), fps=round(fps, 2)))
    lines.append(_line(f"/{topic}", "max_gap", round(chaos["max_gap_s"] * 1000, 1), "ms",
                       round(base["max_gap_s"] * 1000, 1) or None))
    lines.append(_line(f"/{topic}", "lost_time", round(chaos["lost_s"], 3), "s"))
    recoveries = []
    for victim, killed_at, old_pid in kills:
        back = status.first_after(victim.name, killed_at, old_pid)
        recovery = round(back - killed_at, 3) if back is not None else None
        if recovery is not None:
            recoveries.append(recovery)
        lines.append(_line(victim.name, "time_to_first_status", recovery, "s",
                           respawn_delay_s=victim.respawn_delay, recovered=recovery is not None))
    lines.append(_line("all", "kills", len(kills), "kills"))
    lines.append(_line("all", "restarts_recovered", len(recoveries), "restarts", len(kills) or None))
    if recoveries:
        lines.append(_line("all", "time_to_first_status_p50", statistics.median(recoveries), "s"))
        lines.append(_line("all", "time_to_first_status_max", max(recoveries), "s"))
    for node, samples in sorted(memory.samples.items()):
        lines.append(_line(node, "rss_end", round(samples[-1], 1), "MiB", round(samples[0], 1),
                           rss_max_mib=round(max(samples), 1), samples=len(samples)))
    lines.append(_line("all", "launcher_lines", len(launcher_text.splitlines()), "lines"))
    return lines


def bench_chaos(file: str = typer.Argument(..., help="launch file (YAML)"),
                args: List[str] = typer.Argument(None, help="launch arguments as name:=value"),
                duration: float = typer.Option(60.0, help="seconds of chaos (after the baseline)"),
                interval: float = typer.Option(5.0, help="seconds between kills"),
                exclude: str = typer.Option(DEFAULT_EXCLUDE, help="never kill nodes whose name contains one of these"),
                topic: str = typer.Option("video", help="output topic whose frame gaps are measured"),
                fps: float = typer.Option(0.0, help="output frame rate (0: measured)"),
                baseline: Optional[float] = typer.Option(None, help="undisturbed seconds first (default: min(10, duration/4))"),
                seed: Optional[int] = typer.Option(None, help="random seed for the choice of victims"),
                machine: str = typer.Option("", help="run only this machine's part (and kill only its nodes)")):
    """Kill random nodes with SIGKILL while the graph runs; measure output gaps, restart times and memory."""
    from graph.launchfile import parse_launch_args

    try:
        cli_args = parse_launch_args(args)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    try:
        lines = run_chaos(file, duration, interval, exclude, topic, fps, baseline, seed, cli_args, machine)
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1)
    for line in lines:
        typer.echo(json.dumps(line))
