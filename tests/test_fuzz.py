"""Fuzzing what reads untrusted input: the wire decoder, the launch-file parser, the IRC line parser, OSC input.

Each property is "either a result or the module's own error, never another exception". CI runs a small budget;
for a long run set DREAMGRAPH_FUZZ_EXAMPLES, e.g. ``DREAMGRAPH_FUZZ_EXAMPLES=20000 pytest tests/test_fuzz.py``.
"""

from __future__ import annotations

import os
import pathlib
import socket as socket_module
import tempfile

import msgpack
import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dreamgraph.graph.core import message as wire
from dreamgraph.graph.orchestration.launchfile import LaunchError, parse_launch

EXAMPLES = int(os.environ.get("DREAMGRAPH_FUZZ_EXAMPLES", "200"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- the wire decoder ----------------------------------------------------------------------------------------------

plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(-(2**63), 2**63), inner, max_size=4)
    ),
    max_leaves=12,
)


def valid_frames() -> list[list[bytes]]:
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    messages = [
        wire.Text(text="hello"),
        wire.Counter(n=3, stamp=1.5),
        wire.Image(image=image, seq=2),
        wire.Status(node="n", inputs={"a": {"rate": 1.0}}),
        wire.ParamSet(node="*", name="fps", value=30),
    ]
    return [[bytes(memoryview(f)) for f in wire.encode("topic", m, 1, "src")] for m in messages]


VALID = valid_frames()


def check_decode(frames):
    try:
        env = wire.decode(frames)
    except wire.DecodeError:
        return
    assert isinstance(env.msg, wire.Message)
    env.msg.validate()  # whatever decodes fits its declared type


@fuzz
@given(st.lists(st.binary(max_size=64), max_size=5))
def test_decode_random_frames(frames):
    check_decode(frames)


@fuzz
@given(st.sampled_from(VALID), st.data())
def test_decode_mutated_frames(frames, data):
    frames = list(frames)
    index = data.draw(st.integers(0, len(frames) - 1))
    frame = bytearray(frames[index])
    for _ in range(data.draw(st.integers(1, 4))):
        action = data.draw(st.sampled_from(["flip", "cut", "grow", "drop", "dup"]))
        if action == "flip" and frame:
            at = data.draw(st.integers(0, len(frame) - 1))
            frame[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            frame = frame[: data.draw(st.integers(0, len(frame)))]
        elif action == "grow":
            frame += data.draw(st.binary(min_size=1, max_size=8))
        elif action == "drop" and len(frames) > 1:
            frames.pop(data.draw(st.integers(0, len(frames) - 1)))
            index = min(index, len(frames) - 1)
        elif action == "dup":
            frames.append(frames[-1])
    frames[index] = bytes(frame)
    check_decode(frames)


@fuzz
@given(
    type_name=st.sampled_from(sorted(wire.registered_types())) | st.text(max_size=10),
    fields=plain,
    arrays=plain,
    seq=plain,
    extra=st.lists(st.binary(max_size=32), max_size=2),
)
@example(type_name=sorted(wire.registered_types())[0], fields={}, arrays=[], seq=float("inf"), extra=[])  # CI found
def test_decode_hostile_headers(type_name, fields, arrays, seq, extra):
    header = msgpack.packb({"t": type_name, "q": seq, "s": "x", "w": 1.0, "f": fields, "a": arrays}, use_bin_type=True)
    check_decode([b"topic\0", header, *extra])


@fuzz
@given(
    fields=st.dictionaries(st.sampled_from(["image", "seq", "stamp", "text"]), plain, max_size=3),
    descriptor=st.tuples(
        st.sampled_from(["image", "seq", "x"]),
        st.sampled_from(["uint8", "float32", "object", "<U4", "int64"]),
        st.lists(st.integers(-3, 2**40), max_size=6),
    ),
    payload=st.binary(max_size=64),
)
def test_decode_hostile_arrays(fields, descriptor, payload):
    header = msgpack.packb(
        {"t": wire.Image.TYPE, "q": 1, "s": "x", "w": 1.0, "f": fields, "a": [list(descriptor)]}, use_bin_type=True
    )
    check_decode([b"video\0", header, payload])


# -- the launch-file parser ------------------------------------------------------------------------------------

NODE_MODULES = [
    "dreamgraph.graph.builtin.ticker",
    "dreamgraph.graph.builtin.counter",
    "dreamgraph.graph.builtin.nope",
    "dreamgraph.graph.builtin.ticker:Nope",
    "dreamgraph.graph.core.message",
    "",
    "zz_fuzz_missing",
]  # only these are ever imported
WORDS = [
    "name",
    "node",
    "params",
    "remap",
    "respawn",
    "respawn_delay",
    "max_restarts",
    "required",
    "machine",
    "stop_timeout",
    "args",
    "nodes",
    "include",
    "machines",
    "graph",
    "file",
    "namespace",
    "default",
    "address",
    "base_port",
    "keys",
    "secure",
    "rate",
    "ticks",
    "${arg:x}",
    "${env:HOME}",
    "${env:NOPE_FUZZ}",
    "${arg:",
    "x",
    "1e9",
    "-1",
    "true",
    "null",
]
scalar = (
    st.sampled_from(WORDS)
    | st.sampled_from(NODE_MODULES)
    | st.integers(-(2**40), 2**40)
    | st.floats()
    | st.booleans()
    | st.none()
    | st.text(max_size=12).map(lambda t: "zz_fuzz_" + t)
)
tree = st.recursive(
    scalar,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(WORDS) | st.integers(0, 3), inner, max_size=5)
    ),
    max_leaves=30,
)


