"""The Twitch chat node as a real process against a real IRC server (ngircd), wired to the scheduler."""
from graph.testing import GraphHarness
from nodes.messages import Target
from servers.irc import IrcServer, RawIrcClient

TOKEN = "oauth:n0de-t0ken-value"
PIZZA, VOLCANO = 963, 980


def launch(server, **params):
    chat_params = {"channel": "DreamTest", "host": server.host, "port": server.port, "tls": False,
                   "backoff_max": 0.5, **params}
    return {"nodes": [{"name": "twitch", "node": "nodes.twitch_chat", "params": chat_params},
                      {"name": "scheduler", "node": "nodes.scheduler", "params": {"autopilot": False, "seed": 1}}]}


def test_chat_drives_the_scheduler_and_replies_reach_the_channel(tmp_path):
    with IrcServer(tmp_path, password=TOKEN) as server, \
            GraphHarness(launch(server, nick="dreambot"), env={"TWITCH_OAUTH": TOKEN}) as graph:
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
    with IrcServer(tmp_path, password=TOKEN) as server, \
            GraphHarness(launch(server, nick="dreambot", token_env="", token_file=str(tmp_path / "token")),
                         env={"TWITCH_OAUTH": ""}) as graph:
        (tmp_path / "token").write_text(wrong + "\n")
        graph.wait_output("refused the login as dreambot")
        status = graph.wait_for("_status", lambda m: m.node == "twitch" and m.errors.get("login_refused"))
        assert status.msg.errors["login_refused"] == 1
    assert "Bad password" in graph.text()
    assert "wr0ng-t0ken-value" not in graph.text()
