"""The node API: a class with declared inputs, outputs and parameters that runs as its own process.

    class Counter(Node):
        '''Counts ticks.'''
        ticks = Input(Counter, "ticks", delivery="queue:100", doc="ticks to count")
        report = Output(Text, "report", doc="a line per second")
        every_s = Param(float, 1.0, unit="s", doc="report period", min=0.01)

        def setup(self):
            self.every(self.every_s, self.tick)
        def on_ticks(self, msg): ...

Handlers (``on_<input>``), timers and ``loop`` run on the node's one thread. Outputs may be published from any
thread; publishes from other threads are handed over to the node thread.

A node that computes for long stretches writes ``loop`` as a generator and yields between short pieces of work
(an optimisation step): each pass of the node's event loop polls the sockets, handles the inputs, runs each due
timer once and then one piece of the loop, so status, parameter changes and inputs are served within one piece,
never after a whole computation.

    def loop(self):
        for _ in range(self.steps):
            self.engine.step()
            yield                 # inputs, parameters and timers are handled here
        self.result.publish(...)
        # returning starts the loop afresh; `yield 0.5` (or `return 0.5` from a plain loop) waits for input
        # up to that many seconds first, for a loop with nothing to do
"""

from __future__ import annotations

import collections
import heapq
import inspect
import itertools
import logging
import os
import queue
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import zmq

from . import message as wire
from .contract import Input, Output, Param, declared, resolve_topic
from .message import ParamReply, ParamSet, Status
from .preflight import Check
from .runtime import GraphDir
from .security import Security
from .topics import PARAM_REPLY_TOPIC, PARAM_TOPIC, STATUS_TOPIC
from .transport import Delivery, Publisher, RateMeter, Subscription, arrival_rate
from .usage import ProcessUsage

__all__ = ["Node", "Input", "Output", "Param", "FramePool", "NodeConfig"]

DISCOVERY_PERIOD_S = 0.5
STATUS_PERIOD_S = 1.0
IDLE_POLL_S = 0.1  # longest poll while idle, so a stop request is noticed promptly


@dataclass
class NodeConfig:
    """Everything a node process needs to join its graph; written by the launcher, never on a command line."""

    name: str
    node: str
    params: dict = field(default_factory=dict)
    remap: dict = field(default_factory=dict)
    namespace: str = ""
    graph_dir: str = ""
    bind: list = field(default_factory=list)  # extra endpoints (tcp://) to bind besides the ipc one
    connect: list = field(default_factory=list)  # static endpoints of participants on other machines
    keys_dir: str = ""
    log_level: str = "INFO"


class FramePool:
    """A ring of preallocated arrays for zero-copy publishing.

    ``acquire`` returns the next array whose last send has completed. If a stalled subscriber still holds it,
    the slot gets a fresh array instead of waiting, so one slow consumer never slows the publisher down.
    """

    def __init__(self, shape, dtype=np.uint8, count: int = 4):
        self._arrays = [np.zeros(shape, dtype) for _ in range(count)]
        self._trackers: list[zmq.MessageTracker | None] = [None] * count
        self._index = 0
        self.replaced = 0

    def acquire(self) -> np.ndarray:
        self._index = (self._index + 1) % len(self._arrays)
        tracker = self._trackers[self._index]
        if tracker is not None and not tracker.done:
            self._arrays[self._index] = np.empty_like(self._arrays[self._index])
            self.replaced += 1
        self._trackers[self._index] = None
        return self._arrays[self._index]

    def track(self, array: np.ndarray, tracker):
        for i, candidate in enumerate(self._arrays):
            if candidate is array:
                self._trackers[i] = tracker


class BoundOutput:
    """An output of a running node: ``publish`` from any thread."""

    def __init__(self, node: "Node", decl: Output, topic: str):
        self.node, self.decl, self.topic = node, decl, topic

    def publish(self, msg: wire.Message, pool: FramePool | None = None):
        if not isinstance(msg, self.decl.type):
            raise TypeError(f"{self.decl.name} publishes {self.decl.type.__name__}, not {type(msg).__name__}")
        if threading.get_ident() != self.node._thread_id:
            self.node._handoff(lambda: self.publish(msg, pool))
            return
        tracker = self.node._publisher.publish(self.topic, msg, track=pool is not None)
        if pool is not None:
            for name in msg._array_fields:
                pool.track(getattr(msg, name), tracker)


