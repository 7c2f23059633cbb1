"""The window node on a real (virtual) X display: it opens its window and shows frames."""

import os
import shutil
import subprocess
import time

import pytest

from dreamgraph.graph.testing.harness import GraphHarness

pytestmark = pytest.mark.skipif(
    not shutil.which("Xvfb") or not shutil.which("xdotool"),
    reason="needs Xvfb and xdotool (apt-get install xvfb xdotool)",
)


@pytest.fixture
def display():
    number = 90 + os.getpid() % 9
    xvfb = subprocess.Popen(
        ["Xvfb", f":{number}", "-screen", "0", "640x360x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while not os.path.exists(f"/tmp/.X11-unix/X{number}") and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f":{number}"
    xvfb.terminate()
    xvfb.wait(5)


def test_window_opens_and_shows_frames(display):
    launch = {
        "nodes": [
            {
                "name": "pattern",
                "node": "dreamgraph.graph.builtin.testpattern",
                "params": {"width": 160, "height": 90, "fps": 10},
                "remap": {"frames": "video"},
            },
            {"name": "screen", "node": "window", "params": {"title": "dreamgraph-test", "fullscreen": True}},
        ]
    }
    env = {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    with GraphHarness(launch, env=env) as harness:
        deadline = time.monotonic() + 30
        window_ids = ""
        while time.monotonic() < deadline and not window_ids:
            found = subprocess.run(
                ["xdotool", "search", "--name", "dreamgraph-test"],
                capture_output=True,
                text=True,
                env={**os.environ, "DISPLAY": display},
            )
            window_ids = found.stdout.strip()
            time.sleep(0.2)
        assert window_ids, f"no window appeared\n{harness.text()}"
        status = harness.statuses(2.5).get("screen")
        assert status is not None and status.inputs["video"]["count"] > 0, harness.text()
        assert not status.errors, status.errors
