"""The OSC node: a control surface (TouchOSC, Resolume, a lighting desk) steers the dream."""

from __future__ import annotations

import collections
import threading
import time

from pythonosc import osc_packet
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import ThreadingOSCUDPServer

from ..graph.core.message import ParamSet
from ..graph.core.node import Node, Output, Param
from ..graph.core.topics import PARAM_TOPIC
from .common.constants import LAYOUTS
from .common.messages import ChatMessage

_NUMBER = (int, float)
_PARAM_VALUE = (bool, int, float, str)


class _GarbageCountingServer(ThreadingOSCUDPServer):
    """Counts datagrams that are not OSC at all (python-osc drops them silently)."""

    def __init__(self, address, dispatcher, on_garbage):
        self.on_garbage = on_garbage
        super().__init__(address, dispatcher)

    def verify_request(self, request, client_address) -> bool:
        valid = super().verify_request(request, client_address)
        if not valid:
            self.on_garbage("not an OSC message")
        return valid


class _CheckedDispatcher(Dispatcher):
    """Counts malformed OSC packets, and never sleeps for bundles time-tagged in the future."""

    def __init__(self, on_garbage):
        super().__init__(strict_timing=False)
        self.on_garbage = on_garbage

    def call_handlers_for_packet(self, data, client_address):
        try:
            osc_packet.OscPacket(data)
        except Exception as err:  # python-osc raises ParseError, UnicodeDecodeError, struct.error, ... on garbage
            self.on_garbage(f"malformed OSC packet: {err.__class__.__name__}")
            return []
        return super().call_handlers_for_packet(data, client_address)


