"""`dreamgraph bench interpolator`: sustained output rate and frame-interval jitter of the keyframe blender.

Each case renders mid-cross-fade frames (two warps and a blend, plus the caption) from 512x288 keyframes, the
size the CPU optimizer makes. The baseline is a plain cv2.resize of the same keyframe to the same output size,
measured in the same run, so the ratio says what the zoom/rotate/blend costs over the cheapest possible upscale.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from ...graph.bench import bench_line, emit
from ..video.blend import KeyframeBlender
from ..video.overlay import TextOverlay

KEYFRAME_SIZE = (512, 288)
CASES = {"720p": (1280, 720, 60.0), "1080p": (1920, 1080, 30.0)}  # width, height, target fps


def _keyframe(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (KEYFRAME_SIZE[1] // 8, KEYFRAME_SIZE[0] // 8, 3), dtype=np.uint8)
    return cv2.resize(small, KEYFRAME_SIZE, interpolation=cv2.INTER_CUBIC)


def _blend_frame(width: int, height: int, device: str):
    """A render function for one mid-blend frame, and the device it runs on."""
    blender = KeyframeBlender(width, height, device=device)
    overlay = TextOverlay(width, height)
    overlay.set_text("@viewer: bee + volcano")
    blender.add(_keyframe(0), 1.05, 0.3, now=0.0)
    blender.add(_keyframe(1), 1.05, 0.3, now=10.0)  # 10 s period: the blend stays mid-way during the run
    out = np.empty((height, width, 3), np.uint8)
    start = time.monotonic()

    def render():
        blender.render(out, 12.0 + time.monotonic() - start)
        overlay.draw(out)

    return render, blender.device


def _resize_frame(width: int, height: int):
    source, out = _keyframe(0), np.empty((height, width, 3), np.uint8)
    return lambda: cv2.resize(source, (width, height), dst=out, interpolation=cv2.INTER_LINEAR)


def _throughput(render, seconds: float) -> float:
    render()  # warm-up (allocator, OpenCV thread pool, CUDA context)
    frames, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        render()
        frames += 1
    return frames / (time.perf_counter() - start)


def _jitter_ms(render, fps: float, seconds: float) -> float:
    """p99 - p50 of the interval between finished frames when rendering on a monotonic schedule at fps."""
    render()
    period, finished = 1.0 / fps, []
    start = time.monotonic()
    for n in range(int(seconds * fps)):
        delay = start + n * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        render()
        finished.append(time.monotonic())
    intervals = np.diff(finished) * 1000.0
    return float(np.percentile(intervals, 99) - np.percentile(intervals, 50))


def _devices(device: str) -> list[str]:
    if device != "auto":
        return [device]
    import torch

    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def bench_interpolator(seconds: float = 3.0, device: str = "auto"):
    """Interpolator output rate (frames_per_s) and jitter (p99 - p50 frame interval) at 720p and 1080p."""
    for dev in _devices(device):
        for name, (width, height, fps) in CASES.items():
            case = f"{name}-{dev}"
            render, used = _blend_frame(width, height, dev)
            baseline = _resize_frame(width, height)
            emit(
                bench_line(
                    "interpolator",
                    case,
                    "frames_per_s",
                    _throughput(render, seconds),
                    "frames/s",
                    used,
                    _throughput(baseline, seconds),
                )
            )
            emit(
                bench_line(
                    "interpolator",
                    case,
                    f"jitter_at_{fps:g}fps",
                    _jitter_ms(render, fps, seconds),
                    "ms",
                    used,
                    _jitter_ms(baseline, fps, seconds),
                )
            )
