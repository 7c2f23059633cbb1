"""Who gets to pick what the network dreams of next: the "VJ bot" logic, free of any I/O.

As in 2015, a subject named in chat is held for `hold_seconds` and requests made meanwhile wait in line.
Beyond that:
- one pending request per user (a newer one replaces it and keeps its place), users served in arrival order,
  so nobody gets two subjects in a row while others wait; when a subject starts, everyone else waiting for the
  very same subject is served with it;
- a subject that was just requested is refused for `cooldown_seconds`;
- a request made by redeeming one of `priority_rewards` (Twitch channel points) or cheering at least
  `priority_bits` bits jumps the line: it waits behind paid requests only (and keeps its place when the viewer
  changes the wish);
- what a line asks is read from its folded text without leading mentions (text.py), so a reply to the
  bot ("@dreambot pizza") or "ｂｅｅ" asks like "pizza" or "bee";
- moderators (a configurable list, moderator/broadcaster badges, and "instant" sources such as OSC) can
  `!skip`, `!hold N` and `!clear`; requests from instant sources take the screen at once;
- autopilot when nobody asks: the playlist (or random classes), one every `idle_seconds`; a viewer's request
  replaces an autopilot subject at once;
- replies from varied templates, a global reply budget, and at most one "unknown word" hint per user a minute;
- an answer to every request, whether or not replies go to chat, for the asker's own screen (the web box).
The clock is injected, so tests control time.
"""

from __future__ import annotations

import collections
import random
import re
import time
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Protocol

from .ratelimit import SlidingWindow
from .text import request_text
from .vocab import ParseResult, Vocabulary

_COMMAND = re.compile(r"^!(\w+)\s*(.*)$", re.S)
_REQUEST_COMMANDS = ("dream", "d")

NOW_TEMPLATES = (
    "One {subject} coming up next, @{user}!",
    "@{user} {subject}, coming right up!",
    "Dreaming of {subject} for @{user}...",
    "@{user} here comes {subject}!",
    "@{user} one {subject}, fresh from the neurons!",
)
QUEUED_TEMPLATES = (
    "@{user} {subject} is in line (#{position}).",
    "@{user} got it: {subject} after {ahead} more.",
    "@{user} {subject} queued, #{position}.",
    "@{user} noted! {subject} comes after {ahead} more.",
)
REPLACED_TEMPLATES = (
    "@{user} changed your wish to {subject} (#{position} in line).",
    "@{user} ok, {subject} instead (#{position}).",
)
SUGGEST_TEMPLATES = (
    '@{user} I can\'t dream "{word}" - did you mean {suggestion}?',
    '@{user} "{word}"? Maybe you meant {suggestion}.',
)
# No {word} here: echoing arbitrary text would let anyone make the bot say anything.
UNKNOWN_TEMPLATES = (
    "@{user} I don't know that one. Try one of 1000 things, like {example}.",
    "@{user} that is not in my dreams; try e.g. {example}.",
)
PRIORITY_NOW_TEMPLATE = "@{user} {thanks} {subject} jumps the line: coming up right now!"
PRIORITY_QUEUED_TEMPLATE = "@{user} {thanks} {subject} jumps the line: #{position}."
REWARD_THANKS = "thanks for the channel points!"
BITS_THANKS = "thanks for the {bits} bits!"
ON_SCREEN_TEMPLATE = "@{user} {subject} is on screen right now!"
COOLING_TEMPLATE = "@{user} we just had {subject}; pick something else for a few minutes."
FULL_TEMPLATE = "@{user} the line is full, try again in a minute."


class ChatLike(Protocol):
    """What the schedule reads from a chat message (ChatMessage has these fields)."""

    source: str
    channel: str
    user: str
    display_name: str
    text: str
    message_id: str
    badges: list[str]
    reward_id: str
    bits: int


MAX_NAME_CHARS = 25  # Twitch's own limit for login names


def _printable(name: str) -> str:
    """Without control or bidi-override characters, on one line."""
    return " ".join("".join(ch for ch in name if not unicodedata.category(ch).startswith("C")).split())


def _readable(name: str) -> bool:
    """Has a letter or a digit, and nothing lost in decoding (U+FFFD, from invalid UTF-8)."""
    return "\ufffd" not in name and any(unicodedata.category(ch)[0] in "LN" for ch in name)


def screen_name(chat: ChatLike) -> str:
    """The name shown on the video and in replies: the display name, else the login when the display name is
    unreadable (only symbols, or mangled in decoding); printable characters only, at most MAX_NAME_CHARS."""
    for name in map(_printable, (chat.display_name, chat.user)):
        if _readable(name):
            return name[:MAX_NAME_CHARS]
    return "viewer"


