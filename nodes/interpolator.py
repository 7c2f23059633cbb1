"""The interpolator node: irregular keyframes in, smooth constant-rate video out."""

from __future__ import annotations

import time

import numpy as np

from ..graph.core.message import Image
from ..graph.core.node import FramePool, Input, Node, Output, Param
from .common.messages import Keyframe, Overlay
from .video.blend import KeyframeBlender
from .video.overlay import CORNERS, TextOverlay
from .video.title import TitleCard

TITLE_FADE_S = 2.0  # the title card fades into the first keyframe over this long


class Interpolator(Node):
    """Turns irregular keyframes into constant-rate video by zooming into them and cross-fading between them.

    Each keyframe is shown zooming and rotating at the optimizer's own speed (its `zoom` and `rotation` relative
    to the previous keyframe) while it fades into the next, so the video flows at `fps` whether keyframes come
    ten times a second or once a minute. Playback runs about one keyframe behind, paced by the measured keyframe
    rate. When keyframes stop, the last one keeps zooming; new ones fade back in. Until the first keyframe it
    shows a title card (the overlay's subject and "dreaming..."), which then fades into it. The overlay text is
    drawn in a semi-transparent box. Frames are warped and resized in one pass, on the CPU (OpenCV) or a CUDA GPU
    (torch). Zoom and rotation are clamped to what one blend can span, so no keyframe makes a frame expensive; one
    that is not an RGB picture (a 0x0 image) is counted as `bad_keyframe` and dropped.
    """

    keyframes = Input(Keyframe, "keyframes", delivery="queue:8", doc="dreamed keyframes with their zoom and rotation")
    overlay = Input(
        Overlay, "overlay", delivery="latest", doc="caption drawn on the video (empty: none)", optional=True
    )
    video = Output(
        Image,
        "video",
        doc="RGB frames at a constant rate and size; meta: overlay text, labels and "
        "sequence number of the keyframe that dominates the frame, title card "
        "opacity (title)",
    )

    fps = Param(float, 25.0, unit="Hz", doc="output frame rate", min=1, max=240)
    width = Param(int, 1280, unit="px", doc="output width", min=16, max=7680)
    height = Param(int, 720, unit="px", doc="output height", min=16, max=4320)
    device = Param(
        str,
        "auto",
        choices=["auto", "cpu", "cuda"],
        doc="where to warp: cpu (OpenCV), cuda (torch), auto (cuda when available)",
    )
    initial_period = Param(
        float,
        2.0,
        unit="s",
        min=0.01,
        max=3600.0,
        doc="keyframe period assumed until the keyframe rate has been measured",
    )
    caption = Param(bool, True, doc="draw the overlay text")
    caption_corner = Param(str, "bottom-left", choices=list(CORNERS), doc="where the caption box goes")
    caption_px = Param(int, 0, unit="px", min=0, max=400, doc="caption font size (0: output height / 24)")

    def setup(self):
        self._seq = 0
        self._timer = None
        self._text = ""
        self._build_renderer()
        self._start_clock()

    def _build_renderer(self):
        self._blender = KeyframeBlender(self.width, self.height, self.device, self.initial_period)
        self._pool = FramePool((self.height, self.width, 3), np.uint8, count=4)
        self._title = TitleCard(self.width, self.height)
        self._title.set_subject(self._text)
        self._title_fade_start = None  # monotonic time the first keyframe arrived
        self._build_caption()
        self.log.info("%dx%d at %g fps on %s", self.width, self.height, self.fps, self._blender.device)

    def _build_caption(self):
        self._caption = TextOverlay(self.width, self.height, self.caption_corner, self.caption_px)
        self._caption.set_text(self._text)

    def _start_clock(self):
        if self._timer is not None:
            self.cancel(self._timer)
        self._timer = self.every(1.0 / self.fps, self.tick)

    def on_param(self, name, value):
        if name in ("width", "height", "device", "initial_period"):
            self._build_renderer()  # keyframes so far were sized for the old output; start afresh
        elif name in ("caption_corner", "caption_px"):
            self._build_caption()
        elif name == "fps":
            self._start_clock()

    def on_keyframes(self, msg: Keyframe):
        now = time.monotonic()
        tag = {"labels": list(msg.labels), "keyframe": msg.seq}
        try:
            self._blender.add(msg.image, msg.zoom, msg.rotation, now, msg.period, tag)
        except ValueError as err:
            self.count_error("bad_keyframe", f"keyframe {msg.seq} dropped: {err}")
            return
        if self._title_fade_start is None:
            self._title_fade_start = now

    def on_overlay(self, msg: Overlay):
        self._text = msg.text
        self._caption.set_text(msg.text)
        self._title.set_subject(msg.text)

    def _title_opacity(self, now: float) -> float:
        if self._title_fade_start is None:
            return 1.0
        return max(0.0, 1.0 - (now - self._title_fade_start) / TITLE_FADE_S)

    def tick(self):
        frame = self._pool.acquire()
        now = time.monotonic()
        shown = self._blender.render(frame, now)
        title = self._title_opacity(now)
        self._title.draw(frame, title)
        if self.caption and title < 1.0:  # the card shows the subject itself
            self._caption.draw(frame)
        meta = {"overlay": self._text, "title": round(title, 3), **(shown or {})}
        self.video.publish(Image(image=frame, seq=self._seq, stamp=time.time(), meta=meta), pool=self._pool)
        self._seq += 1
