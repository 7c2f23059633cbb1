"""A live encoder: frames written to ffmpeg on a fixed real-time schedule, ffmpeg restarted when it dies.

Producers call `submit(frame)` whenever they have a frame; the writer thread sends one frame every 1/fps on a
monotonic schedule, repeating the last frame when no new one came (black before the first), so the output
timeline has no gaps whatever the producer does. Only the newest frame is kept: nothing queues up while
ffmpeg is down. If ffmpeg exits (RTMP server gone, network error, crash) it is restarted with exponential backoff.
When one of several outputs fails and the others go on (a recording while the stream's server is down), it is
retried after the longest backoff. Stream URLs holding a secret go through a `SecretRelay`.
"""

from __future__ import annotations

import logging
import shlex
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from ...graph.core.secrets import SecretMasker
from . import ffmpeg
from .relay import SecretRelay

# Falling further behind the schedule than this means ffmpeg cannot keep up: skip ahead instead of bursting.
_MAX_LAG_S = 1.0
# The tee muxer's words when one output fails and the others go on (each output has onfail=ignore).
_TEE_LOST_OUTPUT = "continuing with"
# Causes in ffmpeg's error lines worth showing as the node's problem (the rest stays in the log).
_REASONS = (
    "No space left on device",
    "Disk quota exceeded",
    "Read-only file system",
    "Permission denied",
    "Connection refused",
    "Connection reset by peer",
    "Connection timed out",
)
# A process that ran this long was healthy: the next failure starts the backoff again from the minimum.
_STABLE_S = 30.0


class LiveEncoder:
    def __init__(
        self,
        settings: ffmpeg.EncoderSettings,
        targets: list[ffmpeg.Target],
        log: logging.Logger,
        masker: SecretMasker | None = None,
        backoff: tuple[float, float] = (0.5, 30.0),
    ):
        self.settings, self.targets, self.log = settings, targets, log
        self.mask = masker or SecretMasker()
        self.backoff = backoff
        shape = (settings.height, settings.width, 3)
        self._front = np.zeros(shape, np.uint8)  # being written to ffmpeg
        self._back = np.zeros(shape, np.uint8)  # newest submitted frame
        self._fresh = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost_output_at: float | None = None  # when ffmpeg's tee gave up one of its outputs
        self._relays: list[SecretRelay | None] = []
        self._wire_targets = targets
        self.frames_written = 0
        self.restarts = 0
        self.skipped = 0
        self.connected = False
        self._ffmpeg_problem = ""  # the last known reason ffmpeg failed, until it has run well for _STABLE_S
        self._problem_at = 0.0
        self._launched_as = 0  # the restart number of the running ffmpeg: its files are named after it
        ffmpeg.build_command(settings, targets)  # fail early on bad targets, in the caller's thread

    @property
    def problem(self) -> str:
        """What keeps an output from working, in words ("" when all is well as far as is known)."""
        # The relay knows the real cause when it could not reach the server; ffmpeg only sees its hang-up.
        relayed = (relay.problem for relay in self._relays if relay and relay.problem)
        return next(relayed, "") or self._ffmpeg_problem

    def start(self):
        # A stream URL holding a secret goes through a local relay, so ffmpeg's command line never shows it.
        self._relays = [
            SecretRelay(t.location, self.mask.secrets, self.log)
            if t.is_stream and any(s in t.location for s in self.mask.secrets)
            else None
            for t in self.targets
        ]
        self._wire_targets = [
            ffmpeg.relayed(t, relay.local_url, relay.tcurl) if relay else t
            for t, relay in zip(self.targets, self._relays)
        ]
        self._thread = threading.Thread(target=self._run, name="ffmpeg-writer", daemon=True)
        self._thread.start()

    def submit(self, frame: np.ndarray):
        """Offer a frame (any size: resized to the output size). Cheap; never blocks on ffmpeg."""
        with self._lock:
            if frame.shape == self._back.shape:
                np.copyto(self._back, frame)
            else:
                cv2.resize(
                    frame, (self.settings.width, self.settings.height), dst=self._back, interpolation=cv2.INTER_AREA
                )
            self._fresh = True

    def stop(self, timeout: float = 10.0):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
        for relay in self._relays:
            if relay:
                relay.close()

    def _run(self):
        process, failures, started = None, 0, 0.0
        began = None  # the first frame's due time: the video clock, without ffmpeg's start-up and shutdown
        try:
            while not self._stop.is_set():
                if process is None:
                    process = self._launch()
                    started = due = time.monotonic()
                    began = began or started
                if not self._wait_until(due):
                    break
                written = self._write(process)
                if written:
                    due += 1.0 / self.settings.fps
                    lag = time.monotonic() - due
                    if lag > _MAX_LAG_S:
                        self.skipped += int(lag * self.settings.fps)
                        due = time.monotonic()
                    if self._ffmpeg_problem and time.monotonic() - self._problem_at > _STABLE_S:
                        self._ffmpeg_problem = ""
                    if self._lost_output_at is None or time.monotonic() - self._lost_output_at < self.backoff[1]:
                        continue
                code = ffmpeg.stop(process, timeout=2.0)
                process, self.connected = None, False
                self._remove_empty_files()
                failures = 0 if time.monotonic() - started > _STABLE_S else failures + 1
                delay = min(self.backoff[1], self.backoff[0] * 2 ** (failures - 1)) if failures else self.backoff[0]
                self.restarts += 1
                if written:
                    # The other outputs went on meanwhile: retry the lost one now (files continue as -rN).
                    self.log.warning("ffmpeg restarted to retry an output it lost")
                    continue
                self.log.warning("ffmpeg exited (code %s); restarting in %.1f s", code, delay)
                self._stop.wait(delay)
        finally:
            if process is not None:
                written_s = time.monotonic() - began
                code = ffmpeg.stop(process)
                self._remove_empty_files()
                self.log.info(
                    "ffmpeg finished (code %s) after %d frames in %.2f s (%d skipped)",
                    code,
                    self.frames_written,
                    written_s,
                    self.skipped,
                )

    def _launch(self):
        command = ffmpeg.build_command(self.settings, self._wire_targets, restart=self.restarts)
        self.log.info("starting %s", self.mask(shlex.join(command)))
        self._lost_output_at = None
        self._launched_as = self.restarts
        process = ffmpeg.spawn(command)
        threading.Thread(target=self._forward_stderr, args=(process,), name="ffmpeg-stderr", daemon=True).start()
        self.connected = True
        return process

    def _forward_stderr(self, process):
        for raw in process.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if _TEE_LOST_OUTPUT in line:
                self._lost_output_at = time.monotonic()
            reason = next((reason for reason in _REASONS if reason in line), None)
            if reason:
                self._ffmpeg_problem, self._problem_at = reason, time.monotonic()
            if line:
                self.log.warning("ffmpeg: %s", self.mask(line))

    def _remove_empty_files(self):
        """A run that failed before writing anything (a full disk) leaves empty files: they go."""
        for target in self.targets:
            if target.is_stream:
                continue
            name = Path(target.muxer(self._launched_as)[1])
            for path in name.parent.glob(name.name.replace("%05d", "*")):
                try:
                    if path.stat().st_size == 0:
                        path.unlink()
                except OSError:
                    pass

    def _wait_until(self, due: float) -> bool:
        delay = due - time.monotonic()
        return not (delay > 0 and self._stop.wait(delay))

    def _write(self, process) -> bool:
        with self._lock:
            if self._fresh:
                self._front, self._back = self._back, self._front
                self._fresh = False
        try:
            process.stdin.write(self._front.data)
            process.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            return False
        self.frames_written += 1
        return True
