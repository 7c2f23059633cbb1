"""The OSC node as a real process, driven by python-osc's UDP client, wired to the scheduler by a remap."""

import re
import socket

import pytest
from pythonosc.udp_client import SimpleUDPClient

from dreamgraph.graph.testing.harness import GraphHarness
from dreamgraph.nodes.common.messages import Target

VOLCANO, PIZZA, GOLDFISH = 980, 963, 1


@pytest.fixture(scope="module")
def graph():
    faders = {
        "/1/fader1": {"node": "scheduler", "param": "cooldown_seconds", "min": 0.0, "max": 600.0},
        "/1/fader2": {"param": 5},
    }  # malformed: reported at start-up
    launch = {
        "nodes": [
            {
                "name": "osc",
                "node": "osc_input",
                "remap": {"chat": "vj"},
                "params": {"port": 0, "param_node": "scheduler", "faders": faders},
            },
            {
                "name": "scheduler",
                "node": "scheduler",
                "remap": {"chat": "vj"},
                "params": {"autopilot": False, "seed": 1},
            },
        ]
    }
    with GraphHarness(launch) as harness:
        line = harness.wait_output("listening for OSC on udp://")
        harness.port = int(re.search(r":(\d+)$", line).group(1))
        yield harness


@pytest.fixture
def osc(graph):
    return SimpleUDPClient("127.0.0.1", graph.port)


def send_until(graph, osc, address, value, topic, predicate, tries=10):
    """UDP may be sent before the scheduler has connected to the OSC node: repeat until the effect shows."""
    for _ in range(tries - 1):
        osc.send_message(address, value)
        try:
            return graph.wait_for(topic, predicate, timeout=2.0).msg
        except AssertionError:
            continue
    osc.send_message(address, value)
    return graph.wait_for(topic, predicate, timeout=2.0).msg


def test_target_by_name_goes_through_the_scheduler(graph, osc):
    target = send_until(
        graph, osc, "/dream/target", ["volcano", "pizza"], "target", lambda m: m.class_ids == [VOLCANO, PIZZA]
    )
    assert isinstance(target, Target) and target.requested_by == "osc"
    assert graph.wait_for("overlay", lambda m: "volcano" in m.text).msg.text == "volcano & pizza"


def test_class_ids_and_layout(graph, osc):
    send_until(graph, osc, "/dream/class", [GOLDFISH, VOLCANO], "target", lambda m: m.class_ids == [GOLDFISH, VOLCANO])
    target = send_until(graph, osc, "/dream/layout", "vertical", "target", lambda m: m.layout == "vertical")
    assert target.class_ids == [GOLDFISH, VOLCANO]


def test_param_and_fader_reach_the_addressed_node(graph, osc):
    def scheduler_param(name, value):
        return lambda m: m.node == "scheduler" and m.params[name] == value

    send_until(graph, osc, "/dream/param", ["hold_seconds", 42.0], "_status", scheduler_param("hold_seconds", 42.0))
    status = send_until(graph, osc, "/1/fader1", 0.5, "_status", scheduler_param("cooldown_seconds", 300.0))
    assert status.errors.get("bad_param", 0) == 0


def test_bad_values_and_garbage_are_ignored_and_counted(graph, osc):
    osc.send_message("/1/fader1", 1.5)  # out of range
    osc.send_message("/dream/class", 5000)  # not a class
    osc.send_message("/dream/target", 3)  # wrong type
    osc.send_message("/dream/hold", "long")  # wrong type
    osc.send_message("/no/such/address", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
        raw.sendto(b"hello, not osc", ("127.0.0.1", graph.port))
        raw.sendto(b"/dream/target\x00\x00\x00,s\x00", ("127.0.0.1", graph.port))  # truncated
    status = graph.wait_for(
        "_status",
        lambda m: (
            m.node == "osc"
            and m.errors.get("bad_datagram", 0) >= 2
            and m.errors.get("bad_value", 0) >= 3
            and m.errors.get("unknown_address", 0) >= 1
            and m.errors.get("out_of_range", 0) >= 1
        ),
    )
    assert status.msg.errors["bad_fader"] == 1
    osc.send_message("/dream/target", "pizza")  # still working
    graph.wait_for("target", lambda m: m.class_ids == [PIZZA])