@dataclass(frozen=True)
class Subject:
    class_ids: tuple[int, ...]
    labels: tuple[str, ...]
    user: str = ""  # login of the requester; "" for autopilot
    display_name: str = ""  # "" shows no name (autopilot, an operator's pick)

    @property
    def key(self) -> tuple[int, ...]:
        return tuple(sorted(self.class_ids))

    @property
    def phrase(self) -> str:
        """ "pizza with volcano", as the 2015 bot said it."""
        return " with ".join(self.labels)

    @property
    def overlay(self) -> str:
        """ "@user: volcano & pizza" for a request, "volcano & pizza" for autopilot."""
        names = " & ".join(self.labels)
        return f"@{self.display_name}: {names}" if self.display_name else names


@dataclass
class Reply:
    channel: str
    text: str
    reply_to: str = ""


@dataclass
class Outcome:
    changed: bool = False  # the current subject changed: publish a new target
    replies: list[Reply] = field(default_factory=list)  # lines for the chat
    answers: list[Reply] = field(default_factory=list)  # the answer to each request, whatever goes to chat

    def merge(self, other: "Outcome") -> "Outcome":
        self.changed |= other.changed
        self.replies += other.replies
        self.answers += other.answers
        return self


@dataclass
class _Request:
    subject: Subject
    channel: str
    message_id: str
    priority: bool = False  # paid for (channel points, bits): served before every unpaid request


@dataclass
class ScheduleConfig:
    hold_seconds: float = 60.0
    idle_seconds: float = 60.0  # an autopilot subject lasts this long; idle time before autopilot
    cooldown_seconds: float = 300.0  # a requested subject is refused again for this long
    max_pending: int = 200  # users waiting at most; further requests are refused
    moderators: tuple[str, ...] = ()  # logins allowed to !skip / !hold / !clear besides badge holders
    instant_sources: tuple[str, ...] = ("osc",)  # sources whose requests take the screen at once
    autopilot: bool = True
    playlist: tuple[str, ...] = ()  # autopilot subjects as requests ("volcano", "pizza + bee"); empty: random
    replies: bool = True
    replies_per_minute: int = 30  # reply budget (Twitch allows 20 per 30 s)
    unknown_reply_interval: float = 60.0  # at most one "unknown word" hint per user in this many seconds
    max_hold_seconds: float = 3600.0
    priority_rewards: tuple[str, ...] = ()  # channel-points reward ids whose requests jump the line
    priority_bits: int = 0  # a request cheering at least this many bits jumps the line; 0: never


