"""A browser preview over plain HTTP: a page, a live MJPEG stream, a status endpoint and a request box.

    server = PreviewServer("127.0.0.1", 0, token="", on_request=print, status=lambda: {...})
    server.start(); server.url        # http://127.0.0.1:PORT/
    server.offer(frame)               # from the frame producer; encodes at most max_fps, only while watched

Each frame is JPEG-encoded once and the same bytes go to every client. Routes: GET / (page), GET /stream.mjpg
(multipart/x-mixed-replace; boundary=frame), GET /status.json, POST /request (text/plain, a form field
`text`, or JSON {"text": ...}). With a token, every route wants it as ?token=, `Authorization: Bearer` or a
`token` cookie, and answers 401 without it. Each client address may post one request per request_interval
seconds; faster ones get 429 with Retry-After. A POST must name the server as its Host and come from its own page
(Origin), and its Content-Length must be exact (see http_guard).
"""

from __future__ import annotations

import hmac
import http.cookies
import ipaddress
import json
import math
import threading
import time
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from importlib import resources
from typing import Callable

import cv2
import numpy as np

from .http_guard import BadLength, GuardedHTTPServer, HostCheck, body_length

MAX_REQUEST_BYTES = 4096
MAX_TRACKED_CLIENTS = 4096


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class JpegHub:
    """The newest JPEG and a condition that wakes every client when a newer one exists."""

    def __init__(self, max_fps: float, quality: int, max_width: int):
        self.interval = 1.0 / max_fps
        self.params = [cv2.IMWRITE_JPEG_QUALITY, quality]
        self.max_width = max_width
        self.clients = 0
        self.closed = False
        self.jpeg = b""
        self.seq = 0
        self._due = 0.0
        self._bgr: np.ndarray | None = None
        self._scaled: np.ndarray | None = None
        self._changed = threading.Condition()

    def offer(self, frame: np.ndarray) -> bool:
        """Encode `frame` (RGB) if someone watches and the preview rate allows; True if it was encoded."""
        now = time.monotonic()
        if not self.clients or now < self._due:
            return False
        self._due = max(self._due + self.interval, now)
        h, w = frame.shape[:2]
        if w > self.max_width:
            size = (self.max_width, max(1, round(h * self.max_width / w)))
            if self._scaled is None or self._scaled.shape[1::-1] != size:
                self._scaled = np.empty((size[1], size[0], 3), np.uint8)
            frame = cv2.resize(frame, size, dst=self._scaled, interpolation=cv2.INTER_AREA)
        if self._bgr is None or self._bgr.shape != frame.shape:
            self._bgr = np.empty(frame.shape, np.uint8)
        cv2.cvtColor(frame, cv2.COLOR_RGB2BGR, dst=self._bgr)
        ok, encoded = cv2.imencode(".jpg", self._bgr, self.params)
        if ok:
            with self._changed:
                self.jpeg, self.seq = encoded.tobytes(), self.seq + 1
                self._changed.notify_all()
        return ok

    def newer(self, seq: int, timeout: float) -> tuple[bytes, int]:
        with self._changed:
            self._changed.wait_for(lambda: self.seq != seq or self.closed, timeout)
            return self.jpeg, self.seq

    def watch(self, delta: int):
        with self._changed:
            self.clients += delta

    def close(self):
        with self._changed:
            self.closed = True
            self._changed.notify_all()


class PreviewServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8080,
        token: str = "",
        on_request: Callable[[str], str] | None = None,
        status: Callable[[], dict] | None = None,
        max_fps: float = 10.0,
        quality: int = 80,
        max_width: int = 960,
        request_interval: float = 2.0,
        allowed_hosts: list[str] | tuple[str, ...] = (),
    ):
        if not token and not is_loopback(host):
            raise ValueError(
                f"binding the preview to {host} exposes it beyond this machine: set an access token "
                "(token_env or token_file)"
            )
        self.token = token
        self.on_request = on_request or (lambda text: "")
        self.status = status or (lambda: {})
        self.hub = JpegHub(max_fps, quality, max_width)
        self.request_interval = request_interval
        self._last_request: dict[str, float] = {}  # client address -> monotonic time of its last request
        self._request_lock = threading.Lock()
        self.page = resources.files(__package__).joinpath("preview.html").read_bytes()
        self.host_check = HostCheck(host, list(allowed_hosts))
        self.httpd = GuardedHTTPServer((host, port), _Handler)
        self.httpd.preview = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> "PreviewServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="preview-http", daemon=True)
        self._thread.start()
        return self

    def offer(self, frame: np.ndarray) -> bool:
        return self.hub.offer(frame)

    def stop(self):
        self.hub.close()
        self.httpd.shutdown()
        self.httpd.server_close()

    def request_wait(self, client: str) -> float:
        """0 and the request counts, or the seconds this client must wait: one request per request_interval."""
        now = time.monotonic()
        with self._request_lock:
            wait = self._last_request.get(client, -math.inf) + self.request_interval - now
            if wait > 0:
                return wait
            if len(self._last_request) >= MAX_TRACKED_CLIENTS:  # forget the clients that may post again anyway
                self._last_request = {c: t for c, t in self._last_request.items() if t > now - self.request_interval}
            self._last_request[client] = now
            return 0.0

    def authorized(self, handler: BaseHTTPRequestHandler, query: dict) -> bool:
        if not self.token:
            return True
        offered = query.get("token", [""])[0]
        header = handler.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            offered = offered or header[len("Bearer ") :].strip()
        cookie = http.cookies.SimpleCookie(handler.headers.get("Cookie", ""))
        if not offered and "token" in cookie:
            offered = cookie["token"].value
        return hmac.compare_digest(offered.encode(), self.token.encode())


