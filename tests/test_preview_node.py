"""The preview node as a real process, checked with real HTTP clients (http.client and ffmpeg)."""

import http.client
import json
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import cv2
import imageio_ffmpeg
import numpy as np
import pytest
from servers.rtmp import free_port

from dreamgraph.graph.core.message import Image
from dreamgraph.graph.testing.harness import GraphHarness
from dreamgraph.nodes.common.messages import ChatMessage
from dreamgraph.nodes.preview import NO_ANSWER

TOKEN = "preview-token-123"


def launch(port, preview_params=None):
    return {
        "nodes": [
            {
                "name": "pattern",
                "node": "dreamgraph.graph.builtin.testpattern",
                "params": {"width": 320, "height": 180, "fps": 15},
                "remap": {"frames": "video"},
            },
            {
                "name": "preview",
                "node": "preview",
                "params": {"port": port, "answer_wait_s": 0, **(preview_params or {})},
            },  # no scheduler to answer
        ]
    }


def wait_http(url, headers=None, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5)
        except urllib.error.HTTPError:
            raise
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def read_mjpeg_parts(host, port, count, path="/stream.mjpg"):
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "multipart/x-mixed-replace; boundary=frame"
    images = []
    while len(images) < count:
        assert response.readline().strip() == b"--frame"
        headers = {}
        while line := response.readline().strip():
            key, _, value = line.decode().partition(":")
            headers[key.lower()] = value.strip()
        assert headers["content-type"] == "image/jpeg"
        jpeg = response.read(int(headers["content-length"]))
        response.readline()
        images.append(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))
    connection.close()
    return images


def post(port, text):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/request", data=text.encode(), headers={"Content-Type": "text/plain"}
    )
    return urllib.request.urlopen(request, timeout=10)


@pytest.fixture
def open_preview():
    port = free_port()
    with GraphHarness(launch(port)) as harness:
        wait_http(f"http://127.0.0.1:{port}/status.json")
        yield harness, port


def test_stream_page_and_status(open_preview):
    harness, port = open_preview
    images = read_mjpeg_parts("127.0.0.1", port, 3)
    assert all(image is not None and image.shape == (180, 320, 3) for image in images)
    assert not np.array_equal(images[0], images[2]), "the test pattern moves"
    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/").read().decode()
    assert '<img id="video"' in page and "/stream.mjpg" in page and "/request" in page
    deadline = time.monotonic() + 10  # heartbeats come once a second
    while True:
        status = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/status.json"))
        if {"pattern", "preview"} <= set(status["nodes"]) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert status["fps"] > 0
    assert {"pattern", "preview"} <= set(status["nodes"])
    assert status["nodes"]["pattern"]["health"] == "ok"


def test_ffmpeg_reads_the_stream(open_preview):
    _, port = open_preview
    result = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-hide_banner",
            "-f",
            "mpjpeg",
            "-i",
            f"http://127.0.0.1:{port}/stream.mjpg",
            "-frames:v",
            "5",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "320x180" in result.stderr


def test_request_box_posts_to_chat(open_preview):
    harness, port = open_preview
    done = threading.Event()

    def post_until_seen():  # the listener may join after the first post: repeat at the allowed pace
        while not done.wait(0.5):
            try:
                assert json.load(post(port, "kit  fox\n"))["ok"]
            except urllib.error.HTTPError as err:
                assert err.code == 429

    poster = threading.Thread(target=post_until_seen, daemon=True)
    poster.start()
    try:
        msg = harness.wait_for("chat", lambda m: m.text == "kit fox", timeout=20).msg
    finally:
        done.set()
    assert isinstance(msg, ChatMessage)
    assert msg.source == "web" and msg.message_id and msg.timestamp > 0


def test_request_box_allows_one_request_per_interval_per_browser():
    port = free_port()
    with GraphHarness(launch(port, {"request_interval_s": 3.0})) as harness:
        wait_http(f"http://127.0.0.1:{port}/status.json")
        chat = harness.listener("chat")
        assert json.load(post(port, "volcano"))["ok"]
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(port, "zebra")
        assert refused.value.code == 429 and 1 <= int(refused.value.headers["Retry-After"]) <= 3
        time.sleep(int(refused.value.headers["Retry-After"]) + 0.1)
        assert json.load(post(port, "pizza"))["ok"]
        seen = []
        chat.wait(lambda m: seen.append(m.text) or m.text == "pizza")
        assert seen == ["volcano", "pizza"]  # the refused request never reached the chat topic