def valid_launch() -> dict:
    return {
        "args": {"rate": {"default": 5}},
        "machines": {"a": {"address": "${arg:rate}"}},
        "graph": {"base_port": 7000},
        "nodes": [
            {
                "name": "tick",
                "node": "dreamgraph.graph.builtin.ticker",
                "params": {"rate": "${arg:rate}"},
                "respawn": True,
                "machine": "a",
            },
            {"name": "count", "node": "dreamgraph.graph.builtin.counter", "remap": {"ticks": "t"}},
        ],
        "include": [{"file": "other.yaml", "namespace": "ns", "args": {"rate": 2}}],
    }


def parse_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "main.yaml"
        path.write_text(text)
        (pathlib.Path(tmp) / "other.yaml").write_text(
            yaml.safe_dump(valid_launch()["nodes"][:1] and {"nodes": valid_launch()["nodes"][:1]})
        )
        try:
            launch = parse_launch(path, {}, environ={"HOME": "/root"})
        except LaunchError as err:
            assert err.problems and all(isinstance(p, str) for p in err.problems)
            return
        assert launch.nodes


@fuzz
@given(tree)
def test_launch_random_structures(data):
    parse_text(yaml.safe_dump(data))


@fuzz
@given(st.data())
def test_launch_mutated_valid_file(data):
    doc = valid_launch()
    for _ in range(data.draw(st.integers(1, 4))):
        section = data.draw(st.sampled_from(sorted(doc)))
        target = doc[section]
        if isinstance(target, list) and target:
            target = target[data.draw(st.integers(0, len(target) - 1))]
        if isinstance(target, dict) and target:
            key = data.draw(st.sampled_from(sorted(target, key=str)))
            target[key] = data.draw(tree)
        else:
            doc[section] = data.draw(tree)
    parse_text(yaml.safe_dump(doc))


@fuzz
@given(
    st.lists(
        st.sampled_from(
            list("nodes:- {}[]\"'!&*#|>%@`,?\n\t ab1.$")
            + ["!!binary ", "!!python/object ", "!!timestamp ", "<<: *a", "&a "]
        ),
        max_size=60,
    ).map("".join)
)
def test_launch_random_yaml_text(text):
    parse_text(text)


# -- the IRC line parser (nodes/chat/irc.py) -----------------------------------------------------------------------


@fuzz
@given(st.binary(max_size=600) | st.text(max_size=300).map(lambda t: "@badges=x;id=1 :u!u@u PRIVMSG #c :" + t))
def test_irc_lines_never_crash(raw):
    from dreamgraph.nodes.chat.irc import chat_line, parse_line

    line = parse_line(raw)
    if line is not None:
        chat_line(line, now=0.0)


# -- the OSC input node (nodes/osc_input.py), as a real process fed hostile datagrams --------------------------


def _free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def osc_node():
    from dreamgraph.graph.testing.harness import GraphHarness

    port = _free_udp_port()
    graph = {
        "nodes": [
            {
                "name": "osc",
                "node": "osc_input",
                "params": {"port": port, "faders": {"/1/fader1": {"param": "zoom_per_s", "min": 0, "max": 1}}},
            }
        ]
    }
    with GraphHarness(graph) as h:
        h.wait_output("listening for OSC")
        pid = h.statuses(2.0)["osc"].pid
        with socket_module.socket(socket_module.AF_INET, socket_module.SOCK_DGRAM) as sock:
            yield h, pid, lambda data: sock.sendto(data, ("127.0.0.1", port))


osc_args = st.lists(
    st.integers(-(2**31), 2**31 - 1)
    | st.floats(width=32)
    | st.booleans()
    | st.text(st.characters(blacklist_characters="\x00"), max_size=12)  # OSC strings end at NUL
    | st.binary(min_size=1, max_size=8),
    max_size=4,
)
OSC_ADDRESSES = [
    "/dream/target",
    "/dream/class",
    "/dream/hold",
    "/dream/layout",
    "/dream/param",
    "/dream/skip",
    "/dream/clear",
    "/1/fader1",
    "/nope",
    "/dream/*",
    "/[a-z",
    "/dream/{target,class}",
]


def osc_datagram(address: str, args: list) -> bytes:
    from pythonosc.osc_message_builder import OscMessageBuilder

    builder = OscMessageBuilder(address=address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


@fuzz
@given(
    st.binary(max_size=200)
    | st.builds(osc_datagram, st.sampled_from(OSC_ADDRESSES), osc_args)
    | st.tuples(
        st.builds(osc_datagram, st.sampled_from(OSC_ADDRESSES), osc_args),
        st.integers(0, 64),
        st.binary(min_size=1, max_size=4),
    ).map(lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + len(t[2]) :])
)
def test_osc_hostile_datagrams(osc_node, datagram):
    _, _, send = osc_node
    send(datagram)


def test_osc_node_survives_the_fuzz(osc_node):
    harness, pid, send = osc_node
    status = harness.statuses(2.0)["osc"]
    assert status.pid == pid and status.state == "running"  # never crashed or restarted
    assert sum(status.errors.values()) > 0  # garbage was counted, not silently accepted
    chat = harness.listener("chat")
    send(osc_datagram("/dream/target", ["volcano"]))
    env = chat.wait(lambda m: m.source == "osc" and m.text == "volcano", timeout=10)
    assert env.msg.user == "osc"
