"""/healthz and /metrics of a real graph over real HTTP: health follows a node's death and respawn, and the
metrics parse as Prometheus text."""

from __future__ import annotations

import os
import re
import signal
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from dreamgraph.graph.testing.harness import GraphHarness


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def _until(url: str, code: int, timeout: float = 40.0) -> str:
    end = time.monotonic() + timeout
    while True:
        got, body = _get(url)
        if got == code:
            return body
        assert time.monotonic() < end, f"{url} stayed {got}: {body}"
        time.sleep(0.3)


def test_health_follows_a_killed_node_and_metrics_parse():
    launch = {
        "nodes": [
            {
                "name": "tick",
                "node": "dreamgraph.graph.builtin.ticker",
                "params": {"rate": 20},
                "respawn": True,
                "respawn_delay": 2.0,
            },  # fmt: skip
            {
                "name": "metrics",
                "node": "dreamgraph.graph.builtin.metrics",
                "params": {"port": 0, "rate_topic": "ticks", "min_rate_hz": 5},
            },
        ]
    }
    with GraphHarness(launch) as h:
        base = re.search(r"health at (http://[\d.]+:\d+)/healthz", h.wait_output("health at http://")).group(1)
        assert _until(f"{base}/healthz", 200) == "ok\n"
        pid = h.wait_for("_status", lambda s: s.node == "tick").msg.pid
        os.kill(pid, signal.SIGKILL)
        reasons = _until(f"{base}/healthz", 503)
        assert "tick: " in reasons or "/ticks: " in reasons, reasons
        _until(f"{base}/healthz", 200)
        code, text = _get(f"{base}/metrics")
    assert code == 200
    families = {f.name: f for f in text_string_to_metric_families(text)}
    restarts = {
        s.labels["node"]: s.value for s in families["dreamgraph_node_restarts"].samples if s.name.endswith("_total")
    }
    assert restarts["tick"] >= 1
    rates = {
        (s.labels["node"], s.labels["topic"]): s.value for s in families["dreamgraph_messages_out_per_second"].samples
    }
    assert rates[("tick", "ticks")] > 5
    up = {s.labels["node"]: s.value for s in families["dreamgraph_node_up"].samples}
    assert up["tick"] == 1.0 and up["metrics"] == 1.0
    rss = {s.labels["node"]: s.value for s in families["dreamgraph_node_rss_bytes"].samples}
    assert 5e6 < rss["tick"] < 2e9, "a Python process's resident memory"
