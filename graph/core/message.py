"""Typed messages and their wire encoding.

A message class is a dataclass whose fields carry type hints. On the wire a message is a ZeroMQ multipart
message: ``[topic, msgpack header, array buffer, array buffer, ...]``. Array fields (image frames) travel as
their own frames, described in the header by dtype and shape, and are neither copied on send nor on receive.

Decoding is defensive: the unpacker has size limits, map keys must be strings, nothing is ever unpickled, and
every field is checked against its declared type. Float fields reject NaN and infinity unless the field is declared
``Annotated[float, NON_FINITE]``. Anything that fails raises :class:`DecodeError`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
import typing
from typing import Annotated, Any, ClassVar

import msgpack
import numpy as np

HEADER_LIMIT = 1 << 20  # a header is metadata only; frames travel outside it
MAX_ARRAY_BYTES = 1 << 30
ALLOWED_DTYPES = frozenset({"uint8", "uint16", "int16", "int32", "int64", "float16", "float32", "float64"})
MAX_DIMS = 4

# Marks a float field that may carry NaN or infinity: ``level: Annotated[float, NON_FINITE] = 0.0``. Others refuse
# them, since a NaN zoom or an infinite size reaches code that hangs or divides by it (an affine warp, a loop bound).
NON_FINITE = "non-finite allowed"

_registry: dict[str, type["Message"]] = {}
_former_names: dict[str, type["Message"]] = {}


class DecodeError(ValueError):
    """A message on the wire that does not fit its declared type (or is not a message at all)."""


def _topic_frame(topic: str) -> bytes:
    # The trailing NUL keeps ZeroMQ's prefix matching exact: "video" must not receive "video_raw".
    return topic.encode() + b"\0"


def _checker(hint: Any):
    """A function that returns the value converted to the declared type, or raises TypeError."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return lambda v: v
    if origin is Annotated:
        base, *marks = typing.get_args(hint)
        if base is float and NON_FINITE in marks:
            return _float_checker(finite=False)
        return _checker(base)
    if hint is float:
        return _float_checker(finite=True)
    if hint is int:

        def check_int(v):
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"expected an integer, got {type(v).__name__}")
            return v

        return check_int
    if hint in (str, bool, bytes, dict, list):

        def check_plain(v, hint=hint):
            if not isinstance(v, hint):
                raise TypeError(f"expected {hint.__name__}, got {type(v).__name__}")
            return v

        return check_plain
    if origin is list:
        (item_hint,) = typing.get_args(hint) or (Any,)
        item = _checker(item_hint)

        def check_list(v):
            if not isinstance(v, (list, tuple)):
                raise TypeError(f"expected a list, got {type(v).__name__}")
            return [item(x) for x in v]

        return check_list
    if origin is dict:

        def check_dict(v):
            if not isinstance(v, dict):
                raise TypeError(f"expected a map, got {type(v).__name__}")
            return v

        return check_dict
    if hint is np.ndarray:

        def check_array(v):
            if not isinstance(v, np.ndarray):
                raise TypeError(f"expected an ndarray, got {type(v).__name__}")
            return v

        return check_array
    raise TypeError(f"unsupported message field type {hint!r}")


def _float_checker(finite: bool):
    def check_float(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"expected a number, got {type(v).__name__}")
        value = float(v)
        if finite and not math.isfinite(value):
            raise TypeError(f"expected a finite number, got {value}")
        return value

    return check_float


