"""The CLI verbs and the graph's behaviour against one real running graph (tests/data/launch/shared_graph.yaml).

The graph: a ticker and a SequenceCounter on /ticks, a second counter fed only by hand (/manual_ticks), a node that
latches one value, a slow queue:3 and a slow latest consumer of /ticks, and an included copy of ticker+counter under
the namespace cam2 with /ticks remapped to /beats.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import psutil
import pytest
import zmq
from test_graph_helpers import HELPERS_ENV, LAUNCH_DATA
from test_graph_message import MALFORMED

from dreamgraph.graph.core import message as wire
from dreamgraph.graph.core.message import Counter, Text
from dreamgraph.graph.testing.harness import GraphHarness

SHARED = os.path.join(LAUNCH_DATA, "shared_graph.yaml")
NODES = {"tick", "count", "manual", "latch", "slowq", "slowl", "cam2/tick", "cam2/count"}


@pytest.fixture(scope="module")
def graph():
    with GraphHarness(SHARED, env=HELPERS_ENV) as h:
        end = time.monotonic() + 60
        seen = {}
        while set(seen) != NODES:
            assert time.monotonic() < end, f"nodes missing: {NODES - set(seen)}\n{h.text()}"
            seen.update(h.statuses(1.2))
        yield h


def status_of(h: GraphHarness, node: str, predicate=lambda s: True, timeout: float = 20.0) -> wire.Status:
    return h.wait_for("_status", lambda s: s.node == node and predicate(s), timeout).msg


def report_fields(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", text)}


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"rc={result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


# -- topic --------------------------------------------------------------------------------------------------------


def test_topic_list_shows_types_publishers_and_subscribers(graph):
    lines = {l.split()[0]: l for l in ok(graph.cli("topic", "list")).stdout.splitlines()}
    assert "[dreamgraph/Counter]" in lines["/ticks"]
    assert "pub: tick (" in lines["/ticks"]
    subscribers = lines["/ticks"].split("sub: ")[1].split(", ")
    assert sorted(subscribers) == ["count", "slowl", "slowq"]
    assert "pub: -" in lines["/manual_ticks"] and lines["/manual_ticks"].endswith("sub: manual")
    assert "[dreamgraph/Text]" in lines["/counter_report"]
    # The included graph's topics are namespaced and remapped; nothing of it leaks into the root namespace.
    assert "pub: cam2/tick (" in lines["/cam2/beats"] and lines["/cam2/beats"].endswith("sub: cam2/count")
    assert "pub: cam2/count (" in lines["/cam2/counter_report"]
    assert "/beats" not in lines and "/cam2/ticks" not in lines


def test_topic_echo_count_prints_json_lines(graph):
    result = ok(graph.cli("topic", "echo", "ticks", "--count", "3", "--timeout", "30"))
    messages = [json.loads(l) for l in result.stdout.splitlines()]
    assert len(messages) == 3
    assert {(m["topic"], m["type"], m["from"]) for m in messages} == {("ticks", "dreamgraph/Counter", "tick")}
    ns = [m["n"] for m in messages]
    assert ns == list(range(ns[0], ns[0] + 3))


def test_topic_echo_summarises_arrays(graph):
    result = ok(graph.cli("topic", "echo", "/cam2/counter_report", "-n", "1", "--timeout", "30"))
    (line,) = result.stdout.splitlines()
    message = json.loads(line)
    assert message["topic"] == "cam2/counter_report" and message["from"] == "cam2/count"
    assert report_fields(message["text"])["received"] >= 0


def test_topic_echo_fails_when_too_few_messages_arrive(graph):
    result = graph.cli("topic", "echo", "nobody_publishes_this", "--count", "1", "--timeout", "1")
    assert result.returncode != 0
    assert "only 0 of 1 message(s)" in result.stderr


def test_topic_hz_measures_a_rate(graph):
    result = ok(graph.cli("topic", "hz", "ticks", "--duration", "1.5"))
    match = re.search(r"/ticks: rate ([\d.]+) Hz  messages (\d+)", result.stdout)
    assert match, result.stdout
    assert float(match.group(1)) > 0 and int(match.group(2)) >= 2
    silent = graph.cli("topic", "hz", "nobody_publishes_this", "--duration", "0.5")
    assert silent.returncode != 0 and "fewer than 2 messages" in silent.stderr


def test_topic_pub_reaches_a_node(graph):
    result = ok(graph.cli("topic", "pub", "manual_ticks", '{"n": 41}'))
    assert re.search(r"published to /manual_ticks \(([1-9]\d*) subscriber\(s\)\)", result.stdout), result.stdout
    first = report_fields(graph.wait_for("manual_report", lambda m: "last=41 " in m.text).msg.text)
    ok(graph.cli("topic", "pub", "/manual_ticks", '{"n": 43, "stamp": 1.5}', "--type", "dreamgraph/Counter"))
    second = report_fields(graph.wait_for("manual_report", lambda m: "last=43 " in m.text).msg.text)
    assert second["received"] == first["received"] + 1


@pytest.mark.parametrize(
    "data, extra, words",
    [
        ("{not json", [], "message does not fit dreamgraph/Counter"),
        ('{"n": "seven"}', ["--type", "dreamgraph/Counter"], "dreamgraph/Counter.n: expected an integer"),
        ('{"n": 1, "colour": "red"}', ["--type", "dreamgraph/Counter"], "has no field(s) colour"),
        ("[1, 2]", ["--type", "dreamgraph/Counter"], "must be an object"),
        ('{"text": "x"}', ["--type", "no.such:Type"], "unknown message type 'no.such:Type'"),
        ('{"labels": "volcano"}', ["--type", "dreamgraph/Target"], "dreamgraph/Target.labels: expected a list"),
        ('{"seq": 1}', ["--type", "dreamgraph/Image"], "needs array field(s) image"),
    ],
)
def test_topic_pub_rejects_bad_messages(graph, data, extra, words):
    result = graph.cli("topic", "pub", "manual_ticks", data, *extra)
    assert result.returncode != 0
    assert "error:" in result.stderr and words in result.stderr, result.stderr
    assert "published" not in result.stdout


def test_topic_pub_needs_a_known_topic_or_a_type(graph):
    result = graph.cli("topic", "pub", "nobody_uses_this", '{"n": 1}')
    assert result.returncode != 0
    assert "no node publishes or subscribes /nobody_uses_this" in result.stderr


# -- node / param -------------------------------------------------------------------------------------------------


def test_node_list_shows_pid_state_and_restarts(graph):
    lines = ok(graph.cli("node", "list")).stdout.splitlines()
    header = lines[0].split()
    assert header[:4] == ["NAME", "PID", "STATE", "RESTARTS"] and header[8:10] == ["CPU%", "RSS_MB"]
    rows = {l.split()[0]: l.split() for l in lines[1:]}
    assert set(rows) == NODES
    for name, (_, pid, state, restarts, *_) in rows.items():
        assert state == "running" and restarts == "0", rows[name]
        assert 0 <= float(rows[name][8]) < 400 and 5 < float(rows[name][9]) < 4000, rows[name]
        process = psutil.Process(int(pid))
        assert process.ppid() == graph.proc.pid, f"{name}: pid {pid} is not a node process of this launcher"


def test_param_set_changes_a_live_parameter_and_reports_the_answer(graph):
    before = status_of(graph, "count")
    assert before.params["period"] == 0.3
    bad_before = before.errors.get("bad_param", 0)
    assert "count.period = 0.5 (applied)" in ok(graph.cli("param", "set", "count", "period", "0.5")).stdout

    below_min = graph.cli("param", "set", "count", "period", "-1")
    assert below_min.returncode == 1 and "count refused period = -1: period must be >= 0.01" in below_min.stderr
    unknown = graph.cli("param", "set", "count", "no_such_param", "1")
    assert unknown.returncode == 1 and "unknown parameter 'no_such_param'" in unknown.stderr
    nobody = graph.cli("param", "set", "no_such_node", "period", "1", "--timeout", "1")
    assert nobody.returncode == 1 and "no answer from node 'no_such_node'" in nobody.stderr

    status = status_of(graph, "count", lambda s: s.errors.get("bad_param", 0) >= bad_before + 2)
    assert status.params["period"] == 0.5, "a refused value is never stored"
    assert status.errors["bad_param"] == bad_before + 2
    assert status_of(graph, "manual").params["period"] == 0.3, "a ParamSet for one node must not change another"


# -- graph FILE ---------------------------------------------------------------------------------------------------


def test_graph_prints_nodes_and_topics(graph):
    out = ok(graph.cli("graph", SHARED)).stdout
    blocks = {b.splitlines()[0]: b.splitlines()[1:] for b in re.split(r"\n(?=\S)", out.strip())}
    assert blocks["tick (dreamgraph.graph.builtin.ticker)"] == ["  -> /ticks [Counter]"]
    assert blocks["manual (dreamgraph.graph.builtin.counter)"] == [
        "  <- /manual_ticks [Counter]",
        "  <- /frames [Image]",
        "  -> /manual_report [Text]",
    ]
    assert blocks["cam2/tick (dreamgraph.graph.builtin.ticker)"] == ["  -> /cam2/beats [Counter]"]
    assert blocks["cam2/count (dreamgraph.graph.builtin.counter)"] == [
        "  <- /cam2/beats [Counter]",
        "  <- /cam2/frames [Image]",
        "  -> /cam2/counter_report [Text]",
    ]
    assert blocks["slowq (test_graph_helpers:SlowQueue)"] == ["  <- /ticks [Counter]", "  -> /slow_handled [Text]"]
    assert len(blocks) == len(NODES)


def test_graph_dot_is_a_digraph_of_nodes_and_topics(graph):
    lines = ok(graph.cli("graph", SHARED, "--dot")).stdout.splitlines()
    assert lines[0] == "digraph dreamgraph {" and lines[-1] == "}"
    assert '  "tick" -> "/ticks" [label="Counter"];' in lines
    assert '  "/ticks" -> "count";' in lines
    assert '  "/cam2/beats" -> "cam2/count";' in lines
    assert '  "cam2/tick" -> "/cam2/beats" [label="Counter"];' in lines
    topics = {m for l in lines for m in re.findall(r'^  "(/[^"]+)" \[shape=ellipse\];$', l)}
    assert {"/ticks", "/manual_ticks", "/cam2/beats", "/state"} <= topics
    boxes = {m for l in lines for m in re.findall(r'^  "([^"/]+(?:/[^"]+)?)" \[shape=box', l)}
    assert boxes == NODES


# -- include / namespace / remap ------------------------------------------------------------------------------


def test_included_graph_runs_namespaced_and_remapped(graph):
    tick = status_of(graph, "cam2/tick")
    assert list(tick.outputs) == ["cam2/beats"]
    assert tick.params["rate"] == 15.0, "the include's args must reach the included file"
    count = status_of(graph, "cam2/count", lambda s: s.inputs.get("cam2/beats", {}).get("count", 0) > 0)
    assert "ticks" not in count.inputs
    report = graph.wait_for("cam2/counter_report", lambda m: report_fields(m.text)["received"] > 0).msg
    assert report_fields(report.text)["gaps"] == 0


# -- delivery policies in a node ------------------------------------------------------------------------------


def _collect_texts(h: GraphHarness, topics: list[str], seconds: float) -> dict[str, list[str]]:
    """Messages on several topics over the same window."""
    subs = {t: h.client.subscribe(t)[0] for t in topics}
    got = {t: [] for t in topics}
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            for topic, sub in subs.items():
                sub.drain(lambda reason: pytest.fail(reason))
                got[topic] += [e.msg.text for e in sub.buffer]
                sub.buffer.clear()
            time.sleep(0.05)
    finally:
        for sub in subs.values():
            sub.close()
    return got


def test_slow_nodes_drop_by_their_delivery_policy(graph):
    """/ticks comes at 20 Hz; the slow nodes need 0.15 s per tick, so they must drop and say so in their Status."""
    end = time.monotonic() + 30
    statuses = {}
    while not all(statuses.get(n) and statuses[n].inputs["ticks"]["drops"] > 0 for n in ("slowq", "slowl")):
        assert time.monotonic() < end, statuses
        statuses.update(graph.statuses(1.2))
    assert statuses["slowq"].inputs["ticks"]["delivery"] == "queue:3"
    assert statuses["slowl"].inputs["ticks"]["delivery"] == "latest"
    got = _collect_texts(graph, ["latest_handled", "slow_handled"], 2.5)
    latest = [int(t) for t in got["latest_handled"]]
    assert len(latest) >= 3
    assert all(b > a for a, b in zip(latest, latest[1:])), "handled twice or out of order"
    assert any(b - a > 1 for a, b in zip(latest, latest[1:])), "a slow latest-only consumer must skip stale ticks"
    queued = [int(t) for t in got["slow_handled"]]
    assert len(queued) >= 3
    assert all(b > a for a, b in zip(queued, queued[1:])), "handled twice or out of order"
    assert any(b - a > 1 for a, b in zip(queued, queued[1:])), "a slow queue:3 consumer at 20 Hz must drop"


# -- latched topics ---------------------------------------------------------------------------------------------


def _drain_all(sub, seconds: float):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if sub.socket.poll(50):
            sub.drain(lambda reason: pytest.fail(reason))


def test_latched_value_reaches_late_joiners_once(graph):
    latch = status_of(graph, "latch", lambda s: s.outputs["state"]["count"] == 1)
    assert latch.uptime > 0.5  # published long before anybody below subscribes
    client = graph.client
    first, _ = client.subscribe("state")
    try:
        end = time.monotonic() + 20
        while not first.received and time.monotonic() < end:
            if first.socket.poll(100):
                first.drain(lambda reason: pytest.fail(reason))
        assert [e.msg.text for e in first.buffer] == [f"state from {latch.pid}"]
        second, _ = client.subscribe("state")  # its join makes the publisher re-send the value
        try:
            end = time.monotonic() + 20
            while not second.received and time.monotonic() < end:
                if second.socket.poll(100):
                    second.drain(lambda reason: pytest.fail(reason))
            assert second.received == 1 and second.buffer[0].msg.text == f"state from {latch.pid}"
            _drain_all(first, 1.0)
            _drain_all(second, 0.5)
            assert first.received == 1, "an existing subscriber must not get the latched value again"
            assert second.received == 1
        finally:
            second.close()
    finally:
        first.close()
    # The CLI is a late joiner too.
    result = ok(graph.cli("topic", "echo", "state", "--count", "1", "--timeout", "20"))
    assert json.loads(result.stdout)["text"] == f"state from {latch.pid}"


# -- hostile input ------------------------------------------------------------------------------------------------


class Rogue:
    """A raw XPUB socket in the graph's endpoint directory: the nodes discover it and subscribe to it."""

    def __init__(self, path):
        self.path = path
        self.socket = zmq.Context.instance().socket(zmq.XPUB)
        self.socket.setsockopt(zmq.XPUB_VERBOSE, 1)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.bind(f"ipc://{path}")
        self.subscriptions: dict[bytes, int] = {}

    def wait_subscribers(self, topic: str, count: int, timeout: float = 20.0):
        end = time.monotonic() + timeout
        while self.subscriptions.get(wire._topic_frame(topic), 0) < count:
            assert time.monotonic() < end, f"only these subscriptions arrived: {self.subscriptions}"
            if self.socket.poll(100):
                event = self.socket.recv()
                if event[:1] == b"\x01":
                    self.subscriptions[event[1:]] = self.subscriptions.get(event[1:], 0) + 1

    def send(self, frames: list):
        self.socket.send_multipart(frames)

    def close(self):
        self.socket.close(0)
        self.path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def rogue(graph):
    sock = Rogue(graph.client.graph.endpoints_dir / "zz-rogue.sock")
    yield sock
    sock.close()


