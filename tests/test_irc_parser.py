"""The IRC/Twitch line parser and the outgoing-line builder, on recorded Twitch lines and hostile input."""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreamgraph.nodes.chat.irc import (
    IrcLine,
    channel_name,
    chat_line,
    clean_text,
    emote_ranges,
    escape_tag_value,
    parse_line,
    privmsg,
    unescape_tag_value,
    without_emotes,
)
from dreamgraph.nodes.chat.ratelimit import SlidingWindow

LINES_FILE = Path(__file__).parent / "data" / "twitch_lines.txt"


def recorded_lines() -> list[bytes]:
    return [raw for raw in LINES_FILE.read_bytes().split(b"\n") if not raw.startswith(b"# ")]


def chat_by_id(suffix: str):
    for raw in recorded_lines():
        if f"id=11111111-aaaa-4bbb-8ccc-0000000000{suffix};".encode() in raw:
            return chat_line(parse_line(raw), now=42.0)
    raise AssertionError(f"no recorded line with id ...{suffix}")


def test_every_recorded_line_parses_without_raising():
    lines = recorded_lines()
    assert len(lines) > 30
    parsed = [parse_line(raw) for raw in lines]
    chats = [chat_line(line) for line in parsed if line is not None]
    assert sum(chat is not None for chat in chats) >= 15
    assert sum(line is None for line in parsed) >= 4  # tags only, prefix only, blank, "@"


def test_plain_viewer_message():
    chat = chat_by_id("01")
    assert chat.channel == "#dreamchannel"
    assert chat.user == "viewer_one" and chat.display_name == "Viewer_One"
    assert chat.text == "volcano"
    assert chat.message_id == "11111111-aaaa-4bbb-8ccc-000000000001"
    assert chat.timestamp == pytest.approx(1700000000.123)
    assert chat.badges == [] and not chat.is_moderator and not chat.is_action


def test_moderator_and_broadcaster():
    mod = chat_by_id("02")
    assert mod.is_moderator and mod.badges == ["moderator/1", "subscriber/12"] and mod.text == "!skip"
    streamer = chat_by_id("03")
    assert streamer.is_moderator and streamer.badges == ["broadcaster/1"]


def test_me_action_and_escaped_display_name():
    chat = chat_by_id("04")
    assert chat.is_action and chat.text == "wants a pizza + volcano"
    assert chat.display_name == "Action Hero"


def test_unicode_text_and_name():
    chat = chat_by_id("05")
    assert chat.display_name == "日本語ユーザー" and chat.text == "火山 🌋 please"


def test_tag_escapes_and_trailing_colon_text():
    line = parse_line(next(raw for raw in recorded_lines() if b"id=11111111-aaaa-4bbb-8ccc-000000000006;" in raw))
    assert line.tags["system-msg"] == "a;b c\\d\re\nf"
    assert chat_line(line).text == ":) starts with a colon"


def test_bad_escapes_bad_timestamps_empty_text():
    assert chat_by_id("07").display_name == "Lonely"  # a trailing lone backslash is dropped
    weird = chat_by_id("08")
    assert weird.text == "" and weird.timestamp == 42.0
    assert weird.display_name == "WeirdxEscape"  # an unknown escape keeps the character
    spaced = chat_by_id("09")
    assert spaced.display_name == "nodisplay"  # empty display-name falls back to the login
    assert spaced.channel == "#dreamchannel" and spaced.text == "spaces around" and spaced.timestamp == 42.0
    assert chat_by_id("10").badges == []


def test_emotes_are_cut_out_by_their_utf16_ranges():
    assert chat_by_id("11").text == "bee"  # "Kappa bee Kappa"
    # the volcano emoji counts two UTF-16 code units, so the emote is at 3-7, not at 2-6 as code points would say
    assert chat_by_id("12").text.split() == ["🌋", "volcano"]
    assert chat_by_id("13").text == ""  # emotes only: nothing left to ask for
    action = chat_by_id("21")
    assert action.is_action and action.text == "wants a bee"  # a /me line's ranges count from after "ACTION "


