"""What a recording's viewer channels hold: a JSON Schema per message type and the JSON of each message.

Foxglove and the ``mcap`` tools read channels with message encoding ``json`` and schema encoding
``jsonschema``. Plain message types get a schema generated from their dataclass fields. A message that carries
an RGB ``image`` array (``dreamgraph/Image``, the application's Keyframe) is shown as Foxglove's own
``foxglove.CompressedImage`` (JPEG) or ``foxglove.RawImage`` (exact pixels, base64), which Foxglove's Image
panel displays; its other fields stay in the wire channel.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import typing
from typing import Any

import cv2
import numpy as np

from ...core import message as wire

JPEG_QUALITY = 90

_TIME = {
    "type": "object",
    "title": "time",
    "properties": {
        "sec": {"type": "integer", "minimum": 0},
        "nsec": {"type": "integer", "minimum": 0, "maximum": 999999999},
    },
}
_BASE64 = {"type": "string", "contentEncoding": "base64"}

# Foxglove's published schemas (github.com/foxglove/schemas), the parts these views fill in.
RAW_IMAGE_SCHEMA = {
    "title": "foxglove.RawImage",
    "description": "A raw image",
    "type": "object",
    "properties": {
        "timestamp": _TIME,
        "frame_id": {"type": "string"},
        "width": {"type": "integer", "minimum": 0},
        "height": {"type": "integer", "minimum": 0},
        "encoding": {"type": "string"},
        "step": {"type": "integer", "minimum": 0},
        "data": _BASE64,
    },
}
COMPRESSED_IMAGE_SCHEMA = {
    "title": "foxglove.CompressedImage",
    "description": "A compressed image",
    "type": "object",
    "properties": {"timestamp": _TIME, "frame_id": {"type": "string"}, "data": _BASE64, "format": {"type": "string"}},
}


def shows_image(cls: type[wire.Message]) -> bool:
    return "image" in cls._array_fields


def _field_schema(hint: Any) -> dict:
    origin = typing.get_origin(hint)
    if hint is float:
        return {"type": "number"}
    if hint is int:
        return {"type": "integer"}
    if hint is bool:
        return {"type": "boolean"}
    if hint is str:
        return {"type": "string"}
    if hint is bytes:
        return dict(_BASE64)
    if hint is dict or origin is dict:
        return {"type": "object"}
    if hint is list or origin is list:
        args = typing.get_args(hint)
        return {"type": "array", "items": _field_schema(args[0]) if args else {}}
    if hint is np.ndarray:  # summarised in the view; the values are in the wire channel
        return {
            "type": "object",
            "properties": {"dtype": {"type": "string"}, "shape": {"type": "array", "items": {"type": "integer"}}},
        }
    return {}  # Any: whatever the sender put there


def message_schema(cls: type[wire.Message]) -> dict:
    """A JSON Schema of the type's fields, with its docstring as the description."""
    hints = typing.get_type_hints(cls)
    return {
        "title": cls.TYPE,
        "description": (cls.__doc__ or "").strip(),
        "type": "object",
        "properties": {f.name: _field_schema(hints[f.name]) for f in dataclasses.fields(cls)},
    }


def view_schema(cls: type[wire.Message], compress_images: bool) -> dict:
    if shows_image(cls):
        return COMPRESSED_IMAGE_SCHEMA if compress_images else RAW_IMAGE_SCHEMA
    return message_schema(cls)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"dtype": value.dtype.name, "shape": list(value.shape)}
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _timestamp(seconds: float) -> dict:
    ns = max(0, round(seconds * 1e9))
    return {"sec": ns // 1_000_000_000, "nsec": ns % 1_000_000_000}


def view_json(env: wire.Envelope, compress_images: bool) -> bytes:
    """The message as its view channel's JSON."""
    msg = env.msg
    if not shows_image(type(msg)):
        return json.dumps({name: _jsonable(getattr(msg, name)) for name in msg._fields}, default=str).encode()
    image = msg.image
    stamp = getattr(msg, "stamp", 0.0) or env.sent
    view = {"timestamp": _timestamp(stamp), "frame_id": env.topic}
    if compress_images:
        ok, jpeg = cv2.imencode(
            ".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
        )
        view.update(format="jpeg", data=base64.b64encode(jpeg).decode())
    else:
        height, width = image.shape[:2]
        view.update(
            width=width,
            height=height,
            encoding="rgb8" if image.ndim == 3 else "mono8",
            step=width * (image.shape[2] if image.ndim == 3 else 1),
            data=base64.b64encode(np.ascontiguousarray(image)).decode(),
        )
    return json.dumps(view).encode()
