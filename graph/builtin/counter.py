"""Sequence checking: counts messages and reports gaps in their numbers."""

from __future__ import annotations

from ..core.message import Counter, Image, Text
from ..core.node import Input, Node, Output, Param


class SequenceCounter(Node):
    """Counts messages and sequence gaps on a Counter topic and an Image topic, and reports them.

    Reports are latched: a tool that subscribes late still sees the latest totals.
    """

    ticks = Input(Counter, "ticks", delivery="queue:1000", doc="numbered ticks to check", optional=True)
    frames = Input(Image, "frames", delivery="latest", doc="frames whose seq numbers are checked", optional=True)
    report = Output(Text, "counter_report", latched=True, doc="'received=N gaps=G last=L frames=F' once per period")
    period = Param(float, 1.0, unit="s", doc="report period", min=0.01)

    def setup(self):
        self.received = self.gaps = self.last = 0
        self.frames_seen = self.frame_gaps = 0
        self._last_frame = None
        self.every(self.period, self.send_report)

    def on_ticks(self, msg: Counter):
        if self.last and msg.n > self.last + 1:
            self.gaps += msg.n - self.last - 1
        self.last = msg.n
        self.received += 1

    def on_frames(self, msg: Image):
        if self._last_frame is not None and msg.seq > self._last_frame + 1:
            self.frame_gaps += msg.seq - self._last_frame - 1
        self._last_frame = msg.seq
        self.frames_seen += 1

    def send_report(self):
        self.report.publish(
            Text(
                text=f"received={self.received} gaps={self.gaps} last={self.last} "
                f"frames={self.frames_seen} frame_gaps={self.frame_gaps}"
            )
        )
