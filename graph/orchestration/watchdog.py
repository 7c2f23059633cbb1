"""The launcher's ear on every node's heartbeat: a node whose status stops coming is hung (stopped, or stuck in
one long call) even though its process is alive, and only the launcher can end it so that it is respawned. The
parameters each heartbeat carries are what a respawned node starts with, so live changes survive a restart."""

from __future__ import annotations

import time
from typing import Callable

import zmq

from ..core.contract import resolve_topic
from ..core.message import Status
from ..core.node import DISCOVERY_PERIOD_S
from ..core.security import Security
from ..core.topics import STATUS_TOPIC
from ..core.transport import Delivery, Subscription

DEFAULT_WATCHDOG_S = 10.0  # ten missed heartbeats: no node of a live graph is busy that long between two


class Heartbeats:
    """Remembers when each node process was last heard on /_status, connecting to participants as they appear."""

    def __init__(self, ctx: zmq.Context, endpoints: Callable[[], list[str]], security: Security | None = None):
        self._endpoints = endpoints
        self._sub = Subscription(ctx, resolve_topic(STATUS_TOPIC), Delivery(False, 1024), security, Status)
        self._heard: dict[tuple[str, int], float] = {}  # (node name, pid) -> monotonic time of its last status
        self._params: dict[tuple[str, int], dict] = {}  # (node name, pid) -> its parameters in its last status
        self._next_scan = 0.0

    def listen(self):
        """Take in what arrived, without waiting."""
        now = time.monotonic()
        if now >= self._next_scan:
            self._next_scan = now + DISCOVERY_PERIOD_S
            for endpoint in self._endpoints():
                self._sub.connect(endpoint)
        self._sub.drain(lambda reason: None)  # garbage on /_status is the nodes' own to count
        while self._sub.buffer:
            status = self._sub.buffer.popleft().msg
            self._heard[(status.node, status.pid)] = now
            self._params[(status.node, status.pid)] = status.params

    def silent_s(self, node: str, pid: int) -> float | None:
        """Seconds since process `pid` of `node` was last heard; None before its first status, so a slow start
        (importing torch, loading a model) never counts as a hang."""
        heard = self._heard.get((node, pid))
        return None if heard is None else time.monotonic() - heard

    def params(self, node: str, pid: int) -> dict | None:
        """The parameters process `pid` of `node` last reported (live changes included); None if never heard."""
        return self._params.get((node, pid))

    def forget(self, node: str, pid: int):
        self._heard.pop((node, pid), None)
        self._params.pop((node, pid), None)

    def close(self):
        self._sub.close()
