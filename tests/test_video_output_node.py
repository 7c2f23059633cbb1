"""The video output node as a real process: test pattern in, a file and a real RTMP server out."""

import json
import re
import subprocess
import time

import imageio_ffmpeg
import pytest
from servers.rtmp import RtmpServer, free_port
from test_ffmpeg_output import command_lines, probe
from test_preview_node import wait_http

from dreamgraph.graph.testing.harness import GraphHarness

KEY = "live_4242_secretkey"


def pattern(**params):
    return {
        "name": "pattern",
        "node": "dreamgraph.graph.builtin.testpattern",
        "remap": {"frames": "video"},
        "params": {"width": 160, "height": 96, "fps": 25, **params},
    }


def test_records_a_file_without_gaps_while_the_source_stalls(tmp_path):
    path = tmp_path / "show.mkv"
    launch = {
        "nodes": [
            pattern(pause_after=40, pause_s=2.0),
            {"name": "out", "node": "video_output", "params": {"targets": str(path), "fps": 25, "bitrate": "300k"}},
        ]
    }
    harness = GraphHarness(launch).start()
    try:
        harness.wait_output("starting /", timeout=30)
        time.sleep(5.0)
    finally:
        harness.stop()
    written = int(re.search(r"ffmpeg finished \(code 0\) after (\d+) frames", harness.text()).group(1))
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert frames == written
    assert frames >= 25 * 4.5, "the 2 s stall was filled with repeated frames"
    info = probe(path)
    assert "Video: h264" in info and "160x96" in info and "Audio: aac" in info, info


def test_streams_to_rtmp_masks_the_key_and_survives_a_server_restart(tmp_path):
    with RtmpServer(tmp_path) as server:
        launch = {
            "nodes": [
                pattern(),
                {
                    "name": "out",
                    "node": "video_output",
                    "params": {
                        "targets": server.url("{key}"),
                        "key_env": "TEST_RTMP_KEY",
                        "fps": 25,
                        "bitrate": "300k",
                    },
                },
            ]
        }
        with GraphHarness(launch, env={"TEST_RTMP_KEY": KEY}) as harness:
            harness.wait_output("starting /", timeout=30)
            time.sleep(3.0)
            seen = command_lines()
            server.kill()
            harness.wait_output("restarting in", timeout=20)
            server.start()
            deadline = time.monotonic() + 30
            while len(server.recordings()) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(3.0)
            errors = harness.statuses()["out"].errors
        log = harness.text()
    assert KEY not in log and "****" in log
    assert b"-f\x00flv" in seen, "ffmpeg was running when the command lines were read"
    assert KEY.encode() not in seen, "no process's command line shows the key"
    assert errors.get("ffmpeg_restart", 0) >= 1
    recordings = server.recordings()
    assert len(recordings) >= 2 and all(KEY in r.name for r in recordings), "published under the real key"
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(recordings[-1]))
    assert frames >= 25, "the stream resumed after the restart"
    assert "160x96" in probe(recordings[-1]) and "Audio: aac" in probe(recordings[-1])


@pytest.fixture
def full_disk(tmp_path):
    """A 64 KiB tmpfs: the recording fills it within seconds."""
    folder = tmp_path / "full"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_is_the_nodes_problem_retries_back_off_and_leave_no_empty_files(full_disk):
    port = free_port()
    launch = {
        "nodes": [
            pattern(),
            {
                "name": "out",
                "node": "video_output",
                "params": {"targets": str(full_disk / "rec.mp4"), "fps": 25, "bitrate": "2000k"},
            },
            {"name": "preview", "node": "preview", "params": {"port": port, "answer_wait_s": 0}},
        ]
    }
    with GraphHarness(launch) as harness:
        harness.wait_for("_status", lambda s: s.node == "out" and s.problem == "No space left on device", timeout=60)
        listed = harness.cli("node", "list")
        time.sleep(8.0)
        restarts = harness.statuses()["out"].errors.get("ffmpeg_restart", 0)
        page = json.loads(wait_http(f"http://127.0.0.1:{port}/status.json").read())
        files = sorted(full_disk.iterdir())
    assert re.search(r"out .*PROBLEM: No space left on device", listed.stdout), listed.stdout
    assert page["nodes"]["out"]["problem"] == "No space left on device"
    assert page["nodes"]["out"]["health"] == "errors"
    assert 1 <= restarts <= 6, f"{restarts} restarts in about 10 s: the retries back off"
    assert [f.name for f in files if f.stat().st_size == 0] == [], files
