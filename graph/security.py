"""CurveZMQ authentication and encryption for tcp:// sockets.

A graph's key directory holds one server certificate that every legitimate participant presents
(``server.key_secret``) and the client certificates allowed to connect (``allowed/*.key``). Each machine gets
the directory; a peer whose client key is not allowed can neither subscribe nor deliver anything.
"""

from __future__ import annotations

import logging
import os
import pathlib
import threading

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

log = logging.getLogger(__name__)

SERVER = "server"
CLIENT = "client"


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


class _LoggingAuthenticator(ThreadAuthenticator):
    """Logs refused peers by address (never their keys)."""

    def __init__(self, ctx):
        super().__init__(ctx, log=logging.getLogger("graph.security.auth"))


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
                f"create them with `dreamgraph keys generate {root}`") from None
        self.allowed_dir = root / "allowed"
        if not self.allowed_dir.is_dir():
            raise ValueError(f"{self.allowed_dir} is missing: it must hold the allowed client keys")

    def _authenticator(self, ctx: zmq.Context):
        with self._lock:
            auth = self._authenticators.get(id(ctx))
            if auth is None:
                auth = _LoggingAuthenticator(ctx)
                auth.start()
                auth.configure_curve(domain="*", location=str(self.allowed_dir))
                self._authenticators[id(ctx)] = auth
        return auth

    def make_server(self, sock: zmq.Socket):
        self._authenticator(sock.context)
        sock.curve_secretkey = self.server_secret
        sock.curve_publickey = self.server_public
        sock.curve_server = True

    def make_client(self, sock: zmq.Socket):
        sock.curve_secretkey = self.client_secret
        sock.curve_publickey = self.client_public
        sock.curve_serverkey = self.server_public

    @classmethod
    def stop_all(cls):
        with cls._lock:
            for auth in cls._authenticators.values():
                auth.stop()
            cls._authenticators.clear()
