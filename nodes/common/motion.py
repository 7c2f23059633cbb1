"""How far the picture may move from one keyframe to the next, for the optimizer and the interpolator alike."""

from __future__ import annotations

import math

# Each keyframe continues from the last one zoomed and rotated, and the interpolator cross-fades the two while
# warping them. Past a factor of 2 (or 45 degrees) they share too little picture to blend into motion, and a
# zoomed-out warp costs more the smaller its zoom (OpenCV took 1.7 s a frame at zoom 1e-3, 1024x576). A slow
# machine's long keyframe period or a hostile message must not get there.
KEYFRAME_ZOOM_RANGE = (0.5, 2.0)
KEYFRAME_MAX_ROTATION = 45.0  # degrees, either way


def clamp_keyframe_motion(zoom: float, rotation: float) -> tuple[float, float]:
    """(zoom, rotation) within the ranges above; NaN means no motion."""
    low, high = KEYFRAME_ZOOM_RANGE
    zoom = 1.0 if math.isnan(zoom) else min(max(zoom, low), high)
    rotation = 0.0 if math.isnan(rotation) else min(max(rotation, -KEYFRAME_MAX_ROTATION), KEYFRAME_MAX_ROTATION)
    return zoom, rotation
