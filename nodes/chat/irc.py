"""IRC as Twitch speaks it: parsing received lines (IRCv3 tags), building safe outgoing lines, a send limiter.

Everything here is pure and never raises on what a server sends: `parse_line` takes any bytes (invalid UTF-8,
huge or badly escaped tags, empty text) and returns an `IrcLine`, or None for a line without a command.
The connection itself lives in irc_client.py.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

TWITCH_CAPS = "twitch.tv/tags twitch.tv/commands"
MAX_REPLY_CHARS = 500  # Twitch's limit for one chat message

_TAG_UNESCAPES = {":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"}
_TAG_ESCAPES = {";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"}
# C0 and C1 control characters, DEL, and Unicode line/paragraph separators: never sent, never shown.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_DIGITS = re.compile(r"[0-9]{1,16}")
_CHANNEL = re.compile(r"^#?[a-z0-9_]{1,64}$")
_EMOTE_RANGE = re.compile(r"([0-9]{1,9})-([0-9]{1,9})")
# A cheer's "Cheer100", "Kappa50", "cheerwhal1000": Twitch sends these as words, not in the emotes tag.
_CHEERMOTE = re.compile(r"(?<!\S)[A-Za-z]+[0-9]+(?!\S)")
_MAX_REWARD_ID_CHARS = 64
# USERNOTICE kinds whose text the viewer wrote themselves (a (re)subscription's message)
SUBSCRIPTION_NOTICES = ("sub", "resub")


@dataclass
class IrcLine:
    command: str  # upper case: "PRIVMSG", "PING", "001", ...
    params: list[str] = field(default_factory=list)
    prefix: str = ""  # "nick!user@host" or a server name
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def nick(self) -> str:
        return self.prefix.split("!", 1)[0]


@dataclass
class ChatLine:
    """A PRIVMSG, with Twitch's tags read out."""

    channel: str
    user: str  # login name, lower case
    display_name: str
    text: str
    message_id: str
    timestamp: float  # unix seconds (tmi-sent-ts, else time of receipt)
    badges: list[str]  # "moderator/1", "subscriber/12", ...
    is_action: bool  # sent with /me
    is_moderator: bool  # mod tag, or a moderator or broadcaster badge
    reward_id: str = ""  # the channel-points reward redeemed with this message (custom-reward-id)
    bits: int = 0  # bits cheered with this message


def unescape_tag_value(value: str) -> str:
    """IRCv3 tag value unescaping; an unknown escape keeps the character, a trailing lone backslash is dropped."""
    if "\\" not in value:
        return value
    out = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            out.append(_TAG_UNESCAPES.get(escaped, escaped))
        else:
            out.append(char)
    return "".join(out)


def escape_tag_value(value: str) -> str:
    return "".join(_TAG_ESCAPES.get(char, char) for char in value)


def parse_tags(raw: str) -> dict[str, str]:
    tags = {}
    for item in raw.split(";"):
        if not item:
            continue
        key, _, value = item.partition("=")
        tags[key] = unescape_tag_value(value)
    return tags


def parse_line(raw: bytes | str) -> IrcLine | None:
    """One received line (with or without CR LF) -> IrcLine; None when there is no command."""
    line = raw.decode("utf-8", errors="replace") if isinstance(raw, (bytes, bytearray)) else raw
    line = line.rstrip("\r\n")
    tags: dict[str, str] = {}
    prefix = ""
    if line.startswith("@"):
        raw_tags, _, line = line[1:].partition(" ")
        tags = parse_tags(raw_tags)
        line = line.lstrip(" ")
    if line.startswith(":"):
        prefix, _, line = line[1:].partition(" ")
        line = line.lstrip(" ")
    head, separator, trailing = line.partition(" :")
    words = head.split()
    if not words:
        return None
    params = words[1:]
    if separator:
        params.append(trailing)
    return IrcLine(command=words[0].upper(), params=params, prefix=prefix, tags=tags)


def _timestamp(tags: dict[str, str], now: float) -> float:
    sent_ms = tags.get("tmi-sent-ts", "")
    return int(sent_ms) / 1000.0 if _DIGITS.fullmatch(sent_ms) else now


def _count(value: str) -> int:
    return int(value) if _DIGITS.fullmatch(value) else 0


