"""Guards for a small HTTP server on the user's machine against hostile clients and hostile web pages.

`GuardedHTTPServer` bounds what clients can hold: a socket timeout, a cap on open connections (the one past it
gets 503), a larger listen backlog; a client that hangs up or times out is counted, never a traceback in the log.
`body_length` reads Content-Length strictly (no request smuggling through a body the server misreads).
`HostCheck` refuses state-changing requests whose Host is not the server's own name (DNS rebinding) or whose
Origin is another site (CSRF).
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
import urllib.parse
from http.server import ThreadingHTTPServer

# Exceptions that mean the client went away or stalled, not that the server has a bug.
CLIENT_GONE = (ConnectionError, TimeoutError, socket.timeout)
_BUSY = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 5\r\n\r\n"


class BadLength(ValueError):
    """A request whose body length cannot be trusted; `status` is the answer (400, 411 or 413)."""

    def __init__(self, status: int, text: str):
        super().__init__(text)
        self.status = status


def body_length(headers, limit: int) -> int:
    """The body's length from exactly one all-digit Content-Length of at most `limit`; chunked bodies refused."""
    if headers.get("Transfer-Encoding") is not None:
        raise BadLength(400, "Transfer-Encoding is not accepted; send Content-Length")
    values = headers.get_all("Content-Length") or []
    if not values:
        raise BadLength(411, "Content-Length required")
    if len(values) > 1 or not values[0].strip().isascii() or not values[0].strip().isdigit():
        raise BadLength(400, "bad Content-Length")
    length = int(values[0].strip())
    if length > limit:
        raise BadLength(413, f"at most {limit} bytes")
    return length


def _host_part(netloc: str) -> str:
    return (urllib.parse.urlsplit("//" + netloc).hostname or "").lower()


class HostCheck:
    """Which Host (and Origin) a state-changing request may carry.

    A DNS rebinding page reaches the server under the attacker's host name, so names must be known: the bound
    address, "localhost" when bound to loopback, and `names`. An IP literal cannot be rebound, so with a wildcard
    bind (0.0.0.0, ::) any IP literal is accepted. A browser sends Origin with cross-site POSTs: it must be the
    same host and port as Host.
    """

    def __init__(self, bound_host: str, names: list[str]):
        self.bound = bound_host.lower()
        self.names = {name.lower() for name in names}
        try:
            address = ipaddress.ip_address(self.bound)
        except ValueError:
            address = None
        self.wildcard = address is not None and address.is_unspecified
        if (address is not None and address.is_loopback) or self.bound == "localhost":
            self.names.add("localhost")

    def _host_allowed(self, host: str) -> bool:
        if host in self.names or host == self.bound:
            return True
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return self.wildcard

    def refusal(self, headers) -> str:
        """Why this request must be refused ("" if it may go on)."""
        host_header = (headers.get("Host") or "").strip().lower()
        if not host_header or not self._host_allowed(_host_part(host_header)):
            return "unknown Host: add the name to the preview's allowed_hosts"
        origin = headers.get("Origin")
        if origin is not None and urllib.parse.urlsplit(origin.strip().lower()).netloc != host_header:
            return "cross-site request refused"
        return ""


class GuardedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the listen backlog (socketserver's default is 5)

    def __init__(self, address, handler, max_connections: int = 100, timeout_s: float = 10.0):
        self.timeout_s = timeout_s
        self._slots = threading.BoundedSemaphore(max_connections)
        self.clients_gone = 0  # hung up mid-request or mid-stream, or stalled past the timeout
        self.turned_away = 0  # over the connection cap
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            self.turned_away += 1
            try:
                request.settimeout(1.0)
                request.sendall(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        request.settimeout(self.timeout_s)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], CLIENT_GONE):
            self.clients_gone += 1
            return
        super().handle_error(request, client_address)
