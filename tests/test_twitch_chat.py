"""The Twitch chat node as a real process, wired to the scheduler: against a real IRC server (ngircd), and against
a scripted Twitch-like server for lines with Twitch's full tags (which ngircd never sends)."""

import json
import subprocess
import sys
import time
from types import SimpleNamespace

from servers.irc import IrcServer, RawIrcClient, TwitchLikeServer
from servers.rtmp import free_port

from dreamgraph.graph.testing.harness import GraphHarness
from dreamgraph.nodes.chat.irc import escape_tag_value
from dreamgraph.nodes.common.messages import Target

TOKEN = "oauth:n0de-t0ken-value"
PIZZA, VOLCANO, KIT_FOX = 963, 980, 278
REWARD = "6f1b7a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"


def launch(server, **params):
    chat_params = {
        "channel": "DreamTest",
        "host": server.host,
        "port": server.port,
        "tls": False,
        "backoff_max": 0.5,
        **params,
    }
    return {
        "nodes": [
            {"name": "twitch", "node": "twitch_chat", "params": chat_params},
            {"name": "scheduler", "node": "scheduler", "params": {"autopilot": False, "seed": 1}},
        ]
    }


def test_chat_drives_the_scheduler_and_replies_reach_the_channel(tmp_path):
    with (
        IrcServer(tmp_path, password=TOKEN) as server,
        GraphHarness(launch(server, nick="dreambot"), env={"TWITCH_OAUTH": TOKEN}) as graph,
    ):
        graph.wait_output("joined #dreamtest")
        viewer = RawIrcClient(server, "viewer", "#dreamtest", password=TOKEN)
        viewer.say("pizza + volcano please")
        target = graph.wait_for("target", lambda m: m.class_ids == [PIZZA, VOLCANO]).msg
        assert isinstance(target, Target) and target.requested_by == "viewer"
        reply = viewer.wait_for(lambda line: line.startswith(":dreambot!") and "PRIVMSG #dreamtest" in line)
        assert "pizza with volcano" in reply.split(" :", 1)[1]
        viewer.close()
    assert TOKEN not in graph.text() and TOKEN.removeprefix("oauth:") not in graph.text()


def test_anonymous_reads_and_drops_replies(tmp_path):
    with IrcServer(tmp_path) as server, GraphHarness(launch(server)) as graph:
        graph.wait_output("joined #dreamtest")
        viewer = RawIrcClient(server, "viewer", "#dreamtest")
        viewer.say("volcano")
        graph.wait_for("target", lambda m: m.class_ids == [VOLCANO])
        status = graph.wait_for("_status", lambda m: m.node == "twitch" and m.errors.get("reply_dropped_anonymous"))
        assert status.msg.errors["reply_dropped_anonymous"] == 1
        viewer.close()


def test_refused_login_is_reported_without_the_token(tmp_path):
    wrong = "oauth:wr0ng-t0ken-value"
    with (
        IrcServer(tmp_path, password=TOKEN) as server,
        GraphHarness(
            launch(server, nick="dreambot", token_env="", token_file=str(tmp_path / "token")), env={"TWITCH_OAUTH": ""}
        ) as graph,
    ):
        (tmp_path / "token").write_text(wrong + "\n")
        graph.wait_output("refused the login as dreambot")
        status = graph.wait_for("_status", lambda m: m.node == "twitch" and m.errors.get("login_refused"))
        assert status.msg.errors["login_refused"] == 1
    assert "Bad password" in graph.text()
    assert "wr0ng-t0ken-value" not in graph.text()


def test_a_closed_port_counts_connection_failures_and_says_why():
    closed = SimpleNamespace(host="127.0.0.1", port=free_port())
    with GraphHarness(launch(closed, backoff_max=0.2)) as graph:
        status = graph.wait_for("_status", lambda m: m.node == "twitch" and m.errors.get("connect_failed", 0) >= 3)
    assert "ConnectionRefusedError" in status.msg.problem, status.msg.problem


def test_mentions_and_fancy_unicode_through_a_real_server(tmp_path):
    with (
        IrcServer(tmp_path, password=TOKEN) as server,
        GraphHarness(launch(server, nick="dreambot"), env={"TWITCH_OAUTH": TOKEN}) as graph,
    ):
        graph.wait_output("joined #dreamtest")
        viewer = RawIrcClient(server, "viewer", "#dreamtest", password=TOKEN)
        viewer.say("@dreambot ｐｉｚｚａ")  # fullwidth
        graph.wait_for("target", lambda m: m.class_ids == [PIZZA])
        viewer.say("dreambot: v\u200b\u043elcanooo")  # a zero-width space, a Cyrillic "o", stretched
        reply = viewer.wait_for(lambda line: line.startswith(":dreambot!") and "volcano" in line)
        assert "@viewer" in reply.lower()
        viewer.close()


