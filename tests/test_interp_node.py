"""The interpolator node as a real process: keyframes and a caption in, constant-size video out."""

import math
import time

import msgpack
import numpy as np
import pytest
import zmq

from dreamgraph.graph.core import message as wire
from dreamgraph.graph.core.transport import Publisher
from dreamgraph.graph.testing.harness import GraphHarness
from dreamgraph.nodes.common.messages import Keyframe, Overlay
from dreamgraph.nodes.common.start_picture import start_picture

W, H, FPS = 160, 96, 20.0


@pytest.fixture
def graph():
    launch = {
        "nodes": [
            {
                "name": "interp",
                "node": "interpolator",
                "params": {"fps": FPS, "width": W, "height": H, "device": "cpu", "caption_px": 14},
            }
        ]
    }
    with GraphHarness(launch) as harness:
        yield harness


def test_video_flows_before_during_and_after_keyframes(graph):
    first = graph.wait_for("video", timeout=30).msg
    assert first.image.shape == (H, W, 3) and first.meta["title"] == 1.0, "a title card until the first keyframe"
    background = start_picture(W, H).astype(int)
    assert np.abs(first.image[: H // 4].astype(int) - background[: H // 4]).max() <= 1, "over the start picture"
    assert first.image[H // 3 : 2 * H // 3].max() > 230, '"dreaming..." in white in the middle'
    rng = np.random.default_rng(0)
    for seq in range(3):
        image = rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)  # keyframes smaller than the output
        graph.publish("keyframes", Keyframe(image=image, seq=seq, zoom=1.05, rotation=0.5, period=0.5))
    fading = graph.wait_for("video", lambda m: 0 < m.meta["title"] < 1, timeout=10).msg
    assert fading.meta["keyframe"] in range(3), "the title card cross-fades into the keyframes"
    lit = graph.wait_for("video", lambda m: m.meta["title"] == 0, timeout=10).msg
    assert lit.image.shape == (H, W, 3)
    frames = graph.collect("video", seconds=2.0)
    seqs = [env.msg.seq for env in frames]
    assert len(frames) >= FPS, "the output keeps its rate with no keyframes coming"
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_title_card_names_the_subject(graph):
    plain = graph.wait_for("video", timeout=30).msg.image
    graph.publish("overlay", Overlay(text="@tester: bee"))
    titled = graph.wait_for("video", lambda m: m.meta["overlay"] == "@tester: bee", timeout=10).msg.image
    changed = np.abs(titled.astype(int) - plain.astype(int)).max(axis=2) > 60
    rows = np.flatnonzero(changed.any(axis=1))
    assert rows.size and rows.min() > H // 4 and rows.max() < 3 * H // 4, "the subject, centred above the text"
    assert not changed[:, : W // 8].any(), "no caption box in the corner while the card names the subject"


def test_caption_appears_in_its_corner(graph):
    graph.publish("keyframes", Keyframe(image=np.full((48, 80, 3), 128, np.uint8), zoom=1.0))
    graph.wait_for("video", lambda m: m.meta["title"] == 0 and abs(m.image.mean() - 128) < 2, timeout=20)
    graph.publish("overlay", Overlay(text="@tester: bee"))
    frame = graph.wait_for("video", lambda m: m.image[H // 2 :, : W // 2].min() < 100, timeout=10).msg.image
    assert frame[: H // 2].min() >= 126, "the top half is untouched by a bottom-left caption"
    assert frame[H // 2 :, : W // 2].max() > 200, "white text on the dark box"


def hostile_publisher(graph, topic: str) -> Publisher:
    """A publisher in the graph's endpoint directory, like any local process could start, once heard by `topic`."""
    publisher = Publisher(zmq.Context.instance(), [graph.client.graph.ipc_endpoint("hostile")], "hostile#1")
    end = time.monotonic() + 20
    while publisher.subscribers.get(topic, 0) < 1:
        assert time.monotonic() < end, f"nobody subscribed to {topic}"
        publisher.socket.poll(50)
        publisher.handle_subscriptions()
    return publisher


def test_keyframes_that_cannot_be_warped_are_dropped_and_the_video_keeps_its_rate(graph):
    pid = graph.statuses(3.0)["interp"].pid
    publisher = hostile_publisher(graph, "keyframes")
    try:
        publisher.publish("keyframes", Keyframe(image=np.zeros((0, 0, 3), np.uint8), seq=1))  # 0x0: valid on the wire
        frames = wire.encode("keyframes", Keyframe(image=np.full((48, 80, 3), 200, np.uint8), seq=2), 2, "hostile#1")
        header = msgpack.unpackb(frames[1], raw=False)
        header["f"].update(zoom=math.inf, rotation=math.nan)  # past the type check on publish
        frames[1] = msgpack.packb(header, use_bin_type=True)
        publisher.socket.send_multipart(frames, copy=False)
        status = graph.wait_for(
            "_status",
            lambda s: s.node == "interp" and s.errors.get("bad_keyframe") and s.errors.get("rejected_message"),
            timeout=20,
        ).msg
        assert status.pid == pid and status.inputs["keyframes"]["rejected"] == 1
        assert set(status.errors) == {"bad_keyframe", "rejected_message"}, "counted, no traceback of a failed tick"
        assert len(graph.collect("video", seconds=2.0)) >= FPS, "the output keeps its rate"
    finally:
        publisher.close()
    graph.publish("keyframes", Keyframe(image=np.full((48, 80, 3), 128, np.uint8), zoom=1.0))
    graph.wait_for("video", lambda m: m.meta["title"] == 0 and abs(m.image.mean() - 128) < 2, timeout=20)


def test_a_keyframe_zooming_out_with_no_successor_keeps_the_video_rate(graph):
    """The optimizer zoomed out (zoom_per_s < 0), then stopped: the last keyframe keeps zooming out on its own."""
    image = np.random.default_rng(1).integers(0, 256, (48, 80, 3), dtype=np.uint8)
    graph.publish("keyframes", Keyframe(image=image, zoom=0.5, period=0.2))
    graph.wait_for("video", lambda m: m.meta["title"] == 0, timeout=20)
    time.sleep(1.0)  # 15 periods after it arrived: 0.5 ** 15 unclamped, where each warp took a third of a second
    assert len(graph.collect("video", seconds=2.0)) >= FPS, "the warp's cost does not grow with the zoom-out"
