"""The documentation users rely on: the README's node reference is generated from the code, the launch files
it describes validate, the shipped prior is what the documented command fits, and the README's commands exist."""

import os
import re
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_readme_node_reference_matches_the_code():
    result = cli("nodes-doc", "--check", "README.md")
    assert result.returncode == 0, result.stderr + result.stdout


def test_every_launch_file_in_the_readme_validates():
    readme = open(os.path.join(ROOT, "README.md")).read()
    files = sorted(set(re.findall(r"launch/[a-z_]+\.yaml", readme)))
    assert "launch/stream.yaml" in files and len(files) >= 5
    env = {
        "TWITCH_CHANNEL": "somechannel",
        "TWITCH_STREAM_KEY": "live_0000",
        "DG_SMALL_HOST": "127.0.0.1",
        "DG_GPU_HOST": "127.0.0.1",
        "DG_VIDEO_HOST": "127.0.0.1",
    }
    for name in files:
        result = cli("check", name, env=env)
        assert result.returncode == 0, f"{name}: {result.stderr}"


def test_twitch_graph_explains_missing_environment():
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWITCH_")}
    result = subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", "check", "launch/twitch.yaml"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "TWITCH_CHANNEL is not set" in result.stderr and "TWITCH_STREAM_KEY is not set" in result.stderr


def test_readme_cli_commands_exist():
    readme = open(os.path.join(ROOT, "README.md")).read()
    verbs = set(re.findall(r"`dreamgraph ([a-z-]+)", readme))
    assert {"launch", "check", "topic", "node", "bench", "dream", "prior", "words"} <= verbs
    for verb in sorted(verbs):
        result = cli(verb, "--help")
        assert result.returncode == 0, f"dreamgraph {verb}: {result.stderr}"


def test_shipped_prior_is_what_the_documented_command_fits(tmp_path):
    out = tmp_path / "prior.npz"
    result = cli("prior", "fit", "skimage", "--out", str(out))
    assert result.returncode == 0, result.stderr
    fitted, shipped = np.load(out), np.load(os.path.join(ROOT, "nodes", "dream", "data", "default_prior.npz"))
    for key in shipped.files:
        np.testing.assert_array_equal(fitted[key], shipped[key])
