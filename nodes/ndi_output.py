"""The NDI output node: the video as an NDI source on the local network."""

from __future__ import annotations

import cv2
import numpy as np

from ..graph.core.message import Image
from ..graph.core.node import Input, Node, Param
from ..graph.core.preflight import Check

INSTALL_HINT = "pip install 'dreamgraph[ndi]' (ndi-python, which bundles the NDI runtime)"


def _ndi():
    """The NDI binding, imported only by this node: it loads the NDI runtime library."""
    try:
        import NDIlib
    except ImportError:
        raise RuntimeError(f"NDI output needs the NDI binding: {INSTALL_HINT}") from None
    return NDIlib


class NdiOutput(Node):
    """Sends the video as an NDI source, which OBS (with the DistroAV plugin), vMix, Resolume and TouchDesigner
    list by its name, like a camera on the network.

    Sources are found by mDNS on the local network; where multicast does not reach (another subnet, a container),
    list the sender's address under "ips" in the receiver's ndi-config.v1.json, as NDI's own tools do.
    """

    video = Input(Image, "video", delivery="latest", doc="frames to send")

    source_name = Param(str, "dreamgraph", doc="the NDI source name (receivers show 'HOST (name)')")
    groups = Param(str, "", doc="NDI groups to announce in, comma-separated (empty: public)")

    @classmethod
    def preflight(cls, params: dict) -> list[Check]:
        try:
            _ndi()
        except RuntimeError as err:
            return [Check("ndi", False, str(err), INSTALL_HINT)]
        return [Check("ndi", True, "NDI binding and runtime load")]

    def setup(self):
        self._lib = _ndi()
        if not self._lib.initialize():
            raise RuntimeError("the NDI runtime did not start (this CPU lacks SSE4.2?)")
        self._sender = self._create_sender()
        self._frame = self._lib.VideoFrameV2()
        self._frame.FourCC = self._lib.FOURCC_VIDEO_TYPE_BGRX
        self._bgrx: np.ndarray | None = None
        self.log.info("sending NDI source %r", self.source_name)

    def _create_sender(self):
        settings = self._lib.SendCreate(p_ndi_name=self.source_name, p_groups=self.groups or None, clock_video=False)
        sender = self._lib.send_create(settings)
        if sender is None:
            raise RuntimeError(f"cannot create the NDI source {self.source_name!r}")
        return sender

    def on_param(self, name, value):
        old, self._sender = self._sender, self._create_sender()  # a refused name leaves the old source running
        self._lib.send_destroy(old)

    def on_video(self, msg: Image):
        height, width = msg.image.shape[:2]
        if self._bgrx is None or self._bgrx.shape[:2] != (height, width):
            self._bgrx = np.empty((height, width, 4), np.uint8)
        cv2.cvtColor(msg.image, cv2.COLOR_RGB2BGRA, dst=self._bgrx)
        self._frame.data = self._bgrx
        # the synchronous send copies the frame before returning, so the buffer is free for the next one
        self._lib.send_send_video_v2(self._sender, self._frame)

    def teardown(self):
        self._lib.send_destroy(self._sender)
        self._lib.destroy()