class _Handler(BaseHTTPRequestHandler):
    server_version = "dreamgraph-preview"
    protocol_version = "HTTP/1.1"

    @property
    def preview(self) -> PreviewServer:
        return self.server.preview

    def log_message(self, *args):
        pass  # requests are not worth a log line each; the node logs what matters

    def _route(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if not self.preview.authorized(self, query):
            self._send(
                HTTPStatus.UNAUTHORIZED,
                b"access token required\n",
                "text/plain; charset=utf-8",
                {"WWW-Authenticate": 'Bearer realm="dreamgraph"'},
            )
            return None
        return url.path

    def do_GET(self):
        if self.headers.get("Content-Length") or self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # a body is never read, so it must not be taken for the next request
        path = self._route()
        if path is None:
            return
        if path in ("/", "/index.html"):
            self._send(HTTPStatus.OK, self.preview.page, "text/html; charset=utf-8")
        elif path == "/status.json":
            self._send(HTTPStatus.OK, json.dumps(self.preview.status()).encode(), "application/json")
        elif path == "/stream.mjpg":
            self._stream()
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

    def do_POST(self):
        self.close_connection = True  # nothing after a body is ever read as another request
        refusal = self.preview.host_check.refusal(self.headers)
        if refusal:
            self._send(HTTPStatus.FORBIDDEN, refusal.encode() + b"\n", "text/plain; charset=utf-8")
            return
        path = self._route()
        if path is None:
            return
        if path != "/request":
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")
            return
        try:
            length = body_length(self.headers, MAX_REQUEST_BYTES)
        except BadLength as err:
            self._send(HTTPStatus(err.status), str(err).encode() + b"\n", "text/plain; charset=utf-8")
            return
        if not length:
            self._send(HTTPStatus.BAD_REQUEST, b"send 1 to 4096 bytes of text\n", "text/plain; charset=utf-8")
            return
        text = _request_text(self.rfile.read(length), self.headers.get("Content-Type", ""))
        if not text:
            self._send(HTTPStatus.BAD_REQUEST, b"empty request\n", "text/plain; charset=utf-8")
            return
        wait = self.preview.request_wait(self.client_address[0])
        if wait > 0:
            self._send(
                HTTPStatus.TOO_MANY_REQUESTS,
                b"one request at a time: try again shortly\n",
                "text/plain; charset=utf-8",
                {"Retry-After": str(math.ceil(wait))},
            )
            return
        answer = self.preview.on_request(text)
        self._send(HTTPStatus.OK, json.dumps({"ok": True, "text": text, "answer": answer}).encode(), "application/json")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if self.close_connection:
            self.send_header("Connection", "close")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _stream(self):
        hub = self.preview.hub
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        hub.watch(+1)
        seq = -1
        try:
            while not hub.closed:
                jpeg, newest = hub.newer(seq, timeout=1.0)
                if newest == seq or not jpeg:
                    continue
                seq = newest
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg))
                self.wfile.write(jpeg)
                self.wfile.write(b"\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass  # the viewer went away
        finally:
            hub.watch(-1)


def _request_text(body: bytes, content_type: str) -> str:
    raw = body.decode("utf-8", "replace")
    if content_type.startswith("application/json"):
        try:
            value = json.loads(raw).get("text", "")
        except (ValueError, AttributeError):
            return ""
        raw = value if isinstance(value, str) else ""
    elif content_type.startswith("application/x-www-form-urlencoded"):
        # curl -d and urllib send bare text with this type too: no `text` field means the body is the text.
        raw = urllib.parse.parse_qs(raw).get("text", [raw])[0]
    # Chat text is one line of printable characters, like what a chat server would pass on.
    return " ".join("".join(c if c.isprintable() else " " for c in raw).split())[:500]