def twitch_line(msg_id: str, login: str, text: str, tags: dict | None = None, command: str = "PRIVMSG") -> str:
    """A line as Twitch sends it, with the full set of tags a viewer's message carries."""
    values = {
        "badge-info": "",
        "badges": "",
        "client-nonce": "n" + msg_id,
        "color": "#1E90FF",
        "display-name": login.title(),
        "emotes": "",
        "first-msg": "0",
        "flags": "",
        "id": msg_id,
        "mod": "0",
        "returning-chatter": "0",
        "room-id": "12345678",
        "subscriber": "0",
        "tmi-sent-ts": "1700000000000",
        "turbo": "0",
        "user-id": "1001",
        "user-type": "",
        **(tags or {}),
    }
    prefix = "tmi.twitch.tv" if command == "USERNOTICE" else f"{login}!{login}@{login}.tmi.twitch.tv"
    raw_tags = ";".join(f"{key}={escape_tag_value(value)}" for key, value in values.items())
    return f"@{raw_tags} :{prefix} {command} #dreamchannel :{text}"


def resub_line(msg_id: str, text: str, emotes: str = "") -> str:
    return twitch_line(
        msg_id,
        "resubber",
        text,
        command="USERNOTICE",
        tags={
            "login": "resubber",
            "msg-id": "resub",
            "msg-param-cumulative-months": "7",
            "badge-info": "subscriber/7",
            "badges": "subscriber/6",
            "emotes": emotes,
            "system-msg": "Resubber subscribed at Tier 1.",
        },
    )


def twitch_launch(server, chat_params=None, scheduler_params=None):
    chat = {
        "channel": "DreamChannel",
        "nick": "dreambot",
        "host": server.host,
        "port": server.port,
        "tls": False,
        "backoff_max": 0.5,
        "reply_limit": 100,
        **(chat_params or {}),
    }
    nodes = [{"name": "twitch", "node": "twitch_chat", "params": chat}]
    if scheduler_params is not None:
        nodes.append(
            {"name": "scheduler", "node": "scheduler", "params": {"autopilot": False, "seed": 1, **scheduler_params}}
        )
    return {"nodes": nodes}


def wait_until_chat_flows(server, timeout=30.0):
    """A message published before its subscriber has connected is lost: ask (a misspelling, which the bot
    answers with a hint) until an answer arrives, so chat reaches the scheduler and its replies the chat node."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while time.monotonic() < deadline:
        attempt += 1
        server.push(twitch_line(f"hello-{attempt}", f"greeter{attempt}", "vulcano"))
        try:
            server.wait_for(lambda line: line.startswith("@reply-parent-msg-id=hello-"), timeout=1.0)
            return
        except TimeoutError:
            continue
    raise AssertionError(f"no answer from the bot within {timeout} s")


def bot_reply(server, msg_id: str) -> str:
    """The text of the bot's reply threaded under msg_id."""
    line = server.wait_for(lambda l: l.startswith(f"@reply-parent-msg-id={msg_id} PRIVMSG #dreamchannel :"))
    return line.split(" :", 1)[1]


def test_twitch_tags_replies_emotes_rewards_and_bits_steer_the_queue():
    server = TwitchLikeServer()
    params = {"priority_rewards": [REWARD], "priority_bits": 100}
    try:
        with GraphHarness(twitch_launch(server, scheduler_params=params), env={"TWITCH_OAUTH": "oauth:abc"}) as graph:
            graph.wait_output("joined #dreamchannel")
            wait_until_chat_flows(server)
            # Twitch's reply button: "@DreamBot " in front, the parent's text in a tag that must not count
            server.push(
                twitch_line(
                    "r-1",
                    "replier",
                    "@DreamBot pizza",
                    {
                        "reply-parent-display-name": "DreamBot",
                        "reply-parent-msg-body": "@Someone volcano, coming up!",
                        "reply-parent-msg-id": "bot-1",
                        "reply-parent-user-id": "2000",
                        "reply-parent-user-login": "dreambot",
                        "reply-thread-parent-msg-id": "bot-1",
                        "reply-thread-parent-user-login": "dreambot",
                    },
                )
            )
            target = graph.wait_for("target", lambda m: m.class_ids == [PIZZA]).msg
            assert target.requested_by == "replier" and "pizza" in bot_reply(server, "r-1")
            server.push(twitch_line("e-1", "emotefan", "Kappa bee Kappa", {"emotes": "25:0-4,10-14"}))
            assert "bee" in bot_reply(server, "e-1")
            server.push(resub_line("s-1", "volcano"))  # subscription messages are off by default
            server.push(
                twitch_line(
                    "p-1",
                    "spender",
                    "goldfish",
                    {"custom-reward-id": REWARD, "badge-info": "subscriber/3", "badges": "subscriber/3,premium/1"},
                )
            )
            redeemed = bot_reply(server, "p-1")
            assert "channel points" in redeemed and "jumps the line" in redeemed and "goldfish" in redeemed
            server.push(
                twitch_line("c-1", "cheerer", "Cheer400 tench Cheer100", {"bits": "500", "badges": "bits/1000"})
            )
            cheered = bot_reply(server, "c-1")
            assert "500 bits" in cheered and "jumps the line" in cheered and "tench" in cheered
            for n, label in enumerate(["goldfish", "tench", "bee"]):
                server.push(twitch_line(f"m-{n}", "modperson", "!skip", {"badges": "moderator/1", "mod": "1"}))
                graph.wait_for("target", lambda m, label=label: m.labels == [label])
            assert not any("s-1" in line for line in server.lines())
    finally:
        server.close()