class OscInput(Node):
    """Receives OSC on UDP and turns it into dream requests and live parameter changes.

    Requests go out as chat messages from source "osc" (user "osc"), so they pass through the scheduler like
    any viewer's - which shows them at once, without a name, because "osc" is one of its instant sources - and
    the scheduler's queue, cooldown and autopilot keep working around them. Addresses:

    - `/dream/target s [s ...]`: subjects by name ("volcano", "kit fox"), sent as "volcano + kit fox"
    - `/dream/class i [i ...]`: subjects by ImageNet class id (0-999)
    - `/dream/skip`, `/dream/hold f`, `/dream/clear`: the scheduler's moderator commands
    - `/dream/layout s`: the scheduler's layout for two subjects (a parameter change)
    - `/dream/param s v`: set parameter s of the node named by `param_node` (default the optimizer) to v
    - fader addresses from `faders`, e.g. `{"/1/fader1": {param: zoom_per_s, min: 0.0, max: 0.2}}`: a value in
      0..1 is mapped linearly onto min..max (optional `node:` overrides `param_node`)

    Values of the wrong type or out of range are ignored with a warning and counted in the node's status;
    so are unknown addresses and datagrams that are not OSC.
    """

    chat = Output(ChatMessage, "chat", doc="requests and commands, as chat lines from source 'osc'")
    param_set = Output(ParamSet, PARAM_TOPIC, doc="live parameter changes for other nodes")

    host = Param(str, "127.0.0.1", doc="address to listen on (0.0.0.0: every interface)")
    port = Param(int, 9000, min=0, max=65535, doc="UDP port to listen on (0: any free port, logged)")
    param_node = Param(str, "optimizer", doc="node that /dream/param and faders address by default")
    scheduler_node = Param(str, "scheduler", doc="node that /dream/layout addresses")
    faders = Param(dict, {}, doc="OSC address -> {param, min, max[, node]}: a 0..1 control onto a parameter")

    def setup(self):
        self._problems: collections.deque[tuple[str, str]] = collections.deque(maxlen=1000)
        self._faders = self._checked_faders(self.faders)
        dispatcher = _CheckedDispatcher(self._garbage)
        dispatcher.map("/dream/target", self._target)
        dispatcher.map("/dream/class", self._class)
        dispatcher.map("/dream/skip", self._command, "!skip")
        dispatcher.map("/dream/clear", self._command, "!clear")
        dispatcher.map("/dream/hold", self._hold)
        dispatcher.map("/dream/layout", self._layout)
        dispatcher.map("/dream/param", self._param)
        for address in self._faders:
            dispatcher.map(address, self._fader)
        dispatcher.set_default_handler(self._unknown)
        self.server = _GarbageCountingServer((self.host, self.port), dispatcher, self._garbage)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="osc", daemon=True)
        self._thread.start()
        self.every(0.2, self._report_problems)
        self.log.info("listening for OSC on udp://%s:%d", *self.server.server_address[:2])

    def _checked_faders(self, faders: dict) -> dict[str, dict]:
        checked = {}
        for address, mapping in faders.items():
            ok = (
                isinstance(address, str)
                and address.startswith("/")
                and isinstance(mapping, dict)
                and isinstance(mapping.get("param"), str)
                and isinstance(mapping.get("min", 0.0), _NUMBER)
                and isinstance(mapping.get("max", 1.0), _NUMBER)
            )
            if ok:
                checked[address] = mapping
            else:
                self.count_error(
                    "bad_fader", f"fader {address!r}: needs {{param: NAME, min: N, max: N}}, got {mapping!r}"
                )
        return checked

    # --- OSC handlers: on the server's threads --------------------------------------------------------------
    def _problem(self, kind: str, detail: str):
        self._problems.append((kind, detail))  # counted and logged on the node thread

    def _garbage(self, detail: str):
        self._problem("bad_datagram", detail)

    def _unknown(self, address, *args):
        self._problem("unknown_address", f"no handler for {address} {list(args)!r}")

    def _request(self, text: str):
        self.chat.publish(ChatMessage(source="osc", user="osc", display_name="OSC", text=text, timestamp=time.time()))

    def _target(self, address, *args):
        if not args or not all(isinstance(a, str) and a.strip() for a in args):
            return self._problem("bad_value", f"{address} wants one or more names, got {list(args)!r}")
        self._request(" + ".join(a.strip() for a in args))

    def _class(self, address, *args):
        if not args or not all(isinstance(a, int) and not isinstance(a, bool) and 0 <= a < 1000 for a in args):
            return self._problem("bad_value", f"{address} wants class ids 0-999, got {list(args)!r}")
        self._request(" + ".join(f"#{a}" for a in args))

    def _command(self, address, fixed, *args):
        self._request(fixed[0])

    def _hold(self, address, *args):
        if len(args) != 1 or not isinstance(args[0], _NUMBER) or isinstance(args[0], bool) or not args[0] >= 0:
            return self._problem("bad_value", f"{address} wants seconds >= 0, got {list(args)!r}")
        self._request(f"!hold {float(args[0])}")

    def _layout(self, address, *args):
        if len(args) != 1 or args[0] not in LAYOUTS[1:]:
            return self._problem("bad_value", f"{address} wants one of {', '.join(LAYOUTS[1:])}, got {list(args)!r}")
        self.param_set.publish(ParamSet(node=self.scheduler_node, name="layout", value=args[0]))

    def _param(self, address, *args):
        if len(args) != 2 or not isinstance(args[0], str) or not isinstance(args[1], _PARAM_VALUE):
            return self._problem("bad_value", f"{address} wants a name and a value, got {list(args)!r}")
        value = args[1]
        if isinstance(value, float) and value != value:
            return self._problem("bad_value", f"{address} {args[0]}: NaN")
        self.param_set.publish(ParamSet(node=self.param_node, name=args[0], value=value))

    def _fader(self, address, *args):
        mapping = self._faders[address]
        if len(args) != 1 or not isinstance(args[0], _NUMBER) or isinstance(args[0], bool):
            return self._problem("bad_value", f"{address} wants one number, got {list(args)!r}")
        if not 0.0 <= args[0] <= 1.0:
            return self._problem("out_of_range", f"{address} wants 0..1, got {args[0]}")
        low, high = float(mapping.get("min", 0.0)), float(mapping.get("max", 1.0))
        self.param_set.publish(
            ParamSet(
                node=str(mapping.get("node", self.param_node)),
                name=mapping["param"],
                value=low + float(args[0]) * (high - low),
            )
        )

    # --- node thread ----------------------------------------------------------------------------------------
    def _report_problems(self):
        while self._problems:
            kind, detail = self._problems.popleft()
            self.count_error(kind, detail)

    def teardown(self):
        self.server.shutdown()
        self.server.server_close()
