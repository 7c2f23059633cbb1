"""A moving test pattern with the frame number drawn into the frame."""

from __future__ import annotations

import time

import cv2
import numpy as np

from ..core.message import Image
from ..core.node import FramePool, Node, Output, Param


class TestPattern(Node):
    """Publishes RGB test frames at a fixed rate: moving colour bars with the frame number.

    Use it to test anything that consumes frames before the real source exists. ``pause_after`` and
    ``pause_s`` let tests simulate a source that stalls.
    """

    frames = Output(Image, "frames", doc="RGB frames (HxWx3 uint8)")

    width = Param(int, 320, unit="px", doc="frame width", min=8, max=7680)
    height = Param(int, 180, unit="px", doc="frame height", min=8, max=4320)
    fps = Param(float, 25.0, unit="Hz", doc="frames per second", min=0.1, max=1000)
    pause_after = Param(
        int, 0, unit="frames", doc="stop publishing after this many frames for pause_s (0: never)", min=0
    )
    pause_s = Param(float, 0.0, unit="s", doc="length of the simulated stall", min=0)

    def setup(self):
        self.setup_pool()
        self._n = 0
        self._paused_until = 0.0
        self._timer = self.every(1.0 / self.fps, self.tick)

    def on_param(self, name, value):
        if name in ("width", "height"):
            self.setup_pool()
        elif name == "fps":
            self.cancel(self._timer)
            self._timer = self.every(1.0 / self.fps, self.tick)

    def setup_pool(self):
        self._pool = FramePool((self.height, self.width, 3), np.uint8, count=4)
        ramp = np.linspace(0, 255, self.width, dtype=np.float32)
        self._bars = np.stack([ramp, ramp[::-1], np.full_like(ramp, 128)], axis=-1).astype(np.uint8)

    def tick(self):
        now = time.monotonic()
        if now < self._paused_until:
            return
        if self.pause_after and self._n == self.pause_after and self.pause_s > 0:
            self._paused_until = now + self.pause_s
            self._n += 1
            return
        frame = self._pool.acquire()
        shift = self._n * 4 % self.width
        frame[:, shift:] = self._bars[: self.width - shift]
        frame[:, :shift] = self._bars[self.width - shift :]
        cv2.putText(
            frame,
            str(self._n),
            (4, max(12, self.height // 3)),
            cv2.FONT_HERSHEY_SIMPLEX,
            max(0.3, self.height / 200),
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        self.frames.publish(Image(image=frame, seq=self._n, stamp=time.time()), pool=self._pool)
        self._n += 1
