"""Recording and replaying topics ("bags"): the raw wire frames with their arrival times.

A bag is a msgpack stream of ``[seconds since start, [frame bytes, ...]]`` records, so recording costs no
decoding and replay reproduces exactly what was on the wire (validated again on the way out).
"""

from __future__ import annotations

import collections
import time
from typing import Iterator

import msgpack

from ..core import message as wire
from .introspect import GraphClient

MAX_RECORD_BYTES = 1 << 30


def record(
    client: GraphClient, topics: list[str], path: str, duration: float, max_messages: int | None = None
) -> collections.Counter:
    """Record ``topics`` into ``path`` for ``duration`` seconds; returns messages per topic."""
    sock, peers = client.raw_subscriber(topics)
    counts: collections.Counter = collections.Counter()
    start = time.monotonic()
    packer = msgpack.Packer(use_bin_type=True)
    with open(path, "wb") as out:
        while time.monotonic() - start < duration and (max_messages is None or sum(counts.values()) < max_messages):
            peers.refresh()
            if not sock.poll(100):
                continue
            frames = sock.recv_multipart(copy=False)
            try:
                topic = wire.decode_topic(frames[0])
            except wire.DecodeError:
                continue
            out.write(packer.pack([time.monotonic() - start, [f.buffer for f in frames]]))
            counts[topic] += 1
    sock.close(0)
    return counts


def read(path: str) -> Iterator[tuple[float, list[bytes]]]:
    with open(path, "rb") as f:
        unpacker = msgpack.Unpacker(f, raw=False, max_buffer_size=MAX_RECORD_BYTES)
        for record_ in unpacker:
            yield float(record_[0]), list(record_[1])


def info(path: str) -> dict:
    counts: collections.Counter = collections.Counter()
    first = last = None
    for at, frames in read(path):
        counts[wire.decode_topic(frames[0])] += 1
        first = at if first is None else first
        last = at
    return {
        "topics": dict(counts),
        "messages": sum(counts.values()),
        "duration_s": round((last or 0) - (first or 0), 3),
    }


def play(client: GraphClient, path: str, rate: float = 1.0, wait_s: float = 3.0) -> int:
    """Publish a bag's messages with their original spacing (scaled by ``rate``); returns the count."""
    topics = set()
    records = list(read(path))
    for _, frames in records:
        topics.add(wire.decode_topic(frames[0]))
    sent = 0
    start = None
    for at, frames in records:
        env = wire.decode(frames)
        if start is None:
            for topic in topics:  # wait for subscribers, as `topic pub` does
                client.publish_prepare(topic, wait_s)
            start = time.monotonic() - at / rate
        delay = start + at / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        client.publish_now(env.topic, env.msg)
        sent += 1
    return sent
