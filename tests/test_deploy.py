"""The installation files: systemd units that systemd accepts, a Dockerfile that passes hadolint, and a compose
file and container command that start the default graph."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_accepts_the_unit(tmp_path, unit):
    # verify checks that ExecStart's program exists: point it at this checkout's dreamgraph
    text = unit.read_text().replace("/opt/dreamgraph/.venv/bin/dreamgraph", str(BIN / "dreamgraph"))
    instance = tmp_path / unit.name.replace("@.", "@stream.")
    instance.write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", str(instance)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
    assert "Restart=always" in text and "EnvironmentFile=" in text and "After=network-online.target" in text


def test_the_dockerfile_passes_hadolint():
    result = subprocess.run(
        [str(BIN / "hadolint"), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _container_command() -> list[str]:
    (cmd,) = re.findall(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.M)
    return json.loads(cmd)


def test_compose_publishes_the_preview_on_loopback_and_needs_a_token():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    service = compose["services"]["dreamgraph"]
    assert service["build"] == "."
    assert service["ports"] == ["127.0.0.1:8080:8080"]
    assert "DREAMGRAPH_PREVIEW_TOKEN" in service["environment"]
    assert "preview_token_env:=DREAMGRAPH_PREVIEW_TOKEN" in _container_command()


def test_the_container_command_is_a_valid_graph():
    command = _container_command()
    assert command[:2] == ["launch", "stream"]
    env = dict(os.environ, DREAMGRAPH_PREVIEW_TOKEN="t0ken")
    result = subprocess.run(
        [str(BIN / "dreamgraph"), "check", *command[1:]], capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
