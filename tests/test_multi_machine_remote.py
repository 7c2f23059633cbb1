"""``launch --remote ssh``: the ssh command lines, and a whole two-machine launch through a stand-in for ssh."""

from __future__ import annotations

import pathlib
import re
import shlex
import shutil
import stat
import sys
import tempfile
import time

from dreamgraph.graph.orchestration.launchfile import parse_launch
from dreamgraph.graph.orchestration.remote import remote_command
from dreamgraph.graph.testing.harness import GraphHarness

LAUNCH = """
args:
  a_host: {default: "${env:DG_TEST_A_HOST:-127.0.0.1}"}
  b_host: {default: "127.0.0.1"}
  token: {default: "${env:DG_TEST_TOKEN:-}"}
graph: {name: remote, base_port: 7700, secure: "false"}
machines:
  a: {address: "${arg:a_host}"}
  b: {address: "${arg:b_host}"}
nodes:
  - {name: tick, node: dreamgraph.graph.builtin.ticker, machine: b, params: {rate: 20}}
  - {name: count, node: dreamgraph.graph.builtin.counter, machine: a, params: {period: 0.2}}
"""


def test_ssh_command_line(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(LAUNCH)
    spec = parse_launch(path, {"b_host": "box-b.local"}, environ={"DG_TEST_TOKEN": "hunter2-secret"})
    argv = remote_command(
        "launch/g.yaml", spec, "b", 30.0, environ={"DREAMGRAPH_SSH_USER": "dream"}, cwd="/srv/dream graph"
    )
    assert argv[:4] == ["ssh", "-tt", "-o", "BatchMode=yes"]
    assert argv[4] == "dream@box-b.local"
    remote = shlex.split(argv[5])
    assert remote[:5] == ["cd", "/srv/dream graph", "&&", "exec", sys.executable]
    assert remote[5:] == [
        "-m",
        "dreamgraph.graph.cli",
        "launch",
        "launch/g.yaml",
        "--machine",
        "b",
        "a_host:=127.0.0.1",
        "b_host:=box-b.local",
        "--duration",
        "30",
    ]
    assert "hunter2-secret" not in " ".join(argv)  # secrets from the environment stay off command lines

    argv = remote_command(
        "g.yaml",
        spec,
        "a",
        None,
        environ={"DREAMGRAPH_REMOTE_CMD": "~/dg/.venv/bin/dreamgraph", "DREAMGRAPH_SSH": "ssh -p 2222"},
    )
    assert argv[:3] == ["ssh", "-p", "2222"] and argv[6] == "127.0.0.1"
    assert argv[7].startswith("~/dg/.venv/bin/dreamgraph launch g.yaml --machine a ")


def test_launch_starts_the_other_machine_over_ssh(tmp_path):
    """A stand-in for ssh runs the remote command here, in its own runtime directory like another machine."""
    remote_runtime = pathlib.Path(tempfile.mkdtemp(prefix="dg-b-", dir="/tmp"))  # short: ipc paths are limited
    shim = tmp_path / "fake-ssh"
    shim.write_text(
        f'#!/bin/sh\nfor last; do :; done\necho "fake-ssh $*" >&2\n'
        f'exec env DREAMGRAPH_RUNTIME_DIR={remote_runtime} sh -c "$last"\n'
    )
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    launch_file = tmp_path / "g.yaml"
    launch_file.write_text(LAUNCH)
    try:
        with GraphHarness(
            str(launch_file), extra=["--machine", "a", "--remote", "ssh"], env={"DREAMGRAPH_SSH": str(shim)}
        ) as h:
            h.wait_output("starting machine b on 127.0.0.1 over ssh")
            # Ticks from machine b (started over "ssh") reach the counter on machine a over tcp.
            h.wait_for("counter_report", lambda m: int(re.search(r"received=(\d+)", m.text).group(1)) >= 5)
            assert any((p / "graph.json").exists() for p in remote_runtime.iterdir()), "machine b did not start"
        # Stopping the local launcher stops the remote one, which removes its graph directory on the way out.
        end = time.monotonic() + 15
        while time.monotonic() < end and any((p / "graph.json").exists() for p in remote_runtime.iterdir()):
            time.sleep(0.1)
        assert not any((p / "graph.json").exists() for p in remote_runtime.iterdir())
    finally:
        shutil.rmtree(remote_runtime, ignore_errors=True)
