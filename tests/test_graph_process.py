"""Process supervision: respawn with backoff, required nodes, clean Ctrl-C, and `dreamgraph run` on its own."""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import time

import psutil
import pytest
from test_graph_helpers import HELPERS_ENV

from dreamgraph.graph.core.process import keep_niceness_in_session
from dreamgraph.graph.core.runtime import GraphDir
from dreamgraph.graph.orchestration.priority import STARTUP_NICE, may_raise_to
from dreamgraph.graph.testing.harness import GraphHarness
from dreamgraph.graph.tools.introspect import GraphClient


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # dead, only not reaped by a foreign parent
    except psutil.NoSuchProcess:
        return True


def wait_gone(pids, timeout: float = 20.0) -> list[int]:
    end = time.monotonic() + timeout
    while time.monotonic() < end and not all(gone(p) for p in pids):
        time.sleep(0.1)
    return [p for p in pids if not gone(p)]


def node_pids(h: GraphHarness, names: set[str], timeout: float = 40.0) -> dict[str, int]:
    end = time.monotonic() + timeout
    found = {}
    while set(found) != names:
        assert time.monotonic() < end, f"no status from {names - set(found)}\n{h.text()}"
        found.update({n: s.pid for n, s in h.statuses(1.2).items()})
    return found


def test_crashing_node_is_respawned_with_backoff_until_max_restarts():
    launch = {
        "nodes": [
            {
                "name": "crashy",
                "node": "test_graph_helpers:Crashy",
                "params": {"after_s": 0.2},
                "respawn": True,
                "respawn_delay": 0.2,
                "max_restarts": 2,
            },
            {"name": "tick", "node": "dreamgraph.graph.builtin.ticker"},
        ]
    }
    with GraphHarness(launch, env=HELPERS_ENV) as h:
        h.wait_output("crashy exited with code 3 (max_restarts reached)", timeout=60)
        lines = [l.split(" ", 1)[1] for l in h.output if "[launch] crashy exited" in l]  # after the time
        assert lines == [
            "[launch] crashy exited with code 3; restarting in 0.2 s (restart 1 of 2)",
            "[launch] crashy exited with code 3; restarting in 0.4 s (restart 2 of 2)",  # backoff doubles
            "[launch] crashy exited with code 3 (max_restarts reached)",
        ]
        rows = {l.split()[0]: l.split() for l in h.cli("node", "list").stdout.splitlines()[1:]}
        assert rows["crashy"][1:4] == ["-", "failed", "2"], rows
        assert rows["tick"][2:4] == ["running", "0"], rows
        assert h.proc.poll() is None, "a node that is not required must not end the graph"
        code = h.stop()
    assert code != 0, "a launch in which a node failed must not report success"


def test_required_node_death_ends_the_launch_with_an_error():
    launch = {
        "nodes": [
            {"name": "crashy", "node": "test_graph_helpers:Crashy", "params": {"after_s": 1.5}, "required": True},
            {"name": "tick", "node": "dreamgraph.graph.builtin.ticker"},
        ]
    }
    with GraphHarness(launch, env=HELPERS_ENV) as h:
        launcher = psutil.Process(h.proc.pid)
        children = set()
        end = time.monotonic() + 60
        while h.proc.poll() is None:  # every process the launcher starts, until it ends by itself
            assert time.monotonic() < end, h.text()
            try:
                children.update(c.pid for c in launcher.children(recursive=True))
            except psutil.NoSuchProcess:
                pass
            time.sleep(0.05)
        assert h.proc.returncode == 1, h.text()
        h.wait_output("graph stopped", timeout=5)
        assert "required node crashy is gone; stopping the graph" in h.text()
        assert len(children) >= 2
        assert wait_gone(children) == []
        assert not any(p.is_dir() for p in pathlib.Path(h.runtime_dir).iterdir())


