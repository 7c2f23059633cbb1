"""The first bag format: a msgpack stream of ``[seconds since start, [frame bytes, ...]]``, with no index."""

from __future__ import annotations

from typing import Iterator

import msgpack

MAX_RECORD_BYTES = 1 << 30


def read(path: str) -> Iterator[tuple[float, list[bytes]]]:
    with open(path, "rb") as f:
        unpacker = msgpack.Unpacker(f, raw=False, max_buffer_size=MAX_RECORD_BYTES)
        for record in unpacker:
            yield float(record[0]), list(record[1])
