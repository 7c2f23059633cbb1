"""What the chaos and soak benches watch while a graph runs: output frame gaps, node heartbeats and memory."""

from __future__ import annotations

import os
import threading
import time

from ..core.topics import STATUS_TOPIC
from ..orchestration.priority import niceness


def frame_gaps(arrivals: list[float], start: float, end: float, fps: float) -> dict:
    """Gaps longer than 2 frame periods among arrivals within [start, end)."""
    times = [t for t in arrivals if start <= t < end]
    limit = 2.0 / fps
    gaps = [b - a for a, b in zip(times, times[1:]) if b - a > limit]
    minutes = max(end - start, 1e-9) / 60.0
    return {
        "frames": len(times),
        "gaps": len(gaps),
        "gaps_per_min": len(gaps) / minutes,
        "max_gap_s": max(gaps, default=0.0),
        "lost_s": sum(gaps),
    }


class OutputWatch(threading.Thread):
    """Records the arrivals (and send times) of the graph's output topic, as a viewer of it would see them.

    Its thread runs at the priority of the graph's most favoured node (`spec`'s lowest `nice`): it stands in for
    the preview or window that shows the video, so its own waits for the CPU should not count as the video's
    gaps. Where the kernel groups sessions for scheduling (autogroup), the bench's session still shares the CPU
    with each node's as an equal, so arrival gaps are an upper bound; the send times are not affected."""

    def __init__(self, client, topic: str, seconds: float, spec):
        super().__init__(daemon=True)
        self.client, self.topic, self.seconds = client, topic, seconds
        self.nice = min((node.nice for node in spec.nodes), default=0)
        self.times: list[float] = []
        self.sent: list[float] = []

    def run(self):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness(self.nice))  # this thread only
        except PermissionError:
            pass
        seen = self.client.count(self.topic, self.seconds)
        self.times.extend(seen.times)
        self.sent.extend(t for t in seen.sent if t is not None)


class StatusWatch(threading.Thread):
    """Records every node's Status heartbeats: (arrival time, pid) per node."""

    def __init__(self, client, seconds: float):
        super().__init__(daemon=True)
        self.client, self.seconds = client, seconds
        self.seen: dict[str, list[tuple[float, int]]] = {}
        self.lock = threading.Lock()

    def run(self):
        for env in self.client.listen(STATUS_TOPIC, self.seconds):
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


class MemoryWatch(threading.Thread):
    """RSS of each node's current process once a second."""

    def __init__(self, status: StatusWatch, until: float):
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