def test_ctrl_c_leaves_no_process_and_no_file_behind():
    launch = {
        "nodes": [
            {"name": "tick", "node": "dreamgraph.graph.builtin.ticker"},
            {"name": "count", "node": "dreamgraph.graph.builtin.counter"},
            {
                "name": "pattern",
                "node": "dreamgraph.graph.builtin.testpattern",
                "params": {"width": 32, "height": 24, "fps": 5},
            },
            {"name": "spawner", "node": "test_graph_helpers:Spawner"},
        ]
    }
    with GraphHarness(launch, env=HELPERS_ENV) as h:
        pids = node_pids(h, {"tick", "count", "pattern", "spawner"})
        child_pid = int(h.wait_for("spawned_pid").msg.text)
        assert not gone(child_pid)
        graph_dir = h.client.graph.path
        sockets = {p.name for p in (graph_dir / "ep").glob("*.sock")}
        assert {"tick.sock", "count.sock", "pattern.sock", "spawner.sock", "_launch.sock"} <= sockets
        code = h.stop(signal.SIGINT)
        assert code == 0, h.text()
        assert "graph stopped" in h.text()
        assert "killing it" not in h.text(), "nodes must stop on SIGINT within their stop timeout"
        assert wait_gone([*pids.values(), child_pid]) == []
        leftovers = [p for p in pathlib.Path(h.runtime_dir).rglob("*") if p.name != "graph.yaml"]
        assert leftovers == [], f"left behind: {leftovers}"
        assert not graph_dir.exists()


def test_nodes_die_with_a_killed_launcher():
    with GraphHarness({"nodes": [{"name": "tick", "node": "dreamgraph.graph.builtin.ticker"}]}) as h:
        pid = node_pids(h, {"tick"})["tick"]
        h.proc.send_signal(signal.SIGKILL)
        h.proc.wait(10)
        assert wait_gone([pid]) == [], "a node must not outlive its launcher"


# -- dreamgraph run ------------------------------------------------------------------------------------------


@pytest.fixture
def runtime_dir():
    with tempfile.TemporaryDirectory(prefix="dgr-", dir="/tmp") as d:
        yield d


