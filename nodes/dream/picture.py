"""What a viewer sees in a picture, as numbers: brightness, clipping, colour, sharpness spectrum, hue.

Plain numpy on HxWx3 uint8 RGB frames, so the same figures describe dreams and natural photos alike.
"""

from __future__ import annotations

import numpy as np

# Rec. 601 luma weights: the luminance a viewer perceives
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def luminance(image: np.ndarray) -> float:
    """Mean luma, 0..255."""
    return float(image[..., :3].reshape(-1, 3).astype(np.float32).mean(0) @ _LUMA)


def clipped_share(image: np.ndarray) -> float:
    """The largest share, over the channels, of pixels stuck at 0 or 255."""
    rgb = image[..., :3].reshape(-1, 3)
    return float(((rgb == 0) | (rgb == 255)).mean(0).max())


def _opponents(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rgb = image[..., :3].reshape(-1, 3).astype(np.float32)
    r, g, b = rgb[:, 0], rgb[:, 1], rgb[:, 2]
    return r - g, 0.5 * (r + g) - b


def colourfulness(image: np.ndarray) -> float:
    """Hasler and Suesstrunk's colourfulness M = sigma_rgyb + 0.3 mu_rgyb (grey 0, vivid photos 60-110)."""
    rg, yb = _opponents(image)
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def colour_cast(image: np.ndarray) -> tuple[float, float]:
    """Mean R-G and mean (R+G)/2-B: a picture-wide tint (positive: red, yellow)."""
    rg, yb = _opponents(image)
    return float(rg.mean()), float(yb.mean())


def spectral_slope(image: np.ndarray) -> float:
    """Slope of log power against log frequency of the luma spectrum (natural photos: about -2; noise 0).

    Radially averaged over frequencies from 4 cycles per frame to a quarter of the sampling rate, where
    neither the frame's size nor JPEG-like quantisation dominates."""
    y = image[..., :3].astype(np.float32) @ _LUMA
    y = (y - y.mean()) * np.outer(np.hanning(y.shape[0]), np.hanning(y.shape[1]))
    power = np.abs(np.fft.rfft2(y)) ** 2
    fy = np.fft.fftfreq(y.shape[0])[:, None]
    fx = np.fft.rfftfreq(y.shape[1])[None, :]
    f = np.hypot(fx, fy)
    edges = np.geomspace(4.0 / min(y.shape), 0.25, 13)
    centres, means = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        band = (f >= lo) & (f < hi)
        if band.any():
            centres.append(np.sqrt(lo * hi))
            means.append(power[band].mean())
    return float(np.polyfit(np.log(centres), np.log(np.maximum(means, 1e-12)), 1)[0])


def dominant_hue(image: np.ndarray, min_saturation: float = 0.3, min_value: float = 0.2) -> float | None:
    """Circular mean hue (degrees, 0 = red, 120 = green, 240 = blue) of the saturated pixels, weighted by
    saturation; None when fewer than 2 % of the pixels are saturated."""
    rgb = image[..., :3].reshape(-1, 3).astype(np.float32) / 255.0
    top, bottom = rgb.max(1), rgb.min(1)
    chroma = top - bottom
    saturation = np.where(top > 0, chroma / np.maximum(top, 1e-6), 0.0)
    keep = (saturation >= min_saturation) & (top >= min_value) & (chroma > 0)
    if keep.mean() < 0.02:
        return None
    r, g, b = rgb[keep].T
    c, t = chroma[keep], top[keep]
    hue = np.where(t == r, ((g - b) / c) % 6.0, np.where(t == g, (b - r) / c + 2.0, (r - g) / c + 4.0)) * 60.0
    angle = np.radians(hue)
    w = saturation[keep]
    return float(np.degrees(np.arctan2((w * np.sin(angle)).sum(), (w * np.cos(angle)).sum())) % 360.0)


def hue_in(hue: float | None, lo: float, hi: float) -> bool:
    """Is `hue` within the arc from lo to hi degrees (clockwise, wrapping past 360)?"""
    if hue is None:
        return False
    return (hue - lo) % 360.0 <= (hi - lo) % 360.0


def colour_histogram(image: np.ndarray, bins: int = 8) -> np.ndarray:
    """Normalised joint RGB histogram with bins**3 cells."""
    q = (image[..., :3].reshape(-1, 3).astype(np.int32) * bins) // 256
    counts = np.bincount((q[:, 0] * bins + q[:, 1]) * bins + q[:, 2], minlength=bins**3).astype(np.float64)
    return counts / counts.sum()


def distinctness(images: list[np.ndarray]) -> float:
    """Mean Hellinger distance between the colour histograms of every two pictures: 0 when all look alike in
    colour (a uniform haze), 1 when no two share a colour."""
    hists = [np.sqrt(colour_histogram(img)) for img in images]
    pairs = [(a, b) for i, a in enumerate(hists) for b in hists[i + 1 :]]
    if not pairs:
        return 0.0
    return float(np.mean([np.sqrt(max(0.0, 1.0 - float(a @ b))) for a, b in pairs]))


def describe(image: np.ndarray) -> dict[str, float]:
    """The per-frame figures of `bench live`, by name."""
    rg, yb = colour_cast(image)
    return {
        "luminance": luminance(image),
        "clipped": clipped_share(image),
        "colourfulness": colourfulness(image),
        "cast_rg": rg,
        "cast_yb": yb,
        "spectral_slope": spectral_slope(image),
    }
