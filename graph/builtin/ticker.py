"""Numbered ticks at a fixed rate, for sequence and transport tests."""

from __future__ import annotations

import time

from ..core.message import Counter
from ..core.node import Node, Output, Param


class Ticker(Node):
    """Publishes numbered Counter messages at a fixed rate."""

    ticks = Output(Counter, "ticks", doc="numbered ticks, starting at 1")
    rate = Param(float, 10.0, unit="Hz", doc="ticks per second", min=0.01, max=100000)

    def setup(self):
        self._n = 0
        self._timer = self.every(1.0 / self.rate, self.tick)

    def on_param(self, name, value):
        if name == "rate":
            self.cancel(self._timer)
            self._timer = self.every(1.0 / self.rate, self.tick)

    def tick(self):
        self._n += 1
        self.ticks.publish(Counter(n=self._n, stamp=time.time()))
