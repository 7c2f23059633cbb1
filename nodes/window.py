"""The window node: show the video fullscreen on a chosen monitor (installations, VJ sets)."""

from __future__ import annotations

import os
import re
from importlib.metadata import PackageNotFoundError, distribution

import cv2
import numpy as np

from ..graph.core.message import Image
from ..graph.core.node import Input, Node, Param
from ..graph.core.preflight import Check

_GEOMETRY = re.compile(r"^\s*(\d+)x(\d+)([+-]\d+)([+-]\d+)\s*$")


def monitor_origin(monitor: str, monitors: str) -> tuple[int, int]:
    """Top-left corner of the chosen monitor: `monitor` is "X,Y", or an index into `monitors`, a comma-separated
    list of xrandr-style geometries ("1920x1080+0+0,1920x1080+1920+0")."""
    monitor = monitor.strip()
    if "," in monitor:
        x, y = (int(part) for part in monitor.split(",", 1))
        return x, y
    geometries = [g for g in monitors.split(",") if g.strip()]
    index = int(monitor or 0)
    if not geometries:
        if index:
            raise ValueError(f"monitor {index} asked for, but no monitor geometries given (param monitors)")
        return 0, 0
    if not 0 <= index < len(geometries):
        raise ValueError(f"monitor {index} asked for, but only {len(geometries)} geometries are given")
    match = _GEOMETRY.match(geometries[index])
    if not match:
        raise ValueError(f"bad monitor geometry {geometries[index]!r}; expected WxH+X+Y")
    return int(match.group(3)), int(match.group(4))


def opencv_check(build_information: str, gui_installed: bool) -> Check:
    """Whether the OpenCV that cv2.getBuildInformation() describes can open windows. ``gui_installed``: the GUI
    build's distribution (opencv-python) is installed; both builds ship the one cv2 package, so the files that
    pip wrote last decide which imports."""
    gui = re.search(r"^\s*GUI:\s*(\S+)", build_information, re.MULTILINE)
    if gui and gui.group(1).upper() != "NONE":
        return Check("opencv", True, f"OpenCV with GUI support ({gui.group(1)})")
    if gui_installed:
        return Check(
            "opencv",
            False,
            "this OpenCV has no GUI support: opencv-python-headless was installed over opencv-python",
            "pip install --force-reinstall --no-deps opencv-python",
        )
    return Check(
        "opencv",
        False,
        "this OpenCV is built without GUI support (opencv-python-headless, the default install)",
        "pip install 'dreamgraph[window]' for the GUI build (opencv-python), or use the preview or video_output node",
    )


def display_check() -> Check:
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if display:
        return Check("display", True, f"display {display}")
    return Check(
        "display",
        False,
        "no display: DISPLAY/WAYLAND_DISPLAY is not set (headless machine or ssh without -X)",
        "run it in a desktop session, or use the preview or video_output node",
    )


def window_checks() -> list[Check]:
    """What a window needs here: an OpenCV with GUI support, and a display."""
    try:
        distribution("opencv-python")
        gui_installed = True
    except PackageNotFoundError:
        gui_installed = False
    return [opencv_check(cv2.getBuildInformation(), gui_installed), display_check()]


class Window(Node):
    """Shows the video in a fullscreen OpenCV window on the chosen monitor.

    The monitor is picked by its top-left corner ("1920,0") or by index into a list of geometries. Needs a
    display and OpenCV's GUI build (`pip install 'dreamgraph[window]'`: the default install is headless); without
    them the node stops at start-up and says so.
    """

    video = Input(Image, "video", delivery="latest", doc="frames to show")

    monitor = Param(str, "0", doc='"X,Y" of the monitor\'s top-left corner, or an index into monitors')
    monitors = Param(str, "", doc='monitor geometries for an index, e.g. "1920x1080+0+0,1920x1080+1920+0"')
    fullscreen = Param(bool, True, doc="cover the whole monitor")
    title = Param(str, "dreamgraph", doc="window title")

    @classmethod
    def preflight(cls, params: dict) -> list[Check]:
        return window_checks()

    def setup(self):
        problems = [f"{c.detail} (fix: {c.fix})" for c in window_checks() if not c.ok]
        if problems:
            raise RuntimeError(f"window node: {'; '.join(problems)}")
        self._origin = monitor_origin(self.monitor, self.monitors)
        self._bgr: np.ndarray | None = None
        self._place()
        self.every(0.02, self._pump_events)  # the window needs its events handled even when no frame comes

    def _place(self):
        cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
        cv2.moveWindow(self.title, *self._origin)
        mode = cv2.WINDOW_FULLSCREEN if self.fullscreen else cv2.WINDOW_NORMAL
        cv2.setWindowProperty(self.title, cv2.WND_PROP_FULLSCREEN, mode)

    def on_param(self, name, value):
        self._origin = monitor_origin(self.monitor, self.monitors)
        cv2.destroyAllWindows()
        self._place()

    def on_video(self, msg: Image):
        if self._bgr is None or self._bgr.shape != msg.image.shape:
            self._bgr = np.empty(msg.image.shape, np.uint8)
        cv2.cvtColor(msg.image, cv2.COLOR_RGB2BGR, dst=self._bgr)
        cv2.imshow(self.title, self._bgr)

    def _pump_events(self):
        cv2.waitKey(1)

    def teardown(self):
        if all(c.ok for c in window_checks()):  # destroyAllWindows raises where setup refused to start
            cv2.destroyAllWindows()
