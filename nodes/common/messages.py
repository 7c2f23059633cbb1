"""The message types dreamgraph's nodes exchange, each with its stable wire name (the framework's own types are in
dreamgraph.graph.core.message)."""

from __future__ import annotations

import numpy as np

from ...graph.core.message import Message
from .constants import DEFAULT_LAYOUT


class ChatMessage(Message):
    """One line from the audience, whatever the source (Twitch, OSC, the web box, the CLI)."""

    TYPE = "dreamgraph/ChatMessage"
    FORMER_TYPES = ("nodes.messages:ChatMessage",)

    source: str = ""
    channel: str = ""
    user: str = ""
    display_name: str = ""
    text: str = ""
    message_id: str = ""
    timestamp: float = 0.0
    badges: list[str] = []
    reward_id: str = ""  # the Twitch channel-points reward redeemed with the message ("" for none)
    bits: int = 0  # Twitch bits cheered with the message


class ChatReply(Message):
    """A line for the chat; ``reply_to`` threads it under a message id."""

    TYPE = "dreamgraph/ChatReply"
    FORMER_TYPES = ("nodes.messages:ChatReply",)

    channel: str = ""
    text: str = ""
    reply_to: str = ""


class Target(Message):
    """What the optimizer dreams of: ImageNet class ids, their labels and where each goes in the image."""

    TYPE = "dreamgraph/Target"
    FORMER_TYPES = ("nodes.messages:Target",)

    class_ids: list[int] = []
    labels: list[str] = []
    layout: str = DEFAULT_LAYOUT
    weights: list[float] = []
    requested_by: str = ""
    since: float = 0.0


class Overlay(Message):
    """Text drawn on the video, e.g. "@user: volcano"."""

    TYPE = "dreamgraph/Overlay"
    FORMER_TYPES = ("nodes.messages:Overlay",)

    text: str = ""


class Keyframe(Message):
    """A dreamed image and how it relates to the previous one (for smooth interpolation)."""

    TYPE = "dreamgraph/Keyframe"
    FORMER_TYPES = ("nodes.messages:Keyframe",)

    image: np.ndarray
    seq: int = 0
    class_ids: list[int] = []
    labels: list[str] = []
    zoom: float = 1.0
    rotation: float = 0.0
    period: float = 0.0
    step_ms: float = 0.0
    steps: int = 0
    stamp: float = 0.0
