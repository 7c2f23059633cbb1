"""Hosts for multi-machine tests: Linux network namespaces joined by a bridge, each with its own address.

Everything lives in namespaces this module creates (the bridge too, in a private "switch" namespace), so the
tests never touch the machine's own network. Each host also gets its own runtime directory, as a real machine
would, so ipc endpoints are not shared between hosts. Needs root and ``ip netns``; ``require_netns`` skips
otherwise.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def require_netns():
    if os.geteuid() != 0:
        pytest.skip("network-namespace tests need root (ip netns add)")
    if shutil.which("ip") is None:
        pytest.skip("network-namespace tests need iproute2 (`ip`)")
    probe = f"dgprobe{uuid.uuid4().hex[:6]}"
    result = _ip("netns", "add", probe, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot create network namespaces here: {result.stderr.strip()}")
    _ip("netns", "del", probe, check=False)


class Process:
    """A command running inside a host's namespace, its output collected."""

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.popen = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self):
        for raw in iter(self.popen.stdout.readline, b""):
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_output(self, needle: str, timeout: float = 30.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in list(self.lines):
                if needle in line:
                    return line
            if self.popen.poll() is not None:
                self._reader.join(2)
                if not any(needle in line for line in self.lines):
                    raise AssertionError(f"exited ({self.popen.returncode}) before {needle!r}:\n{self.text()[-4000:]}")
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} not seen within {timeout} s:\n{self.text()[-4000:]}")

    def stop(self, timeout: float = 20.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGINT)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._reader.join(2)
        return self.popen.returncode


class Network:
    """Namespaces on one bridge in 10.213.0.0/24; ``add`` a host, ``link(host, up)`` cuts or restores its cable."""

    SUBNET = "10.213.0"

    def __init__(self):
        self.tag = f"dg{uuid.uuid4().hex[:6]}"
        self.switch = f"{self.tag}-sw"
        self.hosts: dict[str, dict] = {}
        self.processes: list[Process] = []
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix=f"{self.tag}-", dir="/tmp"))
        _ip("netns", "add", self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")

    def add(self, host: str, address_index: int | None = None) -> str:
        index = len(self.hosts) + 1
        ns = f"{self.tag}-{host}"
        address = f"{self.SUBNET}.{address_index or index}"
        port = f"{self.tag}p{index}"  # the switch side of this host's cable (at most 15 characters)
        _ip("netns", "add", ns)
        _ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", self.switch)
        _ip("-n", self.switch, "link", "set", port, "master", "br0", "up")
        _ip("-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        _ip("-n", ns, "link", "set", "eth0", "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        self.hosts[host] = {"ns": ns, "address": address, "port": port}
        return address

    def address(self, host: str) -> str:
        return self.hosts[host]["address"]

    def link(self, host: str, up: bool):
        _ip("-n", self.switch, "link", "set", self.hosts[host]["port"], "up" if up else "down")

    def runtime_dir(self, host: str, role: str = "") -> str:
        path = self.tmp / (host + (f"-{role}" if role else ""))
        path.mkdir(mode=0o700, exist_ok=True)
        return str(path)

    def env(self, host: str, role: str = "", **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DREAMGRAPH_")}
        env.update(DREAMGRAPH_RUNTIME_DIR=self.runtime_dir(host, role), PYTHONUNBUFFERED="1", **extra)
        return env

    def start(self, host: str, args: list[str], role: str = "", **env: str) -> Process:
        """``python -m dreamgraph.graph.cli ARGS`` on ``host``."""
        proc = Process(
            ["ip", "netns", "exec", self.hosts[host]["ns"], sys.executable, "-m", "dreamgraph.graph.cli", *args],
            self.env(host, role, **env),
        )
        self.processes.append(proc)
        return proc

    def cli(
        self, host: str, args: list[str], role: str = "", timeout: float = 60.0, **env: str
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ip", "netns", "exec", self.hosts[host]["ns"], sys.executable, "-m", "dreamgraph.graph.cli", *args],
            env=self.env(host, role, **env),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def close(self):
        for proc in self.processes:
            try:
                proc.stop()
            except Exception:  # keep cleaning up: the namespaces must go whatever happened
                pass
        for info in self.hosts.values():
            _ip("netns", "del", info["ns"], check=False)
        _ip("netns", "del", self.switch, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)
