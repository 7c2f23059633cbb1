"""One graph over three hosts (network namespaces): frames cross machines encrypted, the CLI sees the whole
graph from any host, and a cut cable only pauses what crosses it.

Each host runs ``dreamgraph launch FILE --machine NAME`` in its own namespace with its own runtime directory,
exactly as on separate machines. The test process watches a host's nodes through that host's ipc endpoints.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from servers.netns import Network, require_netns

from dreamgraph.graph.core.runtime import GraphDir
from dreamgraph.graph.core.security import generate_keys
from dreamgraph.graph.tools.introspect import GraphClient

LAUNCH = """
args:
  chat_addr: {doc: address of the chat box}
  gpu_addr: {doc: address of the GPU box}
  output_addr: {doc: address of the output box}
  secure: {default: "true"}
graph: {name: mm, base_port: 7600, secure: "${arg:secure}"}
machines:
  chat: {address: "${arg:chat_addr}"}
  gpu: {address: "${arg:gpu_addr}"}
  output: {address: "${arg:output_addr}"}
nodes:
  - {name: chat_clock, node: dreamgraph.graph.builtin.ticker, machine: chat, params: {rate: 2},
     remap: {ticks: chat_clock}}
  - {name: source, node: dreamgraph.graph.builtin.testpattern, machine: gpu, params: {width: 64, height: 36, fps: 20}}
  - name: gpu_counter
    node: dreamgraph.graph.builtin.counter
    machine: gpu
    params: {period: 0.2}
    remap: {ticks: chat_ticks, frames: gpu_frames, counter_report: gpu_report}
  - {name: out_ticker, node: dreamgraph.graph.builtin.ticker, machine: output, params: {rate: 20}}
  - {name: out_counter, node: dreamgraph.graph.builtin.counter, machine: output, params: {period: 0.2},
     remap: {counter_report: out_report}}
"""

REPORT_RE = re.compile(r"(\w+)=(-?\d+)")


def report(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in REPORT_RE.findall(text)}


def client_of(net: Network, host: str, role: str = "") -> GraphClient:
    """A client on ``host``'s runtime directory; from outside the namespace only its ipc endpoints answer."""
    root = net.tmp / (host + (f"-{role}" if role else ""))
    end = time.monotonic() + 30
    while time.monotonic() < end:
        graphs = [p for p in root.iterdir() if (p / "graph.json").exists()]
        if graphs:
            return GraphClient(GraphDir(graphs[0]))
        time.sleep(0.1)
    raise AssertionError(f"no graph appeared on {host}")


def wait_report(client: GraphClient, topic: str, predicate, timeout: float = 30.0) -> dict[str, int]:
    last = None
    for env in client.listen(topic, timeout):
        last = report(env.msg.text)
        if predicate(last):
            return last
    raise AssertionError(f"/{topic}: no report matching within {timeout} s (last: {last})")


def secret_keys(keys_dir) -> list[str]:
    """The z85 secret keys in a key directory, to prove they never reach a log."""
    found = []
    for path in keys_dir.glob("*.key_secret"):
        found += re.findall(r'secret-key = "([^"]+)"', path.read_text())
    assert found
    return found


def launch_args(net: Network, launch_file, machine: str, **overrides: str) -> list[str]:
    addresses = {f"{h}_addr": net.address(h) for h in ("chat", "gpu", "output") if h in net.hosts}
    addresses.update(overrides)
    return ["launch", str(launch_file), "--machine", machine, *(f"{k}:={v}" for k, v in addresses.items())]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    require_netns()
    tmp = tmp_path_factory.mktemp("mm")
    launch_file = tmp / "graph.yaml"
    launch_file.write_text(LAUNCH)
    keys = generate_keys(tmp / "keys")
    net = Network()
    try:
        for host in ("chat", "gpu", "output"):
            net.add(host)
        launchers = {
            host: net.start(host, launch_args(net, launch_file, host), DREAMGRAPH_KEYS=str(keys))
            for host in ("chat", "gpu", "output")
        }
        for proc in launchers.values():
            proc.wait_output("starting")
        yield net, launch_file, keys, launchers
    finally:
        net.close()


def test_frames_cross_machines_and_cli_reaches_every_host(cluster):
    net, _, keys, launchers = cluster
    output = client_of(net, "output")
    # Frames from the gpu host arrive at the output host's counter (tcp, CurveZMQ with keys from DREAMGRAPH_KEYS).
    got = wait_report(output, "out_report", lambda r: r["frames"] >= 10)
    assert got["received"] > 0  # and the output host's own ticks arrive over ipc

    # `topic pub` on the chat host reaches a node on the gpu host.
    published = net.cli(
        "chat",
        ["topic", "pub", "chat_ticks", json.dumps({"n": 41, "stamp": 0.0}), "--type", "dreamgraph/Counter"],
        DREAMGRAPH_KEYS=str(keys),
    )
    assert published.returncode == 0, published.stderr
    assert "(1 subscriber(s))" in published.stdout
    got = wait_report(client_of(net, "gpu"), "gpu_report", lambda r: r["last"] == 41)
    assert got["received"] == 1

    # Every host sees the whole graph.
    listing = net.cli("chat", ["node", "list", "--seconds", "2.5"])
    assert listing.returncode == 0, listing.stderr
    for name in ("chat_clock", "source", "gpu_counter", "out_ticker", "out_counter"):
        assert re.search(rf"^{name}\s+\d+\s+running", listing.stdout, re.M), listing.stdout
    hz = net.cli("output", ["topic", "hz", "frames", "--duration", "2"])
    assert hz.returncode == 0, hz.stderr
    assert float(re.search(r"rate ([\d.]+) Hz", hz.stdout).group(1)) > 0

    # The graph config and every log stay free of secret keys.
    logs = "\n".join(p.text() for p in launchers.values()) + listing.stdout + hz.stdout
    for secret in secret_keys(keys):
        assert secret not in logs
    for info in (net.tmp / "gpu").glob("*/graph.json"):
        for secret in secret_keys(keys):
            assert secret not in info.read_text()


def test_cut_cable_pauses_only_what_crosses_it(cluster):
    net, *_ = cluster
    output = client_of(net, "output")
    before = wait_report(output, "out_report", lambda r: r["frames"] > 0)
    net.link("output", up=False)
    try:
        time.sleep(1.0)  # let frames already in flight arrive
        during_start = wait_report(output, "out_report", lambda r: True)
        time.sleep(4.0)
        during_end = wait_report(output, "out_report", lambda r: True)
    finally:
        net.link("output", up=True)
    # The output host kept running on its own: its local timer-driven ticks kept arriving...
    assert during_end["received"] >= during_start["received"] + 20
    # ...while no frame crossed the cut cable.
    assert during_end["frames"] == during_start["frames"]
    assert during_start["frames"] >= before["frames"]
    # Frames flow again after the cable returns (heartbeats drop the dead connection and reconnect).
    after = wait_report(output, "out_report", lambda r: r["frames"] >= during_end["frames"] + 10, timeout=30)
    assert after["frames"] > during_end["frames"]
