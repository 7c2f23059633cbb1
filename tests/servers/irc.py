"""A real IRC server for tests: Debian's ngircd in the foreground on a free 127.0.0.1 port.

    with IrcServer(tmp_path, password="oauth:secret") as server:
        IrcClient(IrcSettings(channel="test", host="127.0.0.1", port=server.port, tls=False), ...)

ngircd NAKs Twitch's CAPs, rejects tagged client lines, cuts lines over 512 bytes and throttles clients to a few
commands at a time; it never sends tags or RECONNECT. `RawIrcClient` is a second, plain socket client for
checking what arrives in the channel and for sending messages into it. `TwitchLikeServer` is a small scripted
server for what ngircd cannot do (ACKed tags, tagged lines, PING on demand, RECONNECT).
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

NGIRCD = shutil.which("ngircd") or "/usr/sbin/ngircd"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class IrcServer:
    def __init__(self, folder: Path, password: str | None = None, port: int | None = None, tls: bool = False):
        if not Path(NGIRCD).exists():
            pytest.skip("ngircd is not installed")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.password = password
        self.tls = tls
        self.cert_file = self.folder / "ngircd-cert.pem"
        self.process: subprocess.Popen | None = None
        self.config = self.folder / "ngircd.conf"
        self.config.write_text(self._config_text())

    def _config_text(self) -> str:
        plain_port = free_port() if self.tls else self.port  # ngircd wants a plain port even when testing TLS
        lines = [
            "[Global]",
            "\tName = irc.test.local",
            "\tInfo = dreamgraph test server",
            "\tAdminInfo1 = tests",
            "\tAdminInfo2 = here",
            "\tAdminEMail = root@localhost",
            f"\tPorts = {plain_port}",
            f"\tListen = {self.host}",
            "\tMotdPhrase = welcome",
            f"\tPidFile = {self.folder / 'ngircd.pid'}",
        ]
        if self.password:
            lines.append(f"\tPassword = {self.password}")
        lines += [
            "[Limits]",
            "\tMaxNickLength = 31",
            "\tPingTimeout = 120",
            "\tPongTimeout = 20",
            "[Options]",
            "\tPAM = no",
            "\tIdent = no",
            "\tDNS = no",
        ]
        if self.tls:
            key_file = self.folder / "ngircd-key.pem"
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=localhost",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout",
                    str(key_file),
                    "-out",
                    str(self.cert_file),
                ],
                check=True,
                capture_output=True,
            )
            lines += ["[SSL]", f"\tPorts = {self.port}", f"\tCertFile = {self.cert_file}", f"\tKeyFile = {key_file}"]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 10.0) -> "IrcServer":
        self.process = subprocess.Popen(
            [NGIRCD, "-n", "-f", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ngircd exited with {self.process.returncode}; config {self.config}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise TimeoutError(f"ngircd did not listen on port {self.port}")

    def stop(self) -> None:
        """Kill the server at once (every client sees its connection drop)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def __enter__(self) -> "IrcServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class RawIrcClient:
    """A plain socket IRC user: registers, joins a channel, sends and collects lines."""

    def __init__(self, server: IrcServer, nick: str, channel: str, password: str | None = None, timeout: float = 10.0):
        self.sock = socket.create_connection((server.host, server.port), timeout=timeout)
        if server.tls:
            context = ssl.create_default_context(cafile=str(server.cert_file))
            self.sock = context.wrap_socket(self.sock, server_hostname=server.host)
        self.nick = nick
        self.channel = channel
        self.lines: list[str] = []
        self._buffer = b""
        if password:
            self.send(f"PASS {password}")
        self.send(f"NICK {nick}")
        self.send(f"USER {nick} 0 * :{nick}")
        self.wait_for(lambda line: " 001 " in line, timeout)
        self.send(f"JOIN {channel}")
        self.wait_for(lambda line: f"JOIN {channel}" in line or f"JOIN :{channel}" in line, timeout)

    def send(self, line: str) -> None:
        self.sock.sendall(line.encode("utf-8") + b"\r\n")

    def say(self, text: str) -> None:
        self.send(f"PRIVMSG {self.channel} :{text}")

    def wait_for(self, predicate, timeout: float = 10.0) -> str:
        """The first collected line that satisfies predicate, reading more as needed (answers PING)."""
        deadline = time.monotonic() + timeout
        checked = 0
        while True:
            for line in self.lines[checked:]:
                checked += 1
                if predicate(line):
                    return line
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.nick}: no matching line; got {self.lines[-10:]}")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise ConnectionError(f"{self.nick}: server closed the connection")
            self._buffer += data
            *complete, self._buffer = self._buffer.split(b"\r\n")
            for raw in complete:
                line = raw.decode("utf-8", errors="replace")
                if line.startswith("PING"):
                    self.send("PONG" + line[4:])
                self.lines.append(line)

    def close(self) -> None:
        try:
            self.send("QUIT :bye")
        except OSError:
            pass
        self.sock.close()


class TwitchLikeServer:
    """A scripted server speaking like Twitch where ngircd cannot: it ACKs the tags CAP, accepts tagged client
    lines, and lets a test push raw lines (tagged PRIVMSG, PING, RECONNECT) to whoever is connected.
    Everything a client sends is recorded in `received` (one list per connection)."""

    def __init__(self, channel: str = "#dreamchannel"):
        self.channel = channel
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self.listener.getsockname()
        self.received: list[list[str]] = []
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            lines: list[str] = []
            with self._lock:
                self._connections.append(conn)
                self.received.append(lines)
            threading.Thread(target=self._serve, args=(conn, lines), daemon=True).start()

    def _serve(self, conn: socket.socket, lines: list[str]) -> None:
        buffer = b""
        nick = "unknown"
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            buffer += data
            *complete, buffer = buffer.split(b"\r\n")
            for raw in complete:
                line = raw.decode("utf-8", errors="replace")
                with self._lock:
                    lines.append(line)
                if line.startswith("CAP REQ"):
                    self._send(conn, f":tmi.twitch.tv CAP * ACK :{line.split(':', 1)[1]}")
                elif line.startswith("NICK "):
                    nick = line[5:]
                    self._send(conn, f":tmi.twitch.tv 001 {nick} :Welcome, GLHF!")
                elif line.startswith("JOIN "):
                    self._send(conn, f":{nick}!{nick}@{nick}.tmi.twitch.tv JOIN {line[5:]}")

    @staticmethod
    def _send(conn: socket.socket, line: str | bytes) -> None:
        try:
            conn.sendall((line if isinstance(line, bytes) else line.encode("utf-8")) + b"\r\n")
        except OSError:
            pass

    def push(self, line: str | bytes) -> None:
        """Send a raw line to the newest connection (bytes as they are: invalid UTF-8 too)."""
        with self._lock:
            conn = self._connections[-1]
        self._send(conn, line)

    def lines(self, connection: int = -1) -> list[str]:
        with self._lock:
            return list(self.received[connection]) if -len(self.received) <= connection < len(self.received) else []

    def wait_for(self, predicate, timeout: float = 10.0, connection: int = -1) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines(connection):
                if predicate(line):
                    return line
            time.sleep(0.02)
        raise TimeoutError(f"no matching line from the client; got {self.lines(connection)[-10:]}")

    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    def close(self) -> None:
        self.listener.close()
        with self._lock:
            for conn in self._connections:
                conn.close()