def _errors(status: wire.Status) -> tuple[int, int]:
    return status.errors.get("rejected_message", 0), status.inputs["ticks"]["rejected"]


def test_malformed_messages_are_counted_and_survived(graph, rogue):
    rogue.wait_subscribers("ticks", 3)  # count, slowq, slowl
    malformed = [frames for name, frames in sorted(MALFORMED.items()) if name != "topic_without_nul"]
    before = {n: status_of(graph, n) for n in ("count", "slowq", "slowl")}
    report_before = report_fields(graph.wait_for("counter_report").msg.text)
    for frames in malformed:
        rogue.send(frames)
    for name, old in before.items():
        expected = (_errors(old)[0] + len(malformed), _errors(old)[1] + len(malformed))
        status = status_of(graph, name, lambda s, expected=expected: _errors(s) == expected, timeout=30)
        assert status.pid == old.pid and status.uptime > old.uptime, f"{name} restarted"
        assert not set(status.errors) - {"rejected_message", "bad_param"}, status.errors
    # The counter still counts real ticks and still reports.
    report_after = graph.wait_for(
        "counter_report", lambda m: report_fields(m.text)["received"] > report_before["received"] + 10
    ).msg
    assert report_fields(report_after.text)["gaps"] == 0
    # The rogue endpoint itself works: a well-formed message through it is accepted.
    rogue.wait_subscribers("manual_ticks", 1)
    rogue.send(wire.encode("manual_ticks", Counter(n=100000), 1, "rogue#1"))
    graph.wait_for("manual_report", lambda m: "last=100000 " in m.text)


