"""Image motion and robustness transforms, all on the device (no host round trips, CUDA-graph friendly)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..common.motion import KEYFRAME_ZOOM_RANGE, clamp_keyframe_motion


def zoom_rotate(image: torch.Tensor, zoom: float, degrees: float = 0.0) -> torch.Tensor:
    """Zoom by `zoom` (>1 zooms in) and rotate by `degrees` about the centre, keeping the size.

    Works in pixel units so a rotation of a non-square image stays a rotation (not a shear).
    """
    n, _, h, w = image.shape
    a = math.radians(degrees)
    cos, sin = math.cos(a) / zoom, math.sin(a) / zoom
    # output normalised coords -> pixels (scale by w/2, h/2) -> rotate/scale -> back to normalised
    theta = torch.tensor([[cos, -sin * h / w, 0.0], [sin * w / h, cos, 0.0]], dtype=torch.float32, device=image.device)
    grid = F.affine_grid(theta.expand(n, 2, 3).to(image.dtype), list(image.shape), align_corners=False)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def keyframe_motion(zoom_per_s: float, rotation_per_s: float, period_s: float) -> tuple[float, float]:
    """Zoom factor and rotation (degrees) for one keyframe standing for `period_s` seconds of video, clamped to
    what the interpolator can blend (a long period, after a stall, would zoom out to almost nothing)."""
    # (1 + zoom_per_s) ** period_s, in logarithms capped first: a long period cannot overflow the power
    log_zoom = min(period_s * math.log1p(zoom_per_s), math.log(KEYFRAME_ZOOM_RANGE[1]))
    return clamp_keyframe_motion(math.exp(log_zoom), rotation_per_s * period_s)


class Jitter:
    """Random circular shift by up to `max_shift` pixels; with `max_zoom` > 0, a random zoom into the view by up
    to that share; with `max_blur` > 0, a Gaussian blur of the view with a random sigma of up to that share of
    the width. All are drawn on the device.

    The roll is an index gather, the zoom a grid sample and the blur a convolution with a kernel built from a
    device-tensor sigma: no host sync, and capturable in a CUDA graph (the graph replays new random numbers each
    time). The zoom asks features to hold across scales, as a viewer sees them from near and far; it crops, so no
    border ever shows. The blur asks them to survive what a thumbnail, a projector or the stream's encoder
    leaves: shapes and colours, not fine texture.

    Maps over the picture (the targets' region masks, any size) go through the same zoom, so that each part of
    the view is still asked for the subject of the part of the picture it shows; the roll, a few pixels, and
    the blur leave them as they are.
    """

    def __init__(self, max_shift: int, height: int, width: int, device, max_zoom: float = 0.0, max_blur: float = 0.0):
        self.max_shift, self.max_zoom = max_shift, max_zoom
        self.rows = torch.arange(height, device=device)
        self.cols = torch.arange(width, device=device)
        self.identity = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], device=device)
        self.max_sigma = max_blur * width
        self.taps = _taps(self.max_sigma, device) if self.max_sigma > 0 else None

    def __call__(self, image: torch.Tensor, maps: tuple[torch.Tensor, ...] = ()) -> tuple[torch.Tensor, ...]:
        """The jittered view of `image` (N, C, H, W), then each of `maps` (K, h, w) as that view shows it."""
        if self.max_shift > 0:
            shift = torch.randint(-self.max_shift, self.max_shift + 1, (2,), device=image.device)
            rows = (self.rows - shift[0]) % self.rows.numel()
            cols = (self.cols - shift[1]) % self.cols.numel()
            image = image.index_select(2, rows).index_select(3, cols)
        if self.max_zoom > 0:
            draw = torch.rand(3, device=image.device)
            scale = 1.0 / (1.0 + self.max_zoom * draw[0])  # the share of the picture the view keeps
            theta = self.identity * torch.stack([scale, scale, torch.ones_like(scale)])
            theta[:, 2] = (1.0 - scale) * (2.0 * draw[1:] - 1.0)  # anywhere the crop stays inside
            grid = F.affine_grid(theta.unsqueeze(0).to(image.dtype), list(image.shape), align_corners=False)
            # border: the outermost samples may fall up to half a pixel outside the picture
            image = F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=False)
            maps = tuple(_crop(m, theta) for m in maps)
        if self.taps is not None:
            sigma = (self.max_sigma * torch.rand((), device=image.device)).clamp(min=MIN_SIGMA)
            image = _separable(image, _kernel(self.taps, sigma).to(image.dtype))
        return (image, *maps)


def _crop(plane: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """(K, h, w) maps seen through the crop `theta` (2x3, normalised coordinates)."""
    grid = F.affine_grid(theta.unsqueeze(0).to(plane.dtype), [1, *plane.shape], align_corners=False)
    return F.grid_sample(plane.unsqueeze(0), grid, mode="bilinear", padding_mode="border", align_corners=False)[0]


MIN_SIGMA = 0.3  # pixels: a narrower Gaussian is a copy of the picture


def gaussian_blur(image: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma <= 0:
        return image
    taps = _taps(sigma, image.device)
    return _separable(image, _kernel(taps, torch.tensor(sigma, device=image.device)).to(image.dtype))


def _taps(sigma: float, device) -> torch.Tensor:
    """Tap offsets of a Gaussian kernel wide enough for `sigma` (3 sigma each side)."""
    radius = max(1, math.ceil(3 * sigma))
    return torch.arange(-radius, radius + 1, device=device, dtype=torch.float32)


def _kernel(taps: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    k = torch.exp(-0.5 * (taps / sigma) ** 2)
    return k / k.sum()


def _separable(image: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Convolve each channel with `kernel` along rows, then columns, reflecting at the borders."""
    radius, c = kernel.numel() // 2, image.shape[1]
    out = F.conv2d(
        F.pad(image, (radius, radius, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c
    )
    return F.conv2d(
        F.pad(out, (0, 0, radius, radius), mode="reflect"), kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c
    )
