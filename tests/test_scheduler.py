"""The scheduling logic (nodes/chat/schedule.py) with an injected clock."""

import random

from dreamgraph.nodes.chat.schedule import Schedule, ScheduleConfig
from dreamgraph.nodes.common.messages import ChatMessage

VOLCANO, PIZZA, BEE = 980, 963, 309


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def chat(user, text, mod=False, source="twitch", msg_id="", **fields):
    fields.setdefault("display_name", user.title())
    return ChatMessage(
        source=source,
        channel="#c",
        user=user,
        text=text,
        message_id=msg_id or f"id-{user}-{text}",
        badges=["moderator/1"] if mod else [],
        **fields,
    )


def make(vocab, **config):
    clock = Clock()
    config.setdefault("autopilot", False)
    return Schedule(vocab, ScheduleConfig(**config), clock=clock, rng=random.Random(1)), clock


def test_first_request_shows_at_once_with_overlay_and_reply(vocab):
    schedule, _ = make(vocab)
    outcome = schedule.handle(chat("alice", "a volcano please", msg_id="m1"))
    assert outcome.changed
    assert schedule.current.class_ids == (VOLCANO,) and schedule.current.overlay == "@Alice: volcano"
    (reply,) = outcome.replies
    assert "volcano" in reply.text and "Alice" in reply.text
    assert (reply.channel, reply.reply_to) == ("#c", "m1")


def test_two_subjects_phrase_and_overlay(vocab):
    schedule, _ = make(vocab)
    outcome = schedule.handle(chat("bob", "pizza + volcano"))
    assert schedule.current.labels == ("pizza", "volcano")
    assert schedule.current.overlay == "@Bob: pizza & volcano"
    assert "pizza with volcano" in outcome.replies[0].text


def test_subject_is_held_and_requests_queue(vocab):
    schedule, clock = make(vocab, hold_seconds=60)
    schedule.handle(chat("alice", "volcano"))
    outcome = schedule.handle(chat("bob", "pizza"))
    assert not outcome.changed and schedule.current.class_ids == (VOLCANO,)
    assert "#1" in outcome.replies[0].text or "after 0" in outcome.replies[0].text
    clock.now += 59
    assert not schedule.tick().changed
    clock.now += 1
    assert schedule.tick().changed and schedule.current.class_ids == (PIZZA,)


def test_one_pending_request_per_user_keeps_its_place(vocab):
    schedule, clock = make(vocab)
    schedule.handle(chat("alice", "volcano"))
    schedule.handle(chat("bob", "pizza"))
    schedule.handle(chat("carol", "bee"))
    outcome = schedule.handle(chat("bob", "kit fox"))
    assert list(schedule.pending) == ["bob", "carol"]
    assert "kit fox" in outcome.replies[0].text
    clock.now += 60
    schedule.tick()
    assert schedule.current.labels == ("kit fox",) and schedule.current.user == "bob"


def test_round_robin_nobody_twice_in_a_row_while_others_wait(vocab):
    schedule, clock = make(vocab, cooldown_seconds=0)
    words = ["volcano", "pizza", "bee", "goldfish", "ostrich", "tench", "jellyfish"]
    schedule.handle(chat("alice", "volcano"))
    for n, word in enumerate(words[1:4]):
        schedule.handle(chat("alice", word))  # alice keeps asking
        schedule.handle(chat(f"u{n}", words[n + 4]))
    shown = [schedule.current.user]
    while schedule.pending:
        clock.now += 60
        schedule.tick()
        shown.append(schedule.current.user)
    assert shown == ["alice", "u0", "alice", "u1", "u2"]
    assert all(a != b for a, b in zip(shown, shown[1:]))


