"""The interpolator node as a real process: keyframes and a caption in, constant-size video out."""

import numpy as np
import pytest

from graph.testing import GraphHarness
from nodes.messages import Keyframe, Overlay

W, H, FPS = 160, 96, 20.0


@pytest.fixture
def graph():
    launch = {"nodes": [{"name": "interp", "node": "nodes.interpolator",
                         "params": {"fps": FPS, "width": W, "height": H, "device": "cpu", "caption_px": 14}}]}
    with GraphHarness(launch) as harness:
        yield harness


def test_video_flows_before_during_and_after_keyframes(graph):
    first = graph.wait_for("video", timeout=30).msg
    assert first.image.shape == (H, W, 3) and first.image.max() == 0, "black until the first keyframe"
    rng = np.random.default_rng(0)
    for seq in range(3):
        image = rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)     # keyframes smaller than the output
        graph.publish("keyframes", Keyframe(image=image, seq=seq, zoom=1.05, rotation=0.5, period=0.5))
    lit = graph.wait_for("video", lambda m: m.image.mean() > 40, timeout=10).msg
    assert lit.image.shape == (H, W, 3)
    frames = graph.collect("video", seconds=2.0)
    seqs = [env.msg.seq for env in frames]
    assert len(frames) >= FPS, "the output keeps its rate with no keyframes coming"
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_caption_appears_in_its_corner(graph):
    graph.publish("keyframes", Keyframe(image=np.full((48, 80, 3), 128, np.uint8), zoom=1.0))
    graph.wait_for("video", lambda m: abs(m.image.mean() - 128) < 2, timeout=20)
    graph.publish("overlay", Overlay(text="@tester: bee"))
    frame = graph.wait_for("video", lambda m: m.image[H // 2:, : W // 2].min() < 100, timeout=10).msg.image
    assert frame[: H // 2].min() >= 126, "the top half is untouched by a bottom-left caption"
    assert frame[H // 2:, : W // 2].max() > 200, "white text on the dark box"