class Message:
    """Base of every message type. Subclasses are turned into dataclasses and registered by their wire name.

    Each type declares a stable wire name, ``TYPE = "package/Name"``, which is what travels in every header and
    bag; moving or renaming the Python class does not change it. ``FORMER_TYPES`` lists names the type travelled
    under before, which are still decoded, so recorded bags and peers running older code keep working.
    """

    TYPE: ClassVar[str]
    FORMER_TYPES: ClassVar[tuple[str, ...]] = ()
    _fields: ClassVar[dict[str, Any]]
    _array_fields: ClassVar[tuple[str, ...]]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            # Mutable defaults are written naturally as [] or {}; give each instance its own copy.
            if isinstance(value, (list, dict)) and not name.startswith("_"):
                setattr(cls, name, dataclasses.field(default_factory=lambda v=value: type(v)(v)))
        dataclasses.dataclass(cls)
        hints = typing.get_type_hints(cls, include_extras=True)
        cls._fields = {f.name: _checker(hints[f.name]) for f in dataclasses.fields(cls)}
        cls._array_fields = tuple(f.name for f in dataclasses.fields(cls) if hints[f.name] is np.ndarray)
        if "TYPE" not in vars(cls):
            raise TypeError(f"{cls.__qualname__} must declare its wire name, e.g. TYPE = \"mypackage/{cls.__name__}\"")
        for name in (cls.TYPE, *cls.FORMER_TYPES):
            known = _registry.get(name) or _former_names.get(name)
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise TypeError(f"wire name {name!r} of {cls.__qualname__} is taken by {known.__qualname__}")
        _registry[cls.TYPE] = cls
        _former_names.update(dict.fromkeys(cls.FORMER_TYPES, cls))

    def validate(self) -> "Message":
        """Check (and normalise) every field against its declared type; raise TypeError naming the field."""
        for name, check in self._fields.items():
            try:
                setattr(self, name, check(getattr(self, name)))
            except TypeError as err:
                raise TypeError(f"{self.TYPE}.{name}: {err}") from None
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain fields for display; arrays are summarised, never dumped."""
        out = {}
        for name in self._fields:
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                value = f"<{value.dtype} array {'x'.join(map(str, value.shape))}>"
            elif isinstance(value, bytes):
                value = f"<{len(value)} bytes>"
            out[name] = value
        return out

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> "Message":
        """Build from a dict (JSON from the CLI, a decoded header); unknown fields are rejected."""
        unknown = set(fields) - set(cls._fields)
        if unknown:
            raise TypeError(
                f"{cls.TYPE} has no field(s) {', '.join(sorted(unknown))}; fields: {', '.join(cls._fields)}"
            )
        missing_arrays = [a for a in cls._array_fields if a not in fields]
        if missing_arrays:
            raise TypeError(f"{cls.TYPE} needs array field(s) {', '.join(missing_arrays)}")
        return cls(**fields).validate()


def message_type(name: str) -> type[Message]:
    """The type with this wire name, or with this former name."""
    found = _registry.get(name) or _former_names.get(name)
    if found is None:
        raise DecodeError(f"unknown message type {name!r}")
    return found


def registered_types() -> dict[str, type[Message]]:
    """Every message type by its current wire name."""
    return dict(_registry)


def load_message_plugins():
    """Import the message modules that packages list under the entry-point group ``dreamgraph.messages``."""
    from importlib.metadata import entry_points

    for ep in entry_points(group="dreamgraph.messages"):
        try:
            ep.load()
        except ImportError as err:
            logging.getLogger(__name__).warning("message types from %s unavailable: %s", ep.value, err)


def encode(topic: str, msg: Message, seq: int, source: str) -> list:
    """Multipart frames for one message. Array payloads are passed through without copying."""
    msg.validate()
    fields = {}
    arrays = []
    buffers = []
    for name in msg._fields:
        value = getattr(msg, name)
        if name in msg._array_fields:
            array = value if value.flags.c_contiguous else np.ascontiguousarray(value)
            arrays.append([name, array.dtype.name, list(array.shape)])
            buffers.append(array)
        else:
            fields[name] = value
    header = msgpack.packb(
        {"t": msg.TYPE, "q": seq, "s": source, "w": time.time(), "f": fields, "a": arrays},
        use_bin_type=True,
    )
    return [_topic_frame(topic), header, *buffers]


class Envelope:
    """A received message with its transport metadata."""

    __slots__ = ("topic", "msg", "seq", "source", "sent")

    def __init__(self, topic: str, msg: Message, seq: int, source: str, sent: float):
        self.topic, self.msg, self.seq, self.source, self.sent = topic, msg, seq, source, sent


def decode_topic(frame) -> str:
    raw = bytes(frame)
    if not raw.endswith(b"\0") or len(raw) > 256:
        raise DecodeError("malformed topic frame")
    try:
        return raw[:-1].decode()
    except UnicodeDecodeError:
        raise DecodeError("topic is not UTF-8") from None


def sent_time(frames: list) -> float | None:
    """When a message's publisher sent it (wall clock), from its header alone; None for a header that is not ours."""
    try:
        raw = frames[1].bytes if hasattr(frames[1], "bytes") else frames[1]
        return float(msgpack.unpackb(raw, raw=False, max_ext_len=0)["w"]) if len(raw) <= HEADER_LIMIT else None
    except Exception:  # hostile or foreign frames: msgpack raises several unrelated types
        return None


