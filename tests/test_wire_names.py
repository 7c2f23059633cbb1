"""Stable wire names: every message type declares one, and the module-path names used before (when a type was
named after where its class lived) still decode, so bags recorded with older versions still play."""

import subprocess
import sys

import msgpack
import numpy as np
import pytest

import dreamgraph.nodes.common.messages  # noqa: F401  (registers the application's types)
from dreamgraph.graph.core import message as wire
from dreamgraph.graph.testing.harness import GraphHarness
from dreamgraph.graph.tools import bag

# What an older version put in the header's "t" for these types.
OLD_NAMES = {
    "graph.message:Counter": "dreamgraph/Counter",
    "graph.message:Image": "dreamgraph/Image",
    "graph.message:Status": "dreamgraph/Status",
    "nodes.messages:Target": "dreamgraph/Target",
    "nodes.messages:ChatMessage": "dreamgraph/ChatMessage",
    "nodes.messages:Keyframe": "dreamgraph/Keyframe",
}


def old_frames(topic: str, type_name: str, fields: dict, arrays: dict | None = None) -> list[bytes]:
    """A message as an older version encoded it: the same layout, a module-path type name."""
    arrays = arrays or {}
    header = msgpack.packb(
        {
            "t": type_name,
            "q": 1,
            "s": "old#1",
            "w": 1.0,
            "f": fields,
            "a": [[name, a.dtype.name, list(a.shape)] for name, a in arrays.items()],
        },
        use_bin_type=True,
    )
    return [topic.encode() + b"\0", header, *(a.tobytes() for a in arrays.values())]


def test_every_type_declares_a_wire_name_that_is_not_a_module_path():
    for name, cls in wire.registered_types().items():
        assert name == cls.TYPE and name.startswith("dreamgraph/") and ":" not in name


@pytest.mark.parametrize("old, new", sorted(OLD_NAMES.items()))
def test_old_module_path_names_resolve_to_the_current_types(old, new):
    assert wire.message_type(old) is wire.message_type(new)
    assert old not in wire.registered_types()


def test_a_message_encoded_under_its_old_name_decodes():
    image = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    env = wire.decode(
        old_frames("video", "graph.message:Image", {"seq": 7, "stamp": 0.0, "meta": {}}, {"image": image})
    )
    assert env.msg.TYPE == "dreamgraph/Image" and env.msg.seq == 7
    np.testing.assert_array_equal(env.msg.image, image)
    env = wire.decode(old_frames("target", "nodes.messages:Target", {"class_ids": [980], "labels": ["volcano"]}))
    assert env.msg.TYPE == "dreamgraph/Target" and env.msg.class_ids == [980]


def test_a_type_without_a_wire_name_or_with_a_taken_one_is_refused():
    with pytest.raises(TypeError, match="must declare its wire name"):
        type("Nameless", (wire.Message,), {"__annotations__": {"n": int}, "n": 0})
    with pytest.raises(TypeError, match="is taken by Counter"):
        type("Impostor", (wire.Message,), {"__annotations__": {"n": int}, "n": 0, "TYPE": "dreamgraph/Counter"})


def test_a_bag_recorded_with_old_names_still_plays(tmp_path):
    path = tmp_path / "old.bag"
    packer = msgpack.Packer(use_bin_type=True)
    with open(path, "wb") as out:  # the bag format: [seconds since start, frames] per message
        out.write(
            packer.pack(
                [
                    0.0,
                    old_frames(
                        "target",
                        "nodes.messages:Target",
                        {"class_ids": [980], "labels": ["volcano"], "layout": "single"},
                    ),
                ]
            )
        )
        out.write(packer.pack([0.1, old_frames("ticks", "graph.message:Counter", {"n": 1, "stamp": 0.0})]))
    assert bag.info(str(path))["topics"] == {"target": 1, "ticks": 1}
    with GraphHarness({"nodes": [{"name": "tick", "node": "dreamgraph.graph.builtin.ticker"}]}) as h:
        listener = h.listener("target")
        player = subprocess.Popen(
            [sys.executable, "-m", "dreamgraph.graph.cli", "bag", "play", str(path)],
            env=h.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        env = listener.wait(lambda m: m.labels == ["volcano"], timeout=20)
        output, _ = player.communicate(timeout=30)
    assert env.msg.TYPE == "dreamgraph/Target" and env.msg.layout == "single"
    assert player.returncode == 0 and "played 2 message(s)" in output, output