def test_hostile_tagged_lines_never_crash_the_node_and_unreadable_names_fall_back():
    server = TwitchLikeServer()
    hostile = [
        twitch_line("h-1", "beyond", "Kappa", {"emotes": "25:0-4,100-200,4294967296-4294967300,-1-3"}),
        twitch_line("h-2", "overlap", "KappaHD", {"emotes": "1:0-6/2:0-4,3-6/3:-2-4,6-2,a-b,,-/:/4:"}),
        twitch_line("h-3", "halves", "🌋🌋", {"emotes": "25:1-1,3-2"}),  # ranges splitting a surrogate pair
        twitch_line("h-4", "onlyemotes", "Kappa Kappa 4Head", {"emotes": "25:0-4,6-10/354:12-16"}),
        twitch_line("h-5", "numbers", "lol", {"bits": "-5", "tmi-sent-ts": "-1", "user-id": "-1"}),
        twitch_line("h-6", "huge", "lol", {"bits": "9" * 40, "custom-reward-id": "x\r\nPRIVMSG #x :y" * 20}),
        twitch_line("h-7", "mentioner", "@dreambot"),
        twitch_line("h-8", "bidi", "lol", {"display-name": "\u202e\u2066" * 30, "badges": ",,,/,/"}),
        resub_line("h-9", "Kappa", emotes="25:0-99999"),
    ]
    try:
        with GraphHarness(twitch_launch(server, scheduler_params={}), env={"TWITCH_OAUTH": "oauth:abc"}) as graph:
            graph.wait_output("joined #dreamchannel")
            wait_until_chat_flows(server)
            for line in hostile:
                server.push(line)
            mangled = twitch_line("k-1", "mangled", "kit fox", {"display-name": "@@NAME@@"})
            server.push(mangled.encode().replace(b"@@NAME@@", b"\xff\xfe\xfd"))  # invalid UTF-8
            assert graph.wait_for("overlay", lambda m: "kit fox" in m.text).msg.text == "@mangled: kit fox"
            assert "@mangled" in bot_reply(server, "k-1")
            statuses = graph.statuses()
            assert statuses["twitch"].errors == {} and statuses["scheduler"].errors == {}
            replies = [line for line in server.lines() if "PRIVMSG" in line and "=hello-" not in line]
            assert len(replies) == 1  # the emote-only, mention-only and chatter lines asked for nothing
        assert "Traceback" not in graph.text()
    finally:
        server.close()


def test_topic_echo_shows_the_reward_id_bits_and_subscription_messages():
    server = TwitchLikeServer()
    launch_spec = twitch_launch(server, chat_params={"subscription_messages": True})
    lines = [
        twitch_line("p-1", "spender", "volcano", {"custom-reward-id": REWARD}),
        twitch_line("c-1", "cheerer", "Cheer100 bee", {"bits": "100"}),
        resub_line("s-1", "Kappa pizza please", emotes="25:0-4"),
    ]
    try:
        with GraphHarness(launch_spec, env={"TWITCH_OAUTH": "oauth:abc"}) as graph:
            graph.wait_output("joined #dreamchannel")
            echo = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dreamgraph.graph.cli",
                    "topic",
                    "echo",
                    "chat",
                    "--count",
                    "6",
                    "--timeout",
                    "60",
                ],
                env=graph.env,
                stdout=subprocess.PIPE,
                text=True,
            )
            deadline = time.monotonic() + 60
            while echo.poll() is None and time.monotonic() < deadline:  # until the echo has subscribed and seen 6
                for line in lines:
                    server.push(line)
                time.sleep(0.5)
            out, _ = echo.communicate(timeout=30)
        assert echo.returncode == 0
        seen = {m["message_id"]: m for m in map(json.loads, out.splitlines())}
        assert seen["p-1"]["reward_id"] == REWARD and seen["p-1"]["bits"] == 0 and seen["p-1"]["text"] == "volcano"
        assert seen["c-1"]["bits"] == 100 and seen["c-1"]["reward_id"] == "" and seen["c-1"]["text"] == "bee"
        assert (seen["s-1"]["user"], seen["s-1"]["text"]) == ("resubber", "pizza please")
    finally:
        server.close()