def _cli(runtime_dir: str, *args: str, **kwargs):
    env = dict(os.environ, DREAMGRAPH_RUNTIME_DIR=runtime_dir, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "dreamgraph.graph.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def test_run_alone_starts_its_own_graph(runtime_dir):
    proc = _cli(runtime_dir, "run", "dreamgraph.graph.builtin.ticker", "--param", "rate=20")
    try:
        end = time.monotonic() + 30
        while not list(pathlib.Path(runtime_dir).glob("*/graph.json")):
            assert time.monotonic() < end and proc.poll() is None, proc.stdout.read() if proc.poll() is not None else ""
            time.sleep(0.05)
        graph_dir = next(pathlib.Path(runtime_dir).glob("*/graph.json")).parent
        assert graph_dir.name == f"ticker-{proc.pid}"
        client = GraphClient(GraphDir(graph_dir))
        ticks = [e.msg.n for e in client.listen("ticks", 30, count=3)]
        assert len(ticks) == 3 and ticks == list(range(ticks[0], ticks[0] + 3))
        echo = _cli(runtime_dir, "topic", "echo", "ticks", "--count", "2", "--timeout", "30")
        out, _ = echo.communicate(timeout=60)
        assert echo.returncode == 0 and out.count('"type": "dreamgraph/Counter"') == 2, out
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert list(pathlib.Path(runtime_dir).iterdir()) == [], "the graph a lone node started must be removed"


def test_run_with_a_bad_param_fails_and_cleans_up(runtime_dir):
    proc = _cli(runtime_dir, "run", "dreamgraph.graph.builtin.ticker", "--param", "rate=-3")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "rate must be >= 0.01" in out
    assert list(pathlib.Path(runtime_dir).iterdir()) == []


def node_process(h: GraphHarness, name: str, other_than: int = 0, timeout: float = 10.0) -> psutil.Process:
    """The launcher's child that runs node `name` (found by its config file), before the node is heard."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for child in psutil.Process(h.proc.pid).children():
            if child.pid != other_than and child.cmdline()[-1].endswith(f"/{name}.json"):
                return child
        time.sleep(0.05)
    raise AssertionError(f"no process for {name}\n{h.text()}")


AUTOGROUP = os.path.exists("/proc/self/autogroup")  # the kernel groups sessions for scheduling


def session_nice(pid: int) -> int:
    """The niceness of the scheduler group of `pid`'s session ("/autogroup-12 nice 5"). A process whose session
    never left init's (as a CI runner may start the tests) is in the root group: the kernel prints nothing for
    it, and the root group always weighs as nice 0."""
    words = pathlib.Path(f"/proc/{pid}/autogroup").read_text().split()
    return int(words[-1]) if words else 0


def test_nice_sets_a_node_priority_after_a_quiet_start_up():
    launch = {
        "nodes": [
            {"name": "heavy", "node": "test_graph_helpers:SlowStart", "params": {"start_s": 3.0}, "nice": 7},
            {"name": "video", "node": "dreamgraph.graph.builtin.ticker", "nice": -2},
        ]
    }
    own = psutil.Process().nice()
    with GraphHarness(launch, env=HELPERS_ENV) as harness:
        assert node_process(harness, "heavy").nice() == min(19, own + 7 + STARTUP_NICE), "a heavy node starts quietly"
        pids = node_pids(harness, {"heavy", "video"})
        # the launcher renices at the first heartbeat, which the harness may see before the launcher does
        heavy, wanted = psutil.Process(pids["heavy"]), min(19, own + 7)
        end = time.monotonic() + 10
        while (heavy.nice(), AUTOGROUP and session_nice(heavy.pid)) != (wanted, AUTOGROUP and wanted):
            if time.monotonic() > end:
                break
            time.sleep(0.1)
        assert heavy.nice() == wanted, "its own niceness once it has started"
        if AUTOGROUP:  # else every node's session would share the CPU equally whatever its niceness
            assert session_nice(heavy.pid) == wanted, "and its session's scheduler group too"
        video = psutil.Process(pids["video"]).nice()
        if may_raise_to(own - 2):
            assert video == own - 2, "the video path goes first where the system allows it"
            assert not AUTOGROUP or session_nice(pids["video"]) == own - 2
        else:
            assert video == own and "video: nice -2 is not allowed here" in harness.text()


@pytest.mark.skipif(not AUTOGROUP, reason="this kernel does not group sessions for scheduling (autogroup)")
def test_a_child_in_a_session_of_its_own_keeps_its_niceness():
    def child_setup():  # as a node starts its encoder: lower priority inherited, then a new session
        os.nice(3)
        keep_niceness_in_session()

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True,
                             preexec_fn=child_setup)  # fmt: skip
    try:
        assert session_nice(child.pid) == min(19, psutil.Process().nice() + 3) != session_nice(os.getpid())
    finally:
        child.kill()
        child.wait()


def test_a_node_whose_heartbeat_stops_is_stopped_by_the_watchdog_and_respawned():
    launch = {
        "graph": {"watchdog_s": 3},
        "nodes": [
            {"name": "tick", "node": "dreamgraph.graph.builtin.ticker", "respawn": True, "respawn_delay": 0.2},
            {"name": "off", "node": "dreamgraph.graph.builtin.ticker", "remap": {"ticks": "off"}, "watchdog_s": 0},
        ],
    }
    with GraphHarness(launch) as h:
        pids = node_pids(h, {"tick", "off"})
        for pid in pids.values():
            os.kill(pid, signal.SIGSTOP)  # alive, but silent: as hung as a node stuck in one call
        try:
            h.wait_output("[launch] tick is hung: no heartbeat for", timeout=30)
            h.wait_output("tick exited with code 0 after the watchdog stopped it; restarting", timeout=30)
            assert not wait_gone([pids["tick"]]), "the hung process is gone, not left behind"
            respawned = h.wait_for("_status", lambda s: s.node == "tick" and s.pid != pids["tick"], timeout=30).msg
            rows = {line.split()[0]: line.split() for line in h.cli("node", "list").stdout.splitlines()}
            assert rows["tick"][1:4] == [str(respawned.pid), "running", "1"] and rows["tick"][7] == "1", rows
            assert rows["off"][7] == "0" and "off is hung" not in h.text(), "watchdog_s: 0 turns it off"
        finally:
            os.kill(pids["off"], signal.SIGCONT)
        assert h.wait_for("_status", lambda s: s.node == "off").msg.pid == pids["off"]


def test_a_respawned_node_starts_up_quietly():
    launch = {
        "nodes": [
            {
                "name": "slow",
                "node": "test_graph_helpers:SlowStart",
                "params": {"start_s": 3.0},
                "respawn": True,
                "respawn_delay": 0.2,
            }
        ]
    }
    own = psutil.Process().nice()
    if not may_raise_to(own):
        pytest.skip("this system would not give a quiet start-up its priority back")
    with GraphHarness(launch, env=HELPERS_ENV) as harness:
        first = node_pids(harness, {"slow"})["slow"]
        assert psutil.Process(first).nice() == own, "a first start of a node that is not heavy is not held back"
        os.kill(first, signal.SIGKILL)
        respawned = node_process(harness, "slow", other_than=first)
        assert respawned.nice() == min(19, own + STARTUP_NICE), "the video goes first while it starts up"
        harness.wait_for("_status", lambda s: s.node == "slow" and s.pid == respawned.pid)
        end = time.monotonic() + 10
        while respawned.nice() != own:
            assert time.monotonic() < end, "its own priority back once started"
            time.sleep(0.1)


def test_live_parameter_changes_survive_a_respawn():
    launch = {
        "nodes": [
            {"name": "tick", "node": "dreamgraph.graph.builtin.ticker", "params": {"rate": 20}, "respawn": True},
        ]
    }
    with GraphHarness(launch) as h:
        first = node_pids(h, {"tick"})["tick"]
        assert h.cli("param", "set", "tick", "rate", "7").returncode == 0
        h.wait_for("_status", lambda s: s.node == "tick" and s.params["rate"] == 7.0, timeout=30)
        os.kill(first, signal.SIGKILL)
        respawned = h.wait_for("_status", lambda s: s.node == "tick" and s.pid != first, timeout=30).msg
        assert respawned.params["rate"] == 7.0, "the respawned node starts with the value set live"


def test_live_values_that_break_a_restart_give_way_to_the_launch_file():
    launch = {
        "nodes": [{"name": "f", "node": "test_graph_helpers:FragileStart", "respawn": True, "respawn_delay": 0.2}]
    }
    with GraphHarness(launch, env=HELPERS_ENV) as h:
        first = node_pids(h, {"f"})["f"]
        assert h.cli("param", "set", "f", "broken", "true").returncode == 0
        h.wait_for("_status", lambda s: s.node == "f" and s.params["broken"] is True, timeout=30)
        os.kill(first, signal.SIGKILL)
        h.wait_output("f failed to start with its live parameters; next with the launch file's", timeout=60)
        back = h.wait_for("_status", lambda s: s.node == "f" and s.pid != first, timeout=60).msg
        assert back.params["broken"] is False


def test_log_lines_carry_a_time_and_the_node_once_or_are_json(tmp_path):
    launch = {"nodes": [{"name": "talk", "node": "test_graph_helpers:Talker", "params": {"text": "hello"}}]}
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    with GraphHarness(launch, env=HELPERS_ENV) as h:
        line = h.wait_output("saying hello")
    assert re.fullmatch(rf"{stamp} \[talk\] WARNING [\w.]+: saying hello", line.rstrip()), line
    (tmp_path / "talk.yaml").write_text(json.dumps(launch))  # JSON is YAML
    launch_json = subprocess.run(
        [
            sys.executable,
            "-m",
            "dreamgraph.graph.cli",
            "launch",
            str(tmp_path / "talk.yaml"),
            "--duration",
            "6",
            "--log-format",
            "json",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, **HELPERS_ENV),
    )
    records = [json.loads(line) for line in launch_json.stdout.splitlines() if line.strip()]
    said = next(r for r in records if r.get("msg", "").endswith("saying hello"))
    assert said["node"] == "talk" and said["level"] == "WARNING" and re.fullmatch(stamp, said["ts"])
    assert all(r["node"] and r["ts"] for r in records)
