"""The window node: monitor selection, and a clear refusal where no window can be shown."""

import pytest

from dreamgraph.graph.testing.harness import GraphHarness
from dreamgraph.nodes.window import Window, monitor_origin, opencv_check

# The GUI section of cv2.getBuildInformation(), verbatim from the opencv-python-headless and opencv-python wheels
# (5.0.0.93): the test extra installs the GUI build, so the headless text cannot come from the cv2 at hand.
HEADLESS_BUILD = """
    Non-free algorithms:         NO

  GUI:                           NONE
    VTK support:                 NO
    Built-in Unicode font:       YES

  Media I/O:
"""
GUI_BUILD = """
    Non-free algorithms:         NO

  GUI:                           QT5
    QT:                          YES (ver 5.15.19 )
      QT OpenGL support:         NO
    GTK+:                        NO
    VTK support:                 NO
    Built-in Unicode font:       YES

  Media I/O:
"""


def test_monitor_by_corner_or_by_index():
    assert monitor_origin("1920,0", "") == (1920, 0)
    assert monitor_origin("1", "1920x1080+0+0, 2560x1440+1920-200") == (1920, -200)
    assert monitor_origin("0", "") == (0, 0)
    with pytest.raises(ValueError, match="only 1"):
        monitor_origin("2", "1920x1080+0+0")
    with pytest.raises(ValueError, match="WxH"):
        monitor_origin("0", "big")


def test_a_headless_opencv_names_the_install_that_brings_the_gui():
    check = opencv_check(HEADLESS_BUILD, gui_installed=False)
    assert not check.ok and "without GUI support" in check.detail
    assert "pip install 'dreamgraph[window]'" in check.fix
    # both builds installed, but the headless one's files written last: only a reinstall of the GUI build helps
    check = opencv_check(HEADLESS_BUILD, gui_installed=True)
    assert not check.ok and check.fix == "pip install --force-reinstall --no-deps opencv-python"
    assert opencv_check(GUI_BUILD, gui_installed=True).ok


def test_the_test_install_imports_the_gui_build():
    """`pip install -e '.[test]'` brings both builds; the cv2 that imports must be the GUI one, or CI would test
    the window node's refusal instead of the window."""
    opencv = next(c for c in Window.preflight({}) if c.name == "opencv")
    assert opencv.ok, f"{opencv.detail}; fix: {opencv.fix}"


def test_without_a_display_the_node_says_so():
    launch = {"nodes": [{"name": "screen", "node": "window", "respawn": False}]}
    harness = GraphHarness(launch, env={"DISPLAY": "", "WAYLAND_DISPLAY": ""}).start()
    try:
        line = harness.wait_output("window node:", timeout=30)
    finally:
        harness.stop()
    assert "no display" in line and "fix: run it in a desktop session" in line
