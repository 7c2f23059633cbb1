"""Live encoder against real ffmpeg, real files and a real RTMP server (nginx-rtmp)."""

import logging
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import psutil
from servers.rtmp import RtmpServer, free_port

from dreamgraph.graph.core.secrets import MaskingFilter, SecretMasker
from dreamgraph.nodes.video.ffmpeg import EncoderSettings, Target, build_command, default_bitrate, parse_targets
from dreamgraph.nodes.video.relay import SecretRelay, _Swapper
from dreamgraph.nodes.video.stream import LiveEncoder

FPS = 25.0
W, H = 160, 120


def probe(path) -> str:
    """ffmpeg's description of a media file's streams."""
    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    )
    return result.stderr


def decoded_frames(path) -> list[np.ndarray]:
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    return [np.frombuffer(frame, np.uint8).reshape(h, w, 3) for frame in reader]


class Captured(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


def make_log(name, masker=None):
    log = logging.getLogger(f"test.{name}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    handler = Captured()
    log.handlers[:] = [handler]
    log.filters[:] = [MaskingFilter(masker)] if masker else []
    return log, handler


def feed(encoder, seconds, level):
    frame = np.full((H, W, 3), level, np.uint8)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        encoder.submit(frame)
        time.sleep(1 / 30)


def test_file_has_a_frame_every_tick_even_when_the_source_pauses(tmp_path):
    path = tmp_path / "out.mp4"
    log, captured = make_log("file")
    encoder = LiveEncoder(EncoderSettings(W, H, FPS, bitrate="300k"), [Target(str(path))], log)
    encoder.start()
    feed(encoder, 2.5, 40)
    time.sleep(3.0)  # the source pauses: the last frame must be repeated
    feed(encoder, 2.5, 200)
    encoder.stop()
    # The writer's own clock: from its start to its stop (ffmpeg's start-up is not video time).
    duration = float(re.search(r"frames in ([\d.]+) s", " ".join(captured.lines)).group(1))
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert frames == encoder.frames_written
    assert abs(frames - FPS * duration) <= 0.01 * FPS * duration, (frames, FPS * duration)
    info = probe(path)
    assert re.search(r"Video: h264.*yuv420p.*160x120.*25 tbr", info), info
    assert "Audio: aac" in info
    levels = [int(frame.mean()) for frame in decoded_frames(path)]
    darker = [level for level in levels if abs(level - 40) < 8]
    assert len(darker) >= FPS * 5.0 * 0.9, "frames during the pause repeat the last one"
    assert abs(levels[-1] - 200) < 8


def test_segments_and_several_targets_through_tee(tmp_path):
    log, _ = make_log("tee")
    targets = [Target(str(tmp_path / "whole.mkv")), Target(str(tmp_path / "part.mp4"), segment_seconds=1.0)]
    encoder = LiveEncoder(EncoderSettings(W, H, FPS, bitrate="300k"), targets, log)
    encoder.start()
    feed(encoder, 3.5, 120)
    encoder.stop()
    whole, _ = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "whole.mkv"))
    parts = sorted(tmp_path.glob("part-*.mp4"))
    assert len(parts) >= 2
    assert sum(imageio_ffmpeg.count_frames_and_secs(str(p))[0] for p in parts) == whole == encoder.frames_written


def test_ingest_command_follows_the_streaming_presets():
    masker = SecretMasker()
    targets = parse_targets("twitch, youtube, rec.mkv", lambda t: masker.expand(t, "live_123_abc"), 60)
    assert [t.is_stream for t in targets] == [True, True, False]
    assert targets[0].location == "rtmp://live.twitch.tv/app/live_123_abc"
    settings = EncoderSettings(1280, 720, 30.0, bitrate=default_bitrate("twitch, youtube"))
    command = " ".join(build_command(settings, targets))
    for expected in (
        "-b:v 6000000 -maxrate 6000000 -bufsize 12000000",
        "-g 60 -keyint_min 60 -sc_threshold 0",
        "-preset veryfast -tune zerolatency",
        "-pix_fmt yuv420p",
        "-c:a aac",
        "anullsrc",
        "-f tee",
        "[f=flv:flvflags=no_duration_filesize:onfail=ignore]rtmp://live.twitch.tv/app/live_123_abc",
        "[f=segment:segment_time=60",
    ):
        assert expected in command
    assert "live_123_abc" not in masker(command)


def test_stream_key_never_reaches_the_logs(tmp_path, monkeypatch):
    key = "sk_live_9f8e7d6c"
    monkeypatch.setenv("TEST_STREAM_KEY", key)
    masker = SecretMasker()
    log, captured = make_log("mask", masker)
    # Nothing listens on this port: the relay that holds the key reports it, the encoder retries.
    url = masker.expand(f"rtmp://127.0.0.1:{free_port()}/live/{{env:TEST_STREAM_KEY}}")
    encoder = LiveEncoder(EncoderSettings(W, H, FPS, bitrate="300k"), [Target(url)], log, masker, backoff=(0.1, 0.2))
    encoder.start()
    deadline = time.monotonic() + 20
    while encoder.restarts < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    encoder.stop()
    text = "\n".join(captured.lines)
    assert encoder.restarts >= 2
    assert "Connection refused" in text and encoder.problem == "Connection refused"
    assert key not in text