def test_message_of_the_wrong_type_on_a_topic_is_rejected(graph, rogue):
    """A well-formed Text on /ticks (declared Counter) must be rejected, not handed to on_ticks."""
    rogue.wait_subscribers("ticks", 3)
    old = status_of(graph, "count")
    rogue.send(wire.encode("ticks", Text(text="not a counter"), 1, "rogue-typed#1"))
    status = status_of(graph, "count", lambda s: _errors(s) != _errors(old) or s.errors != old.errors, timeout=20)
    assert status.errors.get("on_ticks", 0) == old.errors.get("on_ticks", 0), (
        f"the handler was called with a Text: errors {status.errors}"
    )
    assert _errors(status) == (_errors(old)[0] + 1, _errors(old)[1] + 1)


# -- dreamgraph run joining the graph ---------------------------------------------------------------------------


def test_run_joins_the_running_graph(graph):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dreamgraph.graph.cli",
            "run",
            "dreamgraph.graph.builtin.ticker",
            "-p",
            "rate:=20",  # the launch syntax, as `ros2 run -p` takes it
            "--name",
            "tick2",
            "--remap",
            "ticks=joined_ticks",
        ],
        env=graph.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        envelope = graph.wait_for("joined_ticks", timeout=30)
        assert envelope.source.startswith("tick2#")
        status = status_of(graph, "tick2")
        assert status.pid == proc.pid and status.params["rate"] == 20.0
        assert list(status.outputs) == ["joined_ticks"]
        sock = graph.client.graph.endpoints_dir / "tick2.sock"
        assert sock.exists()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert not sock.exists(), "a node that leaves must remove its endpoint"
    assert (graph.client.graph.path / "graph.json").exists(), "a joining node must not remove the graph it joined"
    assert graph.proc.poll() is None


