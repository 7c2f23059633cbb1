"""Rate limits shared by the chat client (Twitch's message limit) and the schedule (per-viewer limits)."""

from __future__ import annotations

import collections
import time
from typing import Callable


class SlidingWindow:
    """At most `limit` events in any `window` seconds (Twitch: 20 messages per 30 s)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: collections.deque[float] = collections.deque()

    def _expire(self, now: float) -> None:
        while self._events and now - self._events[0] >= self.window:
            self._events.popleft()

    def wait_time(self) -> float:
        """Seconds until one more event is allowed (0 when allowed now)."""
        now = self.clock()
        self._expire(now)
        if len(self._events) < self.limit:
            return 0.0
        return self._events[0] + self.window - now

    def try_acquire(self) -> bool:
        if self.wait_time() > 0:
            return False
        self._events.append(self.clock())
        return True
