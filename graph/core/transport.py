"""Publish/subscribe over ZeroMQ with per-subscription delivery policies.

Every participant of a graph binds one XPUB socket; every subscription is its own SUB socket connected to all
publishers' endpoints, so ZeroMQ filters by topic at the publisher and each input gets its own buffer and
high-water mark. XPUB (rather than PUB) lets a publisher see subscriptions arrive, which is how latched
("state") topics are re-sent to late joiners.
"""

from __future__ import annotations

import collections
import logging
import os
import time
from dataclasses import dataclass
from typing import Callable

import zmq

from . import message as wire
from .security import Security, bind_endpoint, connect_endpoint

log = logging.getLogger(__name__)


HEARTBEAT_IVL_MS = 1000
HEARTBEAT_TIMEOUT_MS = 4000
CONNECT_TIMEOUT_MS = 2000
ARRIVALS_KEPT = 512  # arrival times kept per input for its measured rate (20 s at 25 Hz)
MAX_TRACKED_TOPICS = 4096  # a real graph has tens of topics; the bound only stops a subscription flood


def keep_alive(sock: zmq.Socket):
    """Heartbeats on connections (tcp), so a dead peer or a cut link is noticed in seconds and reconnected,
    instead of a half-open connection waiting forever; a connect attempt sent into a dead link is retried."""
    sock.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_IVL_MS)
    sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)
    sock.setsockopt(zmq.HEARTBEAT_TTL, HEARTBEAT_TIMEOUT_MS)
    sock.setsockopt(zmq.CONNECT_TIMEOUT, CONNECT_TIMEOUT_MS)


@dataclass(frozen=True)
class Delivery:
    """How a subscription buffers: ``latest`` keeps only the newest message, ``queue`` keeps ``depth``."""

    latest: bool
    depth: int

    @classmethod
    def parse(cls, text: str) -> "Delivery":
        text = str(text).strip()
        if text == "latest":
            return cls(True, 1)
        kind, _, depth = text.partition(":")
        if kind == "queue" and depth.isdigit() and int(depth) > 0:
            return cls(False, int(depth))
        raise ValueError(f"delivery must be 'latest' or 'queue:N' with N > 0, not {text!r}")

    def __str__(self):
        return "latest" if self.latest else f"queue:{self.depth}"


class Publisher:
    """The participant's XPUB socket. Not thread-safe: use it from the owning thread only."""

    def __init__(
        self, ctx: zmq.Context, endpoints: list[str], source: str, security: Security | None = None, sndhwm: int = 64
    ):
        self.socket = ctx.socket(zmq.XPUB)
        self.socket.setsockopt(zmq.XPUB_VERBOSE, 1)  # see every subscriber's subscription, not just the first
        self.socket.setsockopt(zmq.SNDHWM, sndhwm)
        self.socket.setsockopt(zmq.LINGER, 0)
        keep_alive(self.socket)
        if security:
            security.serve(self.socket)
        self.endpoints = []
        for endpoint in endpoints:
            bind_endpoint(self.socket, endpoint, security)
            self.endpoints.append(self.socket.getsockopt_string(zmq.LAST_ENDPOINT))
        self.source = source
        self._seq: dict[str, int] = collections.defaultdict(int)
        self._latched: dict[str, list] = {}
        self.latched_topics: set[str] = set()
        self.sent: dict[str, int] = collections.defaultdict(int)
        self.subscribers: dict[str, int] = {}
        self.untracked_subscriptions = 0  # subscriptions beyond MAX_TRACKED_TOPICS, not counted

    def publish(self, topic: str, msg: wire.Message, track: bool = False):
        self._seq[topic] += 1
        frames = wire.encode(topic, msg, self._seq[topic], self.source)
        if topic in self.latched_topics:
            # Late joiners get this exact message again; arrays are copied so later buffer reuse can't alter it.
            self._latched[topic] = [f if isinstance(f, bytes) else f.copy() for f in frames]
        self.sent[topic] += 1
        return self.socket.send_multipart(frames, copy=False, track=track)

    def handle_subscriptions(self):
        """Read subscription events; re-send latched values to (all subscribers of) newly subscribed topics."""
        while True:
            try:
                event = self.socket.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            if not event:
                continue
            subscribed, topic_frame = event[0] == 1, event[1:]
            try:
                topic = wire.decode_topic(topic_frame)
            except wire.DecodeError:
                continue
            self._count_subscriber(topic, 1 if subscribed else -1)
            if subscribed and topic in self._latched:
                # Subscribers drop the duplicate this gives to those already subscribed (same source and seq).
                self.socket.send_multipart(self._latched[topic], copy=False)

    def _count_subscriber(self, topic: str, change: int) -> None:
        """Keep subscriber counts for at most MAX_TRACKED_TOPICS topics, dropping a topic when its last subscriber
        leaves, so a peer subscribing to endless made-up topics cannot grow this process without bound."""
        count = self.subscribers.get(topic, 0) + change
        if count <= 0:
            self.subscribers.pop(topic, None)
        elif topic in self.subscribers or len(self.subscribers) < MAX_TRACKED_TOPICS:
            self.subscribers[topic] = count
        else:
            self.untracked_subscriptions += 1

    def close(self):
        self.socket.close(0)
        for endpoint in self.endpoints:
            if endpoint.startswith("ipc://"):  # a departed participant must not stay discoverable
                try:
                    os.unlink(endpoint[len("ipc://") :])
                except OSError:
                    pass