# -- param get / list / dump / load, node info, topic info, interface ------------------------------------------


def test_param_get_list_dump_and_load(graph, tmp_path):
    assert json.loads(ok(graph.cli("param", "get", "cam2/count", "period")).stdout) == 0.3
    listing = ok(graph.cli("param", "list", "cam2/count")).stdout
    assert re.search(r"^period = 0\.3  \[float\]  s; min 0\.01", listing, re.M), listing
    dumped = ok(graph.cli("param", "dump", "cam2/count")).stdout
    assert "period: 0.3" in dumped.splitlines()
    (tmp_path / "params.yaml").write_text(dumped.replace("period: 0.3", "period: 0.4"))
    loaded = ok(graph.cli("param", "load", "cam2/count", str(tmp_path / "params.yaml")))
    assert "cam2/count.period = 0.4 (applied)" in loaded.stdout
    assert status_of(graph, "cam2/count", lambda s: s.params["period"] == 0.4)
    (tmp_path / "bad.yaml").write_text("period: -1\n")
    refused = graph.cli("param", "load", "cam2/count", str(tmp_path / "bad.yaml"))
    assert refused.returncode == 1 and "refused period = -1" in refused.stderr
    for args, words in (
        (("get", "cam2/count", "no_such"), "has no parameter 'no_such'"),
        (("get", "no_such_node", "period"), "no node 'no_such_node'"),
    ):
        missing = graph.cli("param", *args)
        assert missing.returncode == 1 and words in missing.stderr


