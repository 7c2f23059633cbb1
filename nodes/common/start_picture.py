"""The calm picture a graph shows before anything is dreamed: a soft dusk-coloured gradient.

The optimizer starts dreaming from it and shows it until its first target arrives; the interpolator puts it
behind its title card. The same picture at both ends makes the hand-over from title card to dream seamless.
"""

from __future__ import annotations

import numpy as np

_TOP = np.array([70.0, 88.0, 140.0])  # RGB: dusky blue
_BOTTOM = np.array([150.0, 116.0, 138.0])  # RGB: mauve
_SWELL = 14.0  # amplitude of the slow brightness waves (0..255 scale)


def start_picture(width: int, height: int) -> np.ndarray:
    """HxWx3 uint8, the same for a given size: low contrast, mid-grey on average, nothing for a classifier."""
    y = np.linspace(0.0, 1.0, height)[:, None, None]
    x = np.linspace(0.0, 1.0, width)[None, :, None]
    swell = _SWELL * np.sin(2.1 * np.pi * x + 1.3 * np.pi * y) * np.cos(1.2 * np.pi * y - 0.7 * np.pi * x)
    picture = _TOP * (1.0 - y) + _BOTTOM * y + swell
    return np.clip(picture, 0, 255).round().astype(np.uint8)
