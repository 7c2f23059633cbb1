"""The chat client against real servers: ngircd, and a scripted Twitch-like server for tags/PING/RECONNECT."""

import logging
import queue
import time

import pytest
from servers.irc import IrcServer, RawIrcClient, TwitchLikeServer

from dreamgraph.nodes.chat.irc_client import AuthenticationError, IrcClient, IrcSettings, Secret

TOKEN = "oauth:s3cr3ttoken"


class Inbox:
    def __init__(self):
        self.queue = queue.Queue()

    def __call__(self, chat):
        self.queue.put(chat)

    def next(self, timeout=10.0):
        return self.queue.get(timeout=timeout)


def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def settings_for(server, **overrides):
    values = dict(channel="#Test", host=server.host, port=server.port, tls=False, backoff_initial=0.1, backoff_max=0.5)
    values.update(overrides)
    return IrcSettings(**values)


@pytest.fixture
def client_factory():
    clients = []

    def make(settings, inbox=None):
        client = IrcClient(settings, on_chat=inbox or Inbox())
        clients.append(client)
        client.start()
        return client

    yield make
    for client in clients:
        client.stop()


@pytest.fixture
def open_server(tmp_path):
    with IrcServer(tmp_path) as server:
        yield server


@pytest.fixture
def password_server(tmp_path):
    with IrcServer(tmp_path, password=TOKEN) as server:
        yield server


def test_anonymous_read(open_server, client_factory):
    inbox = Inbox()
    client = client_factory(settings_for(open_server), inbox)
    assert client.wait_joined(15)
    assert client.nick.startswith("justinfan") and client.nick[9:].isdigit()
    viewer = RawIrcClient(open_server, "viewer", "#test")
    viewer.say("volcano please")
    viewer.say("\x01ACTION wants pizza\x01")
    first, second = inbox.next(), inbox.next()
    assert (first.user, first.channel, first.text) == ("viewer", "#test", "volcano please")
    assert second.is_action and second.text == "wants pizza"
    assert not client.send("hello")  # anonymous: replies are dropped and counted
    assert client.stats.replies_dropped["anonymous"] == 1
    viewer.close()


def test_authenticated_login_and_replies_reach_other_clients(password_server, client_factory):
    client = client_factory(settings_for(password_server, nick="DreamBot", token=Secret(TOKEN.removeprefix("oauth:"))))
    assert client.wait_joined(15)
    assert not client.tags_enabled  # ngircd NAKs the Twitch caps
    viewer = RawIrcClient(password_server, "viewer", "#test", password=TOKEN)
    assert client.send("One pizza with volcano\r\nQUIT :injected", reply_to="some-id")
    line = viewer.wait_for(lambda l: "PRIVMSG #test" in l)
    assert line.startswith(":dreambot!") and line.endswith(":One pizza with volcano  QUIT :injected")
    assert client.stats.replies_sent == 1
    viewer.close()


def test_bad_password_is_a_clear_error_without_the_token(password_server, client_factory, caplog):
    wrong = "oauth:wrongtoken123"
    with caplog.at_level(logging.DEBUG):
        client = client_factory(settings_for(password_server, nick="dreambot", token=Secret(wrong)))
        client._thread.join(15)
    assert client.stopped and not client.joined
    assert isinstance(client.error, AuthenticationError)
    message = str(client.error)
    assert "Bad password" in message and f"{password_server.port}" in message and "dreambot" in message
    assert "wrongtoken123" not in message and "wrongtoken123" not in caplog.text
    assert "wrongtoken123" not in repr(client.settings)


def test_replies_are_rate_limited(password_server, client_factory):
    client = client_factory(
        settings_for(password_server, nick="dreambot", token=Secret(TOKEN), reply_limit=2, reply_window=600.0)
    )
    assert client.wait_joined(15)
    viewer = RawIrcClient(password_server, "viewer", "#test", password=TOKEN)
    for n in range(4):
        client.send(f"reply {n}")
    viewer.wait_for(lambda l: l.endswith(":reply 1"))
    viewer.send("PING :sync")  # round trip: anything the bot sent before now has arrived
    viewer.wait_for(lambda l: "PONG" in l)
    said = [l for l in viewer.lines if "PRIVMSG" in l]
    assert [l.rsplit(":", 1)[1] for l in said] == ["reply 0", "reply 1"]
    assert client.stats.replies_sent == 2
    viewer.close()


def test_reconnects_and_rejoins_after_the_server_restarts(open_server, client_factory):
    inbox = Inbox()
    client = client_factory(settings_for(open_server), inbox)
    assert client.wait_joined(15)
    open_server.restart(down_for=0.5)
    assert wait_until(lambda: client.stats.connects >= 2 and client.joined, timeout=20)
    viewer = RawIrcClient(open_server, "viewer", "#test")
    viewer.say("after the restart")
    assert inbox.next(20).text == "after the restart"
    assert client.stats.connects >= 2
    viewer.close()


def test_tls_connection(tmp_path, client_factory):
    with IrcServer(tmp_path, tls=True) as server:
        inbox = Inbox()
        client = client_factory(settings_for(server, tls=True, tls_ca_file=str(server.cert_file)), inbox)
        assert client.wait_joined(15)
        viewer = RawIrcClient(server, "viewer", "#test")
        viewer.say("over tls")
        assert inbox.next().text == "over tls"
        viewer.close()


def test_twitch_tags_ping_reconnect_and_threaded_replies(client_factory):
    server = TwitchLikeServer()
    try:
        inbox = Inbox()
        client = client_factory(
            settings_for(server, channel="DreamChannel", nick="dreambot", token=Secret("abc")), inbox
        )
        assert client.wait_joined(10)
        assert server.wait_for(lambda l: l == "PASS oauth:abc")
        assert client.tags_enabled
        server.push(
            "@badges=moderator/1;display-name=Mod\\sPerson;id=m-1;mod=1;tmi-sent-ts=1700000000000 "
            ":modperson!modperson@modperson.tmi.twitch.tv PRIVMSG #dreamchannel :!skip"
        )
        chat = inbox.next()
        assert (chat.display_name, chat.message_id, chat.is_moderator, chat.timestamp) == (
            "Mod Person",
            "m-1",
            True,
            1700000000.0,
        )
        server.push("@huge=" + "x" * 40000 + " :a!a@a PRIVMSG #dreamchannel :lost in a huge line")
        server.push("@id=m-2 :b!b@b PRIVMSG #dreamchannel :\xff still here")
        assert inbox.next().text == "\xff still here"  # the over-long line was dropped whole, nothing else
        assert client.stats.unparsed_lines == 1
        server.push("PING :tmi.twitch.tv")
        server.wait_for(lambda l: l == "PONG :tmi.twitch.tv")
        client.send("thanks", reply_to="m-1")
        server.wait_for(lambda l: l == "@reply-parent-msg-id=m-1 PRIVMSG #dreamchannel :thanks")
        server.push(":tmi.twitch.tv RECONNECT")
        server.wait_for(lambda l: l == "JOIN #dreamchannel", connection=1)
        assert server.connection_count() == 2
    finally:
        server.close()