def test_node_info_shows_contract_rates_and_values(graph):
    out = ok(graph.cli("node", "info", "count")).stdout
    assert out.startswith("count  (dreamgraph.graph.builtin.counter:")
    assert re.search(r"^    /ticks  \[dreamgraph/Counter\]  \d+\.\d/s$", out, re.M), out
    assert re.search(r"^    period = 0\.\d+ s  ", out, re.M), out
    assert graph.cli("node", "info", "no_such_node").returncode == 1


def test_topic_info_shows_type_publishers_and_subscribers(graph):
    out = ok(graph.cli("topic", "info", "/ticks")).stdout.splitlines()
    assert out[:2] == ["/ticks", "  type: dreamgraph/Counter"]
    assert out[2].startswith("  publishers: tick (")
    assert {"count", "slowq", "slowl"} <= {s.split(" (")[0] for s in out[3].split(": ", 1)[1].split(", ")}
    assert graph.cli("topic", "info", "nobody_uses_this").returncode == 1


def test_interface_list_and_show():
    listing = subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", "interface", "list"], capture_output=True, text=True
    )
    assert "dreamgraph/Image  An RGB frame" in listing.stdout and "dreamgraph/Keyframe" in listing.stdout
    shown = subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", "interface", "show", "Counter"], capture_output=True, text=True
    )
    assert shown.returncode == 0 and shown.stdout.splitlines()[0].startswith("dreamgraph/Counter  (")
    assert "  n: int = 0" in shown.stdout
    unknown = subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", "interface", "show", "Nope"], capture_output=True, text=True
    )
    assert unknown.returncode == 1 and "unknown message type 'Nope'" in unknown.stderr


