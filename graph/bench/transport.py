"""``dreamgraph bench transport``: frames between two processes over ipc:// and tcp://, against memcpy.

The publisher is this process (zero-copy sends from a FramePool, as nodes do); the subscriber is a second
process decoding with the framework's own Subscription. Throughput is measured at the subscriber; latency at
an offered load of 60 frames/s uses the send timestamp in each header (one machine, one clock). The "-keys"
cases run with a graph's CurveZMQ keys: tcp is encrypted, ipc stays plain.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import zmq

from ..core.message import Image
from ..core.node import FramePool
from ..core.security import Security, generate_keys
from ..core.transport import Delivery, Publisher, Subscription
from . import bench_line

TOPIC = "bench"
PIPE_FRAMES = 8  # high-water mark on each side


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def memcpy_fps(shape, seconds: float = 1.0) -> float:
    src = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    dst = np.empty_like(src)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        np.copyto(dst, src)
        n += 1
    return n / (time.perf_counter() - start)


def subscriber_main(endpoint: str, expect: int, timeout: float, keys_dir: str = ""):
    """Runs in the subscriber process: prints one JSON line with arrival statistics."""
    ctx = zmq.Context.instance()
    sub = Subscription(ctx, TOPIC, Delivery(False, 64), Security(keys_dir) if keys_dir else None)
    sub.socket.setsockopt(zmq.RCVHWM, PIPE_FRAMES)  # before connecting: a few frames in flight, not 1000
    sub.connect(endpoint)
    print("ready", flush=True)
    latencies, arrivals, seqs = [], [], []
    end = time.monotonic() + timeout
    while len(arrivals) < expect and time.monotonic() < end:
        if not sub.socket.poll(100):
            continue
        sub.drain(lambda reason: None)
        while sub.buffer:
            env = sub.buffer.popleft()
            now = time.time()
            if env.msg.seq < 0:
                end = 0  # end-of-run marker
                break
            arrivals.append(time.monotonic())
            latencies.append((now - env.sent) * 1000)
            seqs.append(env.msg.seq)
            assert env.msg.image.shape[2] == 3
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else float("nan")
    print(
        json.dumps(
            {
                "received": len(arrivals),
                "span": span,
                "latencies": latencies,
                "lost": (seqs[-1] - seqs[0] + 1 - len(seqs)) if seqs else 0,
            }
        ),
        flush=True,
    )


def _run_case(endpoint: str, shape, frames: int, rate: float | None, keys_dir: str = "") -> dict:
    ctx = zmq.Context.instance()
    pub = Publisher(
        ctx, [endpoint], f"bench#{os.getpid()}", Security(keys_dir) if keys_dir else None, sndhwm=PIPE_FRAMES
    )
    # Sends wait for room instead of dropping at the high-water mark (as nodes do), so that the throughput
    # cases measure what the pipe carries and every frame counts.
    pub.socket.setsockopt(zmq.XPUB_NODROP, 1)
    bound = pub.endpoints[0]
    child = subprocess.Popen(
        [sys.executable, "-m", "dreamgraph.graph.bench.transport", bound, str(frames), "60", keys_dir],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "ready"
    pool = FramePool(shape, np.uint8, count=4)
    for i, arr in enumerate(pool._arrays):
        arr[:] = i
    # Wait until the subscription has reached us, so no frame is sent into the void.
    while pub.subscribers.get(TOPIC, 0) <= 0:
        pub.socket.poll(50)
        pub.handle_subscriptions()
    next_due = time.perf_counter()
    for seq in range(frames):
        if rate:
            next_due += 1.0 / rate
            delay = next_due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        frame = pool.acquire()
        tracker = pub.publish(TOPIC, Image(image=frame, seq=seq), track=True)
        pool.track(frame, tracker)
    pub.publish(TOPIC, Image(image=np.zeros((1, 1, 3), np.uint8), seq=-1))
    result = json.loads(child.stdout.readline())
    child.wait(10)
    pub.close()
    return result


def run_transport_bench(frames: int = 300, width: int = 1920, height: int = 1080):
    shape = (height, width, 3)
    frame_mb = width * height * 3 / 1e6
    label = f"{height}p" if (width, height) in ((1920, 1080), (1280, 720)) else f"{width}x{height}"
    baseline = memcpy_fps(shape)
    yield bench_line("transport", f"memcpy-{label}", "frames_per_s", baseline, "frames/s", "cpu", baseline)
    with tempfile.TemporaryDirectory(prefix="dgb-") as tmp:
        keys = str(generate_keys(f"{tmp}/keys"))
        for kind, endpoint, keys_dir in (
            ("ipc", f"ipc://{tmp}/bench.sock", ""),
            ("tcp", "tcp://127.0.0.1:*", ""),
            ("ipc", f"ipc://{tmp}/bench.sock", keys),
            ("tcp", "tcp://127.0.0.1:*", keys),
        ):
            case = f"{kind}-{label}" + ("-keys" if keys_dir else "")
            result = _run_case(endpoint, shape, frames, None, keys_dir)
            fps = (result["received"] - 1) / result["span"] if result["received"] > 1 else 0.0
            counts = {"frames": frames, "received": result["received"]}
            yield bench_line("transport", case, "frames_per_s", fps, "frames/s", "cpu", baseline, **counts)
            yield bench_line(
                "transport", case, "mb_per_s", fps * frame_mb, "MB/s", "cpu", baseline * frame_mb, **counts
            )
            paced = _run_case(endpoint, shape, 120, 60.0, keys_dir)
            for q in (50, 99):
                yield bench_line(
                    "transport",
                    f"{case}-60fps",
                    f"latency_p{q}_ms",
                    _percentile(paced["latencies"], q),
                    "ms",
                    "cpu",
                    1000.0 / baseline,
                    received=paced["received"],
                    offered_fps=60,
                )


if __name__ == "__main__":
    subscriber_main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
