"""Hand-off to the tools people run: SRT (to a real ffmpeg SRT listener), virtual cameras (v4l2loopback) and the
encoder choice (x264 or NVENC), with the streaming presets kept on both encoders."""

from __future__ import annotations

import glob
import json
import logging
import os
import subprocess
import sys
import time

import imageio_ffmpeg
import psutil
import pytest
from servers.rtmp import free_port
from test_ffmpeg_output import H, W, decoded_frames, feed

from dreamgraph.nodes.video.ffmpeg import (
    EncoderSettings,
    Target,
    build_command,
    choose_encoder,
    nvenc_problem,
    nvenc_usable,
    parse_targets,
)
from dreamgraph.nodes.video.stream import LiveEncoder

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def _command(targets: list[Target], **settings) -> list[str]:
    return build_command(EncoderSettings(1280, 720, 30.0, bitrate="4500k", **settings), targets)


def test_nvenc_keeps_the_ingest_presets():
    command = " ".join(_command(parse_targets("rtmp://ingest/app/k, rec.mkv", str), encoder="h264_nvenc"))
    for expected in ("-c:v h264_nvenc", "-rc cbr", "-b:v 4500000 -maxrate 4500000 -bufsize 9000000", "-g 60",
                     "-forced-idr 1", "-c:a aac", "-f tee"):  # fmt: skip
        assert expected in command, expected
    assert "libx264" not in command


def test_auto_takes_nvenc_only_where_it_runs():
    encoder, why = choose_encoder("auto")
    assert encoder == ("h264_nvenc" if nvenc_usable() else "libx264")
    assert why.startswith("auto: ")
    if not nvenc_usable():
        with pytest.raises(ValueError, match="NVENC cannot run here: .*(NVIDIA|NVENC)"):
            choose_encoder("h264_nvenc")
        assert nvenc_problem() in why


def test_srt_targets_get_a_latency_and_never_a_secret():
    (srt,) = parse_targets("srt://10.0.0.5:9000?mode=caller", str, srt_latency_ms=200)
    assert srt.location == "srt://10.0.0.5:9000?mode=caller&latency=200000" and srt.is_stream
    assert srt.muxer(0) == ({"f": "mpegts"}, srt.location)
    (given,) = parse_targets("srt://10.0.0.5:9000?latency=50000", str)
    assert given.location.endswith("latency=50000")
    for secret in ("srt://h:1?passphrase=hunter2hunter2", "srt://h:1?streamid={key}"):
        with pytest.raises(ValueError, match="cannot hold a secret"):
            parse_targets(secret, str)


def test_srt_reaches_a_real_listener(tmp_path):
    port = free_port()
    received = tmp_path / "received.ts"
    listener = subprocess.Popen(
        [
            FFMPEG,
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-i",
            f"srt://127.0.0.1:{port}?mode=listener",
            "-c",
            "copy",
            "-f",
            "mpegts",
            str(received),
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    log = logging.getLogger("test.srt")
    targets = parse_targets(f"srt://127.0.0.1:{port}?mode=caller", str)
    encoder = LiveEncoder(EncoderSettings(W, H, 25.0, bitrate="300k"), targets, log)
    try:
        time.sleep(0.5)  # the listener binds
        encoder.start()
        feed(encoder, 4.0, 90)
    finally:
        encoder.stop()
        try:
            listener.wait(15)
        except subprocess.TimeoutExpired:
            listener.terminate()
            listener.wait(10)
    frames = decoded_frames(received)
    assert len(frames) >= 25, f"{len(frames)} frames arrived; listener said {listener.stderr.read()!r}"
    assert frames[0].shape == (H, W, 3) and abs(int(frames[-1].mean()) - 90) < 10


def test_a_virtual_camera_is_a_raw_second_output():
    command = _command([Target("rec.mkv"), Target("/dev/video10")])
    camera = command[command.index("rec.mkv") + 1 :]
    assert camera == ["-map", "0:v", "-c:v", "rawvideo", "-pix_fmt", "yuv420p", "-f", "v4l2", "/dev/video10"]
    alone = _command([Target("/dev/video10")])
    assert "libx264" not in alone and alone[-3:] == ["-f", "v4l2", "/dev/video10"]


def test_a_missing_camera_is_refused_naming_the_module(tmp_path):
    (tmp_path / "g.yaml").write_text(
        "nodes:\n  - {name: out, node: video_output, params: {targets: 'v4l2:///dev/video97'}}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", "check", str(tmp_path / "g.yaml")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "/dev/video97 does not exist" in result.stderr and "modprobe v4l2loopback" in result.stderr


def _loopback_devices() -> list[str]:
    names = {path: open(path).read().strip() for path in glob.glob("/sys/class/video4linux/video*/name")}
    return [f"/dev/{os.path.basename(os.path.dirname(p))}" for p, name in names.items() if "loopback" in name.lower()]


@pytest.mark.skipif(
    not _loopback_devices(),
    reason="no v4l2loopback device here (the module cannot be loaded in this VM: no kernel modules); "
    "`sudo modprobe v4l2loopback devices=1 video_nr=10 exclusive_caps=1` enables this test",
)
def test_frames_reach_a_real_virtual_camera():
    device = _loopback_devices()[0]
    encoder = LiveEncoder(EncoderSettings(W, H, 25.0), parse_targets(f"v4l2://{device}", str), logging.getLogger("v"))
    encoder.start()
    try:
        feed(encoder, 1.0, 150)
        grab = subprocess.run(
            [
                FFMPEG,
                "-hide_banner",
                "-loglevel",
                "error",
                "-f",
                "v4l2",
                "-i",
                device,
                "-frames:v",
                "1",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "-",
            ],  # fmt: skip
            capture_output=True,
            timeout=20,
        )
        feed(encoder, 0.5, 150)
    finally:
        encoder.stop()
    assert len(grab.stdout) == W * H * 3 and abs(sum(grab.stdout) / len(grab.stdout) - 150) < 10


def test_bench_encoder_prints_cpu_use_per_encoder():
    result = subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", "bench", "encoder", "--size", "320x180", "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    cpu = next(line for line in lines if line["case"] == "libx264-320x180@30" and line["metric"] == "cpu_cores")
    assert 0 < cpu["value"] < psutil.cpu_count() and cpu["ratio"] == 1.0
    assert {line["case"].split("-")[0] for line in lines} == (
        {"libx264", "h264_nvenc"} if nvenc_usable() else {"libx264"}
    )
