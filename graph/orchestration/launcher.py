"""The supervisor behind ``dreamgraph launch``: one process per node, respawn policies, clean shutdown.

Each node runs in its own process session so the launcher alone decides when it gets SIGINT and, after its
stop timeout, SIGKILL (for its whole process group, ffmpeg children included). A node whose heartbeat has been
missing for its ``watchdog_s`` is hung: it is stopped the same way and its respawn policy decides what follows.
Node output is prefixed with the node's name and secrets found in the environment are masked. The launcher
publishes its view of the processes as a latched ``_launch`` topic, which ``dreamgraph node list`` reads.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass

import zmq

from ..core.contract import resolve_topic
from ..core.logformat import STAMPED_ENV, launcher_line
from ..core.message import LaunchState
from ..core.node import NodeConfig
from ..core.runtime import GraphDir, safe_name
from ..core.secrets import SecretMasker
from ..core.security import KEYS_ENV, Security
from ..core.topics import LAUNCH_TOPIC
from ..core.transport import Publisher
from .launchfile import Launch, NodeSpec
from .priority import STARTUP_NICE, may_raise_to, niceness, set_group_niceness, set_own_niceness
from .watchdog import DEFAULT_WATCHDOG_S, Heartbeats

log = logging.getLogger("launch")

MAX_RESPAWN_DELAY_S = 30.0
STABLE_AFTER_S = 30.0  # a node that ran this long has its backoff reset
DEFAULT_BASE_PORT = 7400


@dataclass
class Placement:
    """Where participants listen: ipc on this machine, tcp for peers on other machines.

    Ports from ``base_port + 1``: one per node (by its index in the launch file, whichever machine runs it), then
    one per machine for its launcher, then one per machine for command-line tools (``topic pub``, ``param set``)
    so that what they publish reaches nodes on every machine.
    """

    machine: str
    base_port: int
    addresses: dict[str, str]
    node_count: int = 0

    def port(self, index: int) -> int:
        return self.base_port + 1 + index

    def tcp_bind(self, index: int) -> str:
        return f"tcp://0.0.0.0:{self.port(index)}"

    def tcp_connect(self, machine: str, index: int) -> str:
        return f"tcp://{self.addresses[machine]}:{self.port(index)}"

    def launcher_index(self, machine: str) -> int:
        return self.node_count + sorted(self.addresses).index(machine)

    def tools_index(self, machine: str) -> int:
        return self.node_count + len(self.addresses) + sorted(self.addresses).index(machine)


class Proc:
    def __init__(self, spec: NodeSpec, index: int):
        self.spec = spec
        self.index = index
        self.popen: subprocess.Popen | None = None
        self.state = "pending"
        self.restarts = 0
        self.exit_code: int | None = None
        self.started_at = 0.0
        self.next_start = 0.0
        self.backoff_step = 0
        self.reader: threading.Thread | None = None
        self.hangs = 0  # times the watchdog stopped it
        self.kill_at = 0.0  # while hung: when SIGKILL follows the SIGTERM
        self.nice = 0  # its niceness once started up
        self.quiet_start = False  # starting at a lower priority until its first heartbeat
        self.live_params: dict | None = None  # the parameters it last reported, for its next start
        self.restored = False  # started with live_params rather than the launch file's


class Supervisor:
    def __init__(
        self,
        launch: Launch,
        machine: str = "",
        duration: float | None = None,
        out=sys.stdout,
        graph_name: str | None = None,
    ):
        self.launch = launch
        self.duration = duration
        self.out = out
        self.out_lock = threading.Lock()
        self.mask = SecretMasker(*launch.secrets)
        self.stop_requested = False
        self.failed_required: str | None = None
        stem = graph_name or launch.graph.get("name") or os.path.splitext(os.path.basename(launch.path))[0]
        self.graph = GraphDir.create(stem)
        secure = launch.graph.get("secure")
        # A graph that spans machines is encrypted by default; the keys may come from the environment so that
        # each machine keeps them wherever it likes.
        keys = launch.graph.get("keys") or (os.environ.get(KEYS_ENV, "") if launch.machines else "")
        self.keys_dir = os.path.abspath(os.path.expanduser(keys)) if (keys and str(secure).lower() != "false") else ""
        self.placement = Placement(
            machine, int(launch.graph.get("base_port", DEFAULT_BASE_PORT)), launch.machines, len(launch.nodes)
        )
        if launch.machines and not machine:
            raise ValueError(
                f"this graph spans machines ({', '.join(launch.machines)}); start it on each with --machine NAME"
            )
        if machine and machine not in launch.machines:
            raise ValueError(
                f"unknown machine {machine!r}; the launch file declares {', '.join(launch.machines) or 'none'}"
            )
        if launch.machines and not self.keys_dir and str(secure).lower() != "false":
            raise ValueError(
                "a graph that spans machines needs keys: set graph.keys (or DREAMGRAPH_KEYS) to a directory "
                "made with `dreamgraph keys generate DIR` (or graph.secure: false to run unencrypted)"
            )
        self.procs = [Proc(spec, i) for i, spec in enumerate(launch.nodes) if self._is_local(spec)]
        ctx = zmq.Context.instance()
        security = Security(self.keys_dir) if self.keys_dir else None
        bind = [self.graph.ipc_endpoint("_launch" + (f"-{machine}" if machine else ""))]
        if launch.machines:
            bind.append(self.placement.tcp_bind(self.placement.launcher_index(machine)))
        self.publisher = Publisher(ctx, bind, f"_launch#{os.getpid()}", security)
        self.publisher.latched_topics.add(resolve_topic(LAUNCH_TOPIC))
        self.heartbeats = Heartbeats(ctx, self.graph.ipc_endpoints, security)  # local nodes are the ones it starts

    def _is_local(self, spec: NodeSpec) -> bool:
        if not self.launch.machines:
            return True
        return spec.machine == self.placement.machine

    def remote_endpoints(self) -> list[str]:
        """tcp endpoints of every participant on other machines (nodes, then launchers)."""
        if not self.launch.machines:
            return []
        endpoints = [
            self.placement.tcp_connect(spec.machine, i)
            for i, spec in enumerate(self.launch.nodes)
            if spec.machine != self.placement.machine
        ]
        others = [name for name in sorted(self.launch.machines) if name != self.placement.machine]
        endpoints += [self.placement.tcp_connect(name, self.placement.launcher_index(name)) for name in others]
        endpoints += [self.placement.tcp_connect(name, self.placement.tools_index(name)) for name in others]
        return endpoints

    def tools_bind(self) -> list[str]:
        """Where a command-line tool on this machine publishes so that every machine's nodes hear it."""
        if not self.launch.machines:
            return []
        return [self.placement.tcp_bind(self.placement.tools_index(self.placement.machine))]

    # -- output --------------------------------------------------------------------------------------------

    def emit(self, name: str, line: str):
        with self.out_lock:
            self.out.write(launcher_line(name, self.mask(line.rstrip())) + "\n")
            self.out.flush()

    def _pump(self, proc: Proc, stream):
        for raw in iter(stream.readline, b""):
            self.emit(proc.spec.name, raw.decode("utf-8", "replace"))
        stream.close()

    # -- processes -----------------------------------------------------------------------------------------

    def _config_path(self, proc: Proc) -> str:
        return str(self.graph.path / "cfg" / f"{safe_name(proc.spec.name)}.json")

    def _write_config(self, proc: Proc):
        spec = proc.spec
        config = NodeConfig(
            name=spec.name,
            node=spec.node,
            params={**spec.params, **(proc.live_params or {})},
            remap=spec.remap,
            namespace=spec.namespace,
            graph_dir=str(self.graph.path),
            bind=[self.placement.tcp_bind(proc.index)] if self.launch.machines else [],
            connect=self.remote_endpoints(),
            keys_dir=self.keys_dir,
            log_level=os.environ.get("DREAMGRAPH_LOG_LEVEL", "INFO"),
        )
        path = self._config_path(proc)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # params may hold secrets
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(config), f)

    def _start(self, proc: Proc):
        proc.restored = bool(proc.live_params)
        self._write_config(proc)
        env = dict(os.environ, DREAMGRAPH_DIE_WITH_PARENT="1", PYTHONUNBUFFERED="1", **{STAMPED_ENV: "1"})
        proc.nice = niceness(proc.spec.nice)
        # a restart, or a heavy node, must not take the CPU from the video while it imports and loads
        proc.quiet_start = (proc.restarts > 0 or proc.spec.nice > 0) and proc.nice < 19 and may_raise_to(proc.nice)
        start_nice = min(19, proc.nice + STARTUP_NICE) if proc.quiet_start else proc.nice
        proc.popen = subprocess.Popen(
            [sys.executable, "-m", "dreamgraph.graph.orchestration.runner", self._config_path(proc)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            preexec_fn=lambda: set_own_niceness(start_nice),
        )
        proc.state = "running"
        proc.started_at = time.monotonic()
        proc.kill_at = 0.0
        proc.exit_code = None
        proc.reader = threading.Thread(target=self._pump, args=(proc, proc.popen.stdout), daemon=True)
        proc.reader.start()
        try:
            granted = os.getpriority(os.PRIO_PROCESS, proc.popen.pid)
        except OSError:
            return  # it ended already; its exit is handled like any other
        if granted != start_nice and proc.restarts == 0:  # said once, not at every respawn
            self.emit(
                "launch",
                f"{proc.spec.name}: nice {proc.spec.nice} is not allowed here (a higher priority needs root or "
                f"RLIMIT_NICE); it runs at niceness {granted}",
            )

    def _end_quiet_start(self, proc: Proc):
        """At its first heartbeat a node has started up: it gets its own niceness back."""
        if proc.quiet_start and self.heartbeats.silent_s(proc.spec.name, proc.popen.pid) is not None:
            proc.quiet_start = False
            set_group_niceness(proc.popen.pid, proc.nice)

    def _watchdog_s(self, spec: NodeSpec) -> float:
        return (
            spec.watchdog_s if spec.watchdog_s is not None else self.launch.graph.get("watchdog_s", DEFAULT_WATCHDOG_S)
        )

    def _watch(self, proc: Proc, now: float):
        """Stop a running node whose heartbeat has been missing for its watchdog_s: SIGTERM (with SIGCONT, so that
        a stopped process takes it), then SIGKILL after its stop_timeout. Its exit goes through the respawn policy."""
        if proc.state == "hung":
            if now >= proc.kill_at:
                self._signal_group(proc, signal.SIGKILL)
                proc.kill_at = float("inf")
            return
        limit = self._watchdog_s(proc.spec)
        silent = self.heartbeats.silent_s(proc.spec.name, proc.popen.pid)
        if not limit or silent is None or silent < limit:
            return
        proc.state = "hung"
        proc.hangs += 1
        proc.kill_at = now + proc.spec.stop_timeout
        self.emit(
            "launch",
            f"{proc.spec.name} is hung: no heartbeat for {silent:.1f} s (watchdog_s {limit:g}); stopping it "
            f"(hang {proc.hangs})",
        )
        self._signal_group(proc, signal.SIGTERM)
        self._signal_group(proc, signal.SIGCONT)

    def _on_exit(self, proc: Proc, code: int):
        proc.exit_code = code
        ran_for = time.monotonic() - proc.started_at
        if ran_for >= STABLE_AFTER_S:
            proc.backoff_step = 0
        spec = proc.spec
        reported = self.heartbeats.params(spec.name, proc.popen.pid)
        if reported is not None:
            proc.live_params = reported  # live changes survive the respawn
        elif proc.restored:
            # it died before its first heartbeat with the restored values: they may be why, so start clean
            proc.live_params = None
            self.emit("launch", f"{spec.name} failed to start with its live parameters; next with the launch file's")
        self.heartbeats.forget(spec.name, proc.popen.pid)
        how = f"signal {-code}" if code < 0 else f"code {code}"
        hung = proc.state == "hung"
        if hung:
            how += " after the watchdog stopped it"
        limit_left = spec.max_restarts is None or proc.restarts < spec.max_restarts
        if spec.respawn and limit_left:
            delay = min(spec.respawn_delay * (2**proc.backoff_step), MAX_RESPAWN_DELAY_S)
            proc.backoff_step += 1
            proc.state = "backoff"
            proc.next_start = time.monotonic() + delay
            self.emit(
                "launch",
                f"{spec.name} exited with {how}; restarting in {delay:.1f} s "
                f"(restart {proc.restarts + 1}{'' if spec.max_restarts is None else f' of {spec.max_restarts}'})",
            )
            return
        proc.state = "exited" if code == 0 and not hung else "failed"
        why = "max_restarts reached" if spec.respawn else "no respawn"
        self.emit("launch", f"{spec.name} exited with {how} ({why})")
        if spec.required:
            self.failed_required = spec.name
            self.emit("launch", f"required node {spec.name} is gone; stopping the graph")
            self.stop_requested = True

    def _publish_state(self):
        nodes = {
            p.spec.name: {
                "pid": p.popen.pid if p.popen and p.state in ("running", "hung") else 0,
                "state": p.state,
                "restarts": p.restarts,
                "hangs": p.hangs,
                "exit_code": p.exit_code,
                "machine": p.spec.machine,
                "node": p.spec.node,
            }
            for p in self.procs
        }
        self.publisher.publish(
            resolve_topic(LAUNCH_TOPIC),
            LaunchState(
                graph=self.graph.graph_id,
                machine=self.placement.machine,
                launch_file=os.path.abspath(self.launch.path),
                nodes=nodes,
            ),
        )

    def _request_stop(self, *_):
        self.stop_requested = True

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGHUP, self._request_stop)  # `--remote ssh`: the ssh connection went away
        self.graph.write_info(
            {
                "pid": os.getpid(),
                "launch_file": os.path.abspath(self.launch.path),
                "machine": self.placement.machine,
                "started": time.time(),
                "nodes": [p.spec.name for p in self.procs],
                "connect": self.remote_endpoints(),
                "publish_bind": self.tools_bind(),
                "keys_dir": self.keys_dir,
            }
        )
        self.emit("launch", f"graph {self.graph.graph_id}: starting {len(self.procs)} node(s)")
        deadline = time.monotonic() + self.duration if self.duration else None
        for proc in self.procs:
            self._start(proc)
        last_state = 0.0
        try:
            while not self.stop_requested:
                now = time.monotonic()
                changed = False
                self.heartbeats.listen()
                for proc in self.procs:
                    if proc.state in ("running", "hung") and proc.popen.poll() is not None:
                        self._on_exit(proc, proc.popen.returncode)
                        changed = True
                    elif proc.state in ("running", "hung"):
                        was = proc.state
                        self._end_quiet_start(proc)
                        self._watch(proc, now)
                        changed = changed or proc.state != was
                    elif proc.state == "backoff" and now >= proc.next_start:
                        proc.restarts += 1
                        self._start(proc)
                        changed = True
                if changed or now - last_state >= 1.0:
                    self._publish_state()
                    last_state = now
                self.publisher.handle_subscriptions()
                if deadline and now >= deadline:
                    self.emit("launch", f"--duration of {self.duration:g} s reached")
                    break
                if all(p.state in ("exited", "failed") for p in self.procs):
                    self.emit("launch", "every node has ended")
                    break
                time.sleep(0.05)
        finally:
            self.shutdown()
        if self.failed_required:
            return 1
        return 1 if any(p.state == "failed" for p in self.procs) else 0

    def shutdown(self):
        running = [p for p in self.procs if p.popen and p.popen.poll() is None]
        for proc in running:
            self._signal_group(proc, signal.SIGINT)
        timeout = max((p.spec.stop_timeout for p in running), default=0)
        end = time.monotonic() + timeout
        for proc in running:
            try:
                proc.popen.wait(max(0.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.emit("launch", f"{proc.spec.name} did not stop within {proc.spec.stop_timeout:g} s; killing it")
        for proc in self.procs:
            if proc.popen:
                self._signal_group(proc, signal.SIGKILL)  # also reaps stragglers the node itself started
                try:
                    proc.popen.wait(5)
                except subprocess.TimeoutExpired:
                    pass
                if proc.state in ("running", "backoff", "hung"):
                    proc.state = "stopped"
            if proc.reader:
                proc.reader.join(2)
        self.publisher.close()
        self.heartbeats.close()
        self.graph.remove()
        self.emit("launch", "graph stopped")

    @staticmethod
    def _signal_group(proc: Proc, sig: int):
        try:
            os.killpg(proc.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