def decode(frames: list) -> Envelope:
    """Inverse of :func:`encode` for frames received with ``copy=False`` (zmq.Frame) or as bytes."""
    if len(frames) < 2:
        raise DecodeError(f"expected at least 2 frames, got {len(frames)}")
    topic = decode_topic(frames[0])
    header_bytes = frames[1].bytes if hasattr(frames[1], "bytes") else frames[1]
    if len(header_bytes) > HEADER_LIMIT:
        raise DecodeError(f"header of {len(header_bytes)} bytes exceeds {HEADER_LIMIT}")
    try:
        header = msgpack.unpackb(
            header_bytes,
            raw=False,
            strict_map_key=True,
            max_str_len=HEADER_LIMIT,
            max_bin_len=HEADER_LIMIT,
            max_array_len=65536,
            max_map_len=4096,
            max_ext_len=0,
        )
    except Exception as err:  # msgpack raises several unrelated exception types on hostile input
        raise DecodeError(f"header is not valid msgpack: {err.__class__.__name__}") from None
    if not isinstance(header, dict):
        raise DecodeError("header is not a map")
    try:
        cls = message_type(header["t"])
        seq, source, sent = int(header["q"]), str(header["s"]), float(header["w"])
        fields = dict(header["f"])
        arrays = header["a"]
    except (KeyError, TypeError, ValueError, OverflowError) as err:  # OverflowError: a sequence number of inf
        raise DecodeError(f"header lacks or garbles {err}") from None
    if not isinstance(arrays, list) or len(arrays) != len(frames) - 2:
        raise DecodeError("array descriptors do not match the frames")
    for descriptor, frame in zip(arrays, frames[2:]):
        fields_name, array = _decode_array(descriptor, frame, cls)
        fields[fields_name] = array
    try:
        msg = cls.from_fields(fields)
    except TypeError as err:
        raise DecodeError(str(err)) from None
    return Envelope(topic, msg, seq, source, sent)


def _decode_array(descriptor, frame, cls):
    try:
        name, dtype, shape = descriptor
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise DecodeError("malformed array descriptor") from None
    if name not in cls._array_fields:
        raise DecodeError(f"{cls.TYPE} has no array field {name!r}")
    if dtype not in ALLOWED_DTYPES or not 0 < len(shape) <= MAX_DIMS or min(shape) < 0 or max(shape) > MAX_ARRAY_BYTES:
        raise DecodeError(f"array {name}: unsupported dtype/shape {dtype} {shape}")
    buffer = frame.buffer if hasattr(frame, "buffer") else memoryview(frame)
    expected = math.prod(shape) * np.dtype(dtype).itemsize  # Python ints: np.prod would wrap around
    if expected != buffer.nbytes or expected > MAX_ARRAY_BYTES:
        raise DecodeError(f"array {name}: {buffer.nbytes} bytes do not fit {dtype} {shape}")
    return name, np.frombuffer(buffer.toreadonly(), dtype=dtype).reshape(shape)  # read-only view, no copy


# Framework message types ---------------------------------------------------------------------------------


class Image(Message):
    """An RGB frame (HxWx3 uint8), with free-form metadata about what it shows."""

    TYPE = "dreamgraph/Image"
    FORMER_TYPES = ("graph.message:Image",)

    image: np.ndarray
    seq: int = 0
    stamp: float = 0.0
    meta: dict = {}


class ParamSet(Message):
    """A live parameter change for one node (``node``) or every node (``"*"``); ``id`` threads the answers."""

    TYPE = "dreamgraph/ParamSet"
    FORMER_TYPES = ("graph.message:ParamSet",)

    node: str = ""
    name: str = ""
    value: Any = None
    id: str = ""


class ParamReply(Message):
    """A node's answer to a ParamSet: applied (``value`` is now in effect) or refused, with the reason."""

    TYPE = "dreamgraph/ParamReply"
    FORMER_TYPES = ("graph.message:ParamReply",)

    node: str = ""
    name: str = ""
    value: Any = None
    applied: bool = False
    reason: str = ""
    id: str = ""


class Status(Message):
    """A node's heartbeat: what it is doing and how its topics are flowing."""

    TYPE = "dreamgraph/Status"
    FORMER_TYPES = ("graph.message:Status",)

    node: str = ""
    pid: int = 0
    host: str = ""
    state: str = ""
    uptime: float = 0.0
    inputs: dict = {}
    outputs: dict = {}
    errors: dict = {}
    params: dict = {}
    node_class: str = ""
    dropped_ticks: int = 0  # timer ticks skipped because the node was busy past their next deadline
    problem: str = ""  # what keeps the node from doing its job right now (e.g. "No space left on device")
    cpu_percent: float = 0.0  # of one core, since the last status (its child processes, such as ffmpeg, included)
    rss_mb: float = 0.0  # resident memory, children included


class LaunchState(Message):
    """The launcher's view of its processes (latched): name -> {pid, state, restarts, hangs, exit_code, machine}."""

    TYPE = "dreamgraph/LaunchState"
    FORMER_TYPES = ("graph.message:LaunchState",)

    graph: str = ""
    machine: str = ""
    launch_file: str = ""
    nodes: dict = {}


class Text(Message):
    """A plain text message, for generic tools and tests."""

    TYPE = "dreamgraph/Text"
    FORMER_TYPES = ("graph.message:Text",)

    text: str = ""


class Counter(Message):
    """A sequence-numbered tick used by the built-in test nodes."""

    TYPE = "dreamgraph/Counter"
    FORMER_TYPES = ("graph.message:Counter",)

    n: int = 0
    stamp: float = 0.0