class Schedule:
    def __init__(
        self,
        vocabulary: Vocabulary,
        config: ScheduleConfig | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ):
        self.vocabulary = vocabulary
        self.config = config or ScheduleConfig()
        self.clock = clock
        self.rng = rng or random.Random()
        self.current: Subject | None = None
        self.started_at = 0.0
        self.hold_until = 0.0  # before this a waiting request cannot take over
        self.idle_until = 0.0  # after this, with nobody waiting, autopilot takes over
        self.pending: collections.OrderedDict[str, _Request] = collections.OrderedDict()
        self.counts: collections.Counter[str] = collections.Counter()
        self._requested_at: dict[tuple[int, ...], float] = {}  # subject key -> last start by request
        self._hinted_at: collections.OrderedDict[str, float] = collections.OrderedDict()
        self.reconfigure(self.config)

    def reconfigure(self, config: ScheduleConfig) -> None:
        """Apply new settings (live parameter changes); the screen and the line stay as they are."""
        self.config = config
        self._reply_budget = SlidingWindow(config.replies_per_minute, 60.0, self.clock)
        self._playlist, self.invalid_playlist_words = self._parse_playlist(config.playlist)
        self._playlist_index = 0

    # --- input --------------------------------------------------------------------------------------------
    def handle(self, chat: ChatLike) -> Outcome:
        """React to one chat message: a moderator command, a request, or nothing."""
        self.counts["messages"] += 1
        text = request_text(chat.text)
        command = _COMMAND.match(text)
        if command:
            name, argument = command.group(1).lower(), command.group(2).strip()
            if name in _REQUEST_COMMANDS:
                return self._request(chat, argument, explicit=True)
            return self._command(name, argument) if self.is_moderator(chat) else Outcome()
        return self._request(chat, text, explicit=False)

    def is_moderator(self, chat: ChatLike) -> bool:
        return (
            chat.user.lower() in self.config.moderators
            or chat.source in self.config.instant_sources
            or any(b.startswith(("moderator/", "broadcaster/")) for b in chat.badges)
        )

    def tick(self) -> Outcome:
        """Advance time: start the next request once the hold is over, or autopilot when idle."""
        self._forget_old(self.clock())
        return self._advance()

    # --- moderator commands -------------------------------------------------------------------------------
    def skip(self) -> Outcome:
        self.counts["skips"] += 1
        return self._advance(force=True)

    def hold(self, seconds: float) -> Outcome:
        now = self.clock()
        self.hold_until = self.idle_until = now + max(0.0, min(seconds, self.config.max_hold_seconds))
        return Outcome()

    def clear(self) -> Outcome:
        self.pending.clear()
        return Outcome()

    def _command(self, name: str, argument: str) -> Outcome:
        if name == "skip":
            return self.skip()
        if name == "hold":
            try:
                seconds = float(argument) if argument else self.config.hold_seconds
            except ValueError:
                return Outcome()
            if seconds != seconds:  # NaN
                return Outcome()
            return self.hold(seconds)
        if name == "clear":
            return self.clear()
        return Outcome()

    # --- requests -----------------------------------------------------------------------------------------
    def _thanks(self, chat: ChatLike) -> str:
        """Why a request jumps the line, as the reply says it; "" when it does not."""
        if chat.reward_id and chat.reward_id in self.config.priority_rewards:
            return REWARD_THANKS
        if self.config.priority_bits > 0 and chat.bits >= self.config.priority_bits:
            return BITS_THANKS.format(bits=chat.bits)
        return ""

    def _request(self, chat: ChatLike, text: str, explicit: bool) -> Outcome:
        parsed = self.vocabulary.parse(text)
        if not parsed.matches:
            return self._unknown(chat, text, parsed, explicit)
        self.counts["requests"] += 1
        instant = chat.source in self.config.instant_sources
        # An operator's pick (OSC) is held like a request but shown without a name.
        subject = Subject(
            tuple(parsed.class_ids),
            tuple(parsed.labels),
            chat.user.lower() or chat.source,
            "" if instant else screen_name(chat),
        )
        thanks = self._thanks(chat)
        previous = self.pending.get(subject.user)
        request = _Request(
            subject,
            chat.channel,
            chat.message_id,
            priority=bool(thanks) or (previous is not None and previous.priority),
        )
        now = self.clock()
        if instant:
            self._start(subject, now)
            return Outcome(changed=True).merge(self._reply(request, ON_SCREEN_TEMPLATE, to_chat=False))
        current = self.current
        if current is not None and current.key == subject.key:
            if current.user:
                return self._reply(request, ON_SCREEN_TEMPLATE)
            self._start(subject, now)  # a viewer adopts what autopilot shows: it is theirs for the full hold
            return Outcome(changed=True).merge(self._reply(request, self.rng.choice(NOW_TEMPLATES)))
        if now - self._requested_at.get(subject.key, -1e18) < self.config.cooldown_seconds:
            self.counts["refused_cooldown"] += 1
            return self._reply(request, COOLING_TEMPLATE)
        replaced = previous is not None
        if not replaced and len(self.pending) >= self.config.max_pending:
            self.counts["refused_full"] += 1
            return self._reply(request, FULL_TEMPLATE)
        self.pending[subject.user] = request  # a replaced request keeps its place in line
        if thanks:
            self.counts["priority_requests"] += 1
            self._paid_first()
        outcome = self._advance()
        if self.current is not None and self.current.user == subject.user and outcome.changed:
            template = PRIORITY_NOW_TEMPLATE if thanks else self.rng.choice(NOW_TEMPLATES)
            return outcome.merge(self._reply(request, template, thanks=thanks))
        if subject.user not in self.pending:  # served along with someone else's identical request
            return outcome.merge(self._reply(request, ON_SCREEN_TEMPLATE, to_chat=False))
        position = list(self.pending).index(subject.user) + 1  # O(max_pending)
        templates = REPLACED_TEMPLATES if replaced else QUEUED_TEMPLATES
        template = PRIORITY_QUEUED_TEMPLATE if thanks else self.rng.choice(templates)
        return outcome.merge(self._reply(request, template, position=position, thanks=thanks))

    def _unknown(self, chat: ChatLike, text: str, parsed: ParseResult, explicit: bool) -> Outcome:
        """An answer saying what is unknown (and what was probably meant). It goes to chat only for what looks like
        a request, at most once per user per unknown_reply_interval: ordinary chatter gets no chat reply."""
        word = parsed.unknown[0] if parsed.unknown else text.strip()
        if not word:
            return Outcome()
        suggestion = parsed.suggestions.get(word)
        looks_like_request = explicit or suggestion is not None or "+" in text or "&" in text
        user = chat.user.lower()
        to_chat = looks_like_request and self._may_hint(user)
        request = _Request(Subject((), (), user, screen_name(chat)), chat.channel, chat.message_id)
        if suggestion:
            return self._reply(
                request, self.rng.choice(SUGGEST_TEMPLATES), to_chat, word=word[:40], suggestion=suggestion
            )
        example = self.vocabulary.labels[self.vocabulary.random_class()]
        return self._reply(request, self.rng.choice(UNKNOWN_TEMPLATES), to_chat, example=example)

    def _may_hint(self, user: str) -> bool:
        """True, and the hint is counted, unless this user had one within unknown_reply_interval."""
        now = self.clock()
        if now - self._hinted_at.get(user, -1e18) < self.config.unknown_reply_interval:
            return False
        self._hinted_at[user] = now
        self._hinted_at.move_to_end(user)
        while len(self._hinted_at) > 4 * self.config.max_pending + 1000:  # bounded under any flood
            self._hinted_at.popitem(last=False)
        return True

    def _reply(self, request: _Request, template: str, to_chat: bool = True, **values) -> Outcome:
        """The answer to a request; the same line goes to chat too when `to_chat`, replies are on, the request
        came from a chat channel and the reply budget allows."""
        values.setdefault("position", 1)
        values["ahead"] = values["position"] - 1
        text = template.format(user=request.subject.display_name, subject=request.subject.phrase, **values)
        reply = Reply(request.channel, text, request.message_id)
        outcome = Outcome(answers=[reply])
        if not (to_chat and self.config.replies and request.channel):
            return outcome
        if not self._reply_budget.try_acquire():
            self.counts["replies_over_budget"] += 1
            return outcome
        outcome.replies.append(reply)
        return outcome

    # --- the screen ---------------------------------------------------------------------------------------
    def _advance(self, force: bool = False) -> Outcome:
        now = self.clock()
        if self.pending and (force or self.current is None or now >= self.hold_until):
            request = self._next_request()
            self._start(request.subject, now)
            served = [user for user, waiting in self.pending.items() if waiting.subject.key == request.subject.key]
            for user in served:
                del self.pending[user]
            return Outcome(changed=True)
        if self.config.autopilot and (force or self.current is None or now >= self.idle_until):
            subject = self._autopilot_subject(now)
            if subject is not None:
                self._start(subject, now)
                self.counts["autopilot"] += 1
                return Outcome(changed=True)
        return Outcome()

    def _paid_first(self) -> None:
        """Reorder the line: paid requests before all others, each group in its order of arrival."""
        for user in [user for user, request in self.pending.items() if not request.priority]:
            self.pending.move_to_end(user)

    def _next_request(self) -> _Request:
        """The longest-waiting request, passing over the user on screen when anybody else waits."""
        on_screen = self.current.user if self.current else ""
        user = next((u for u in self.pending if u != on_screen), None) or next(iter(self.pending))
        return self.pending.pop(user)

    def _start(self, subject: Subject, now: float) -> None:
        self.current = subject
        self.started_at = now
        if subject.user:
            self._requested_at[subject.key] = now
            self.hold_until = now + self.config.hold_seconds
            self.idle_until = now + max(self.config.hold_seconds, self.config.idle_seconds)
        else:  # autopilot: any request may take over at once
            self.hold_until = now
            self.idle_until = now + self.config.idle_seconds
        self.counts["subjects"] += 1

    def _autopilot_subject(self, now: float) -> Subject | None:
        """The next playlist entry (or a random class) that is not on screen and not just requested."""
        current_key = self.current.key if self.current else None
        candidates = len(self._playlist) or 20
        for _ in range(candidates):
            if self._playlist:
                subject = self._playlist[self._playlist_index % len(self._playlist)]
                self._playlist_index += 1
            else:
                class_id = self.vocabulary.random_class()
                subject = Subject((class_id,), (self.vocabulary.labels[class_id],))
            fresh = now - self._requested_at.get(subject.key, -1e18) >= self.config.cooldown_seconds
            if subject.key != current_key and fresh:
                return subject
        return None

    def _parse_playlist(self, words: tuple[str, ...]) -> tuple[list[Subject], list[str]]:
        subjects, invalid = [], []
        for entry in words:
            parsed = self.vocabulary.parse(entry)
            if parsed.matches and not parsed.unknown:
                subjects.append(Subject(tuple(parsed.class_ids), tuple(parsed.labels)))
            else:
                invalid.append(entry)
        return subjects, invalid

    def _forget_old(self, now: float) -> None:
        cooldown = self.config.cooldown_seconds
        for key in [k for k, t in self._requested_at.items() if now - t >= cooldown]:
            del self._requested_at[key]
        interval = self.config.unknown_reply_interval
        while self._hinted_at and now - next(iter(self._hinted_at.values())) >= interval:
            self._hinted_at.popitem(last=False)
