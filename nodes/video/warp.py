"""Zoom/rotate warps that also fit a source image to the output size, blended two at a time.

One affine warp per source per output frame does the zoom, the rotation and the final resize together, so a
small keyframe (say 288x512) becomes a 1080p frame in a single resampling pass.

Convention shared with the optimizer (use `zoom_matrix` there too so both sides agree): a keyframe made from the
previous one by (zoom, rotation) is `cv2.warpAffine(prev, zoom_matrix(w, h, w, h, zoom, rotation), (w, h))`:
zoom > 1 magnifies about the image centre, rotation is in degrees, positive counter-clockwise on screen
(OpenCV's getRotationMatrix2D convention).
"""

from __future__ import annotations

import math
import os
import sys

import cv2
import numpy as np

# Sources are sampled past their edges when zoomed out or rotated; mirroring looks far better than black or
# smeared edge pixels, and both back ends mirror the same way (about the pixel edge, not the edge pixel).
_CV_BORDER = cv2.BORDER_REFLECT
_TORCH_PADDING = "reflection"


def zoom_matrix(src_w: int, src_h: int, dst_w: int, dst_h: int, zoom: float, rotation: float) -> np.ndarray:
    """2x3 affine matrix mapping source pixels to output pixels: cover-fit, then zoom and rotate about the centre."""
    scale = max(dst_w / src_w, dst_h / src_h) * zoom
    angle = math.radians(rotation)
    a, b = scale * math.cos(angle), scale * math.sin(angle)
    sx, sy = (src_w - 1) / 2.0, (src_h - 1) / 2.0
    dx, dy = (dst_w - 1) / 2.0, (dst_h - 1) / 2.0
    return np.array([[a, b, dx - a * sx - b * sy], [-b, a, dy + b * sx - a * sy]], dtype=np.float64)


class CpuWarper:
    """OpenCV back end: warpAffine into two preallocated layers and a weighted add into the caller's frame."""

    device = "cpu"

    def __init__(self, width: int, height: int):
        self.size = (width, height)
        self._first = np.empty((height, width, 3), np.uint8)
        self._second = np.empty((height, width, 3), np.uint8)

    def upload(self, image: np.ndarray) -> np.ndarray:
        """Own a copy of a keyframe (received arrays are views on transport buffers)."""
        return np.array(image, dtype=np.uint8, order="C", copy=True)

    def _warp(self, source: np.ndarray, zoom: float, rotation: float, dst: np.ndarray) -> np.ndarray:
        h, w = source.shape[:2]
        matrix = zoom_matrix(w, h, self.size[0], self.size[1], zoom, rotation)
        return cv2.warpAffine(source, matrix, self.size, dst=dst, flags=cv2.INTER_LINEAR, borderMode=_CV_BORDER)

    def render(
        self,
        out: np.ndarray,
        first,
        first_zoom: float,
        first_rotation: float,
        second=None,
        second_zoom: float = 1.0,
        second_rotation: float = 0.0,
        weight: float = 0.0,
    ) -> np.ndarray:
        """Write (1 - weight) * warp(first) + weight * warp(second) into out (HxWx3 uint8)."""
        if second is None or weight <= 0.0:
            return self._warp(first, first_zoom, first_rotation, out)
        if weight >= 1.0:
            return self._warp(second, second_zoom, second_rotation, out)
        self._warp(first, first_zoom, first_rotation, self._first)
        self._warp(second, second_zoom, second_rotation, self._second)
        return cv2.addWeighted(self._first, 1.0 - weight, self._second, weight, 0.0, dst=out)


class TorchWarper:
    """torch back end (CUDA in production, any torch device in tests): affine_grid + grid_sample + lerp.

    Keyframes are uploaded once as float tensors; each frame costs two grid samples on the device and one
    download into the caller's (pinned-size) uint8 frame.
    """

    def __init__(self, width: int, height: int, device: str = "cuda"):
        import torch

        self._torch = torch
        self.device = device
        self.size = (width, height)
        self._shape = (1, 3, height, width)
        # Normalised output coords -> output pixels (align_corners=False puts pixel centres at (2i+1)/n - 1).
        self._out_to_pixels = np.array(
            [[width / 2.0, 0, (width - 1) / 2.0], [0, height / 2.0, (height - 1) / 2.0], [0, 0, 1]]
        )
        self._result = torch.empty((height, width, 3), dtype=torch.uint8, device=device)
        self._host = torch.empty((height, width, 3), dtype=torch.uint8, pin_memory=device.startswith("cuda"))

    def upload(self, image: np.ndarray):
        torch = self._torch
        tensor = torch.from_numpy(np.ascontiguousarray(image)).to(self.device, non_blocking=False)
        return tensor.permute(2, 0, 1).unsqueeze(0).float()

    def _theta(self, source, zoom: float, rotation: float):
        h, w = source.shape[-2:]
        forward = np.vstack([zoom_matrix(w, h, self.size[0], self.size[1], zoom, rotation), [0, 0, 1]])
        pixels_to_source_norm = np.array([[2.0 / w, 0, 1.0 / w - 1], [0, 2.0 / h, 1.0 / h - 1]])
        theta = pixels_to_source_norm @ np.linalg.inv(forward) @ self._out_to_pixels
        return self._torch.tensor(theta[None], dtype=source.dtype, device=self.device)

    def _warp(self, source, zoom: float, rotation: float):
        functional = self._torch.nn.functional
        grid = functional.affine_grid(self._theta(source, zoom, rotation), self._shape, align_corners=False)
        return functional.grid_sample(source, grid, mode="bilinear", padding_mode=_TORCH_PADDING, align_corners=False)

    def render(
        self,
        out: np.ndarray,
        first,
        first_zoom: float,
        first_rotation: float,
        second=None,
        second_zoom: float = 1.0,
        second_rotation: float = 0.0,
        weight: float = 0.0,
    ) -> np.ndarray:
        torch = self._torch
        with torch.no_grad():
            if second is None or weight <= 0.0:
                blended = self._warp(first, first_zoom, first_rotation)
            elif weight >= 1.0:
                blended = self._warp(second, second_zoom, second_rotation)
            else:
                blended = torch.lerp(
                    self._warp(first, first_zoom, first_rotation),
                    self._warp(second, second_zoom, second_rotation),
                    weight,
                )
            self._result.copy_(blended[0].permute(1, 2, 0).add_(0.5).clamp_(0, 255))
            self._host.copy_(self._result)
        np.copyto(out, self._host.numpy())
        return out


def nvidia_driver_may_be_present() -> bool:
    """False where there surely is no CUDA GPU (Linux without the NVIDIA driver, macOS), so that "auto" need not
    import torch (about 0.5 GB of memory and seconds of start-up) just to find that out."""
    if sys.platform.startswith("linux"):
        return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")
    return sys.platform != "darwin"


def make_warper(width: int, height: int, device: str = "auto"):
    """Pick the back end: "cpu" (OpenCV), "cuda" (torch), or "auto" (CUDA when torch sees a GPU)."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {device!r}")
    if device == "cpu" or (device == "auto" and not nvidia_driver_may_be_present()):
        return CpuWarper(width, height)
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if device == "cuda" and not has_cuda:
        raise RuntimeError("device=cuda was asked for but torch sees no CUDA GPU")
    return TorchWarper(width, height, "cuda") if has_cuda else CpuWarper(width, height)
