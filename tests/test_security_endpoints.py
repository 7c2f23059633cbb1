"""With a graph's keys, CurveZMQ guards the network endpoints while ipc on the same machine stays unencrypted:
one socket carries both, since libzmq takes the security options per bind/connect."""

from __future__ import annotations

import time

import zmq

from dreamgraph.graph.core import message as wire
from dreamgraph.graph.core.security import Security, generate_keys
from dreamgraph.graph.core.transport import Delivery, Publisher, Subscription
from dreamgraph.graph.testing.harness import GraphHarness


def _received(sock: zmq.Socket, seconds: float = 2.0) -> list:
    got, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        if sock.poll(50):
            got.append(wire.decode(sock.recv_multipart()).msg)
    return got


def _plain_sub(ctx: zmq.Context, endpoint: str) -> zmq.Socket:
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    sock.connect(endpoint)
    return sock


def test_one_publisher_serves_curve_on_tcp_and_plain_ipc(tmp_path):
    ctx = zmq.Context()
    security = Security(generate_keys(tmp_path / "keys"))
    publisher = Publisher(ctx, [f"ipc://{tmp_path}/pub.sock", "tcp://127.0.0.1:*"], "pub#1", security)
    ipc, tcp = publisher.endpoints
    keyed = Subscription(ctx, "ticks", Delivery(False, 100), security)
    keyed.connect(tcp)
    local = _plain_sub(ctx, ipc)
    intruder = _plain_sub(ctx, tcp)
    try:
        time.sleep(1.0)  # handshakes
        for n in range(5):
            publisher.publish("ticks", wire.Counter(n=n))
        time.sleep(0.5)
        keyed.drain(lambda reason: None)
        assert [env.msg.n for env in keyed.buffer] == list(range(5))
        assert [msg.n for msg in _received(local, 0.5)] == list(range(5))
        assert _received(intruder, 0.5) == []
    finally:
        for sock in (local, intruder):
            sock.close(0)
        keyed.close()
        publisher.close()
        Security.stop_all()
        ctx.term()


def test_a_graph_with_keys_talks_plain_ipc_on_its_own_machine(tmp_path):
    keys = generate_keys(tmp_path / "keys")
    launch = {
        "graph": {"keys": str(keys)},
        "nodes": [{"name": "clock", "node": "dreamgraph.graph.builtin.ticker", "params": {"rate": 20}}],
    }
    with GraphHarness(launch) as harness:
        assert harness.wait_for("ticks").msg.n > 0  # the tools, keyed, reach it over ipc
        endpoint = next(e for e in harness.client.endpoints() if e.endswith("clock.sock"))
        sub = _plain_sub(harness.client.ctx, endpoint)
        try:
            assert any(isinstance(msg, wire.Counter) for msg in _received(sub))
        finally:
            sub.close(0)


def test_transport_bench_delivers_every_frame_plain_and_with_keys():
    import json
    import subprocess
    import sys

    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "dreamgraph.graph.cli",
            "bench",
            "transport",
            "--frames",
            "40",
            "--width",
            "64",
            "--height",
            "36",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    throughput = {rec["case"]: rec for rec in lines if rec["metric"] == "frames_per_s"}
    assert set(throughput) == {"memcpy-64x36", "ipc-64x36", "tcp-64x36", "ipc-64x36-keys", "tcp-64x36-keys"}, r.stderr
    for case, rec in throughput.items():
        assert rec["value"] > 0 and {"bench", "unit", "device", "baseline", "ratio"} <= set(rec)
        if case != "memcpy-64x36":
            assert rec["received"] == 40, rec  # no frame dropped: the numbers measure the pipe, not the losses
