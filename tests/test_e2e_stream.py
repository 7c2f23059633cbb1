"""launch/stream.yaml end to end, at tiny sizes: a recording without gaps, the request box steering the
dream, a clean shutdown, and an optimizer that comes back after SIGKILL."""

import json
import os
import re
import signal
import time
import urllib.request

import imageio_ffmpeg
import psutil
from test_ffmpeg_output import probe

import dreamgraph.nodes.common.messages  # noqa: F401  (registers the message types the test decodes)
from dreamgraph.graph.testing.harness import GraphHarness

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FPS = 25


def stream_args(tmp_path, **extra):
    return {
        "device": "cpu",
        "width": 64,
        "height": 48,
        "out_width": 160,
        "out_height": 96,
        "fps": FPS,
        "preview_port": 0,
        "recording": str(tmp_path / "dream.mp4"),
        "idle_seconds": 600,
        **extra,
    }


def node_pids(harness) -> set[int]:
    return {p.pid for p in psutil.Process(harness.proc.pid).children(recursive=True)}


def check_recording(path, log: str):
    """The file holds every frame the recorder wrote, and that is fps x the time it was recording (+-1 %)."""
    written, seconds = re.search(r"ffmpeg finished \(code 0\) after (\d+) frames in ([\d.]+) s", log).groups()
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    expected = FPS * float(seconds)
    assert frames == int(written)
    assert seconds and float(seconds) >= 15
    assert abs(frames - expected) <= 0.01 * expected, f"{frames} frames, expected {expected:.0f} (+-1 %)"
    info = probe(path)
    assert "Video: h264" in info and "160x96" in info, info
    measured_fps = float(re.search(r"([\d.]+) fps", info).group(1))
    assert abs(measured_fps - FPS) <= 0.01 * FPS, info
    return frames


def test_stream_graph_follows_the_request_box_records_and_stops_cleanly(tmp_path):
    harness = GraphHarness("stream", args=stream_args(tmp_path)).start()
    try:
        url = re.search(r"preview at (http://\S+)", harness.wait_output("preview at http://", 60)).group(1)
        harness.wait_output("recording to", 60)
        started = time.monotonic()
        harness.wait_for("keyframes", timeout=120)
        request = urllib.request.Request(
            url.rstrip("/") + "/request", data=b"volcano", headers={"Content-Type": "text/plain"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            answer = json.load(reply)["answer"]
        assert "volcano" in answer, "the box shows the scheduler's answer, though stream.yaml turns chat replies off"
        overlay = harness.wait_for("overlay", lambda m: "volcano" in m.text, timeout=30)
        keyframe = harness.wait_for("keyframes", lambda m: m.labels == ["volcano"], timeout=120)
        frame = harness.wait_for(
            "video",
            lambda m: m.meta.get("labels") == ["volcano"] and "volcano" in m.meta.get("overlay", ""),
            timeout=120,
        )
        assert keyframe.msg.class_ids == [980] and frame.msg.image.shape == (96, 160, 3)
        assert overlay.msg.text.endswith("volcano")
        while time.monotonic() - started < 20:
            time.sleep(0.2)
        pids = node_pids(harness)
    finally:
        code = harness.stop()
    assert code == 0, harness.text()[-3000:]
    assert pids and not any(
        psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids
    ), "node processes left behind"
    assert not os.listdir(harness.runtime_dir), "runtime files left behind"
    check_recording(tmp_path / "dream.mp4", harness.text())


def test_killed_optimizer_comes_back_and_the_recording_has_no_gap(tmp_path):
    harness = GraphHarness("stream", args=stream_args(tmp_path)).start()
    try:
        harness.wait_output("recording to", 60)
        started = time.monotonic()
        first = harness.wait_for("keyframes", timeout=120)
        victim = harness.statuses()["optimizer"].pid
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        after = harness.wait_for("_status", lambda m: m.node == "optimizer" and m.pid != victim, timeout=60)
        back = harness.wait_for("keyframes", timeout=120)
        recovered_s = time.monotonic() - killed
        assert back.source != first.source, "keyframes come from the restarted optimizer"
        assert after.msg.pid != victim
        while time.monotonic() - started < 20:
            time.sleep(0.2)
        restarts = harness.client.launch_states()[""].nodes["optimizer"]["restarts"]
    finally:
        harness.stop()
    assert restarts == 1
    print(f"optimizer back with keyframes {recovered_s:.1f} s after SIGKILL")
    check_recording(tmp_path / "dream.mp4", harness.text())
