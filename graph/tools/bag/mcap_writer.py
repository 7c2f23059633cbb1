"""An MCAP writer whose chunks are zstd-compressed at a chosen level in a background thread.

The ``mcap`` package's own Writer compresses every chunk with zstd's default level (3) on the calling thread:
about 120 ms for one natural 1080p frame on the 2-core box, where a 25 fps recording has 40 ms. Level 1 (or a
negative, faster level) keeps up and still saves about a quarter; compressing off the recording thread lets it
overlap with receiving and JPEG encoding (zstd releases the GIL). The records themselves are ``mcap.records``,
so the file is plain MCAP: chunks, message indexes, chunk indexes, statistics and summary offsets.
"""

from __future__ import annotations

import collections
import concurrent.futures
from typing import BinaryIO

import zstandard
from mcap.data_stream import RecordBuilder
from mcap.opcode import Opcode
from mcap.records import (
    Channel,
    Chunk,
    ChunkIndex,
    DataEnd,
    Footer,
    Header,
    Message,
    MessageIndex,
    Schema,
    Statistics,
    SummaryOffset,
)
from mcap.writer import MCAP0_MAGIC

LIBRARY = "dreamgraph"
CHUNK_BYTES = 4 << 20  # a 1080p frame fills a chunk alone; small messages share one


class OpenChunk:
    """Records of one chunk being filled, with what its index needs."""

    def __init__(self):
        self.records = RecordBuilder()
        self.indexes: dict[int, MessageIndex] = {}
        self.start = self.end = None

    def add(self, message: Message):
        self.start = message.log_time if self.start is None else min(self.start, message.log_time)
        self.end = message.log_time if self.end is None else max(self.end, message.log_time)
        index = self.indexes.setdefault(message.channel_id, MessageIndex(message.channel_id, []))
        index.records.append((message.log_time, self.records.count))
        message.write(self.records)


class McapWriter:
    def __init__(self, out: BinaryIO, zstd_level: int = 1, chunk_bytes: int = CHUNK_BYTES):
        self.out = out
        self.zstd_level = zstd_level
        self.chunk_bytes = chunk_bytes
        self.schemas: dict[int, Schema] = {}
        self.channels: dict[int, Channel] = {}
        self.chunk_indexes: list[ChunkIndex] = []
        self.counts: collections.Counter = collections.Counter()
        self.start_time = self.end_time = None
        self.chunk = OpenChunk()
        self.compressor = concurrent.futures.ThreadPoolExecutor(1, "mcap-zstd")  # one worker: chunks stay in order
        self.pending: collections.deque[concurrent.futures.Future] = collections.deque()
        self.out.write(MCAP0_MAGIC)
        self._write(Header(profile="", library=LIBRARY))

    def _write(self, *records):
        builder = RecordBuilder()
        for record in records:
            record.write(builder)
        self.out.write(builder.end())

    def add_schema(self, name: str, encoding: str, data: bytes) -> int:
        schema = Schema(id=len(self.schemas) + 1, name=name, encoding=encoding, data=data)
        self.schemas[schema.id] = schema
        schema.write(self.chunk.records)
        return schema.id

    def add_channel(self, topic: str, message_encoding: str, schema_id: int, metadata: dict[str, str]) -> int:
        channel = Channel(len(self.channels) + 1, topic, message_encoding, metadata, schema_id)
        self.channels[channel.id] = channel
        channel.write(self.chunk.records)
        return channel.id

    def add_message(self, channel_id: int, log_time: int, publish_time: int, data: bytes, sequence: int = 0):
        self.chunk.add(Message(channel_id, log_time, data, publish_time, sequence))
        self.counts[channel_id] += 1
        self.start_time = log_time if self.start_time is None else min(self.start_time, log_time)
        self.end_time = log_time if self.end_time is None else max(self.end_time, log_time)
        if self.chunk.records.count >= self.chunk_bytes:
            self._seal_chunk()
        while self.pending and self.pending[0].done():
            self.pending.popleft().result()  # raises a failed write here, not at the end

    def _seal_chunk(self):
        chunk, self.chunk = self.chunk, OpenChunk()
        if chunk.records.count:
            self.pending.append(self.compressor.submit(self._write_chunk, chunk))

    def _write_chunk(self, chunk: OpenChunk):
        data = chunk.records.end()
        compressed = zstandard.ZstdCompressor(level=self.zstd_level).compress(data)
        record = Chunk(
            compression="zstd",
            data=compressed,
            message_start_time=chunk.start or 0,
            message_end_time=chunk.end or 0,
            uncompressed_crc=0,  # "not computed" (MCAP spec): a CRC of each raw frame costs 5 ms of the 40
            uncompressed_size=len(data),
        )
        offset = self.out.tell()
        builder = RecordBuilder()
        record.write(builder)
        chunk_length = builder.count
        index_offsets = {}
        for channel_id, index in chunk.indexes.items():
            index_offsets[channel_id] = offset + builder.count
            index.write(builder)
        self.out.write(builder.end())
        self.chunk_indexes.append(
            ChunkIndex(
                message_start_time=record.message_start_time,
                message_end_time=record.message_end_time,
                chunk_start_offset=offset,
                chunk_length=chunk_length,
                message_index_offsets=index_offsets,
                message_index_length=self.out.tell() - offset - chunk_length,
                compression="zstd",
                compressed_size=len(compressed),
                uncompressed_size=len(data),
            )
        )

    def close(self):
        """Write the last chunk, the summary (schemas, channels, statistics, chunk indexes) and the footer."""
        self._seal_chunk()
        self.compressor.shutdown(wait=True)
        for future in self.pending:
            future.result()
        self._write(DataEnd(data_section_crc=0))
        summary_start = self.out.tell()
        statistics = Statistics(
            attachment_count=0,
            channel_count=len(self.channels),
            channel_message_counts=dict(self.counts),
            chunk_count=len(self.chunk_indexes),
            message_count=sum(self.counts.values()),
            message_end_time=self.end_time or 0,
            message_start_time=self.start_time or 0,
            metadata_count=0,
            schema_count=len(self.schemas),
        )
        groups = [
            (Opcode.SCHEMA, list(self.schemas.values())),
            (Opcode.CHANNEL, list(self.channels.values())),
            (Opcode.STATISTICS, [statistics]),
            (Opcode.CHUNK_INDEX, self.chunk_indexes),
        ]
        summary = RecordBuilder()
        offsets = []
        for opcode, records in groups:
            group_start = summary.count
            for record in records:
                record.write(summary)
            offsets.append(SummaryOffset(opcode, summary_start + group_start, summary.count - group_start))
        summary_offset_start = summary_start + summary.count
        for offset in offsets:
            offset.write(summary)
        self.out.write(summary.end())
        self._write(Footer(summary_start=summary_start, summary_offset_start=summary_offset_start, summary_crc=0))
        self.out.write(MCAP0_MAGIC)
        self.out.flush()
