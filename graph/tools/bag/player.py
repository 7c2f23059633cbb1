"""Playing a bag into the running graph with its original spacing.

Each recorded message is decoded from its wire frames and published again, so subscribers get the same fields
and the same array bytes. The envelope (sequence number, source, send time) is the player's own: subscribers drop
a (source, sequence) they have seen, which a loop or a second play of the same bag would otherwise be.
"""

from __future__ import annotations

import time

from ...core import message as wire
from ...core.process import stop_signals_interrupt
from ..introspect import GraphClient
from . import reader


def play(
    client: GraphClient,
    path: str,
    rate: float = 1.0,
    start_offset: float = 0.0,
    topics: list[str] | None = None,
    loop: bool = False,
    wait_s: float = 3.0,
) -> int:
    """Publish a bag's messages (``topics`` only, from ``start_offset`` seconds on), ``rate`` times as fast,
    once or until interrupted with ``loop``; returns how many were published."""
    if rate <= 0:
        raise ValueError("rate must be positive")
    wanted = {t.lstrip("/") for t in topics} if topics else None
    deadline = time.monotonic() + wait_s  # one wait for subscribers, as `topic pub` does, not one per topic
    for topic in reader.topic_types(path):
        if wanted is None or topic in wanted:
            client.publish_prepare(topic, max(0.0, deadline - time.monotonic()))
    sent = 0
    try:
        with stop_signals_interrupt():
            while True:
                start = None
                for at, frames in reader.messages(path, topics, start_offset):
                    try:
                        env = wire.decode(frames)
                    except wire.DecodeError:
                        continue  # a type this installation does not know
                    if start is None:
                        start = time.monotonic() - (at - start_offset) / rate
                    delay = start + (at - start_offset) / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    client.publish_now(env.topic, env.msg)
                    sent += 1
                if not loop or start is None:
                    return sent
    except KeyboardInterrupt:
        return sent
