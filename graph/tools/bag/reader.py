"""Reading a bag of either format: MCAP (found by its magic bytes) or the first, unindexed msgpack stream."""

from __future__ import annotations

import collections
import datetime
import os
from typing import Iterator

import msgpack
from mcap.exceptions import McapError
from mcap.reader import make_reader
from mcap.writer import MCAP0_MAGIC

from ...core import message as wire
from . import legacy
from .writer import TYPE_METADATA_KEY, WIRE_ENCODING, topic_of_wire_channel, wire_topic


def is_mcap(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(len(MCAP0_MAGIC)) == MCAP0_MAGIC


def _wire_channels(summary) -> dict[str, tuple[str, int]]:
    """topic -> (message type, wire channel id)."""
    return {
        topic_of_wire_channel(c.topic): (c.metadata.get(TYPE_METADATA_KEY, "unknown"), c.id)
        for c in summary.channels.values()
        if c.message_encoding == WIRE_ENCODING
    }


def _mcap_summary(f):
    try:
        summary = make_reader(f).get_summary()
    except McapError:
        summary = None
    if summary is None or summary.statistics is None:
        raise ValueError("the MCAP file has no summary (was the recording cut off?)")
    return summary


def messages(path: str, topics: list[str] | None = None, start_offset: float = 0.0) -> Iterator[tuple[float, list]]:
    """``(seconds since the bag's first message, frames)`` in recording order, from ``start_offset`` on."""
    wanted = {t.lstrip("/") for t in topics} if topics else None
    if not is_mcap(path):
        for at, frames in legacy.read(path):
            if at >= start_offset and (wanted is None or wire.decode_topic(frames[0]) in wanted):
                yield at, frames
        return
    with open(path, "rb") as f:
        summary = _mcap_summary(f)
        start = summary.statistics.message_start_time
        channels = _wire_channels(summary)
        names = [wire_topic(t) for t in channels if wanted is None or t in wanted]
        for _, _, message in make_reader(f).iter_messages(names, starting_at=start + round(start_offset * 1e9)):
            yield (message.log_time - start) / 1e9, msgpack.unpackb(message.data, raw=False)


def topic_types(path: str) -> dict[str, str]:
    """Every recorded topic with its message type (MCAP: from the summary; old bags: read through)."""
    if is_mcap(path):
        with open(path, "rb") as f:
            return {topic: type_name for topic, (type_name, _) in _wire_channels(_mcap_summary(f)).items()}
    types = {}
    for _, frames in legacy.read(path):
        try:
            env = wire.decode(frames)
        except wire.DecodeError:
            continue
        types.setdefault(env.topic, env.msg.TYPE)
    return types


def _iso(ns: int) -> str:
    return datetime.datetime.fromtimestamp(ns / 1e9, datetime.timezone.utc).isoformat()


def info(path: str) -> dict:
    """What a bag holds. For MCAP only the summary at the end of the file is read."""
    size = os.path.getsize(path)
    if not is_mcap(path):
        return _legacy_info(path, size)
    with open(path, "rb") as f:
        summary = _mcap_summary(f)
    stats = summary.statistics
    channels = _wire_channels(summary)
    compressed = sum(c.compressed_size for c in summary.chunk_indexes)
    uncompressed = sum(c.uncompressed_size for c in summary.chunk_indexes)
    counts = {topic: stats.channel_message_counts.get(channel_id, 0) for topic, (_, channel_id) in channels.items()}
    return {
        "format": "mcap",
        "topics": counts,
        "types": {topic: type_name for topic, (type_name, _) in channels.items()},
        "messages": sum(counts.values()),
        "duration_s": round((stats.message_end_time - stats.message_start_time) / 1e9, 3),
        "start": _iso(stats.message_start_time),
        "end": _iso(stats.message_end_time),
        "compression": sorted({c.compression or "none" for c in summary.chunk_indexes}),
        "chunks": len(summary.chunk_indexes),
        "compression_ratio": round(uncompressed / compressed, 3) if compressed else None,
        "size_bytes": size,
    }


def _legacy_info(path: str, size: int) -> dict:
    counts: collections.Counter = collections.Counter()
    first = last = None
    for at, frames in legacy.read(path):
        counts[wire.decode_topic(frames[0])] += 1
        first = at if first is None else first
        last = at
    return {
        "format": "msgpack (old, unindexed: convert with `dreamgraph bag convert`)",
        "topics": dict(counts),
        "messages": sum(counts.values()),
        "duration_s": round((last or 0) - (first or 0), 3),
        "size_bytes": size,
    }