def test_cooldown_refuses_a_repeat(vocab):
    schedule, clock = make(vocab, cooldown_seconds=300)
    schedule.handle(chat("alice", "volcano"))
    schedule.handle(chat("bob", "pizza"))
    clock.now += 60
    schedule.tick()
    outcome = schedule.handle(chat("carol", "volcano"))
    assert "carol" not in schedule.pending and "just had volcano" in outcome.replies[0].text
    clock.now += 300
    assert schedule.handle(chat("carol", "volcano")).changed
    assert schedule.current.user == "carol"


def test_same_subject_waiting_is_served_together(vocab):
    schedule, clock = make(vocab)
    schedule.handle(chat("alice", "volcano"))
    schedule.handle(chat("bob", "pizza"))
    schedule.handle(chat("carol", "pizza"))
    clock.now += 60
    schedule.tick()
    assert schedule.current.user == "bob" and not schedule.pending


def test_request_for_what_is_on_screen(vocab):
    schedule, _ = make(vocab)
    schedule.handle(chat("alice", "volcano"))
    outcome = schedule.handle(chat("bob", "volcano"))
    assert not outcome.changed and "on screen" in outcome.replies[0].text


def test_moderator_commands(vocab):
    schedule, clock = make(vocab, moderators=("boss",))
    schedule.handle(chat("alice", "volcano"))
    schedule.handle(chat("bob", "pizza"))
    schedule.handle(chat("carol", "bee"))
    assert not schedule.handle(chat("mallory", "!skip")).changed  # not a moderator
    assert schedule.handle(chat("modder", "!skip", mod=True)).changed
    assert schedule.current.user == "bob"
    schedule.handle(chat("boss", "!hold 500"))
    clock.now += 400
    assert not schedule.tick().changed
    clock.now += 100
    assert schedule.tick().changed and schedule.current.user == "carol"
    schedule.handle(chat("dave", "goldfish"))
    schedule.handle(chat("boss", "!clear"))
    assert not schedule.pending
    schedule.handle(chat("boss", "!hold nonsense"))
    schedule.handle(chat("boss", "!hold nan"))
    assert schedule.current.user == "carol"


def test_broadcaster_badge_is_a_moderator(vocab):
    schedule, _ = make(vocab)
    streamer = ChatMessage(source="twitch", channel="#c", user="streamer", text="!skip", badges=["broadcaster/1"])
    assert schedule.is_moderator(streamer)


def test_instant_source_takes_the_screen_without_a_name(vocab):
    schedule, _ = make(vocab)
    schedule.handle(chat("alice", "volcano"))
    schedule.handle(chat("bob", "pizza"))
    outcome = schedule.handle(chat("osc", "bee + pizza", source="osc"))
    assert outcome.changed and outcome.replies == []
    assert schedule.current.overlay == "bee & pizza"
    assert list(schedule.pending) == ["bob"]


def test_autopilot_playlist_when_idle_and_requests_take_over(vocab):
    schedule, clock = make(vocab, autopilot=True, idle_seconds=30, playlist=("volcano", "pizza + bee", "nonsense"))
    assert schedule.invalid_playlist_words == ["nonsense"]
    assert schedule.tick().changed and schedule.current.labels == ("volcano",)
    assert schedule.current.overlay == "volcano"
    clock.now += 30
    schedule.tick()
    assert schedule.current.labels == ("pizza", "bee")
    clock.now += 5
    assert schedule.handle(chat("alice", "goldfish")).changed  # autopilot gives way at once
    clock.now += 60
    schedule.tick()
    assert schedule.current.labels == ("volcano",)


def test_autopilot_random_without_playlist(vocab):
    schedule, clock = make(vocab, autopilot=True, idle_seconds=10)
    seen = set()
    for _ in range(5):
        schedule.tick()
        seen.add(schedule.current.class_ids)
        clock.now += 10
    assert len(seen) >= 4


def test_viewer_adopts_the_autopilot_subject(vocab):
    schedule, _ = make(vocab, autopilot=True, playlist=("volcano",))
    schedule.tick()
    outcome = schedule.handle(chat("alice", "volcano"))
    assert outcome.changed and schedule.current.user == "alice"