def test_rtmp_stream_resumes_after_the_server_restarts(tmp_path):
    log, captured = make_log("rtmp")
    with RtmpServer(tmp_path) as server:
        encoder = LiveEncoder(
            EncoderSettings(W, H, FPS, bitrate="300k"), [Target(server.url("dream"))], log, backoff=(0.2, 1.0)
        )
        encoder.start()
        feed(encoder, 3.0, 60)
        server.kill()
        feed(encoder, 1.5, 90)
        server.start()
        restarts_before = encoder.restarts
        feed(encoder, 4.0, 180)
        encoder.stop()
    assert restarts_before >= 1
    recordings = server.recordings()
    assert len(recordings) >= 2, "\n".join(captured.lines)
    for recording in (recordings[0], recordings[-1]):
        info = probe(recording)
        assert "160x120" in info and "Audio: aac" in info, info
        frames, _ = imageio_ffmpeg.count_frames_and_secs(str(recording))
        assert frames >= FPS, (recording, frames)
    assert abs(decoded_frames(recordings[-1])[-1].mean() - 180) < 8


def test_ffmpeg_dies_with_its_parent(tmp_path):
    script = textwrap.dedent(f"""
        import logging, sys, time
        from dreamgraph.nodes.video.ffmpeg import EncoderSettings, Target
        from dreamgraph.nodes.video.stream import LiveEncoder
        encoder = LiveEncoder(EncoderSettings(64, 48, 10.0, bitrate="100k"), [Target({str(tmp_path / 'o.mkv')!r})],
                              logging.getLogger())
        encoder.start()
        print("started", flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout.readline().strip() == "started"
    deadline = time.monotonic() + 10
    children = []
    while not children and time.monotonic() < deadline:
        children = [p for p in psutil.Process(parent.pid).children() if "ffmpeg" in p.name()]
        time.sleep(0.05)
    assert children
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive


def command_lines() -> bytes:
    """What any local user can read: every process's command line."""
    found = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            found.append(path.read_bytes())
        except OSError:
            pass
    return b"\n".join(found)


def test_no_command_line_shows_the_stream_key_and_the_stream_arrives(tmp_path):
    key = "sk_live_" + "7f3a" * 10
    masker = SecretMasker()
    log, captured = make_log("cmdline", masker)
    with RtmpServer(tmp_path) as server:
        targets = [Target(masker.expand(server.url("{key}"), key)), Target(str(tmp_path / "rec.mkv"))]
        encoder = LiveEncoder(EncoderSettings(W, H, FPS, bitrate="300k"), targets, log, masker)
        encoder.start()
        feed(encoder, 2.0, 100)
        seen = command_lines()
        feed(encoder, 1.0, 100)
        encoder.stop()
    assert b"-f\0tee" in seen, "ffmpeg was running while the command lines were read"
    assert key.encode() not in seen
    assert key not in "\n".join(captured.lines)
    recordings = server.recordings()
    assert recordings and key in recordings[-1].name, "published under the real key"
    assert imageio_ffmpeg.count_frames_and_secs(str(recordings[-1]))[0] >= FPS
    assert imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "rec.mkv"))[0] == encoder.frames_written


def test_the_relay_finds_a_stand_in_split_by_a_chunk_header():
    swapper = _Swapper({b"abcdef": b"SECRET"})
    sent = swapper.feed(b"\x02\x00\x06abc") + swapper.feed(b"\xc3def\x02live") + swapper.flush()
    assert sent == b"\x02\x00\x06SEC\xc3RET\x02live"


def test_recording_goes_on_while_the_stream_is_refused_and_the_stream_is_retried(tmp_path):
    log, captured = make_log("refused")
    targets = [Target(f"rtmp://127.0.0.1:{free_port()}/live/x"), Target(str(tmp_path / "rec.mkv"))]
    encoder = LiveEncoder(EncoderSettings(W, H, FPS, bitrate="300k"), targets, log, backoff=(0.2, 1.5))
    encoder.start()
    feed(encoder, 5.0, 80)
    encoder.stop()
    text = "\n".join(captured.lines)
    assert "continuing with 1/2" in text, text
    assert encoder.restarts >= 2, "the lost stream was retried"
    assert encoder.problem == "Connection refused"
    files = sorted(tmp_path.glob("rec*.mkv"))
    recorded = sum(imageio_ffmpeg.count_frames_and_secs(str(f))[0] for f in files)
    assert recorded == encoder.frames_written >= FPS * 5 * 0.7


def test_the_relay_swaps_the_secret_in_and_serves_no_other_user(tmp_path):
    received = []
    with socket.create_server(("127.0.0.1", 0)) as upstream:

        def serve():
            connection, _ = upstream.accept()
            with connection:
                while data := connection.recv(65536):
                    received.append(data)

        threading.Thread(target=serve, daemon=True).start()
        secret = "sk_live_relay_1234"
        log, _ = make_log("relay")
        relay = SecretRelay(f"rtmp://127.0.0.1:{upstream.getsockname()[1]}/app/{secret}", [secret], log)
        try:
            assert secret not in relay.local_url + relay.tcurl
            standin = relay.local_url.rsplit("/", 1)[1]
            port = int(relay.local_url.split(":")[2].split("/")[0])
            if os.geteuid() == 0 and os.path.exists("/usr/bin/python3"):  # another user is turned away
                other = subprocess.run(
                    [
                        "/usr/bin/python3",
                        "-c",
                        f"import socket\ns = socket.create_connection(('127.0.0.1', {port}))\n"
                        f"s.sendall(b'x' * 3073 + b'{standin}')\n"
                        "try:\n    print(s.recv(10))\nexcept ConnectionResetError:\n    print(b'')",
                    ],
                    user=65534,
                    cwd="/",
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
                assert other.stdout.strip() == "b''" and relay.refused == 1, other
            with socket.create_connection(("127.0.0.1", port)) as client:
                client.sendall(b"\0" * 3073 + b"\x02\x00\x12" + standin.encode() + b"\x02live")
                time.sleep(0.5)
        finally:
            relay.close()
    assert b"".join(received) == b"\0" * 3073 + b"\x02\x00\x12" + secret.encode() + b"\x02live"
