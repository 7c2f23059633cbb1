"""The live keyframe loop: each keyframe starts from the last one moved by as much as the video moved meanwhile.

The video zooms at `zoom_per_s` whatever the machine's speed, so the motion between two keyframes follows the
measured keyframe period (an exponential average), or a fixed one for reproducible offline runs. The optimizer
node and `bench live` run this same loop; the node walks it a step at a time (`steps`, then `finish`) so that it
can serve its inputs between steps.
"""

from __future__ import annotations

import time
from typing import Iterator

import numpy as np

from .render import Dreamer
from .transform import keyframe_motion


class LiveLoop:
    def __init__(self, dreamer: Dreamer, period_s: float | None = None):
        self.dreamer = dreamer  # may be replaced between steps (a new model, say)
        self.fixed_period = period_s
        self.period = period_s or 0.0  # seconds of video one keyframe stands for
        self.count = 0
        self.zoom, self.rotation = 1.0, 0.0
        self.steps_done = 0
        self._last_done: float | None = None

    def steps(self, steps: int | None = None) -> Iterator[None]:
        """A keyframe's steps, yielding between them; `finish` then returns the frame.

        The picture first moves by the video's motion over one period (not before the first keyframe). The
        dreamer and the step count are read afresh after each step, so a live change applies at once."""
        s = self.dreamer.settings
        moving = self.count > 0 or self.fixed_period
        self.zoom, self.rotation = (
            keyframe_motion(s.zoom_per_s, s.rotation_per_s, self.period) if moving else (1.0, 0.0)
        )
        self.dreamer.begin_keyframe(self.zoom, self.rotation)
        self.steps_done = 0
        while True:
            self.dreamer.run_steps(1)
            self.steps_done += 1
            if self.steps_done >= (steps or self.dreamer.settings.steps_per_keyframe):
                return
            yield

    def finish(self, out: np.ndarray | None = None) -> np.ndarray:
        """The keyframe as HxWx3 uint8 (into `out`); measures the period."""
        frame = self.dreamer.finish_keyframe(out)
        now = time.monotonic()
        if self.fixed_period is None and self._last_done is not None:
            took = now - self._last_done
            self.period = took if self.period == 0 else 0.8 * self.period + 0.2 * took
        self._last_done = now
        self.count += 1
        return frame

    def keyframe(self, out: np.ndarray | None = None, steps: int | None = None) -> np.ndarray:
        """One whole keyframe in one call."""
        for _ in self.steps(steps):
            pass
        return self.finish(out)
