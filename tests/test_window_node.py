"""The window node: monitor selection, and a clear refusal where no window can be shown."""

import pytest

from dreamgraph.graph.testing.harness import GraphHarness
from dreamgraph.nodes.window import display_problem, monitor_origin


def test_monitor_by_corner_or_by_index():
    assert monitor_origin("1920,0", "") == (1920, 0)
    assert monitor_origin("1", "1920x1080+0+0, 2560x1440+1920-200") == (1920, -200)
    assert monitor_origin("0", "") == (0, 0)
    with pytest.raises(ValueError, match="only 1"):
        monitor_origin("2", "1920x1080+0+0")
    with pytest.raises(ValueError, match="WxH"):
        monitor_origin("0", "big")


def test_without_a_display_the_node_says_so():
    problem = display_problem()
    if not problem:
        pytest.skip("this machine has a display and a GUI-enabled OpenCV")
    launch = {"nodes": [{"name": "screen", "node": "window", "respawn": False}]}
    harness = GraphHarness(launch, env={"DISPLAY": ""}).start()
    try:
        line = harness.wait_output("window node:", timeout=30)
    finally:
        harness.stop()
    assert "display" in line.lower() or "gui" in line.lower()
