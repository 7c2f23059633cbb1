"""Keyframe timeline: what to show at time t when keyframes arrive irregularly but video must flow at a fixed rate.

Keyframe k+1 was made from keyframe k zoomed by `zoom` and rotated by `rotation`. Over one display period the
timeline moves a phase p from -1 to 0 and shows

    first  = keyframe k   at zoom**(p + 1), rotation * (p + 1)
    second = keyframe k+1 at zoom**p,       rotation * p
    weight = p + 1        (cross-fade towards the second)

so both ends are continuous: at p = -1 the first is native and the second invisible, at p = 0 the second is native.
The period is the median interval between keyframe arrivals. Playback runs about one keyframe behind arrival: a
slow proportional speed control holds the content buffered at each arrival near half a period, so it never waits
on a keyframe that is on time. When keyframes stop, the last one keeps zooming at the same speed; the next one to
arrive fades in over a full period from its own zoomed-out phase (-1).
"""

from __future__ import annotations

import collections
import statistics
from dataclasses import dataclass
from typing import Any

from ..common.motion import clamp_keyframe_motion

# Zoom is accumulated multiplicatively while keyframes are missing; clamp it so hours of outage cannot overflow,
# and stop zooming out at a few mirrored copies of the picture: a warp's border costs more the smaller the zoom.
_MAX_ZOOM = 1e4
_MIN_ZOOM = 1 / 8
_BUFFER_TARGET = 0.5  # periods of content still queued when a keyframe arrives (≈ one keyframe behind)
_SPEED_GAIN = 0.5
_SPEED_LIMITS = (0.5, 2.0)


@dataclass
class _Entry:
    source: Any
    zoom: float
    rotation: float
    tag: Any = None  # caller's description of the keyframe (labels, sequence number)


@dataclass
class Shot:
    """What to draw now: `first` (always) blended towards `second` (if any) by `weight`."""

    first: Any
    first_zoom: float
    first_rotation: float
    second: Any = None
    second_zoom: float = 1.0
    second_rotation: float = 0.0
    weight: float = 0.0
    first_tag: Any = None
    second_tag: Any = None

    @property
    def tag(self) -> Any:
        """The tag of the keyframe that dominates the frame."""
        return self.second_tag if self.second is not None and self.weight >= 0.5 else self.first_tag


class KeyframeTimeline:
    def __init__(self, default_period: float = 1.0, max_backlog: int = 4, intervals: int = 9):
        self.period = default_period
        self.speed = 1.0
        self.max_backlog = max_backlog
        self._intervals: collections.deque[float] = collections.deque(maxlen=intervals)
        self._last_arrival: float | None = None
        self._last_time: float | None = None
        self._first: _Entry | None = None
        self._second: _Entry | None = None
        self._pending: collections.deque[_Entry] = collections.deque()
        self._first_zoom = 1.0
        self._first_rotation = 0.0
        self._phase = -1.0
        # Motion used while no second keyframe is there: the last segment's per-period zoom and rotation.
        self._drift = (1.0, 0.0)

    @property
    def backlog(self) -> int:
        """Keyframes received but not yet being blended in."""
        return len(self._pending)

    def add(self, source: Any, zoom: float, rotation: float, now: float, period_hint: float = 0.0, tag: Any = None):
        """Queue a keyframe that arrived at `now` (monotonic seconds)."""
        self.advance(now)
        self._note_arrival(now, period_hint)
        entry = _Entry(source, *clamp_keyframe_motion(float(zoom), float(rotation)), tag)
        if self._first is None:
            self._first, self._drift = entry, (entry.zoom, entry.rotation)
            self._last_time = now
            return
        if self._second is None:
            self._second, self._phase = entry, -1.0
            return
        self._pending.append(entry)
        while len(self._pending) > self.max_backlog:
            # Skip a keyframe without breaking geometry: the next one is the skipped one's zoom/rotation further on
            # (within the range one blend can span).
            skipped = self._pending.popleft()
            following = self._pending[0]
            following.zoom, following.rotation = clamp_keyframe_motion(
                following.zoom * skipped.zoom, following.rotation + skipped.rotation
            )

    def _note_arrival(self, now: float, period_hint: float):
        if self._last_arrival is None:
            if period_hint > 0:
                self.period = period_hint
        else:
            self._intervals.append(now - self._last_arrival)
            self.period = max(statistics.median(self._intervals), 1e-3)
            buffered = (-self._phase if self._second is not None else 0.0) + len(self._pending)
            low, high = _SPEED_LIMITS
            self.speed = min(high, max(low, 1.0 + _SPEED_GAIN * (buffered - _BUFFER_TARGET)))
        self._last_arrival = now

    def advance(self, now: float):
        """Move the phase to `now`, switching keyframes at the end of each blend."""
        if self._first is None:
            return
        step = max(0.0, now - self._last_time) / self.period * self.speed
        self._last_time = now
        while step > 0.0:
            if self._second is None:
                zoom, rotation = self._drift
                self._accumulate(zoom**step, rotation * step)
                return
            used = min(step, -self._phase)
            self._accumulate(self._second.zoom**used, self._second.rotation * used)
            self._phase += used
            step -= used
            if self._phase >= 0.0:
                self._next_segment()

    def _accumulate(self, zoom_factor: float, rotation: float):
        self._first_zoom = min(_MAX_ZOOM, max(_MIN_ZOOM, self._first_zoom * zoom_factor))
        self._first_rotation = (self._first_rotation + rotation) % 360.0

    def _next_segment(self):
        second = self._second
        self._first, self._drift = second, (second.zoom, second.rotation)
        self._first_zoom, self._first_rotation = 1.0, 0.0
        self._second = self._pending.popleft() if self._pending else None
        self._phase = -1.0

    def shot(self, now: float) -> Shot | None:
        """The frame description at `now`, or None before the first keyframe."""
        if self._first is None:
            return None
        self.advance(now)
        shot = Shot(self._first.source, self._first_zoom, self._first_rotation, first_tag=self._first.tag)
        if self._second is not None:
            p = self._phase
            shot.second = self._second.source
            shot.second_tag = self._second.tag
            shot.second_zoom = self._second.zoom**p
            shot.second_rotation = self._second.rotation * p
            shot.weight = p + 1.0
        return shot