def test_reply_keeps_its_own_text_and_never_the_parents():
    reply = chat_by_id("14")
    assert reply.text == "@DreamBot pizza"  # the scheduler strips the mention, the parent's body is ignored
    assert "volcano" not in reply.text


def test_channel_points_reward_and_bits():
    redeemed = chat_by_id("15")
    assert redeemed.reward_id == "6f1b7a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b" and redeemed.bits == 0
    assert redeemed.text == "volcano" and redeemed.badges == ["subscriber/3"]
    cheer = chat_by_id("16")
    assert cheer.bits == 500 and cheer.reward_id == "" and cheer.text.split() == ["kit", "fox"]  # cheermotes cut


def test_hostile_emote_ranges_and_bits():
    beyond = chat_by_id("17")
    assert beyond.text == "bee" and beyond.bits == 0  # ranges past the end ignored; 20 digits is no count
    overlap = chat_by_id("18")
    assert overlap.text == "volcano" and overlap.bits == 0  # overlapping ranges merged; negative, reversed skipped
    assert emote_ranges("1:0-6/2:0-4,3-6/3:-2-4,6-2,a-b,,-/:") == [(0, 7)]
    assert emote_ranges("25:12-16,0-4/7:5-5") == [(0, 6), (12, 17)]
    assert without_emotes("Kappa", "25:0-99999") == " " and without_emotes("bee", "25:-3--1") == "bee"


def test_mangled_display_name_is_kept_for_the_scheduler_to_replace():
    chat = chat_by_id("19")
    assert "\ufffd" in chat.display_name and chat.user == "mangled" and chat.text == "kit fox"


def test_resubscription_message_is_a_chat_line():
    resub = chat_by_id("20")
    assert (resub.user, resub.display_name, resub.text) == ("resubber", "Resubber", "volcano please")
    assert resub.channel == "#dreamchannel" and resub.message_id.endswith("20")
    announcement = parse_line(b"@login=mod;msg-id=announcement :tmi.twitch.tv USERNOTICE #dreamchannel :volcano")
    assert chat_line(announcement) is None  # only a subscriber's own words count
    assert chat_line(parse_line(b"@msg-id=resub :tmi.twitch.tv USERNOTICE #dreamchannel :volcano")) is None  # nobody


def test_control_commands():
    by_command = {}
    for raw in recorded_lines():
        line = parse_line(raw)
        if line is not None:
            by_command.setdefault(line.command, line)
    assert by_command["PING"].params == ["tmi.twitch.tv"]
    assert "RECONNECT" in by_command
    assert by_command["CAP"].params == ["*", "ACK", "twitch.tv/tags twitch.tv/commands"]
    assert by_command["ROOMSTATE"].tags["room-id"] == "12345678"
    assert parse_line(b"privmsg #c :x").command == "PRIVMSG"


def test_control_characters_are_removed_from_chat_text():
    texts = [
        chat_line(line).text
        for line in map(parse_line, recorded_lines())
        if line is not None and chat_line(line) is not None
    ]
    assert "text with control chars bold colour 4red" in texts
    assert all(not any(ord(c) < 32 for c in text) for text in texts)


def test_hostile_bytes():
    huge_tags = b"@" + b";".join(b"k%d=%s" % (i, b"\\" * 7 + b"x" * 50) for i in range(2000))
    cases = [
        b"",
        b"\r\n",
        b"\xff\xfe\xfd",
        huge_tags + b" :a!b@c PRIVMSG #c :hi",
        b"@display-name=\xc3\x28;id=1 :a!b@c PRIVMSG #c :\xe2\x82 broken utf8",
        b":a!b@c PRIVMSG #c :" + b"x" * 100000,
        b"@=\\ :a PRIVMSG",
        b"\x00\x00 PRIVMSG #c :\x00",
    ]
    for raw in cases:
        line = parse_line(raw)
        if line is not None:
            chat_line(line)
    broken = chat_line(parse_line(cases[4]))
    assert broken.text.endswith("broken utf8") and "\ufffd" in broken.display_name


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_parser_never_raises_on_any_bytes(raw):
    line = parse_line(raw)
    if line is not None:
        assert isinstance(line, IrcLine) and line.command
        chat_line(line)


