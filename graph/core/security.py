"""CurveZMQ authentication and encryption for tcp:// sockets.

Only network endpoints use it. libzmq takes security options per bind/connect, so one socket serves CurveZMQ
on tcp and no mechanism on ipc: a graph's ipc sockets live in a folder only its own user can enter (0700), and
encrypting every local video frame would cost a core's worth of CPU for nothing.

A graph's key directory holds one server certificate that every legitimate participant presents
(``server.key_secret``) and the client certificates allowed to connect (``allowed/*.key``). Each machine gets
the directory; a peer whose client key is not allowed can neither subscribe nor deliver anything.
"""

from __future__ import annotations

import logging
import os
import pathlib
import socket
import threading
import time

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils.monitor import recv_monitor_message

log = logging.getLogger(__name__)

SERVER = "server"
CLIENT = "client"
KEYS_ENV = "DREAMGRAPH_KEYS"
LOCAL_TRANSPORTS = ("ipc://", "inproc://")
REFUSAL_LOG_WINDOW_S = 10.0  # a refused peer retries every 100 ms; log it once per window with a count

_WATCHED_EVENTS = (
    zmq.EVENT_ACCEPTED
    | zmq.EVENT_DISCONNECTED
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_MONITOR_STOPPED
)
_FAILURES = {zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.EVENT_HANDSHAKE_FAILED_AUTH}


def generate_keys(directory: str | os.PathLike) -> pathlib.Path:
    """Create a graph's certificates: the server pair and one allowed client pair."""
    root = pathlib.Path(directory)
    allowed = root / "allowed"
    allowed.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    zmq.auth.create_certificates(root, SERVER)
    _, client_secret = zmq.auth.create_certificates(root, CLIENT)
    (allowed / f"{CLIENT}.key").write_bytes((root / f"{CLIENT}.key").read_bytes())
    for secret in root.glob("*.key_secret"):
        os.chmod(secret, 0o600)
    return root


def refusal_reason(event: int, value: int) -> str:
    if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
        return "its client key is not among the allowed keys"
    if event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
        if value == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
            return "it does not use CurveZMQ encryption"
        if value == zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
            return "it does not hold this graph's keys"
        return f"protocol error {value:#x} during the handshake"
    return "it left during the handshake (it lacks this graph's keys or does not use CurveZMQ)"


def _peer_of(fd: int) -> str:
    """The remote address of a socket libzmq just accepted (it may already be closed: then '')."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return ""
    try:
        peer = sock.getpeername()
        return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "a local process"
    except OSError:
        return ""
    finally:
        sock.detach()


class RefusalLogger(threading.Thread):
    """Reads a server socket's monitor and logs every refused peer by address, once per window per address.

    libzmq reports a failed handshake and then, in the same I/O thread, the disconnect of that connection's file
    descriptor; the descriptor's peer address was taken when the connection was accepted.
    """

    def __init__(self, sock: zmq.Socket):
        super().__init__(name="refusal-logger", daemon=True)
        self.monitor = sock.get_monitor_socket(_WATCHED_EVENTS)
        self.refused = 0
        self._peers: dict[int, str] = {}
        self._last_logged: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def run(self):
        failure = None
        try:
            while True:
                event = recv_monitor_message(self.monitor)
                kind, value = event["event"], event["value"]
                if kind == zmq.EVENT_MONITOR_STOPPED:
                    return
                if kind == zmq.EVENT_ACCEPTED:
                    self._peers[value] = _peer_of(value)
                elif kind in _FAILURES:
                    failure = (kind, value, event["endpoint"].decode("utf-8", "replace"))
                    continue
                elif kind == zmq.EVENT_DISCONNECTED:
                    peer = self._peers.pop(value, "")
                    if failure:
                        self._report(peer or "an unknown address", *failure)
                failure = None
        except zmq.ZMQError:
            return  # the context is being terminated
        finally:
            self.monitor.close(0)

    def _report(self, peer: str, kind: int, value: int, endpoint: str):
        self.refused += 1
        host = peer.rsplit(":", 1)[0]
        now = time.monotonic()
        if now - self._last_logged.get(host, -1e9) < REFUSAL_LOG_WINDOW_S:
            self._suppressed[host] = self._suppressed.get(host, 0) + 1
            return
        more = self._suppressed.pop(host, 0)
        self._last_logged[host] = now
        log.warning(
            "refused connection from %s on %s: %s%s",
            peer,
            endpoint,
            refusal_reason(kind, value),
            f" ({more} more refusals from {host} since the last report)" if more else "",
        )


class Security:
    """Applies the graph's CurveZMQ keys to sockets. One authenticator per ZeroMQ context."""

    _authenticators: dict[int, ThreadAuthenticator] = {}
    _lock = threading.Lock()

    def __init__(self, keys_dir: str | os.PathLike):
        root = pathlib.Path(keys_dir)
        try:
            self.server_public, self.server_secret = zmq.auth.load_certificate(root / f"{SERVER}.key_secret")
            self.client_public, self.client_secret = zmq.auth.load_certificate(root / f"{CLIENT}.key_secret")
        except (OSError, ValueError) as err:
            raise ValueError(
                f"cannot read the graph keys in {root} ({err.__class__.__name__}); "
                f"create them with `dreamgraph keys generate {root}`"
            ) from None
        self.allowed_dir = root / "allowed"
        if not self.allowed_dir.is_dir():
            raise ValueError(f"{self.allowed_dir} is missing: it must hold the allowed client keys")

    def _authenticator(self, ctx: zmq.Context):
        with self._lock:
            auth = self._authenticators.get(id(ctx))
            if auth is None:
                auth = ThreadAuthenticator(ctx, log=logging.getLogger(f"{__name__}.auth"))
                auth.start()
                auth.configure_curve(domain="*", location=str(self.allowed_dir))
                self._authenticators[id(ctx)] = auth
        return auth

    def __repr__(self):
        return f"Security(allowed_dir={str(self.allowed_dir)!r})"  # never the keys

    def serve(self, sock: zmq.Socket):
        """Once per server socket: authenticate its network peers and log the refused ones."""
        self._authenticator(sock.context)
        RefusalLogger(sock).start()

    def use_for(self, sock: zmq.Socket, endpoint: str, server: bool):
        """Set the mechanism for the socket's next bind/connect: CurveZMQ for a network endpoint, none for ipc."""
        if endpoint.startswith(LOCAL_TRANSPORTS):
            sock.curve_server = False  # the NULL mechanism
        elif server:
            sock.curve_secretkey = self.server_secret
            sock.curve_publickey = self.server_public
            sock.curve_server = True
        else:
            sock.curve_secretkey = self.client_secret
            sock.curve_publickey = self.client_public
            sock.curve_serverkey = self.server_public

    @classmethod
    def stop_all(cls):
        with cls._lock:
            for auth in cls._authenticators.values():
                auth.stop()
            cls._authenticators.clear()


def bind_endpoint(sock: zmq.Socket, endpoint: str, security: Security | None):
    """Bind, with the graph's keys on a network endpoint when the graph has keys."""
    if security:
        security.use_for(sock, endpoint, server=True)
    sock.bind(endpoint)


def connect_endpoint(sock: zmq.Socket, endpoint: str, security: Security | None):
    """Connect, with the graph's keys to a network endpoint when the graph has keys."""
    if security:
        security.use_for(sock, endpoint, server=False)
    sock.connect(endpoint)
