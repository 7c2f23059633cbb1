"""Looking into a running graph from outside: the CLI's topic and node verbs.

A client finds the graph through its runtime directory, connects to every participant's endpoint (ipc on this
machine, plus the tcp endpoints the launcher recorded for other machines) and listens like any node would.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Iterator

import zmq

from ..core import message as wire
from ..core.node import DISCOVERY_PERIOD_S
from ..core.runtime import GraphDir
from ..core.security import Security, connect_endpoint
from ..core.topics import LAUNCH_TOPIC, PARAM_REPLY_TOPIC, PARAM_TOPIC, STATUS_TOPIC
from ..core.transport import Delivery, Publisher, Subscription


class Peers:
    """Keeps a socket connected to every participant of the graph, rescanning at the nodes' discovery pace
    (not on every poll) so participants that start later are heard too."""

    def __init__(self, client: "GraphClient", connect):
        self.client, self.connect = client, connect
        self.connected: set[str] = set()
        self._next_scan = 0.0

    def refresh(self):
        now = time.monotonic()
        if now < self._next_scan:
            return
        self._next_scan = now + DISCOVERY_PERIOD_S
        for endpoint in self.client.endpoints():
            if endpoint not in self.connected:
                self.connect(endpoint)
                self.connected.add(endpoint)


@dataclass
class Arrivals:
    """Messages seen on a topic: when each arrived (monotonic), when its publisher sent it (wall clock, None when
    its header is unreadable), and the bytes of all."""

    times: list[float] = field(default_factory=list)
    sent: list[float | None] = field(default_factory=list)
    bytes: int = 0


class GraphClient:
    def __init__(self, graph: GraphDir):
        self.graph = graph
        wire.load_message_plugins()
        info = graph.read_info()
        self.ctx = zmq.Context.instance()
        self.security = Security(info["keys_dir"]) if info.get("keys_dir") else None
        self.static_endpoints = list(info.get("connect", []))
        self.publish_bind = list(info.get("publish_bind", []))  # tcp, so nodes on other machines hear the CLI
        self._publisher: Publisher | None = None

    def endpoints(self) -> list[str]:
        return self.static_endpoints + self.graph.ipc_endpoints()

    def subscribe(self, topic: str, delivery: str = "queue:10000") -> tuple[Subscription, Peers]:
        """A subscription connected to every participant; call ``peers.refresh()`` while waiting on it."""
        sub = Subscription(self.ctx, topic.lstrip("/"), Delivery.parse(delivery), self.security)
        peers = Peers(self, sub.connect)
        peers.refresh()
        return sub, peers

    def raw_subscriber(self, topics: list[str]) -> tuple[zmq.Socket, Peers]:
        """A plain SUB socket on ``topics`` for tools that count or record frames without decoding them."""
        sock = self.ctx.socket(zmq.SUB)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RCVHWM, 100000)
        for topic in topics:
            sock.setsockopt(zmq.SUBSCRIBE, wire._topic_frame(topic.lstrip("/")))
        peers = Peers(self, lambda endpoint: connect_endpoint(sock, endpoint, self.security))
        peers.refresh()
        return sock, peers

    def listen(self, topic: str, seconds: float, count: int | None = None) -> Iterator[wire.Envelope]:
        """Messages on ``topic`` until ``seconds`` pass or ``count`` arrived."""
        sub, peers = self.subscribe(topic)
        end = time.monotonic() + seconds
        got = 0
        try:
            while time.monotonic() < end and (count is None or got < count):
                peers.refresh()
                if sub.socket.poll(min(100, max(1, int((end - time.monotonic()) * 1000)))):
                    sub.drain(lambda reason: None)
                    while sub.buffer and (count is None or got < count):
                        got += 1
                        yield sub.buffer.popleft()
        finally:
            sub.close()

    def statuses(self, seconds: float = 1.5) -> dict[str, wire.Status]:
        """The latest Status of every node heard within ``seconds`` (nodes report once a second)."""
        found = {}
        for env in self.listen(STATUS_TOPIC, seconds):
            found[env.msg.node] = env.msg
        return found

    def launch_states(self, seconds: float = 0.5) -> dict[str, wire.LaunchState]:
        found = {}
        for env in self.listen(LAUNCH_TOPIC, seconds):
            found[env.msg.machine] = env.msg
        return found

    def count(self, topic: str, seconds: float) -> "Arrivals":
        """Arrival times of messages on ``topic``, and their publishers' send times, without decoding payloads
        (cheap on image topics)."""
        sock, peers = self.raw_subscriber([topic])
        got = Arrivals()
        end = time.monotonic() + seconds
        try:
            while time.monotonic() < end:
                peers.refresh()
                if not sock.poll(100):
                    continue
                while True:
                    try:
                        frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        break
                    got.times.append(time.monotonic())
                    got.sent.append(wire.sent_time(frames))
                    got.bytes += sum(len(f) for f in frames)
        finally:
            sock.close(0)
        return got

    def publish_prepare(self, topic: str, wait_s: float = 3.0) -> int:
        """Bind this client's endpoint and wait until a subscriber of ``topic`` is connected."""
        topic = topic.lstrip("/")
        if self._publisher is None:
            ipc = [self.graph.ipc_endpoint(f"_cli-{os.getpid()}")]
            source = f"_cli#{os.getpid()}.{time.monotonic_ns()}"
            try:
                self._publisher = Publisher(self.ctx, self.publish_bind + ipc, source, self.security)
            except zmq.ZMQError:  # another tool holds this machine's tcp port: reach local nodes only
                self._publisher = Publisher(self.ctx, ipc, source, self.security)
        end = time.monotonic() + wait_s
        while time.monotonic() < end and self._publisher.subscribers.get(topic, 0) <= 0:
            self._publisher.socket.poll(50)
            self._publisher.handle_subscriptions()
        # Nodes find new endpoints on their discovery cycle; give the others one cycle to connect too.
        settle = time.monotonic() + DISCOVERY_PERIOD_S + 0.2
        while time.monotonic() < min(settle, end + DISCOVERY_PERIOD_S):
            self._publisher.socket.poll(50)
            self._publisher.handle_subscriptions()
        return self._publisher.subscribers.get(topic, 0)

    def publish_now(self, topic: str, msg: wire.Message):
        self._publisher.handle_subscriptions()
        self._publisher.publish(topic.lstrip("/"), msg)

    def publish(self, topic: str, msg: wire.Message, wait_s: float = 3.0) -> int:
        """Publish once a subscriber of ``topic`` is connected; returns how many subscriptions were seen."""
        subscribers = self.publish_prepare(topic, wait_s)
        self.publish_now(topic, msg)
        return subscribers

    def set_param(self, node: str, name: str, value, timeout: float) -> list[wire.ParamReply]:
        """Send a parameter change and collect the answers to it: the named node's, or for node "*" those of every
        node that has the parameter, within ``timeout`` seconds."""
        request = wire.ParamSet(node=node, name=name, value=value, id=uuid.uuid4().hex)
        sub, peers = self.subscribe(PARAM_REPLY_TOPIC)  # before sending, so no answer can be missed
        answers: list[wire.ParamReply] = []
        try:
            self.publish(PARAM_TOPIC, request)
            end = time.monotonic() + timeout
            while time.monotonic() < end and not (answers and node != "*"):
                peers.refresh()
                if sub.socket.poll(100):
                    sub.drain(lambda reason: None)
                    answers += [env.msg for env in sub.buffer if env.msg.id == request.id]
                    sub.buffer.clear()
        finally:
            sub.close()
        return answers

    def close(self):
        if self._publisher:
            time.sleep(0.2)  # give the last message time to leave before the endpoint goes away
            self._publisher.close()
