"""The optimizer node as a real process: keyframes flow, follow target changes, survive bad targets."""
import time

from graph.message import ParamSet
from graph.testing import GraphHarness
from nodes.messages import Keyframe, Target

BEE, VOLCANO, PIZZA = 309, 980, 963
GRAPH = {"nodes": [{"name": "optimizer", "node": "nodes.optimizer",
                    "params": {"width": 64, "height": 48, "steps_per_keyframe": 2, "device": "cpu", "seed": 1}}]}


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
        first = h.wait_for("keyframes", timeout=90).msg           # autopilot: frames flow without a target
        assert isinstance(first, Keyframe)
        assert first.image.shape == (48, 64, 3) and first.labels and first.steps == 2

        kf = _publish_until(h, "target", Target(class_ids=[BEE, VOLCANO], labels=["bee", "volcano"]),
                            lambda m: m.class_ids == [BEE, VOLCANO])
        assert kf.labels == ["bee", "volcano"] and kf.step_ms > 0

        kf = _publish_until(h, "target", Target(class_ids=[PIZZA], layout="single"),
                            lambda m: m.class_ids == [PIZZA])
        assert kf.labels == ["pizza"]                              # labels filled in from the class id

        h.publish("target", Target(class_ids=[1000], labels=["nothing"]))
        h.publish("target", Target(class_ids=[]))
        end = time.monotonic() + 30
        errors = {}
        while time.monotonic() < end and errors.get("bad_target", 0) < 1:
            errors = h.statuses().get("optimizer").errors
        assert errors.get("bad_target", 0) >= 1
        later = h.wait_for("keyframes", lambda m: m.seq > kf.seq, timeout=30).msg
        assert later.class_ids == [PIZZA]                          # still dreaming the previous target

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
