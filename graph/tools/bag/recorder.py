"""Recording a running graph: frames are received on this thread and written by another, so a slow chunk never
holds up the socket; Ctrl-C, SIGTERM and the end of the duration all leave a complete, indexed file."""

from __future__ import annotations

import collections
import fnmatch
import queue
import threading
import time
from typing import Callable

import zmq

from ...core import message as wire
from ...core.process import stop_signals_interrupt
from ...core.topics import STATUS_TOPIC
from ..introspect import GraphClient
from .writer import BagWriter


def excluded(topic: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(topic.lstrip("/"), p.lstrip("/")) for p in patterns)


class TopicFinder:
    """Every topic a node reports publishing in its heartbeat, as nodes come and go (``-a``)."""

    def __init__(self, client: GraphClient):
        self.sub, self.peers = client.subscribe(STATUS_TOPIC, "queue:1000")

    def reported_topics(self) -> set[str]:
        self.peers.refresh()
        self.sub.drain(lambda reason: None)
        found = set()
        while self.sub.buffer:
            found.update(self.sub.buffer.popleft().msg.outputs)
        return found

    def close(self):
        self.sub.close()


def _write_all(items: queue.Queue, bag: BagWriter):
    while (item := items.get()) is not None:
        bag.write(*item)


def _receive(sock: zmq.Socket, items: queue.Queue, counts: collections.Counter):
    """Queue everything waiting on the socket with its arrival time (wall clock: viewers show dates)."""
    while True:
        try:
            frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return
        try:
            counts[wire.decode_topic(frames[0])] += 1
        except wire.DecodeError:
            continue
        items.put((time.time_ns(), frames))


def record(
    client: GraphClient,
    topics: list[str],
    path: str,
    duration: float | None = None,
    all_topics: bool = False,
    exclude: list[str] | None = None,
    compress_images: bool = True,
    zstd_level: int = 1,
    on_start: Callable[[], None] | None = None,
) -> collections.Counter:
    """Record until Ctrl-C/SIGTERM or for ``duration`` seconds; returns messages per topic.

    With ``all_topics``, every topic a node reports publishing is added as its heartbeat arrives. ``on_start`` is
    called once the subscriptions are set up."""
    exclude = exclude or []
    subscribed = {t.lstrip("/") for t in topics if not excluded(t, exclude)}
    sock, peers = client.raw_subscriber(sorted(subscribed))
    finder = TopicFinder(client) if all_topics else None
    counts: collections.Counter = collections.Counter()
    items: queue.Queue = queue.Queue()  # unbounded: a writer that falls behind costs memory, never a frame
    with open(path, "wb") as out:
        bag = BagWriter(out, compress_images, zstd_level)
        writer = threading.Thread(target=_write_all, args=(items, bag), name="bag-writer")
        writer.start()
        end = time.monotonic() + duration if duration else float("inf")
        try:
            with stop_signals_interrupt():
                if on_start:
                    on_start()
                while time.monotonic() < end:
                    peers.refresh()
                    for topic in finder.reported_topics() - subscribed if finder else ():
                        if not excluded(topic, exclude):
                            sock.setsockopt(zmq.SUBSCRIBE, wire._topic_frame(topic))
                            subscribed.add(topic)
                    if sock.poll(100):
                        _receive(sock, items, counts)
        except KeyboardInterrupt:
            pass
        finally:
            sock.close(0)
            if finder:
                finder.close()
            items.put(None)
            writer.join()
            bag.close()
    return counts
