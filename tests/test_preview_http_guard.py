"""The preview's HTTP server against hostile clients, with raw sockets and http.client on real processes."""

import http.client
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest
from servers.rtmp import free_port
from test_preview_node import wait_http

from dreamgraph.graph.testing.harness import GraphHarness
from dreamgraph.nodes.video.http_guard import GuardedHTTPServer


def exchange(port: int, raw: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def post(port: int, body: bytes, *headers: str, host: str | None = None) -> bytes:
    lines = ["POST /request HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}", *headers]
    return exchange(port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)


@pytest.fixture(scope="module")
def preview():
    port = free_port()
    params = {"port": port, "answer_wait_s": 0, "request_interval_s": 0, "allowed_hosts": ["dream.local"]}
    with GraphHarness({"nodes": [{"name": "preview", "node": "preview", "params": params}]}) as harness:
        wait_http(f"http://127.0.0.1:{port}/status.json")
        yield harness, port


def test_content_length_is_strict(preview):
    _, port = preview
    assert post(port, b"bee", "Content-Length: abc").startswith(b"HTTP/1.1 400")
    assert post(port, b"bee", "Content-Length: 3", "Content-Length: 3").startswith(b"HTTP/1.1 400")
    assert post(port, b"3\r\nbee\r\n0\r\n\r\n", "Transfer-Encoding: chunked").startswith(b"HTTP/1.1 400")
    assert post(port, b"", "Content-Length: 99999").startswith(b"HTTP/1.1 413")
    assert post(port, b"bee").startswith(b"HTTP/1.1 411")
    assert post(port, b"bee", "Content-Length: 3").startswith(b"HTTP/1.1 200")


def test_a_body_cannot_smuggle_a_second_request(preview):
    _, port = preview
    hidden = f"GET /status.json HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
    answer = post(port, b"bee" + hidden, "Content-Length: 3")
    assert answer.startswith(b"HTTP/1.1 200") and answer.count(b"HTTP/1.1 ") == 1, answer
    get_with_body = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(hidden)}\r\n\r\n"
    answer = exchange(port, get_with_body.encode() + hidden)
    assert answer.count(b"HTTP/1.1 ") == 1, "the GET's body was not read as another request"


def test_posts_need_a_known_host_and_their_own_origin(preview):
    _, port = preview
    body, length = b"bee", "Content-Length: 3"
    assert post(port, body, length, host=f"evil.example:{port}").startswith(b"HTTP/1.1 403"), "DNS rebinding"
    assert post(port, body, length, "Origin: http://evil.example").startswith(b"HTTP/1.1 403"), "CSRF"
    assert post(port, body, length, "Origin: null").startswith(b"HTTP/1.1 403")
    assert post(port, body, length, f"Origin: http://127.0.0.1:{port}").startswith(b"HTTP/1.1 200")
    assert post(port, body, length, host=f"localhost:{port}").startswith(b"HTTP/1.1 200")
    assert post(port, body, length, host=f"dream.local:{port}").startswith(b"HTTP/1.1 200"), "allowed_hosts"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("POST", "/request", body=b"volcano", headers={"Content-Type": "text/plain"})
    assert connection.getresponse().status == 200, "an ordinary client is served"


def test_clients_that_hang_up_cost_no_traceback_and_are_counted(preview):
    harness, port = preview
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(f"POST /request HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 3\r\n\r\nbee".encode())
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not a goodbye
        sock.close()
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET /status.json HTTP/1.1\r\nHo")  # hangs up mid-request
    time.sleep(2.5)
    wait_http(f"http://127.0.0.1:{port}/status.json")
    assert "Traceback" not in harness.text()
    status = harness.wait_for("_status", lambda s: s.node == "preview").msg
    assert status.errors.get("http_client_gone", 0) >= 20, status.errors


class Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"hi")

    def log_message(self, *args):
        pass


def test_idle_connections_time_out_and_past_the_cap_clients_get_503():
    server = GuardedHTTPServer(("127.0.0.1", 0), Hello, max_connections=3, timeout_s=1.0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        time.sleep(0.3)
        assert exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").startswith(b"HTTP/1.1 503")
        assert server.turned_away == 1
        for sock in idle:
            sock.settimeout(5)
            assert sock.recv(1) == b"", "the server dropped the idle connection after its timeout"
            sock.close()
        time.sleep(0.2)
        assert b"hi" in exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert server.request_queue_size >= 128
    finally:
        server.shutdown()
        server.server_close()