irc_ish = st.lists(
    st.sampled_from(
        [
            "@",
            ":",
            " ",
            ";",
            "=",
            "\\",
            "\\s",
            "\\:",
            "!",
            "@",
            "#c",
            "PRIVMSG",
            "PING",
            "a",
            "ACTION",
            "\x01",
            "\r",
            "\n",
            "é",
            "🌋",
            "\x00",
            "tmi-sent-ts",
            "badges",
            "mod=1",
            "display-name",
            "emotes",
            "25",
            "0",
            "-",
            ",",
            "/",
            "-1",
            "4294967296",
            "bits",
            "Cheer100",
            "custom-reward-id",
            "USERNOTICE",
            "login",
            "msg-id",
            "resub",
        ]
    ),
    max_size=60,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(irc_ish)
def test_parser_never_raises_on_irc_like_text(text):
    line = parse_line(text.encode("utf-8", errors="surrogatepass"))
    if line is not None:
        chat = chat_line(line, now=1.0)
        if chat is not None:
            assert "\r" not in chat.text and "\n" not in chat.text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=100), st.lists(st.tuples(st.integers(-5, 300), st.integers(-5, 300)), max_size=10))
def test_any_emote_ranges_only_ever_remove_text(text, ranges):
    tag = "25:" + ",".join(f"{start}-{end}" for start, end in ranges)
    kept = without_emotes(text, tag)
    assert len(kept) <= len(text)
    assert set(kept) <= set(text) | {" "}


@given(st.text(max_size=200))
def test_tag_escaping_round_trips(value):
    assert unescape_tag_value(escape_tag_value(value)) == value


@given(st.text(max_size=2000))
def test_outgoing_text_is_one_safe_line(text):
    line = privmsg("#c", text, reply_to="x\r\ny z", with_tags=True)
    if line is not None:
        assert "\r" not in line and "\n" not in line and "\x00" not in line
        body = line.split("PRIVMSG #c :", 1)[1]
        assert len(body) <= 500 and not body.startswith(("/", "."))


def test_privmsg_threading_and_injection():
    assert privmsg("#c", "hi\r\nQUIT :bye") == "PRIVMSG #c :hi  QUIT :bye"
    assert privmsg("#c", "hi", reply_to="abc") == "PRIVMSG #c :hi"  # no tags cap: no tags
    assert privmsg("#c", "hi", reply_to="a b;c", with_tags=True) == "@reply-parent-msg-id=a\\sb\\:c PRIVMSG #c :hi"
    assert privmsg("#c", "/ban someone") == "PRIVMSG #c :ban someone"
    assert privmsg("#c", " \r\n\x01 ") is None
    assert len(privmsg("#c", "x" * 900).split(" :", 1)[1]) == 500
    assert clean_text("a\u2028b\x7fc") == "a b c"


def test_channel_names():
    assert channel_name("DreamChannel") == "#dreamchannel" and channel_name("#x") == "#x"
    for bad in ["", "#", "a b", "a,b", "x\r\nJOIN #y"]:
        with pytest.raises(ValueError):
            channel_name(bad)


def test_sliding_window_limiter():
    now = [0.0]
    limiter = SlidingWindow(3, 30.0, clock=lambda: now[0])
    assert [limiter.try_acquire() for _ in range(4)] == [True, True, True, False]
    assert limiter.wait_time() == 30.0
    now[0] = 29.9
    assert not limiter.try_acquire()
    now[0] = 30.0  # all three left the window together
    assert [limiter.try_acquire() for _ in range(4)] == [True, True, True, False]