def test_token_guards_everything():
    port = free_port()
    with GraphHarness(launch(port, {"token_env": "PREVIEW_TOKEN"}), env={"PREVIEW_TOKEN": TOKEN}):
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/status.json?token={TOKEN}")
        for path in ("/", "/status.json", "/stream.mjpg", "/status.json?token=wrong"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(base + path, timeout=5)
            assert refused.value.code == 401
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(f"{base}/request", data=b"bee"), timeout=5)
        assert refused.value.code == 401
        assert urllib.request.urlopen(f"{base}/?token={TOKEN}").status == 200
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert json.load(wait_http(f"{base}/status.json", bearer))["nodes"]
        assert read_mjpeg_parts("127.0.0.1", port, 1, f"/stream.mjpg?token={TOKEN}")[0].shape == (180, 320, 3)


def test_public_address_without_token_is_refused():
    from dreamgraph.nodes.video.mjpeg import PreviewServer

    with pytest.raises(ValueError, match="token"):
        PreviewServer("0.0.0.0", 0)


def test_request_box_shows_the_schedulers_answer_with_chat_replies_off():
    port = free_port()
    launch = {
        "nodes": [
            {
                "name": "scheduler",
                "node": "scheduler",
                "params": {"replies": False, "autopilot": False, "hold_seconds": 3600, "seed": 1},
            },
            {
                "name": "preview",
                "node": "preview",
                "params": {"port": port, "request_interval_s": 0, "answer_wait_s": 5},  # under post's 10 s
            },
        ]
    }
    with GraphHarness(launch) as harness:
        wait_http(f"http://127.0.0.1:{port}/status.json")
        harness.wait_for("_status", lambda s: s.node == "scheduler")

        def answer(text):
            reply = json.load(post(port, text))
            assert reply["ok"] and reply["text"] == text
            return reply["answer"]

        # The first request can go out before the scheduler's subscription has reached the preview (ZeroMQ
        # drops what is published before a subscriber joins), or be answered late on a loaded box: ask until
        # an answer comes. A repeat is answered "on screen right now", which passes the checks below too.
        deadline = time.monotonic() + 60
        now = answer("volcano")
        while NO_ANSWER in now and time.monotonic() < deadline:
            now = answer("volcano")
        assert "volcano" in now and "line" not in now and NO_ANSWER not in now
        assert "volcano is on screen right now" in answer("volcano")
        queued = answer("pizza")
        assert "pizza" in queued and ("#1" in queued or "after 0 more" in queued)
        harness.publish("chat", ChatMessage(source="osc", user="operator", text="!skip"))  # pizza's turn
        harness.wait_for("target", lambda m: m.labels == ["pizza"])
        assert "just had volcano" in answer("volcano")
        suggestion = answer("vulcano")
        assert '"vulcano"' in suggestion and "volcano" in suggestion
        unknown = answer("lava mountain")
        assert "don't know that one" in unknown or "not in my dreams" in unknown

        scheduler = harness.statuses()["scheduler"]
        assert scheduler.outputs["chat_reply"]["count"] == 0, "replies: false keeps the chat quiet"
        assert scheduler.outputs["request_answer"]["count"] == 6


def test_page_fps_is_what_the_video_topic_carries():
    """Frames in bursts of three: a latest-only input hands the node one frame per burst, the topic carries all."""
    port = free_port()
    with GraphHarness({"nodes": [{"name": "preview", "node": "preview", "params": {"port": port}}]}) as h:
        wait_http(f"http://127.0.0.1:{port}/status.json")
        h.client.publish_prepare("video")
        hz = subprocess.Popen(
            [sys.executable, "-m", "dreamgraph.graph.cli", "topic", "hz", "video", "--duration", "3"],
            env=h.env,
            stdout=subprocess.PIPE,
            text=True,
        )
        frame = np.zeros((48, 64, 3), np.uint8)
        seq = 0
        end = time.monotonic() + 4.0
        while time.monotonic() < end:
            for _ in range(3):
                h.client.publish_now("video", Image(image=frame, seq=seq))
                seq += 1
            time.sleep(0.1)
        page_fps = json.load(wait_http(f"http://127.0.0.1:{port}/status.json"))["fps"]
        topic_hz = float(re.search(r"rate ([\d.]+) Hz", hz.communicate(timeout=30)[0]).group(1))
    assert topic_hz > 15, "bursts of three, ten a second"
    assert abs(page_fps - topic_hz) <= 0.2 * topic_hz, (page_fps, topic_hz)
