"""The scheduler node as a real process: chat in, latched target/overlay and replies out."""

import threading
import time

import pytest

from dreamgraph.graph.core.message import ParamSet
from dreamgraph.graph.testing.harness import GraphHarness
from dreamgraph.nodes.common.messages import ChatMessage

VOLCANO, PIZZA = 980, 963


def chat(user, text, **fields):
    return ChatMessage(
        source="twitch",
        channel="#c",
        user=user,
        display_name=user.title(),
        text=text,
        message_id=f"id-{user}",
        **fields,
    )


class Recorder:
    """Collects a non-latched topic in the background, so nothing published after start() is missed."""

    def __init__(self, graph, topic, seconds=30.0):
        self.messages = []
        self._thread = threading.Thread(target=self._run, args=(graph, topic, seconds), daemon=True)
        self._thread.start()
        time.sleep(0.5)  # the subscription connects

    def _run(self, graph, topic, seconds):
        for env in graph.client.listen(topic, seconds):
            self.messages.append(env.msg)

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msg in list(self.messages):
                if predicate(msg):
                    return msg
            time.sleep(0.05)
        raise AssertionError(f"no matching message; got {[m.text for m in self.messages]}")


@pytest.fixture
def graph():
    launch = {
        "nodes": [
            {
                "name": "scheduler",
                "node": "scheduler",
                "params": {"playlist": ["goldfish"], "hold_seconds": 60, "seed": 1},
            }
        ]
    }
    with GraphHarness(launch) as harness:
        yield harness


def test_autopilot_then_a_request_with_overlay_and_reply(graph):
    # Latched: a late subscriber still gets the autopilot subject published at start-up.
    assert graph.wait_for("target", lambda m: m.labels == ["goldfish"]).msg.layout == "single"
    assert graph.wait_for("overlay").msg.text == "goldfish"
    replies = Recorder(graph, "chat_reply")
    graph.publish("chat", chat("alice", "pizza + volcano please"))
    target = graph.wait_for("target", lambda m: m.class_ids == [PIZZA, VOLCANO]).msg
    assert target.layout == "top-bottom" and target.requested_by == "alice" and target.weights == [1.0, 1.0]
    assert graph.wait_for("overlay", lambda m: m.text.startswith("@")).msg.text == "@Alice: pizza & volcano"
    reply = replies.wait_for(lambda m: "pizza with volcano" in m.text)
    assert reply.channel == "#c" and reply.reply_to == "id-alice"


def test_queue_and_moderator_skip_and_live_layout(graph):
    replies = Recorder(graph, "chat_reply")
    graph.publish("chat", chat("alice", "volcano"))
    graph.wait_for("target", lambda m: m.class_ids == [VOLCANO])
    graph.publish("chat", chat("bob", "pizza + goldfish"))
    queued = replies.wait_for(lambda m: "Bob" in m.text)
    assert "pizza with goldfish" in queued.text
    graph.publish("chat", chat("mod", "!skip", badges=["moderator/1"]))
    graph.wait_for("target", lambda m: m.labels == ["pizza", "goldfish"])
    graph.publish("_param", ParamSet(node="scheduler", name="layout", value="horizontal"))
    assert graph.wait_for("target", lambda m: m.layout == "horizontal").msg.labels == ["pizza", "goldfish"]


def test_hint_for_a_misspelled_word(graph):
    replies = Recorder(graph, "chat_reply")
    graph.publish("chat", chat("carol", "vulcano"))
    hint = replies.wait_for(lambda m: "Carol" in m.text)
    assert "volcano" in hint.text and "vulcano" in hint.text


def test_semantic_words_param_maps_free_words_to_a_class():
    launch = {
        "nodes": [
            {
                "name": "scheduler",
                "node": "scheduler",
                "params": {"playlist": ["goldfish"], "semantic_words": True, "seed": 1},
            }
        ]
    }
    with GraphHarness(launch) as graph:
        graph.wait_for("target", lambda m: m.labels == ["goldfish"], timeout=60)
        graph.publish("chat", chat("alice", "lava mountain"))
        target = graph.wait_for("target", lambda m: m.class_ids == [VOLCANO]).msg
        assert target.requested_by == "alice" and target.labels == ["volcano"]


def test_unbounded_or_non_finite_times_are_refused_and_the_old_value_stays(graph):
    too_long = graph.cli("param", "set", "scheduler", "hold_seconds", "1e308")
    assert too_long.returncode == 1 and "hold_seconds must be <= 3600" in too_long.stderr, too_long
    endless = graph.cli("param", "set", "scheduler", "idle_seconds", "inf")
    assert endless.returncode == 1 and "idle_seconds must be a finite number" in endless.stderr, endless
    assert graph.cli("param", "set", "scheduler", "cooldown_seconds", "10").returncode == 0
    status = graph.wait_for("_status", lambda s: s.node == "scheduler" and s.params["cooldown_seconds"] == 10).msg
    assert status.params["hold_seconds"] == 60 and status.params["idle_seconds"] == 60