def test_graph_mermaid_is_a_flowchart_of_nodes_and_topics(graph):
    lines = ok(graph.cli("graph", SHARED, "--mermaid")).stdout.splitlines()
    assert lines[0] == "flowchart LR"
    nodes = dict(re.findall(r'^  (n\d+)\["([^<]+)<br/>', "\n".join(lines), re.M))
    topics = dict(re.findall(r'^  (t\d+)\(\["/([^"]+)"\]\)$', "\n".join(lines), re.M))
    assert set(nodes.values()) == NODES
    ids = {name: nid for nid, name in {**nodes, **topics}.items()}
    assert f"  {ids['tick']} -->|Counter| {ids['ticks']}" in lines
    assert f"  {ids['cam2/beats']} --> {ids['cam2/count']}" in lines


def test_launch_show_args_lists_arguments_with_defaults_and_docs():
    result = subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", "launch", "valid.yaml", "--show-args"],
        capture_output=True,
        text=True,
        cwd=LAUNCH_DATA,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["rate:=20", "    ticks per second"]


def test_shell_completion_offers_running_nodes_and_topics(graph):
    script = os.path.join(os.path.dirname(sys.executable), "dreamgraph")

    def complete(words: str) -> list[str]:
        env = dict(graph.env, _DREAMGRAPH_COMPLETE="complete_bash", COMP_WORDS=words, COMP_CWORD="3")
        return subprocess.run([script], env=env, capture_output=True, text=True, timeout=60).stdout.split()

    assert NODES <= set(complete("dreamgraph node info "))
    assert complete("dreamgraph param get cam2/") == ["cam2/count", "cam2/tick"]
    assert "/cam2/beats" in complete("dreamgraph topic hz /cam2")