class _BurstLogger:
    """Logs the first of a burst of similar problems, then a count, so a flood cannot flood the log."""

    def __init__(self, log: logging.Logger, window_s: float = 5.0):
        self.log, self.window_s = log, window_s
        self._last: dict[str, float] = {}
        self._suppressed: collections.Counter = collections.Counter()

    def warn(self, kind: str, text: str):
        now = time.monotonic()
        if now - self._last.get(kind, -1e9) >= self.window_s:
            extra = f" ({self._suppressed[kind]} more since the last report)" if self._suppressed[kind] else ""
            self.log.warning("%s: %s%s", kind, text, extra)
            self._last[kind] = now
            self._suppressed[kind] = 0
        else:
            self._suppressed[kind] += 1


class Node:
    """Base class of every node. Subclasses declare Input, Output and Param attributes."""

    def __init__(self, config: NodeConfig, context: zmq.Context | None = None):
        self.config = config
        self.name = config.name
        self.log = logging.getLogger(config.name)
        self._burst = _BurstLogger(self.log)
        self.errors: collections.Counter = collections.Counter()
        self.stopping = False
        self._thread_id = threading.get_ident()
        self._timers: list = []
        self._timer_ids = itertools.count()
        self.dropped_ticks = 0
        self.problem = ""  # what keeps the node from doing its job right now, in words for its status
        self._loop_run = None  # the running generator of a generator-style loop
        self._loop_due = 0.0  # monotonic time of the loop's next call, unless an input comes first
        self._handoffs: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._started = time.monotonic()
        self._usage = ProcessUsage()

        self._param_decls = declared(type(self), Param)
        self._param_values = {name: p.default for name, p in self._param_decls.items()}
        unknown = set(config.params) - set(self._param_decls)
        if unknown:
            raise ValueError(
                f"{config.name}: unknown parameter(s) {', '.join(sorted(unknown))}; "
                f"{type(self).__name__} has {', '.join(self._param_decls) or 'none'}"
            )
        for name, value in config.params.items():
            self._param_values[name] = self._param_decls[name].convert(value)

        self._ctx = context or zmq.Context.instance()
        self._graph = GraphDir(config.graph_dir) if config.graph_dir else None
        self._security = Security(config.keys_dir) if config.keys_dir else None
        bind = list(config.bind)
        if self._graph:
            bind.insert(0, self._graph.ipc_endpoint(config.name))
        incarnation = f"{os.getpid()}.{time.monotonic_ns() % 10**9}"
        self._publisher = Publisher(self._ctx, bind, f"{config.name}#{incarnation}", self._security)
        self._bound_outputs = {}
        self._out_rates: dict[str, RateMeter] = {}
        for name, decl in declared(type(self), Output).items():
            topic = self.resolve(decl.topic)
            self._bound_outputs[name] = BoundOutput(self, decl, topic)
            self._out_rates[topic] = RateMeter()
            if decl.latched:
                self._publisher.latched_topics.add(topic)
        self._status_out = BoundOutput(self, Output(Status, STATUS_TOPIC), resolve_topic(STATUS_TOPIC))
        self._param_reply_out = BoundOutput(
            self, Output(ParamReply, PARAM_REPLY_TOPIC), resolve_topic(PARAM_REPLY_TOPIC)
        )

        self._inputs: list[tuple[Input, Subscription, Callable, RateMeter]] = []
        for name, decl in declared(type(self), Input).items():
            handler = getattr(self, f"on_{name}", None)
            if handler is None:
                raise TypeError(f"{type(self).__name__} declares input {name!r} but no on_{name} method")
            sub = Subscription(self._ctx, self.resolve(decl.topic), decl.delivery, self._security, decl.type)
            self._inputs.append((decl, sub, handler, RateMeter()))
        param_sub = Subscription(self._ctx, resolve_topic(PARAM_TOPIC), Delivery(False, 64), self._security, ParamSet)
        self._inputs.append((Input(ParamSet, PARAM_TOPIC, "queue:64"), param_sub, self._on_param_set, RateMeter()))
        self._static_endpoints = list(config.connect)
        self._discover()

    # -- helpers for subclasses ------------------------------------------------------------------------------

    def resolve(self, topic: str) -> str:
        return resolve_topic(topic, self.config.namespace, self.config.remap)

    def every(self, seconds: float, fn: Callable[[], Any]) -> int:
        """Call ``fn`` every ``seconds`` on the node thread, on a drift-free schedule. Returns a timer id."""
        timer_id = next(self._timer_ids)
        heapq.heappush(self._timers, (time.monotonic() + seconds, timer_id, seconds, fn))
        return timer_id

    def after(self, seconds: float, fn: Callable[[], Any]) -> int:
        timer_id = next(self._timer_ids)
        heapq.heappush(self._timers, (time.monotonic() + seconds, timer_id, None, fn))
        return timer_id

    def cancel(self, timer_id: int):
        self._timers = [t for t in self._timers if t[1] != timer_id]
        heapq.heapify(self._timers)

    def input_rate(self, name: str, window_s: float = 2.0) -> float:
        """Messages per second that arrived on input `name` over the last `window_s`, counted before a
        latest-only input keeps just the newest: what the topic carries, measured as `dreamgraph topic hz` does."""
        sub = next(sub for decl, sub, _, _ in self._inputs if decl.name == name)
        since = time.monotonic() - window_s
        return arrival_rate([t for t in sub.arrivals if t >= since])

    def count_error(self, kind: str, detail: str = ""):
        """Count a problem in the node's status; log it at most once per burst."""
        self.errors[kind] += 1
        self._burst.warn(kind, detail or kind)

    def set_param(self, name: str, value: Any):
        """Validate and apply a parameter; raises ValueError for an unknown name, a bad value or a change the
        node refused or failed to apply (``on_param`` raised), and then keeps the old value."""
        decl = self._param_decls.get(name)
        if decl is None:
            raise ValueError(
                f"unknown parameter {name!r}; {type(self).__name__} has {', '.join(self._param_decls) or 'none'}"
            )
        old = self._param_values[name]
        self._param_values[name] = decl.convert(value)
        try:
            self.on_param(name, self._param_values[name])
        except ValueError:
            self._param_values[name] = old
            raise
        except Exception as err:  # a change that failed half-way is refused too: status never shows it applied
            self._param_values[name] = old
            raise ValueError(f"not applied: {type(err).__name__}: {err}") from err

    # -- hooks -----------------------------------------------------------------------------------------------

    @classmethod
    def preflight(cls, params: dict[str, Any]) -> list[Check]:
        """What this node needs from the machine, checked before a show by `dreamgraph doctor` without starting
        it. ``params`` holds its launch file values with the defaults filled in. Nothing by default."""
        return []

    def setup(self):
        """Called once in the node process, after the sockets are up."""

    def teardown(self):
        """Called once on shutdown."""

    def on_param(self, name: str, value: Any):
        """Called with a live parameter change, already readable as ``self.<name>``. Raise ValueError (its text
        is the reason the sender sees) to refuse it: the old value then stays. Any other exception refuses the
        change the same way."""

    # Defined by nodes that compute continuously: a plain method called over and over, or a generator that
    # yields between pieces of work (see the module docstring). None, or a number of seconds to idle first.
    loop: Callable[[], Any] | None = None

    # -- machinery ---------------------------------------------------------------------------------------------

    def _handoff(self, fn: Callable[[], None]):
        self._handoffs.put(fn)
        try:
            self._wake_w.send(b"\0")
        except BlockingIOError:
            pass  # the node thread has wake-ups pending already

    def _discover(self):
        endpoints = self._static_endpoints + (self._graph.ipc_endpoints() if self._graph else [])
        for _, sub, _, _ in self._inputs:
            for endpoint in endpoints:
                sub.connect(endpoint)

    def _on_param_set(self, msg: ParamSet):
        if msg.node not in (self.name, "*"):
            return
        if msg.node == "*" and msg.name not in self._param_decls:
            return  # a broadcast is for the nodes that have this parameter
        try:
            self.set_param(msg.name, msg.value)
        except ValueError as err:
            self.count_error("bad_param", str(err))
            self._param_reply_out.publish(
                ParamReply(node=self.name, name=msg.name, value=msg.value, applied=False, reason=str(err), id=msg.id)
            )
            return
        value = self._param_values[msg.name]
        self.log.info("parameter %s = %r", msg.name, value)
        self._param_reply_out.publish(ParamReply(node=self.name, name=msg.name, applied=True, id=msg.id, value=value))

    def _publish_status(self):
        inputs = {}
        for decl, sub, _, meter in self._inputs:
            meter.tick(sub.received)
            inputs[sub.topic] = {
                "type": decl.type.TYPE,
                "rate": round(meter.update(), 2),
                "count": sub.received,
                "drops": sub.dropped,
                "rejected": sub.rejected,
                "delivery": str(decl.delivery),
            }
        outputs = {}
        for bound in self._bound_outputs.values():
            meter = self._out_rates[bound.topic]
            meter.tick(self._publisher.sent[bound.topic])
            outputs[bound.topic] = {
                "type": bound.decl.type.TYPE,
                "rate": round(meter.update(), 2),
                "count": self._publisher.sent[bound.topic],
                "latched": bound.decl.latched,
            }
        self._status_out.publish(
            Status(
                node=self.name,
                pid=os.getpid(),
                host=socket.gethostname(),
                state="stopping" if self.stopping else "running",
                uptime=round(time.monotonic() - self._started, 3),
                inputs=inputs,
                outputs=outputs,
                errors=dict(self.errors),
                params=dict(self._param_values),
                node_class=f"{type(self).__module__}:{type(self).__name__}",
                dropped_ticks=self.dropped_ticks,
                problem=self.problem,
                **self._usage.sample(),
            )
        )

    def _run_due_timers(self):
        """Run every timer that is due now, each once.

        A periodic timer that fell a whole period or more behind drops the ticks it missed (counted in the
        status) instead of catching up: its next deadline is always in the future, so it cannot run twice in
        one pass, and a callback slower than its period can starve neither the inputs nor the loop."""
        pass_start = time.monotonic()
        while self._timers and self._timers[0][0] <= pass_start:
            due, timer_id, period, fn = heapq.heappop(self._timers)
            if period is not None:
                missed = int((time.monotonic() - due) // period)
                self.dropped_ticks += missed
                heapq.heappush(self._timers, (due + (missed + 1) * period, timer_id, period, fn))  # drift-free
            self._guard("timer", fn)

    def _wait_s(self) -> float:
        """How long the next poll may wait: until the next timer, or the loop's next piece of work."""
        now = time.monotonic()
        wait = self._timers[0][0] - now if self._timers else IDLE_POLL_S
        if self.loop is not None:
            wait = min(wait, self._loop_due - now)
        return min(max(0.0, wait), IDLE_POLL_S)

    def _guard(self, kind: str, fn: Callable, *args):
        try:
            fn(*args)
        except Exception as err:  # a bug in one handler must not take the node down
            self.errors[kind] += 1
            self.log.exception("%s failed: %s", kind, err)

    def _dispatch(self, events: dict) -> bool:
        """Hand arrived messages to their handlers; True if any handler ran."""
        handled = False
        for decl, sub, handler, _ in self._inputs:
            if sub.socket not in events:
                continue
            sub.drain(lambda reason, topic=sub.topic: self.count_error("rejected_message", f"{topic}: {reason}"))
            handled = handled or bool(sub.buffer)
            if decl.delivery.latest and sub.buffer:
                env = sub.buffer.pop()
                sub.buffer.clear()
                self._guard(f"on_{decl.name}", handler, env.msg)
            else:
                while sub.buffer:
                    self._guard(f"on_{decl.name}", handler, sub.buffer.popleft().msg)
        return handled

    def _step_loop(self):
        """Run the loop's next piece of work: one call of a plain loop, one step of a generator loop."""
        self._loop_due = time.monotonic()
        if self._loop_run is None:
            result = self.loop()
            if not inspect.isgenerator(result):
                self._loop_due += result or 0.0
                return
            self._loop_run = result
        try:
            self._loop_due += next(self._loop_run) or 0.0
        except StopIteration as done:
            self._loop_run = None
            self._loop_due += done.value or 0.0
        except BaseException:
            self._loop_run = None  # a failed generator cannot be resumed: the next call starts afresh
            raise

    def _request_stop(self, *_):
        self.stopping = True
        self._handoff(lambda: None)

    def run(self):
        """The node's main loop; returns on SIGINT/SIGTERM."""
        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGTERM, self._request_stop)
        poller = zmq.Poller()
        poller.register(self._publisher.socket, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        for _, sub, _, _ in self._inputs:
            poller.register(sub.socket, zmq.POLLIN)
        self.every(DISCOVERY_PERIOD_S, self._discover)
        self.every(STATUS_PERIOD_S, self._publish_status)
        self.setup()
        self._publish_status()
        try:
            while not self.stopping:
                events = dict(poller.poll(self._wait_s() * 1000))
                if self._wake_r in events or self._wake_r.fileno() in events:
                    try:
                        while self._wake_r.recv(4096):
                            pass
                    except BlockingIOError:
                        pass
                while not self._handoffs.empty():
                    self._guard("handoff", self._handoffs.get_nowait())
                if self._publisher.socket in events:
                    self._publisher.handle_subscriptions()
                handled = self._dispatch(events)
                self._run_due_timers()
                # input wakes an idle loop at once (a target for an optimizer waiting for one)
                if self.loop is not None and not self.stopping and (handled or time.monotonic() >= self._loop_due):
                    self._guard("loop", self._step_loop)
        finally:
            self.stopping = True
            self._guard("teardown", self.teardown)
            self.close()

    def close(self):
        for _, sub, _, _ in self._inputs:
            sub.close()
        self._publisher.close()
        self._wake_r.close()
        self._wake_w.close()
