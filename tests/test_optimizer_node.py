"""The optimizer node as a real process: the start picture until a target, keyframes that follow target changes,
bad targets survived, parameters answered within one step of a long keyframe."""

import time

import numpy as np
import pytest
import torch

from dreamgraph.graph.core.message import ParamSet
from dreamgraph.graph.testing.harness import GraphHarness
from dreamgraph.nodes.common.messages import Keyframe, Target
from dreamgraph.nodes.common.start_picture import start_picture

BEE, VOLCANO, PIZZA = 309, 980, 963
GRAPH = {
    "nodes": [
        {
            "name": "optimizer",
            "node": "optimizer",
            "params": {
                "width": 64,
                "height": 48,
                "steps_per_keyframe": 2,
                "first_keyframe_steps": 1,
                "device": "cpu",
                "seed": 1,
            },
        }
    ]
}


def _publish_until(h, topic, msg, predicate, timeout=60.0):
    """Publish (again, in case the subscriber joined late) until a keyframe satisfies predicate."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        h.publish(topic, msg)
        try:
            return h.wait_for("keyframes", predicate, timeout=5.0).msg
        except AssertionError:
            continue
    raise AssertionError(f"no keyframe matched after publishing {msg}")


def test_keyframes_follow_targets_and_bad_targets_are_counted():
    with GraphHarness(GRAPH) as h:
        first = h.wait_for("keyframes", timeout=90).msg  # no target: the calm start picture, no dream
        assert isinstance(first, Keyframe)
        assert first.steps == 0 and not first.labels and not first.class_ids
        assert np.array_equal(first.image, start_picture(64, 48))

        kf = _publish_until(
            h,
            "target",
            Target(class_ids=[BEE, VOLCANO], labels=["bee", "volcano"]),
            lambda m: m.class_ids == [BEE, VOLCANO],
        )
        assert kf.labels == ["bee", "volcano"] and kf.step_ms > 0
        assert kf.steps == 1, "the first keyframe comes after first_keyframe_steps"
        assert h.wait_for("keyframes", lambda m: m.seq > kf.seq).msg.steps == 2, "later ones after the full count"

        kf = _publish_until(h, "target", Target(class_ids=[PIZZA], layout="single"), lambda m: m.class_ids == [PIZZA])
        assert kf.labels == ["pizza"]  # labels filled in from the class id

        h.publish("target", Target(class_ids=[1000], labels=["nothing"]))
        h.publish("target", Target(class_ids=[]))
        end = time.monotonic() + 30
        errors = {}
        while time.monotonic() < end and errors.get("bad_target", 0) < 1:
            errors = h.statuses().get("optimizer").errors
        assert errors.get("bad_target", 0) >= 1
        later = h.wait_for("keyframes", lambda m: m.seq > kf.seq, timeout=30).msg
        assert later.class_ids == [PIZZA]  # still dreaming the previous target

        seen = kf.seq
        zooms = [m.msg for m in h.collect("keyframes", 5.0, count=4)]
        assert all(m.seq > seen for m in zooms)
        assert any(m.zoom > 1.0 and m.period > 0 for m in zooms)


def test_size_changes_live():
    with GraphHarness(GRAPH) as h:
        h.wait_for("keyframes", timeout=90)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            h.publish("_param", ParamSet(node="optimizer", name="width", value=96))
            try:
                kf = h.wait_for("keyframes", lambda m: m.image.shape == (48, 96, 3), timeout=5.0).msg
                break
            except AssertionError:
                continue
        else:
            raise AssertionError("size change not applied")
        assert kf.image.shape == (48, 96, 3)


def test_parameters_are_answered_within_one_step_of_a_long_keyframe():
    """A keyframe of 10000 steps takes minutes on a CPU; the node still answers every change between two steps."""
    launch = {
        "nodes": [
            {
                "name": "optimizer",
                "node": "optimizer",
                "params": {"width": 64, "height": 48, "steps_per_keyframe": 10000, "device": "cpu"},
            }
        ]
    }
    with GraphHarness(launch) as h:
        first = _publish_until(h, "target", Target(class_ids=[BEE]), lambda m: m.steps == 2)  # now in a long one

        applied = h.cli("param", "set", "optimizer", "zoom_per_s", "0.2")
        assert applied.returncode == 0 and "optimizer.zoom_per_s = 0.2 (applied)" in applied.stdout, applied
        rebuilt = h.cli("param", "set", "optimizer", "zoom_jitter", "0")  # rebuilds the step's jitter mid-keyframe
        assert rebuilt.returncode == 0 and "optimizer.zoom_jitter = 0.0 (applied)" in rebuilt.stdout, rebuilt
        others = h.cli("param", "set", "optimizer", "other_weight", "2")
        assert others.returncode == 0 and "optimizer.other_weight = 2.0 (applied)" in others.stdout, others
        out_of_range = h.cli("param", "set", "optimizer", "zoom_per_s", "99")
        assert out_of_range.returncode == 1 and "zoom_per_s must be <= 1.0" in out_of_range.stderr
        engine_refused = h.cli("param", "set", "optimizer", "prior", "/nonexistent/prior.npz")
        assert (
            engine_refused.returncode == 1
            and "refused prior" in engine_refused.stderr
            and "not applied" in engine_refused.stderr
        )

        statuses = [env.msg for env in h.collect("_status", 3.5) if env.msg.node == "optimizer"]
        assert len(statuses) >= 3, "a status a second while dreaming"
        assert statuses[-1].params["zoom_jitter"] == 0.0 and statuses[-1].params["other_weight"] == 2.0
        assert statuses[-1].params["zoom_per_s"] == 0.2 and statuses[-1].params["prior"] == "", (
            "refused values are never stored"
        )
        assert statuses[-1].outputs["keyframes"]["count"] == first.seq, "all this within the one long keyframe"

        ended = h.listener("keyframes")
        assert h.cli("param", "set", "optimizer", "steps_per_keyframe", "3").returncode == 0
        assert ended.wait(timeout=30).msg.seq == first.seq + 1, "the long keyframe ends at its next step"
        assert h.wait_for("keyframes", lambda m: m.seq > first.seq + 1).msg.steps == 3


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_device_or_model_the_machine_lacks_is_refused_and_later_changes_still_apply():
    with GraphHarness(GRAPH) as h:
        _publish_until(h, "target", Target(class_ids=[BEE]), lambda m: m.steps >= 1)
        for name, value in (("device", "cuda"), ("model", "vgg19")):
            refused = h.cli("param", "set", "optimizer", name, value)
            assert refused.returncode == 1 and "not applied" in refused.stderr, refused
        applied = h.cli("param", "set", "optimizer", "step_size", "2")
        assert applied.returncode == 0 and "(applied)" in applied.stdout, applied
        status = h.wait_for("_status", lambda s: s.node == "optimizer" and s.params["step_size"] == 2).msg
        assert status.params["device"] == "cpu" and status.params["model"] == "lite0"


def test_size_and_steps_default_to_the_devices_live_settings():
    """Width, height and steps per keyframe left at 0 take the device's live settings (on a CPU: the size bench
    live chose there), and a size given live replaces them."""
    from dreamgraph.nodes.dream.settings import LIVE_SIZES

    width, height, steps = LIVE_SIZES["cpu"]
    graph = {"nodes": [{"name": "optimizer", "node": "optimizer", "params": {"device": "cpu", "seed": 1}}]}
    with GraphHarness(graph) as h:
        assert h.wait_for("keyframes", timeout=90).msg.image.shape == (height, width, 3)
        kf = _publish_until(h, "target", Target(class_ids=[BEE]), lambda m: m.class_ids == [BEE])
        assert h.wait_for("keyframes", lambda m: m.seq > kf.seq, timeout=60).msg.steps == steps
        h.publish("_param", ParamSet(node="optimizer", name="width", value=96))
        assert h.wait_for("keyframes", lambda m: m.image.shape[1] == 96, timeout=60).msg.image.shape == (height, 96, 3)