def test_unknown_words_hint_once_per_user_per_minute_and_chatter_is_ignored(vocab):
    schedule, clock = make(vocab)
    outcome = schedule.handle(chat("alice", "vulcano"))
    assert "volcano" in outcome.replies[0].text and "vulcano" in outcome.replies[0].text
    assert schedule.handle(chat("alice", "pizzia")).replies == []
    assert schedule.handle(chat("bob", "lol what is this stream")).replies == []
    (hint,) = schedule.handle(chat("bob", "!dream qwxyzzy")).replies  # explicit request: a hint even without a match
    assert "qwxyzzy" not in hint.text  # unknown text is never echoed
    clock.now += 60
    assert schedule.handle(chat("alice", "pizzia")).replies


def test_replies_switch_off(vocab):
    schedule, _ = make(vocab, replies=False)
    assert schedule.handle(chat("alice", "volcano")).replies == []
    assert schedule.handle(chat("bob", "vulcano")).replies == []


def test_reply_budget(vocab):
    schedule, _ = make(vocab, replies_per_minute=3)
    replies = [r for n in range(10) for r in schedule.handle(chat(f"u{n}", "pizza + volcano")).replies]
    assert len(replies) == 3 and schedule.counts["replies_over_budget"] == 7


def test_queue_full(vocab):
    schedule, _ = make(vocab, max_pending=2)
    schedule.handle(chat("alice", "volcano"))
    schedule.handle(chat("bob", "pizza"))
    schedule.handle(chat("carol", "bee"))
    outcome = schedule.handle(chat("dave", "goldfish"))
    assert list(schedule.pending) == ["bob", "carol"] and "full" in outcome.replies[0].text
    schedule.handle(chat("bob", "tench"))  # replacing is always allowed
    assert schedule.pending["bob"].subject.labels == ("tench",)


def test_hostile_display_names_are_cleaned_before_the_screen():
    from dreamgraph.nodes.chat.schedule import screen_name

    class Chat:
        user = "mallory"
        display_name = "Mal\u202eyrol\x00\x1b[31m" + "x" * 100

    name = screen_name(Chat())
    assert "\u202e" not in name and "\x00" not in name and "\x1b" not in name
    assert name.startswith("Mal") and len(name) <= 25


def test_every_request_gets_an_answer_even_with_replies_off(vocab):
    schedule, clock = make(vocab, replies=False, cooldown_seconds=300)

    def answer(user, text, msg_id):
        outcome = schedule.handle(chat(user, text, source="web", msg_id=msg_id))
        assert not outcome.replies, "nothing goes to chat"
        (reply,) = outcome.answers
        assert reply.reply_to == msg_id
        return reply.text

    assert "volcano" in answer("alice", "volcano", "w1") and schedule.current.labels == ("volcano",)
    assert "volcano is on screen right now" in answer("bob", "volcano", "w2")
    queued = answer("bob", "pizza", "w3")
    assert "pizza" in queued and ("#1" in queued or "after 0 more" in queued)
    clock.now += 60
    schedule.tick()
    assert "just had volcano" in answer("dave", "volcano", "w4")
    suggestion = answer("erin", "volcanoe", "w5")
    assert '"volcanoe"' in suggestion and ("volcano." in suggestion or "volcano?" in suggestion)
    unknown = answer("erin", "lava mountain", "w6")  # chatter-like, and erin just had a hint: still answered
    assert "don't know that one" in unknown or "not in my dreams" in unknown

    autopiloted, _ = make(vocab, replies=False, autopilot=True, playlist=("volcano",))
    autopiloted.tick()
    adopted = autopiloted.handle(chat("web", "volcano", source="web", msg_id="w7"))
    assert adopted.changed and [a.reply_to for a in adopted.answers] == ["w7"], "adopting the autopilot's subject"
