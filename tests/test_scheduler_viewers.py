"""The schedule with chat as Twitch viewers write it: channel points and bits jumping the line, mentions, fancy
Unicode, emote-only lines and unreadable display names (nodes/chat/schedule.py with an injected clock)."""

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st
from test_scheduler import chat, make

REWARD = "6f1b7a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"


def test_channel_points_and_bits_jump_the_line_and_the_reply_says_so(vocab):
    schedule, clock = make(vocab, priority_rewards=(REWARD,), priority_bits=100)
    schedule.handle(chat("alice", "volcano"))
    schedule.handle(chat("bob", "pizza"))
    schedule.handle(chat("carol", "bee"))
    (redeemed,) = schedule.handle(chat("dave", "goldfish", reward_id=REWARD)).replies
    assert "channel points" in redeemed.text and "jumps the line" in redeemed.text and "#1" in redeemed.text
    (cheered,) = schedule.handle(chat("erin", "tench", bits=250)).replies
    assert "250 bits" in cheered.text and "jumps the line" in cheered.text and "#2" in cheered.text
    (plain,) = schedule.handle(chat("frank", "ostrich", bits=99, reward_id="some-other-reward")).replies
    assert "jumps" not in plain.text and "#5" in plain.text
    shown = []
    while schedule.pending:
        clock.now += 60
        schedule.tick()
        shown.append(schedule.current.user)
    assert shown == ["dave", "erin", "bob", "carol", "frank"]
    assert schedule.counts["priority_requests"] == 2


def test_a_paid_request_with_nobody_waiting_starts_at_once(vocab):
    schedule, _ = make(vocab, priority_bits=100)
    (reply,) = schedule.handle(chat("erin", "volcano", bits=100)).replies
    assert schedule.current.user == "erin" and "100 bits" in reply.text and "right now" in reply.text


def test_priority_is_off_unless_configured(vocab):
    schedule, clock = make(vocab)
    schedule.handle(chat("alice", "volcano"))
    schedule.handle(chat("bob", "pizza"))
    (reply,) = schedule.handle(chat("dave", "goldfish", reward_id=REWARD, bits=10000)).replies
    assert "jumps" not in reply.text
    clock.now += 60
    schedule.tick()
    assert schedule.current.user == "bob"


def test_a_paid_place_survives_a_changed_wish(vocab):
    schedule, clock = make(vocab, priority_rewards=(REWARD,))
    schedule.handle(chat("alice", "volcano"))
    schedule.handle(chat("bob", "pizza"))
    schedule.handle(chat("dave", "goldfish", reward_id=REWARD))
    schedule.handle(chat("dave", "bee"))  # no reward this time: still first
    clock.now += 60
    schedule.tick()
    assert (schedule.current.user, schedule.current.labels) == ("dave", ("bee",))


def test_mentions_and_fancy_unicode_still_ask(vocab):
    schedule, clock = make(vocab, cooldown_seconds=0)
    requests = {
        "u1": "@DreamBot pizza",
        "u2": "dreambot: ｂｅｅ",
        "u3": "@dreambot @u1 \U0001d42f\U0001d428\U0001d425cano",  # mathematical bold "vol"
        "u4": "g\u200b\u043eldfish",
        "u5": "@tench",
        "u6": "@dreambot !dream ostriiich",
    }
    for user, text in requests.items():
        schedule.handle(chat(user, text))
    labels = [schedule.current.labels[0]]
    while schedule.pending:
        clock.now += 60
        schedule.tick()
        labels.append(schedule.current.labels[0])
    assert labels == ["pizza", "bee", "volcano", "goldfish", "tench", "ostrich"]


def test_emote_only_or_mention_only_lines_ask_for_nothing(vocab):
    schedule, _ = make(vocab)
    for text in ("", "@dreambot", "@dreambot @somebody"):
        outcome = schedule.handle(chat("alice", text))
        assert not outcome.changed and outcome.replies == []
    assert schedule.current is None and not schedule.pending


def test_unreadable_display_names_fall_back_to_the_login(vocab):
    schedule, clock = make(vocab, cooldown_seconds=0)
    schedule.handle(chat("mangled", "volcano", display_name="\ufffd\ufffd"))
    assert schedule.current.overlay == "@mangled: volcano"
    for user, shown in [("sparkles", "\u2728\u2728\u2728"), ("x" * 40, "!!!")]:
        schedule.handle(chat(user, "pizza", display_name=shown))
        clock.now += 60
        schedule.tick()
        assert schedule.current.overlay == f"@{user[:25]}: pizza"
        schedule.handle(chat("reset", "bee"))
        clock.now += 60
        schedule.tick()
    schedule.handle(chat("nihongo_user", "goldfish", display_name="日本語ユーザー"))
    clock.now += 60
    schedule.tick()
    assert schedule.current.overlay == "@日本語ユーザー: goldfish"  # letters of any script are readable


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=300),
    name=st.text(max_size=60),
    reward=st.text(max_size=80),
    bits=st.integers(-(10**6), 10**12),
)
def test_any_chat_line_is_handled_and_its_name_shown_filtered(vocab, text, name, reward, bits):
    schedule, _ = make(vocab, priority_rewards=(reward,), priority_bits=1)
    outcome = schedule.handle(chat("viewer", f"{text} volcano", display_name=name, reward_id=reward, bits=bits))
    shown = schedule.current.display_name if schedule.current else ""
    assert len(shown) <= 25 and not any(unicodedata.category(ch).startswith("C") for ch in shown)
    assert all("\n" not in reply.text and "\r" not in reply.text for reply in outcome.replies)
