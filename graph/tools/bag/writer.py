"""Wire frames into an MCAP file: per topic a wire channel (for replay) and a JSON view channel (for viewers)."""

from __future__ import annotations

import json
import logging
from typing import BinaryIO

import cv2
import msgpack

from ...core import message as wire
from .mcap_writer import McapWriter
from .schemas import view_json, view_schema

WIRE_ENCODING = "dreamgraph-msgpack"  # msgpack of the message's frame list: [topic, header, array, ...]
WIRE_PREFIX = "/_wire"  # wire channels are /_wire/TOPIC, next to the view channel /TOPIC
TYPE_METADATA_KEY = "dreamgraph_type"

log = logging.getLogger(__name__)


def view_topic(topic: str) -> str:
    return "/" + topic.lstrip("/")


def wire_topic(topic: str) -> str:
    return WIRE_PREFIX + view_topic(topic)


def topic_of_wire_channel(channel_topic: str) -> str:
    return channel_topic[len(WIRE_PREFIX) + 1 :]


class BagWriter:
    """Writes each message twice: its exact frames, and the view Foxglove reads (JSON against a JSON Schema)."""

    def __init__(self, out: BinaryIO, compress_images: bool = True, zstd_level: int = 1):
        self.mcap = McapWriter(out, zstd_level)
        self.compress_images = compress_images
        self.channels: dict[str, tuple[int, int | None]] = {}  # topic -> (wire channel, view channel)
        self.views_failed: set[str] = set()
        self.schemas: dict[str, int] = {}  # schema title (a message type, or a Foxglove image layout) -> id

    def _channels(self, topic: str, env: wire.Envelope | None) -> tuple[int, int | None]:
        if topic not in self.channels:
            type_name = env.msg.TYPE if env else "unknown"
            wire_id = self.mcap.add_channel(wire_topic(topic), WIRE_ENCODING, 0, {TYPE_METADATA_KEY: type_name})
            view_id = None
            if env is not None:
                schema = view_schema(type(env.msg), self.compress_images)
                if schema["title"] not in self.schemas:
                    encoded = json.dumps(schema).encode()
                    self.schemas[schema["title"]] = self.mcap.add_schema(schema["title"], "jsonschema", encoded)
                metadata = {TYPE_METADATA_KEY: type_name}
                view_id = self.mcap.add_channel(view_topic(topic), "json", self.schemas[schema["title"]], metadata)
            self.channels[topic] = (wire_id, view_id)
        return self.channels[topic]

    def write(self, log_time_ns: int, frames: list, env: wire.Envelope | None = None) -> str:
        """Add one message (frames as received); ``env`` is its decoding when the caller has it. Returns the topic."""
        if env is None:
            try:
                env = wire.decode(frames)
            except wire.DecodeError:
                env = None  # an unknown type: kept for replay, without a view
        topic = env.topic if env else wire.decode_topic(frames[0])
        wire_id, view_id = self._channels(topic, env)
        sent_ns = round(env.sent * 1e9) if env else log_time_ns
        sequence = env.seq & 0xFFFFFFFF if env else 0
        # zmq frames as received, bytes from an old bag, arrays from wire.encode: all as plain bytes, not copied
        buffers = [memoryview(f.buffer if hasattr(f, "buffer") else f).cast("B") for f in frames]
        self.mcap.add_message(wire_id, log_time_ns, sent_ns, msgpack.packb(buffers, use_bin_type=True), sequence)
        if view_id is not None:
            try:
                view = view_json(env, self.compress_images)
            except (ValueError, TypeError, cv2.error) as err:  # e.g. an image no viewer format holds
                if topic not in self.views_failed:
                    self.views_failed.add(topic)
                    log.warning("/%s: kept for replay, but without a view: %s", topic, err)
                return topic
            self.mcap.add_message(view_id, log_time_ns, sent_ns, view, sequence)
        return topic

    def close(self):
        self.mcap.close()
