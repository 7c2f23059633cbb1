"""Nodes and sample messages shared by the framework tests (graph.*), plus the checks of the helpers themselves.

Launched node processes import this module as ``test_graph_helpers`` (the tests put ``tests/`` on PYTHONPATH),
so it imports nothing but the framework: it must stay cheap to import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np

from dreamgraph.graph.core.message import Counter, Image, LaunchState, ParamReply, ParamSet, Status, Text
from dreamgraph.graph.core.node import Input, Node, Output, Param
from dreamgraph.nodes.common.messages import ChatMessage, ChatReply, Keyframe, Overlay, Target

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
LAUNCH_DATA = os.path.join(TESTS_DIR, "data", "launch")
HELPERS_ENV = {"PYTHONPATH": os.pathsep.join(p for p in (TESTS_DIR, os.environ.get("PYTHONPATH", "")) if p)}


def sample_messages() -> list:
    """One non-default instance of every message type, deterministic so two processes build equal ones."""
    rgb = np.arange(12 * 16 * 3, dtype=np.uint8).reshape(12, 16, 3)
    return [
        Image(image=rgb, seq=7, stamp=1234.5),
        ParamSet(node="tick", name="rate", value=12.5, id="req-1"),
        ParamReply(node="tick", name="rate", value=-1, applied=False, reason="rate must be >= 0.01", id="req-1"),
        Status(
            node="n",
            pid=42,
            host="h",
            state="running",
            uptime=1.5,
            inputs={"ticks": {"type": "dreamgraph/Counter", "rate": 2.0, "count": 3, "drops": 0}},
            outputs={"out": {"count": 1}},
            errors={"rejected_message": 2},
            params={"rate": 10.0},
            node_class="dreamgraph.graph.builtin.ticker:Ticker",
            dropped_ticks=3,
        ),
        LaunchState(
            graph="g-1",
            machine="",
            launch_file="/x.yaml",
            nodes={"tick": {"pid": 5, "state": "running", "restarts": 0, "exit_code": None}},
        ),
        Text(text="h\u00e9llo \u2603"),
        Counter(n=99, stamp=0.25),
        ChatMessage(
            source="twitch",
            channel="#dream",
            user="viewer",
            display_name="Viewer",
            text="volcano + bee",
            message_id="abc-1",
            timestamp=1700000000.5,
            badges=["moderator/1", "subscriber/12"],
        ),
        ChatReply(channel="#dream", text="One volcano coming up", reply_to="abc-1"),
        Target(
            class_ids=[980, 309],
            labels=["volcano", "bee"],
            layout="grid",
            weights=[1.0, 0.5],
            requested_by="viewer",
            since=1700000001.0,
        ),
        Overlay(text="@viewer: volcano"),
        Keyframe(
            image=(255 - rgb),
            seq=3,
            class_ids=[980],
            labels=["volcano"],
            zoom=1.05,
            rotation=0.5,
            period=7.5,
            step_ms=9.2,
            steps=10,
            stamp=99.0,
        ),
    ]


def same_message(a, b) -> bool:
    if type(a) is not type(b):
        return False
    for name in a._fields:
        x, y = getattr(a, name), getattr(b, name)
        if isinstance(x, np.ndarray):
            if not (isinstance(y, np.ndarray) and x.dtype == y.dtype and np.array_equal(x, y)):
                return False
        elif x != y or type(x) is not type(y):
            return False
    return True


def publish_samples_forever(endpoint: str, topic: str):
    """Child-process entry: publish every sample again and again (slow joiners miss the first ones)."""
    import zmq

    from dreamgraph.graph.core.transport import Publisher

    pub = Publisher(zmq.Context.instance(), [endpoint], f"samples#{os.getpid()}")
    print("bound", flush=True)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        for msg in sample_messages():
            pub.publish(topic, msg)
        time.sleep(0.05)


def spawn_sample_publisher(endpoint: str, topic: str) -> subprocess.Popen:
    code = f"import test_graph_helpers as h; h.publish_samples_forever({endpoint!r}, {topic!r})"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=dict(os.environ, **HELPERS_ENV)
    )
    assert proc.stdout.readline().strip() == "bound"
    return proc


# -- nodes used in launched graphs --------------------------------------------------------------------------


class Talker(Node):
    """Logs its text parameter once at start-up (to check that the launcher masks secrets)."""

    text = Param(str, "", doc="what to say")

    def setup(self):
        self.log.warning("saying %s", self.text)


class Crashy(Node):
    """Exits with code 3 shortly after it starts."""

    after_s = Param(float, 0.5, unit="s", doc="how long to live")

    def setup(self):
        self.after(self.after_s, lambda: os._exit(3))


class FragileStart(Node):
    """Runs whatever its parameter says, but a start with `broken` set fails (a live value that breaks a restart)."""

    broken = Param(bool, False, doc="fail at start-up")

    def setup(self):
        if self.broken:
            raise RuntimeError("cannot start with broken set")


class LatchOnce(Node):
    """Publishes one Text on a latched topic, once, shortly after start."""

    state = Output(Text, "state", latched=True, doc="published once")

    def setup(self):
        self.after(0.2, lambda: self.state.publish(Text(text=f"state from {os.getpid()}")))


class SlowQueue(Node):
    """A deliberately slow consumer of ticks through a small queue; reports what it handled."""

    ticks = Input(Counter, "ticks", delivery="queue:3", doc="ticks, handled slowly")
    handled = Output(Text, "slow_handled", doc="the n of every tick handled")
    work_s = Param(float, 0.15, unit="s", doc="time spent per tick")

    def on_ticks(self, msg: Counter):
        time.sleep(self.work_s)
        self.handled.publish(Text(text=str(msg.n)))


class SlowLatest(Node):
    """A deliberately slow consumer of ticks that only wants the newest one."""

    ticks = Input(Counter, "ticks", delivery="latest", doc="ticks, newest only")
    handled = Output(Text, "latest_handled", doc="the n of every tick handled")
    work_s = Param(float, 0.15, unit="s", doc="time spent per tick")

    def on_ticks(self, msg: Counter):
        time.sleep(self.work_s)
        self.handled.publish(Text(text=str(msg.n)))


class LongCompute(Node):
    """Computes in steps of `step_s` (a sleep, as a busy CPU would be), `steps` per result, yielding between steps;
    publishes the step count of each result, and how many steps of the current one ran when a parameter changed."""

    result = Output(Counter, "long_results", doc="n: steps the result took")
    applied_at = Output(Counter, "long_param_applied", doc="n: steps of the current result done when applied")
    step_s = Param(float, 0.2, unit="s", min=0.0, doc="duration of one step")
    steps = Param(int, 1000, min=1, doc="steps per result")
    level = Param(float, 0.0, min=0.0, max=1.0, doc="a setting the computation uses; refused above 0.5 too")

    def setup(self):
        self.done = 0

    def loop(self):
        self.done = 0
        while self.done < self.steps:
            time.sleep(self.step_s)
            self.done += 1
            yield
        self.result.publish(Counter(n=self.done, stamp=time.time()))

    def on_param(self, name, value):
        if name == "level" and value > 0.5:
            raise ValueError("the computation cannot run above 0.5")
        self.applied_at.publish(Counter(n=self.done, stamp=time.time()))


class SlowTimer(Node):
    """A timer whose callback takes longer than its period (a node that can never catch up); answers pings."""

    pings = Input(Counter, "slow_pings", delivery="queue:10", doc="each is answered on slow_pongs")
    ticks = Output(Counter, "slow_ticks", doc="one per callback")
    pongs = Output(Counter, "slow_pongs", doc="the pings, back")
    period_s = Param(float, 0.05, unit="s", min=0.001, doc="timer period")
    work_s = Param(float, 0.12, unit="s", min=0.0, doc="time spent per callback")

    def setup(self):
        self.n = 0
        self.every(self.period_s, self.tick)

    def tick(self):
        time.sleep(self.work_s)
        self.n += 1
        self.ticks.publish(Counter(n=self.n, stamp=time.time()))

    def on_pings(self, msg: Counter):
        self.pongs.publish(msg)


class SlowStart(Node):
    """Takes `start_s` to set up, like a node that imports torch and loads a model."""

    start_s = Param(float, 3.0, unit="s", min=0.0, doc="set-up time")

    def setup(self):
        time.sleep(self.start_s)


class Spawner(Node):
    """Starts a child process (like an ffmpeg encoder) and publishes its pid on a latched topic."""

    child_pid = Output(Text, "spawned_pid", latched=True, doc="pid of the child process")

    def setup(self):
        self._child = subprocess.Popen(["sleep", "300"])
        self.after(0.1, lambda: self.child_pid.publish(Text(text=str(self._child.pid))))


# -- checks of the helpers themselves ----------------------------------------------------------------------


def test_samples_cover_every_registered_message_type():
    from dreamgraph.graph.core.message import registered_types

    wanted = {t for t in registered_types() if t.startswith("dreamgraph/")}
    assert {m.TYPE for m in sample_messages()} == wanted


def test_same_message_tells_apart_arrays_and_scalars():
    a, b = sample_messages()[0], sample_messages()[0]
    assert same_message(a, b)
    b.image = b.image.copy()
    b.image[0, 0, 0] += 1
    assert not same_message(a, b)
    assert not same_message(Counter(n=1), Counter(n=2))
    assert not same_message(Counter(n=1), Text(text="1"))
