"""Secrets taken from the environment never appear in what the launcher or `check` print."""

import subprocess
import sys

import yaml
from test_graph_helpers import HELPERS_ENV

from dreamgraph.graph.testing.harness import GraphHarness

SECRET = "s3cret-T0ken-value"


def test_launcher_masks_secret_values_in_node_output():
    launch = {
        "nodes": [
            {"name": "talker", "node": "test_graph_helpers:Talker", "params": {"text": "token=${env:DG_TEST_TOKEN}"}}
        ]
    }
    with GraphHarness(launch, env={**HELPERS_ENV, "DG_TEST_TOKEN": SECRET}) as harness:
        line = harness.wait_output("saying token=", timeout=30)
    assert "token=****" in line
    assert SECRET not in harness.text()


def test_check_masks_secret_values_in_errors(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "nodes": [
                    {
                        "name": "tick",
                        "node": "dreamgraph.graph.builtin.ticker",
                        "params": {"rate": "${env:DG_TEST_TOKEN}"},
                    }
                ]
            }
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", "check", str(path)],
        capture_output=True,
        text=True,
        env={**HELPERS_ENV, "DG_TEST_TOKEN": SECRET, "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 1
    assert "params.rate" in result.stderr and "****" in result.stderr
    assert SECRET not in result.stderr + result.stdout
