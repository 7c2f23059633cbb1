"""Health and metrics of a running graph over HTTP, for monitoring: /healthz and Prometheus' /metrics."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ..core.message import LaunchState, Status
from ..core.node import Input, Node, Param
from ..core.topics import LAUNCH_TOPIC, STATUS_TOPIC


class Metrics(Node):
    """Serves /healthz (200 when every launched node has reported lately and the watched topic keeps its rate,
    503 with the reasons otherwise) and /metrics (Prometheus text: per node its state, restarts, hangs, message
    rates, errors, CPU and memory; per topic its rate), from the heartbeats every node sends and the launcher's
    view of its processes. Read-only, and on 127.0.0.1 unless told otherwise."""

    status = Input(Status, STATUS_TOPIC, delivery="queue:256", doc="heartbeats of every node")
    launch = Input(LaunchState, LAUNCH_TOPIC, delivery="queue:16", doc="the launchers' view of their processes")

    host = Param(str, "127.0.0.1", doc="address to listen on")
    port = Param(int, 9464, min=0, max=65535, doc="TCP port (0: any free port; the URL is logged)")
    stale_s = Param(float, 5.0, unit="s", min=1.0, max=3600.0, doc="a node silent this long is unhealthy")
    rate_topic = Param(str, "video", doc="the topic whose rate says the output is alive (empty: none)")
    min_rate_hz = Param(float, 15.0, unit="Hz", min=0.0, max=1000.0, doc="the least healthy rate of rate_topic")
    optional_nodes = Param(str, "", doc="comma-separated nodes whose absence is healthy (e.g. a chat node)")

    def setup(self):
        self._statuses: dict[str, tuple[float, Status]] = {}  # node -> (monotonic arrival, its last status)
        self._launched: dict[str, dict] = {}  # node -> the launcher's entry
        self._lock = threading.Lock()
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.split("?")[0] == "/healthz":
                    problems = node.problems()
                    body = ("ok\n" if not problems else "\n".join(problems) + "\n").encode()
                    self._send(503 if problems else 200, "text/plain; charset=utf-8", body)
                elif self.path.split("?")[0] == "/metrics":
                    registry = CollectorRegistry()
                    registry.register(node)
                    self._send(200, "text/plain; version=0.0.4; charset=utf-8", generate_latest(registry))
                else:
                    self._send(404, "text/plain; charset=utf-8", b"/healthz or /metrics\n")

            def _send(self, code: int, kind: str, body: bytes):
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # one line per scrape would drown the node's log
                pass

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="metrics-http", daemon=True).start()
        self.log.info("health at http://%s:%d/healthz, metrics at /metrics", self.host, self._server.server_port)

    def on_status(self, msg: Status):
        with self._lock:
            self._statuses[msg.node] = (time.monotonic(), msg)

    def on_launch(self, msg: LaunchState):
        with self._lock:
            self._launched.update(msg.nodes)

    def problems(self) -> list[str]:
        """Why the graph is unhealthy; empty when it is healthy."""
        optional = {name.strip() for name in self.optional_nodes.split(",") if name.strip()}
        now = time.monotonic()
        found = []
        with self._lock:
            for name, entry in sorted(self._launched.items()):
                if name in optional or name == self.name:
                    continue
                heard = self._statuses.get(name)
                if entry.get("state") != "running":
                    found.append(f"{name}: {entry.get('state')}")
                elif heard is None or now - heard[0] > self.stale_s or heard[1].pid != entry.get("pid"):
                    found.append(f"{name}: no heartbeat for {self.stale_s:g} s")
            if self.rate_topic:
                rates = [s.outputs[self.rate_topic]["rate"] for _, s in self._statuses.values()
                         if self.rate_topic in s.outputs]  # fmt: skip
                if not rates or max(rates) < self.min_rate_hz:
                    found.append(f"/{self.rate_topic}: {max(rates, default=0.0):.1f} Hz < {self.min_rate_hz:g} Hz")
        return found

    def collect(self):
        """Prometheus collector: the figures as of the last heartbeats (called per scrape)."""
        with self._lock:
            statuses = [s for _, s in self._statuses.values()]
            launched = dict(self._launched)
        state = GaugeMetricFamily("dreamgraph_node_up", "1 while the node runs", labels=["node", "state"])
        restarts = CounterMetricFamily("dreamgraph_node_restarts", "times the node was restarted", labels=["node"])
        hangs = CounterMetricFamily("dreamgraph_node_hangs", "times the watchdog stopped the node", labels=["node"])
        for name, entry in sorted(launched.items()):
            state.add_metric([name, str(entry.get("state"))], 1.0 if entry.get("state") == "running" else 0.0)
            restarts.add_metric([name], float(entry.get("restarts", 0)))
            hangs.add_metric([name], float(entry.get("hangs", 0)))
        rate_in = GaugeMetricFamily("dreamgraph_messages_in_per_second", "input rate", labels=["node", "topic"])
        rate_out = GaugeMetricFamily("dreamgraph_messages_out_per_second", "output rate", labels=["node", "topic"])
        errors = CounterMetricFamily("dreamgraph_node_errors", "errors and drops by kind", labels=["node", "kind"])
        dropped = CounterMetricFamily("dreamgraph_node_dropped_ticks", "timer ticks skipped", labels=["node"])
        uptime = GaugeMetricFamily("dreamgraph_node_uptime_seconds", "seconds since the node started", labels=["node"])
        cpu = GaugeMetricFamily("dreamgraph_node_cpu_percent", "CPU, % of one core, children included", labels=["node"])
        rss = GaugeMetricFamily("dreamgraph_node_rss_bytes", "resident memory, children included", labels=["node"])
        for s in statuses:
            for topic, info in s.inputs.items():
                rate_in.add_metric([s.node, topic], float(info.get("rate", 0.0)))
            for topic, info in s.outputs.items():
                rate_out.add_metric([s.node, topic], float(info.get("rate", 0.0)))
            for kind, count in s.errors.items():
                errors.add_metric([s.node, kind], float(count))
            dropped.add_metric([s.node], float(s.dropped_ticks))
            uptime.add_metric([s.node], float(s.uptime))
            cpu.add_metric([s.node], float(s.cpu_percent))
            rss.add_metric([s.node], float(s.rss_mb) * 2**20)
        yield from (state, restarts, hangs, rate_in, rate_out, errors, dropped, uptime, cpu, rss)

    def teardown(self):
        self._server.shutdown()
        self._server.server_close()
