"""`dreamgraph doctor` as a real CLI process: one line per check, exit 0 only when the launch file's needs are met."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def doctor(*args: str, env: dict | None = None, cwd: str = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", "doctor", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env=env or dict(os.environ),
    )


def mark(result: subprocess.CompletedProcess, check: str) -> str:
    """The mark (ok, FAIL, warn) of the line for this check ("optimizer: weights"), or "" when there is none."""
    for line in result.stdout.splitlines():
        found, _, rest = line.partition("  ")
        if rest.lstrip().startswith(f"{check}: "):
            return found.strip()
    return ""


def test_the_default_graph_is_ready_on_this_machine():
    result = doctor("launch/stream.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("python", "disk", "preview: port", "optimizer: torch", "optimizer: weights", "recorder: x264"):
        assert mark(result, name) == "ok", (name, result.stdout)
    assert result.stderr.strip() == "" and result.stdout.rstrip().endswith("ready")


def test_a_taken_preview_port_fails_with_the_fix():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = doctor("launch/stream.yaml", f"preview_port:={port}")
    assert result.returncode == 1
    assert f"FAIL  preview: port: port {port} on 127.0.0.1 is taken" in result.stdout
    assert "1 problem(s)" in result.stderr


def test_missing_weights_and_cuda_fail_only_when_the_file_needs_them():
    result = doctor("launch/stream.yaml", "model:=vgg19", "device:=cuda")
    assert result.returncode == 1
    assert mark(result, "optimizer: weights") == "FAIL" and "This machine never downloads them" in result.stdout
    assert mark(result, "optimizer: cuda") in ("ok", "FAIL")
    assert mark(doctor("launch/stream.yaml"), "optimizer: cuda") in ("ok", "warn")


def test_window_needs_a_display_and_keys_must_be_private(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o755)
    (tmp_path / "g.yaml").write_text(
        f"graph: {{keys: {keys}}}\nnodes:\n  - {{name: projector, node: window}}\n"
        "  - {name: tick, node: dreamgraph.graph.builtin.ticker}\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = doctor(str(tmp_path / "g.yaml"), env=env)
    assert result.returncode == 1
    assert mark(result, "projector: display") == "FAIL" and mark(result, "keys") == "FAIL"
    assert f"dreamgraph keys generate {keys}" in result.stdout
    subprocess.run([sys.executable, "-m", "dreamgraph.graph.cli", "keys", "generate", str(keys)], check=True)
    assert mark(doctor(str(tmp_path / "g.yaml"), env=env), "keys") == "ok"


def test_without_a_file_every_installed_node_is_checked_and_only_warns():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = doctor(env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert mark(result, "window: display") == "warn"
    assert mark(result, "optimizer: weights") == "ok"
