"""`dreamgraph bench encoder`: what the video output costs the CPU, with x264 and, where it runs, NVENC.

The video node's own work (frames to ffmpeg's pipe) and ffmpeg's (encode, mux to a file) are measured as CPU
seconds per second of video, from moving natural frames at the stream's frame rate, so the figures say how much
of the machine the video path takes. The baseline is libx264 at the shipped preset, in the same run.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import typer

from ...graph.bench import bench_line, emit
from ...graph.core.extras import photo
from ...graph.core.usage import ProcessUsage
from ..video.ffmpeg import EncoderSettings, Target, nvenc_problem, nvenc_usable
from ..video.stream import LiveEncoder


def _frames(width: int, height: int, count: int = 50) -> list[np.ndarray]:
    """A slow pan over a photo: encoders work as hard as on the dream, not as on a still test card."""
    picture = cv2.resize(photo("astronaut"), (width + count * 4, height + count * 2))
    return [np.ascontiguousarray(picture[i * 2 : i * 2 + height, i * 4 : i * 4 + width]) for i in range(count)]


def _measure(encoder: str, width: int, height: int, fps: float, seconds: float) -> tuple[float, float]:
    """(CPU seconds per video second, frames written per second) for one encoder."""
    frames = _frames(width, height)
    with tempfile.TemporaryDirectory() as folder:
        settings = EncoderSettings(width, height, fps, bitrate="6000k", encoder=encoder)
        live = LiveEncoder(settings, [Target(str(Path(folder) / "out.mkv"))], logging.getLogger("bench.encoder"))
        live.start()
        time.sleep(1.0)  # ffmpeg's start-up is not the steady state
        usage, start, written_before = ProcessUsage(), time.monotonic(), live.frames_written
        for i in range(int(seconds * fps)):
            live.submit(frames[i % len(frames)])
            time.sleep(max(0.0, start + (i + 1) / fps - time.monotonic()))
        cores, wall = usage.sample()["cpu_percent"] / 100.0, time.monotonic() - start
        written = live.frames_written - written_before
        live.stop()
    return cores, written / wall


def bench_encoder(
    size: Annotated[str, typer.Option(help="WIDTHxHEIGHT of the video")] = "1920x1080",
    fps: Annotated[float, typer.Option(help="frames per second")] = 30.0,
    seconds: Annotated[float, typer.Option(help="seconds of video per encoder")] = 15.0,
) -> None:
    """CPU use of the video output with libx264 and NVENC (where it runs), as JSON lines."""
    width, height = (int(v) for v in size.lower().split("x"))
    case = f"{width}x{height}@{fps:g}"
    encoders = ["libx264"] + (["h264_nvenc"] if nvenc_usable() else [])
    results = {encoder: _measure(encoder, width, height, fps, seconds) for encoder in encoders}
    base_cpu, _ = results["libx264"]
    device = "cuda" if "h264_nvenc" in results else "cpu"
    for encoder, (cpu, rate) in results.items():
        emit(bench_line("encoder", f"{encoder}-{case}", "cpu_cores", cpu, "cores", device, base_cpu, fps=fps))
        emit(bench_line("encoder", f"{encoder}-{case}", "frames_per_s", rate, "1/s", device, fps, encoders=encoders))
    if "h264_nvenc" not in results:
        typer.echo(f"no NVENC here ({nvenc_problem()}): libx264 only", err=True)
