"""``dreamgraph bench bag``: recording 1080p frames at 25 fps to MCAP, with no frame lost.

Two sources, because compression depends on the picture: the built-in test pattern (flat colour bars: far
easier to compress than anything real) and a natural photograph (scikit-image's astronaut, scaled up, with
sensor-like noise, shifted a few pixels every frame) published from this process. The recorder is the
``dreamgraph bag record`` command in its own process, stopped with Ctrl-C (SIGINT) as a user would. Reported per
case: frames per second written against published (the file is complete only once the recorder exits, so a
recorder that falls behind shows here), frames lost, MB/s written, bytes per frame against the raw size, and the
recorder's CPU time per frame against the frame period (it has two threads, so up to twice the period fits in
two cores): on a shared machine the rate depends on the neighbours, the CPU time per frame does not.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time

import cv2
import numpy as np

from ..core import message as wire
from ..core.extras import photo
from ..core.message import Image
from ..testing.harness import GraphHarness
from ..tools.bag import info, messages
from . import bench_line

TOPIC = "frames"
SETTLE_S = 1.5  # the recorder's subscription reaches every publisher within one discovery cycle


def natural_frame(width: int, height: int) -> np.ndarray:
    """A photograph at the recording size, with sensor-like noise."""
    base = cv2.resize(photo("astronaut"), (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(base + np.random.default_rng(0).normal(0, 2.0, base.shape), 0, 255).astype(np.uint8)


def _publish(client, frame: np.ndarray, fps: float, stop: threading.Event):
    client.publish_prepare(TOPIC, 10.0)
    due, seq = time.monotonic(), 0
    while not stop.is_set():
        # Shifted a little every frame; np.roll makes a fresh array, as the frame is sent without copying.
        client.publish_now(TOPIC, Image(image=np.roll(frame, 4 * seq, axis=1), seq=seq, stamp=time.time()))
        seq += 1
        due += 1.0 / fps
        time.sleep(max(0.0, due - time.monotonic()))


def _record(h: GraphHarness, path: str, seconds: float, zstd_level: int, publish=None) -> dict:
    """Record TOPIC for ``seconds`` (``publish(stop)`` runs meanwhile when given), then Ctrl-C the recorder."""
    command = ["bag", "record", TOPIC, "-o", path, f"--zstd-level={zstd_level}"]
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    recorder = subprocess.Popen(
        [sys.executable, "-m", "dreamgraph.graph.cli", *command],
        env=h.env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    recorder.stderr.readline()  # "recording ..."
    time.sleep(SETTLE_S)
    stop = threading.Event()
    publisher = threading.Thread(target=publish, args=(stop,), daemon=True) if publish else None
    if publisher:
        publisher.start()
    time.sleep(seconds)
    stop.set()
    if publisher:
        publisher.join(10)
    interrupted = time.time()
    recorder.send_signal(signal.SIGINT)
    recorder.wait(600)
    finished = time.time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the recorder is the only child that ended meanwhile
    cpu_s = children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime
    sent = {}
    for _, frames in messages(path):
        env = wire.decode(frames)
        sent[env.msg.seq] = env.sent
    first, last = min(sent), max(sent)
    return {
        "recorded": len(sent),
        "published": last - first + 1,
        "span_s": sent[last] - sent[first],
        "recording_s": finished - sent[first],
        "finish_s": finished - interrupted,
        "cpu_s": cpu_s,
        "bytes": os.path.getsize(path),
        "compression_ratio": info(path)["compression_ratio"],
    }


def _lines(case: str, result: dict, width: int, height: int, fps: float, zstd_level: int) -> list[dict]:
    raw = width * height * 3
    context = {
        "published": result["published"],
        "recorded": result["recorded"],
        "lost": result["published"] - result["recorded"],
        "zstd_level": zstd_level,
        "finish_s": result["finish_s"],
        "load_avg_1min": os.getloadavg()[0],  # the 2-core box is shared: say how busy it was
    }
    published_fps = (result["published"] - 1) / result["span_s"] if result["span_s"] > 0 else fps
    per_frame = result["bytes"] / result["recorded"]
    return [
        bench_line(
            "bag",
            case,
            "frames_per_s",
            result["recorded"] / result["recording_s"],
            "frames/s",
            "cpu",
            published_fps,
            **context,
        ),
        bench_line(
            "bag",
            case,
            "mb_per_s_written",
            result["bytes"] / result["recording_s"] / 1e6,
            "MB/s",
            "cpu",
            raw * published_fps / 1e6,
            **context,
        ),
        bench_line("bag", case, "bytes_per_frame", per_frame, "B", "cpu", raw, **context),
        bench_line(
            "bag",
            case,
            "recorder_cpu_ms_per_frame",  # what the recorder costs, whatever else the machine is doing
            1000 * result["cpu_s"] / result["recorded"],
            "ms",
            "cpu",
            1000 / fps,
            **context,
        ),
        bench_line(
            "bag",
            case,
            "compression_ratio",
            raw / per_frame,
            "x",
            "cpu",
            1.0,
            chunk_ratio=result["compression_ratio"],
            **context,
        ),
    ]


def run_bag_bench(
    seconds: float = 10.0, width: int = 1920, height: int = 1080, fps: float = 25.0, zstd_level: int = 1
) -> list[dict]:
    label = f"{height}p{fps:g}"
    natural = natural_frame(width, height)  # before anything runs: without the prior extra, fail at once
    lines = []
    pattern = {
        "name": "pattern",
        "node": "dreamgraph.graph.builtin.testpattern",
        "params": {"width": width, "height": height, "fps": fps},
    }
    with tempfile.TemporaryDirectory(prefix="dgbag-") as tmp:
        with GraphHarness({"nodes": [pattern]}) as h:
            h.wait_for(TOPIC, timeout=60)
            result = _record(h, f"{tmp}/pattern.mcap", seconds, zstd_level)
        lines += _lines(f"testpattern-{label}", result, width, height, fps, zstd_level)
        idle = {"name": "tick", "node": "dreamgraph.graph.builtin.ticker", "params": {"rate": 1.0}}
        with GraphHarness({"nodes": [idle]}) as h:
            h.wait_for("ticks", timeout=60)
            result = _record(
                h, f"{tmp}/natural.mcap", seconds, zstd_level, lambda stop: _publish(h.client, natural, fps, stop)
            )
        lines += _lines(f"natural-{label}", result, width, height, fps, zstd_level)
    return lines
