"""Converting a bag of the first format (msgpack stream) to MCAP."""

from __future__ import annotations

from ...core import message as wire
from . import legacy
from .writer import BagWriter


def convert(source: str, target: str, compress_images: bool = True, zstd_level: int = 3) -> int:
    """Write ``source``'s messages to the MCAP file ``target``; returns how many.

    Old bags keep only seconds since the start, so times are anchored at the first message's send time."""
    written = 0
    with open(target, "wb") as out:
        bag = BagWriter(out, compress_images, zstd_level)
        try:
            base = None
            for at, frames in legacy.read(source):
                try:
                    env = wire.decode(frames)
                except wire.DecodeError:
                    env = None
                if base is None:
                    base = env.sent - at if env else 0.0
                bag.write(round((base + at) * 1e9), frames, env)
                written += 1
        finally:
            bag.close()
    return written
