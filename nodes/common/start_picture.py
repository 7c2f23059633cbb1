"""The calm picture a graph shows before anything is dreamed: a soft dusk-coloured gradient, grey on average.

The optimizer starts dreaming from it and shows it until its first target arrives; the interpolator puts it
behind its title card. The same picture at both ends makes the hand-over from title card to dream seamless.
Its colours balance to grey: the dream keeps a start picture's overall tint for minutes of a CPU stream (a
blue-mauve one once tinted every subject blue), so the tint must come from the subject, not from here.
"""

from __future__ import annotations

import numpy as np

_TOP = np.array([92.0, 102.0, 124.0])  # RGB: dusky blue-grey
_BOTTOM = np.array([146.0, 128.0, 114.0])  # RGB: warm sand-grey
_SWELL = 14.0  # amplitude of the slow brightness waves (0..255 scale)


def start_picture(width: int, height: int) -> np.ndarray:
    """HxWx3 uint8, the same for a given size: low contrast, mid-grey on average, nothing for a classifier."""
    y = np.linspace(0.0, 1.0, height)[:, None, None]
    x = np.linspace(0.0, 1.0, width)[None, :, None]
    swell = _SWELL * np.sin(2.1 * np.pi * x + 1.3 * np.pi * y) * np.cos(1.2 * np.pi * y - 0.7 * np.pi * x)
    picture = _TOP * (1.0 - y) + _BOTTOM * y + swell
    return np.clip(picture, 0, 255).round().astype(np.uint8)
