"""Run real graphs from tests: a launcher process in a private runtime directory, and a client to talk to it.

    with GraphHarness({"nodes": [{"name": "tick", "node": "dreamgraph.graph.builtin.ticker"}]}) as h:
        env = h.wait_for("ticks", lambda m: m.n >= 3)

Everything is real: processes, sockets, the launcher. Only the runtime directory is private to the harness.
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable

import yaml

from ..core import message as wire
from ..core.process import die_with_parent


class GraphHarness:
    def __init__(
        self,
        launch: dict | str,
        args: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        runtime_dir: str | None = None,
        extra: list[str] | None = None,
    ):
        self._tmp = tempfile.TemporaryDirectory(prefix="dg-", dir="/tmp")
        self.runtime_dir = runtime_dir or self._tmp.name
        if isinstance(launch, dict):
            path = pathlib.Path(self._tmp.name) / "graph.yaml"
            path.write_text(yaml.safe_dump(launch))
            self.launch_file = str(path)
        else:
            self.launch_file = launch
        self.env = dict(os.environ, DREAMGRAPH_RUNTIME_DIR=self.runtime_dir, PYTHONUNBUFFERED="1", **(env or {}))
        self.args = [f"{k}:={v}" for k, v in (args or {}).items()]
        self.extra = extra or []
        self.proc: subprocess.Popen | None = None
        self.output: list[str] = []
        self._client = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self, wait_nodes: bool = True, timeout: float = 30.0) -> "GraphHarness":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dreamgraph.graph.cli", "launch", self.launch_file, *self.args, *self.extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )  # a killed test or benchmark takes its graph down with it
        threading.Thread(target=self._pump, daemon=True).start()
        if wait_nodes:
            self.wait_output("starting", timeout)
        return self

    def _pump(self):
        for raw in iter(self.proc.stdout.readline, b""):
            self.output.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def text(self) -> str:
        return "\n".join(self.output)

    def wait_output(self, needle: str, timeout: float = 30.0) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in list(self.output):
                if needle in line:
                    return line
            if self.proc.poll() is not None and not any(needle in l for l in self.output):
                time.sleep(0.2)
                if not any(needle in l for l in self.output):
                    raise AssertionError(f"launcher exited ({self.proc.returncode}) before {needle!r}:\n{self.text()}")
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} not seen within {timeout} s:\n{self.text()[-4000:]}")

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self._client:
            self._client.close()
            self._client = None
        return self.proc.returncode if self.proc else 0

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        self._tmp.cleanup()

    # -- talking to the graph -------------------------------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            from ..core.runtime import GraphDir
            from ..tools.introspect import GraphClient

            end = time.monotonic() + 20
            while time.monotonic() < end:
                graphs = [p for p in pathlib.Path(self.runtime_dir).iterdir() if (p / "graph.json").exists()]
                if graphs:
                    self._client = GraphClient(GraphDir(graphs[0]))
                    break
                time.sleep(0.05)
            else:
                raise AssertionError(f"no graph appeared in {self.runtime_dir}:\n{self.text()}")
        return self._client

    def publish(self, topic: str, msg: wire.Message, wait_s: float = 5.0) -> int:
        return self.client.publish(topic, msg, wait_s)

    def collect(self, topic: str, seconds: float, count: int | None = None) -> list[wire.Envelope]:
        return list(self.client.listen(topic, seconds, count))

    def wait_for(
        self, topic: str, predicate: Callable[[wire.Message], bool] = lambda m: True, timeout: float = 20.0
    ) -> wire.Envelope:
        """The first message on ``topic`` for which ``predicate`` holds, or AssertionError after ``timeout``."""
        seen = 0
        for env in self.client.listen(topic, timeout):
            seen += 1
            if predicate(env.msg):
                return env
        raise AssertionError(f"no matching message on /{topic} within {timeout} s ({seen} seen)\n{self.text()[-3000:]}")

    def listener(self, topic: str) -> "Listener":
        """Start listening now, for a message the next action will cause (``wait_for`` would subscribe late)."""
        return Listener(self, topic)

    def statuses(self, seconds: float = 1.5) -> dict[str, wire.Status]:
        return self.client.statuses(seconds)

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
        """Run ``dreamgraph ARGS`` against this graph."""
        return subprocess.run(
            [sys.executable, "-m", "dreamgraph.graph.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


class Listener:
    """A subscription opened before the action under test; ``wait`` returns the first matching message."""

    SETTLE_S = 0.3  # long enough for the subscription to reach every publisher on this machine

    def __init__(self, harness: GraphHarness, topic: str):
        self.harness, self.topic = harness, topic
        self.sub, self.peers = harness.client.subscribe(topic)
        time.sleep(self.SETTLE_S)

    def wait(self, predicate: Callable[[wire.Message], bool] = lambda m: True, timeout: float = 20.0) -> wire.Envelope:
        end = time.monotonic() + timeout
        seen = 0
        try:
            while time.monotonic() < end:
                self.peers.refresh()
                if not self.sub.socket.poll(100):
                    continue
                self.sub.drain(lambda reason: None)
                while self.sub.buffer:
                    env = self.sub.buffer.popleft()
                    seen += 1
                    if predicate(env.msg):
                        return env
        finally:
            self.sub.close()
        raise AssertionError(
            f"no matching message on /{self.topic} within {timeout} s ({seen} seen)\n{self.harness.text()[-3000:]}"
        )
