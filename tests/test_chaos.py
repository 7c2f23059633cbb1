"""The chaos bench on a small graph of built-in nodes: victims are killed and come back, the output is spared."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from dreamgraph.graph.bench.chaos import frame_gaps, run_chaos

GRAPH = {
    "nodes": [
        {
            "name": "output",
            "node": "dreamgraph.graph.builtin.testpattern",
            "params": {"width": 32, "height": 18, "fps": 25},
            "remap": {"frames": "video"},
        },
        {
            "name": "counter",
            "node": "dreamgraph.graph.builtin.counter",
            "respawn": True,
            "respawn_delay": 0.2,
            "remap": {"frames": "video"},
        },
        {"name": "ticker", "node": "dreamgraph.graph.builtin.ticker", "respawn": True, "respawn_delay": 0.2},
    ]
}
KEYS = {"bench", "case", "metric", "value", "unit", "device", "baseline", "ratio"}


def test_frame_gaps_counts_only_long_gaps():
    arrivals = [0.0, 0.04, 0.08, 0.30, 0.34, 1.0]
    gaps = frame_gaps(arrivals, 0.0, 2.0, fps=25)
    assert gaps["frames"] == 6 and gaps["gaps"] == 2
    assert abs(gaps["max_gap_s"] - 0.66) < 1e-9


def test_chaos_kills_respawning_nodes_and_measures(tmp_path):
    path = tmp_path / "graph.yaml"
    path.write_text(yaml.safe_dump(GRAPH))
    lines = run_chaos(str(path), duration=8, interval=2, baseline_s=3, seed=7)
    for line in lines:
        assert KEYS <= set(line), line
        json.dumps(line)
    by = {(l["case"], l["metric"]): l for l in lines}
    kills = by[("all", "kills")]["value"]
    assert kills >= 3
    assert by[("all", "restarts_recovered")]["value"] == kills  # every victim came back
    victims = {l["case"] for l in lines if l["metric"] == "time_to_first_status"}
    assert victims <= {"counter", "ticker"}  # the output node is never killed
    assert all(l["value"] >= l["respawn_delay_s"] for l in lines if l["metric"] == "time_to_first_status")
    assert by[("/video", "frame_rate")]["value"] > 0
    assert {"output", "counter", "ticker"} <= {l["case"] for l in lines if l["metric"] == "rss_end"}


def test_chaos_command_refuses_a_graph_without_victims(tmp_path):
    path = tmp_path / "graph.yaml"
    path.write_text(yaml.safe_dump({"nodes": GRAPH["nodes"][:1]}))
    result = subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", "bench", "chaos", str(path), "--duration", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no node to kill" in result.stderr
