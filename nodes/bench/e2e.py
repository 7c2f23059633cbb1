"""``dreamgraph bench e2e``: how long from a chat request to seeing the subject in the output video.

It runs the shipped ``stream`` launch file for real, types subjects into the graph's chat topic and watches the output
frames: the time until a frame's overlay and keyframe labels name the subject (the label latency), and the
time until a different network, EfficientNet-Lite2, finds the subject among its top-5 classes for the frame
(the recognition latency). The 2015 original drew a keyframe every 7-8 s; that is the baseline.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from typing import Annotated

import typer

from ...graph.bench import bench_line, emit

ORIGINAL_KEYFRAME_S = 7.5
LAUNCH_FILE = "stream"  # the shipped launch file, found by name


def measure(harness, subject: str, class_id: int, judge, timeout: float) -> dict:
    """Publish one request and time the label and the recognition (raw and at a glance) in the output frames."""
    from ..common.messages import ChatMessage
    from ..dream.judge import recognised

    sub, peers = harness.client.subscribe("video", "latest")
    time.sleep(1.0)  # connected before the request goes out
    harness.publish("chat", ChatMessage(source="bench", user="bench", text=subject, timestamp=time.time()))
    sent = time.monotonic()
    label_s = recognised_s = glance_s = None
    try:
        while time.monotonic() - sent < timeout and (recognised_s is None or glance_s is None):
            peers.refresh()
            if not sub.socket.poll(200):
                continue
            sub.drain(lambda reason: None)
            if not sub.buffer:
                continue
            frame = sub.buffer.pop()
            sub.buffer.clear()
            arrived = time.monotonic() - sent
            meta = frame.msg.meta
            if label_s is None and subject in meta.get("labels", []) and subject in meta.get("overlay", ""):
                label_s = arrived
            if label_s is None:
                continue
            if recognised_s is None and recognised(judge.ranks(frame.msg.image, [class_id])):
                recognised_s = arrived
            if glance_s is None and recognised(judge.glance_ranks(frame.msg.image, [class_id])):
                glance_s = arrived
    finally:
        sub.close()
    return {"label_s": label_s, "recognised_s": recognised_s, "recognised_glance_s": glance_s}


def bench_e2e(
    subjects: Annotated[
        str, typer.Option(help="comma-separated subjects to request in turn")
    ] = "volcano,goldfish,pizza",
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    size: Annotated[str, typer.Option(help="dream size WIDTHxHEIGHT")] = "224x224",
    timeout: Annotated[float, typer.Option(help="seconds to wait for each subject")] = 180.0,
    launch: Annotated[str, typer.Option(help="graph to run (needs stream's arguments and topics)")] = LAUNCH_FILE,
) -> None:
    """Chat request to output: seconds to the first frame labelled with the subject, and to the first frame
    the judge network recognises (top-5)."""
    from ...graph.testing.harness import GraphHarness
    from ..chat.vocab import Vocabulary
    from ..dream.judge import Judge
    from ..dream.models import load_model

    width, height = (int(v) for v in size.lower().split("x"))
    vocab = Vocabulary(max_targets=1)
    judge = Judge(load_model("lite2"), "lite2")
    results = []
    with tempfile.TemporaryDirectory(prefix="dg-e2e-") as tmp:
        args = {
            "device": device,
            "width": width,
            "height": height,
            "out_width": width * 2,
            "out_height": height * 2,
            "preview_port": 0,
            "recording": os.path.join(tmp, "e2e.mp4"),
            "idle_seconds": 3600,
            "hold_seconds": 1,
            "playlist": "#0",
        }
        with GraphHarness(launch, args=args) as harness:
            harness.wait_for("keyframes", timeout=300)
            for subject in (s.strip() for s in subjects.split(",") if s.strip()):
                matches = vocab.parse(subject).matches
                if not matches:
                    raise typer.BadParameter(f"{subject!r} names no ImageNet class")
                result = measure(harness, matches[0].label, matches[0].class_id, judge, timeout)
                results.append((subject, result))
                time.sleep(1.5)  # past the scheduler's hold, so the next request takes over at once
    import torch

    case_device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    for metric, key in (
        ("label_latency_s", "label_s"),
        ("recognised_latency_s", "recognised_s"),
        ("recognised_latency_s_glance", "recognised_glance_s"),
    ):
        values = [r[key] for _, r in results if r[key] is not None]
        for subject, r in results:
            emit(
                bench_line(
                    "e2e",
                    f"{subject.replace(' ', '_')}-{width}x{height}-{case_device}",
                    metric,
                    r[key],
                    "s",
                    case_device,
                    ORIGINAL_KEYFRAME_S,
                    timeout_s=timeout,
                )
            )
        emit(
            bench_line(
                "e2e",
                f"median-{width}x{height}-{case_device}",
                metric,
                statistics.median(values) if values else None,
                "s",
                case_device,
                ORIGINAL_KEYFRAME_S,
                reached=f"{len(values)}/{len(results)}",
            )
        )
