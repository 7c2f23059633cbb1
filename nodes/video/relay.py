"""A loopback relay that keeps an RTMP(S) URL's secrets off ffmpeg's command line (any local user can read that).

ffmpeg is given rtmp://127.0.0.1:PORT/... in which every secret is replaced by a random stand-in of the same
length. The relay connects to the real server (TLS for rtmps) and, in what ffmpeg sends, swaps the stand-ins back
for the secrets: RTMP's connect and publish commands carry the URL's parts as AMF strings, and equal lengths
leave every length field intact. A stand-in split by a chunk header (one byte of 0xC0-0xFF) is still found.
Only connections from this user's processes are accepted, so no other local user can publish through it.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import select
import socket
import ssl
import string
import sys
import threading
import urllib.parse

_ALPHABET = string.ascii_lowercase + string.digits
_HANDSHAKE = 1 + 1536 + 1536  # C0, C1, C2: random bytes, passed through untouched
_COMMANDS = 64 * 1024  # the commands come before the media: nothing to swap after this many bytes
_IDLE_S = 0.03  # a held-back tail that might start a stand-in is sent when ffmpeg pauses this long
_DEFAULT_PORTS = {"rtmp": 1935, "rtmps": 443}
_ESTABLISHED = "01"  # the state column of /proc/net/tcp


def _standin(secret: bytes) -> bytes:
    return "".join(secrets.choice(_ALPHABET) for _ in secret).encode()


class _Swapper:
    """Replaces stand-ins with their secrets in a byte stream that may split them anywhere."""

    def __init__(self, pairs: dict[bytes, bytes]):
        self.pairs = pairs
        self.pattern = re.compile(
            b"|".join(b"[\xc0-\xff]?".join(re.escape(bytes([c])) for c in standin) for standin in pairs)
        )
        self.hold = 2 * max(len(standin) for standin in pairs)
        self.pending = b""

    def _swap(self, match: re.Match) -> bytes:
        found = match.group(0)
        letters = bytes(c for c in found if c < 0xC0)
        secret = iter(self.pairs[letters])
        return bytes(c if c >= 0xC0 else next(secret) for c in found)

    def feed(self, data: bytes) -> bytes:
        """The bytes that can be sent now; a tail that could begin a stand-in waits for more."""
        text = self.pattern.sub(self._swap, self.pending + data)
        self.pending = text[-self.hold :]
        return text[: -self.hold]

    def flush(self) -> bytes:
        text, self.pending = self.pending, b""
        return text


def _peer_uid(peer: tuple[str, int]) -> int | None:
    """The uid owning a loopback TCP socket, from /proc/net/tcp (its local address is our peer's)."""
    address = f"{int.from_bytes(socket.inet_aton(peer[0]), sys.byteorder):08X}:{peer[1]:04X}"
    try:
        with open("/proc/net/tcp") as table:
            for line in table:
                fields = line.split()
                if len(fields) > 7 and fields[1] == address and fields[3] == _ESTABLISHED:
                    return int(fields[7])
    except OSError:
        pass
    return None


class SecretRelay:
    """Listens on 127.0.0.1; each connection is relayed to `url`'s server with the secrets swapped in."""

    def __init__(self, url: str, hidden: list[str], log: logging.Logger, timeout: float = 10.0):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS:
            raise ValueError("only rtmp:// and rtmps:// URLs can be relayed")
        self.scheme, self.host = parts.scheme, parts.hostname or ""
        self.port = parts.port or _DEFAULT_PORTS[parts.scheme]
        self.log, self.timeout = log, timeout
        tail = urllib.parse.urlunsplit(("", "", parts.path, parts.query, ""))
        for secret in hidden:
            if secret in self.host:
                raise ValueError("a secret may not be part of the server's host name")
        pairs = {}
        for secret in sorted({s for s in hidden if s in tail}, key=len, reverse=True):
            standin = _standin(secret.encode())
            pairs[standin] = secret.encode()
            tail = tail.replace(secret, standin.decode())
        self.pairs = pairs
        self._server = socket.create_server(("127.0.0.1", 0), backlog=4)
        self.local_url = f"rtmp://127.0.0.1:{self._server.getsockname()[1]}{tail}"
        app = tail.lstrip("/").split("/", 1)[0].split("?", 1)[0]
        # What the real server expects as tcUrl; the stand-in in it (if any) is swapped like the rest.
        self.tcurl = f"{self.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/{app}"
        self.connections = 0
        self.refused = 0
        self.problem = ""  # why the server could not be reached the last time ("" once it could)
        self._closed = threading.Event()
        threading.Thread(target=self._accept, name="rtmp-relay", daemon=True).start()

    def close(self):
        self._closed.set()
        self._server.close()

    def _accept(self):
        while not self._closed.is_set():
            try:
                client, peer = self._server.accept()
            except OSError:
                return
            if _peer_uid(peer) != os.getuid():
                self.refused += 1
                self.log.warning("relay: refused a connection from another user's process")
                client.close()
                continue
            self.connections += 1
            threading.Thread(target=self._relay, args=(client,), name="rtmp-relay-conn", daemon=True).start()

    def _connect(self) -> socket.socket:
        upstream = socket.create_connection((self.host, self.port), timeout=self.timeout)
        if self.scheme == "rtmps":
            upstream = ssl.create_default_context().wrap_socket(upstream, server_hostname=self.host)
        upstream.settimeout(None)
        return upstream

    def _relay(self, client: socket.socket):
        try:
            upstream = self._connect()
        except OSError as error:
            self.problem = str(error.strerror or error)
            self.log.warning("relay: cannot reach %s:%d: %s", self.host, self.port, self.problem)
            client.close()
            return
        self.problem = ""
        back = threading.Thread(target=self._copy, args=(upstream, client), name="rtmp-relay-back", daemon=True)
        back.start()
        self._forward(client, upstream)
        back.join()

    def _forward(self, client: socket.socket, upstream: socket.socket):
        swapper = _Swapper(self.pairs) if self.pairs else None
        seen = 0
        try:
            while True:
                if swapper and swapper.pending and not select.select([client], [], [], _IDLE_S)[0]:
                    upstream.sendall(swapper.flush())
                    continue
                data = client.recv(65536)
                if not data:
                    break
                handshake = max(0, min(len(data), _HANDSHAKE - seen))
                seen += len(data)
                out = data[:handshake]
                if swapper and len(data) > handshake:
                    out += swapper.feed(data[handshake:])
                    if seen > _HANDSHAKE + _COMMANDS:
                        out += swapper.flush()
                        swapper = None
                else:
                    out += data[handshake:]
                upstream.sendall(out)
            if swapper:
                upstream.sendall(swapper.flush())
        except OSError:
            pass
        finally:
            _shut(upstream)
            _shut(client)

    @staticmethod
    def _copy(source: socket.socket, sink: socket.socket):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            _shut(sink)
            _shut(source)


def _shut(sock: socket.socket):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
