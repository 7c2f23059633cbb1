"""The interpolator node as a real process: keyframes and a caption in, constant-size video out."""

import numpy as np
import pytest

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
