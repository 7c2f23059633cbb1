"""What a node process costs the machine, for its heartbeat: CPU since the last sample and resident memory, its
child processes (ffmpeg under the video output) included."""

from __future__ import annotations

import time

import psutil


class ProcessUsage:
    def __init__(self):
        self._me = psutil.Process()
        self._last = (time.monotonic(), self._measure()[0])

    def _family(self) -> list[psutil.Process]:
        try:
            return [self._me, *self._me.children(recursive=True)]
        except psutil.Error:
            return [self._me]

    def _measure(self) -> tuple[float, int]:
        """CPU seconds and resident bytes of the process and its children, read in one pass."""
        cpu, rss = 0.0, 0
        for process in self._family():
            try:
                times, memory = process.cpu_times(), process.memory_info()
            except psutil.Error:  # a child that just ended
                continue
            cpu += times.user + times.system
            rss += memory.rss
        return cpu, rss

    def sample(self) -> dict[str, float]:
        """cpu_percent (of one core, since the last sample) and rss_mb."""
        now, (cpu, rss) = time.monotonic(), self._measure()
        (then, cpu_then), self._last = self._last, (now, cpu)
        # an ended child takes its CPU seconds with it: never report less than nothing
        percent = max(0.0, 100.0 * (cpu - cpu_then) / max(now - then, 1e-6))
        return {"cpu_percent": round(percent, 1), "rss_mb": round(rss / 2**20, 1)}
