"""Recording and replaying topics ("bags") as MCAP files that Foxglove and the ``mcap`` tools open.

Every topic gets two channels:

- ``/_wire/TOPIC``, message encoding ``dreamgraph-msgpack``: each message's frames exactly as they were on the
  wire (msgpack of ``[topic, header, array, ...]``). Recording them costs no re-encoding, and replay restores every
  field and array byte as it was, which no JSON rendering could (bytes, ints against floats, array dtypes).
- ``/TOPIC``, message encoding ``json`` with a JSON Schema generated from the message type's fields: what viewers
  read. Images (any message with an ``image`` array) are Foxglove's ``foxglove.CompressedImage`` (JPEG, the
  default) or ``foxglove.RawImage`` (``--raw-images``). JPEG is the default because base64 JSON of raw 1080p
  frames, stored on top of the wire copy, does not keep up with 25 fps on two cores.

Chunks are zstd-compressed at a low level (1) off the receiving thread (:mod:`.mcap_writer`); the summary holds
schemas, channels, statistics and chunk indexes, so ``bag info`` reads only the end of the file. Bags of the first
format, an unindexed msgpack stream, still play and are converted with ``dreamgraph bag convert``.
"""

from .convert import convert
from .player import play
from .reader import info, is_mcap, messages
from .recorder import record

__all__ = ["convert", "info", "is_mcap", "messages", "play", "record"]