def emote_ranges(tag: str) -> list[tuple[int, int]]:
    """The `emotes` tag ("25:0-4,12-16/1902:6-10") as half-open ranges of UTF-16 code units, sorted and merged;
    malformed ranges (negative, reversed, not numbers) are skipped."""
    ranges = []
    for emote in tag.split("/"):
        for item in emote.partition(":")[2].split(","):
            numbers = _EMOTE_RANGE.fullmatch(item)
            if numbers and int(numbers.group(1)) <= int(numbers.group(2)):
                ranges.append((int(numbers.group(1)), int(numbers.group(2)) + 1))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def without_emotes(text: str, tag: str) -> str:
    """The text with each emote (as the `emotes` tag places it, counting UTF-16 code units like Twitch) replaced
    by a space; ranges beyond the text are ignored."""
    ranges = iter(emote_ranges(tag))
    current = next(ranges, None)
    out = []
    offset = 0  # in UTF-16 code units
    for char in text:
        while current is not None and current[1] <= offset:
            current = next(ranges, None)
        inside = current is not None and current[0] <= offset
        if not inside:
            out.append(char)
        elif not out or out[-1] != " ":
            out.append(" ")
        offset += 2 if ord(char) > 0xFFFF else 1
    return "".join(out)


def chat_line(line: IrcLine, now: float | None = None) -> ChatLine | None:
    """The chat message a PRIVMSG carries, or the viewer's own words in a (re)subscription USERNOTICE; None for
    anything else. Emotes and cheermotes are cut out of the text: they are pictures, not words."""
    tags = line.tags
    is_subscription = line.command == "USERNOTICE" and tags.get("msg-id") in SUBSCRIPTION_NOTICES
    if not (line.command == "PRIVMSG" or is_subscription) or len(line.params) < 2:
        return None
    if is_subscription and not tags.get("login"):
        return None  # the prefix is the server's: without the login tag nobody is known to have said it
    text = line.params[-1]
    is_action = text.startswith("\x01ACTION") and len(text) > len("\x01ACTION")
    if is_action:
        text = text[len("\x01ACTION") :].rstrip("\x01").removeprefix(" ")  # emote ranges count from here
    text = without_emotes(text, tags.get("emotes", ""))
    bits = _count(tags.get("bits", ""))
    if bits:
        text = _CHEERMOTE.sub(" ", text)
    text = _CONTROL.sub("", text).strip()
    user = (tags.get("login") or line.nick).lower()
    badges = [badge for badge in tags.get("badges", "").split(",") if badge]
    is_moderator = tags.get("mod") == "1" or any(b.startswith(("moderator/", "broadcaster/")) for b in badges)
    return ChatLine(
        channel=line.params[0].lower(),
        user=user,
        display_name=_CONTROL.sub("", tags.get("display-name", "")).strip() or line.nick,
        text=text,
        message_id=tags.get("id", ""),
        timestamp=_timestamp(tags, time.time() if now is None else now),
        badges=badges,
        is_action=is_action,
        is_moderator=is_moderator,
        reward_id=_CONTROL.sub("", tags.get("custom-reward-id", ""))[:_MAX_REWARD_ID_CHARS],
        bits=bits,
    )


def channel_name(name: str) -> str:
    """ "MyChannel" -> "#mychannel"; ValueError for anything that could not be a Twitch channel."""
    channel = "#" + name.strip().lower().lstrip("#")
    if not _CHANNEL.match(channel):
        raise ValueError(f"not a channel name: {name!r}")
    return channel


def clean_text(text: str, max_chars: int = MAX_REPLY_CHARS) -> str:
    """Text safe to send as one chat message: no control characters (so no CR/LF line injection), no leading
    '/' or '.' (Twitch would run it as a chat command), at most max_chars characters."""
    text = _CONTROL.sub(" ", text).strip().lstrip("/.").strip()
    return text[:max_chars].rstrip()


def privmsg(
    channel: str, text: str, reply_to: str = "", with_tags: bool = False, max_chars: int = MAX_REPLY_CHARS
) -> str | None:
    """The PRIVMSG line (without CR LF) for a reply, or None when nothing sendable is left. The reply threads under
    `reply_to` only when the server accepted tags (a plain IRC server rejects tagged client lines)."""
    body = clean_text(text, max_chars)
    if not body:
        return None
    tag_prefix = ""
    if reply_to and with_tags:
        tag_prefix = f"@reply-parent-msg-id={escape_tag_value(_CONTROL.sub('', reply_to))} "
    return f"{tag_prefix}PRIVMSG {channel} :{body}"
