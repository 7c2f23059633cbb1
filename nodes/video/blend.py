"""Keyframes in, constant-rate frames out: the timeline decides what to show, the warper draws it."""

from __future__ import annotations

import numpy as np

from .timeline import KeyframeTimeline
from .warp import make_warper


class KeyframeBlender:
    def __init__(self, width: int, height: int, device: str = "auto", default_period: float = 1.0):
        self.warper = make_warper(width, height, device)
        self.timeline = KeyframeTimeline(default_period=default_period)

    @property
    def device(self) -> str:
        return self.warper.device

    def add(self, image: np.ndarray, zoom: float, rotation: float, now: float, period_hint: float = 0.0, tag=None):
        """Take a keyframe (copied/uploaded here, so the caller's buffer may be reused) that arrived at `now`;
        ValueError for an image that is not an RGB picture (HxWx3, neither side 0): it could not be warped."""
        if image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
            raise ValueError(f"a keyframe must be an HxWx3 RGB image, not of shape {image.shape}")
        self.timeline.add(self.warper.upload(image), zoom, rotation, now, period_hint, tag)

    def render(self, out: np.ndarray, now: float):
        """Draw the frame for monotonic time `now` into out and return the dominant keyframe's tag;
        black and None before the first keyframe."""
        shot = self.timeline.shot(now)
        if shot is None:
            out.fill(0)
            return None
        self.warper.render(
            out,
            shot.first,
            shot.first_zoom,
            shot.first_rotation,
            shot.second,
            shot.second_zoom,
            shot.second_rotation,
            shot.weight,
        )
        return shot.tag