class Subscription:
    """One input: a SUB socket on every known publisher, buffered by its delivery policy."""

    def __init__(
        self,
        ctx: zmq.Context,
        topic: str,
        delivery: Delivery,
        security: Security | None = None,
        msg_type: type[wire.Message] | None = None,
    ):
        self.topic = topic
        self.msg_type = msg_type
        self.delivery = delivery
        self.socket = ctx.socket(zmq.SUB)
        # Latest-only inputs keep tiny socket buffers so stale frames are dropped early, not queued.
        self.socket.setsockopt(zmq.RCVHWM, 4 if delivery.latest else max(1000, delivery.depth))
        self.socket.setsockopt(zmq.LINGER, 0)
        keep_alive(self.socket)
        self.security = security
        self.socket.setsockopt(zmq.SUBSCRIBE, wire._topic_frame(topic))
        self.connected: set[str] = set()
        self.buffer: collections.deque[wire.Envelope] = collections.deque(maxlen=delivery.depth)
        self.received = 0
        self.dropped = 0
        self.rejected = 0
        self.arrivals: collections.deque[float] = collections.deque(maxlen=ARRIVALS_KEPT)  # monotonic times
        self._last_seq: dict[str, int] = {}

    def connect(self, endpoint: str):
        if endpoint not in self.connected:
            connect_endpoint(self.socket, endpoint, self.security)
            self.connected.add(endpoint)

    def drain(self, on_reject: Callable[[str], None]) -> int:
        """Move everything waiting on the socket into the buffer; returns how many messages arrived."""
        arrived = 0
        while True:
            try:
                frames = self.socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return arrived
            try:
                env = wire.decode(frames)
            except wire.DecodeError as err:
                self.rejected += 1
                on_reject(str(err))
                continue
            if env.topic != self.topic:
                continue
            if self.msg_type is not None and not isinstance(env.msg, self.msg_type):
                self.rejected += 1
                on_reject(f"{env.msg.TYPE} on /{self.topic}, which carries {self.msg_type.TYPE}")
                continue
            if self._last_seq.get(env.source, 0) >= env.seq:
                continue  # a latched value re-sent for somebody else's late join
            self._last_seq[env.source] = env.seq
            if len(self.buffer) == self.buffer.maxlen:
                self.dropped += 1
            self.buffer.append(env)
            self.received += 1
            self.arrivals.append(time.monotonic())
            arrived += 1

    def close(self):
        self.socket.close(0)


def arrival_rate(arrivals) -> float:
    """Messages per second from their arrival times, the way `dreamgraph topic hz` measures: (n - 1) / span."""
    if len(arrivals) < 2 or arrivals[-1] <= arrivals[0]:
        return 0.0
    return (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])


class RateMeter:
    """Messages per second over about the last `window_s`, long enough for a slow topic (a keyframe every few
    seconds) to show its rate rather than 0 in one status interval and a spike in the next."""

    def __init__(self, window_s: float = 10.0):
        self.window_s = window_s
        self._count = 0
        self._samples: collections.deque[tuple[float, int]] = collections.deque([(time.monotonic(), 0)])
        self.rate = 0.0

    def tick(self, count: int):
        self._count = count

    def update(self) -> float:
        now = time.monotonic()
        self._samples.append((now, self._count))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window_s:
            self._samples.popleft()
        since, count = self._samples[0]
        if now > since:
            self.rate = (self._count - count) / (now - since)
        return self.rate
