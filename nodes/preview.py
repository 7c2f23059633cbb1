"""The preview node: watch the stream, see every node's health and send requests from a browser."""

from __future__ import annotations

import threading
import time
import uuid

from ..graph.core.message import Image, Status
from ..graph.core.node import Input, Node, Output, Param
from ..graph.core.preflight import Check, port_check
from ..graph.core.secrets import read_secret
from ..graph.core.topics import STATUS_TOPIC
from .common.messages import ChatMessage, ChatReply, Overlay, Target
from .video.http_guard import HostCheck
from .video.mjpeg import PreviewServer

# A node that has not reported for this long is shown as stale (they report once a second).
_STALE_S = 3.0
FPS_EVERY_S = 0.5  # how often the video rate shown on the page is measured
NO_ANSWER = "Sent; no answer from the scheduler."
# The server is built with these: a live change could not apply, so it is refused rather than shown as set.
_READ_AT_START = ("host", "port", "token_env", "token_file", "max_fps", "quality", "max_width")


class PendingAnswers:
    """Requests waiting for their answer, by message id: the node thread delivers, HTTP threads wait."""

    def __init__(self):
        self._answers: dict[str, str | None] = {}
        self._arrived = threading.Condition()

    def expect(self, message_id: str):
        with self._arrived:
            self._answers[message_id] = None

    def deliver(self, message_id: str, text: str):
        with self._arrived:
            if message_id in self._answers:  # answers to other sources' requests are not ours to keep
                self._answers[message_id] = text
                self._arrived.notify_all()

    def wait(self, message_id: str, timeout: float) -> str | None:
        with self._arrived:
            self._arrived.wait_for(lambda: self._answers[message_id] is not None, timeout)
            return self._answers.pop(message_id)


class Preview(Node):
    """A web page with the live video (MJPEG), the current subject, every node's health and a request box.

    Open the logged URL in a browser. Text sent from the box becomes a chat message from source "web", handled
    like a viewer's request; the box shows the scheduler's answer to it (on screen now, queued, refused, did you
    mean...). The video rate shown is what the video topic carries, measured like `dreamgraph topic hz`. Frames
    are JPEG-encoded once each, at most `max_fps`, and only while someone watches. Bound to 127.0.0.1 by default;
    binding elsewhere requires an access token (token_env or token_file), which then guards the page, the stream
    and the box (?token=..., a Bearer header or a cookie).
    """

    video = Input(Image, "video", delivery="latest", doc="frames to show")
    overlay = Input(Overlay, "overlay", delivery="latest", doc="the caption currently on the video", optional=True)
    target = Input(Target, "target", delivery="latest", doc="what is being dreamed of", optional=True)
    status = Input(Status, STATUS_TOPIC, delivery="queue:64", doc="heartbeats of every node")
    answer = Input(
        ChatReply,
        "request_answer",
        delivery="queue:256",
        doc="the scheduler's answers; those to the box's requests are shown on the page",
        optional=True,
    )
    chat = Output(ChatMessage, "chat", doc="requests typed into the page (source 'web')")

    host = Param(str, "127.0.0.1", doc="address to listen on; non-loopback needs a token")
    port = Param(int, 8080, min=0, max=65535, doc="TCP port (0: any free port; the URL is logged)")
    token_env = Param(str, "", doc="environment variable holding the access token")
    token_file = Param(str, "", doc="file holding the access token")
    max_fps = Param(float, 10.0, unit="Hz", min=0.5, max=60, doc="highest preview frame rate")
    quality = Param(int, 75, min=10, max=100, doc="JPEG quality")
    max_width = Param(int, 960, unit="px", min=64, max=7680, doc="frames wider than this are scaled down")
    request_interval_s = Param(
        float,
        2.0,
        unit="s",
        min=0.0,
        max=3600.0,
        doc="each browser (address) may send one request this often; faster ones get 429",
    )
    allowed_hosts = Param(
        list,
        [],
        doc="host names the page is reached by besides its address (and localhost): requests from the page "
        "under any other name are refused (DNS rebinding)",
    )
    answer_wait_s = Param(
        float,
        3.0,
        unit="s",
        min=0.0,
        max=30.0,
        doc="how long a request waits for the scheduler's answer before the page says it got none",
    )

    @classmethod
    def preflight(cls, params: dict) -> list[Check]:
        return [port_check("port", params["host"], params["port"])] if params["port"] else []

    def setup(self):
        self._subject = ""
        self._caption = ""
        self._nodes: dict[str, dict] = {}
        self._fps = 0.0
        self._pending = PendingAnswers()
        self.every(FPS_EVERY_S, self._measure_fps)
        token = read_secret(self.token_env, self.token_file, what="preview access token")
        self._server = PreviewServer(
            self.host,
            self.port,
            token,
            self._request,
            self._snapshot,
            self.max_fps,
            self.quality,
            self.max_width,
            self.request_interval_s,
            self.allowed_hosts,
        ).start()
        self.every(1.0, self._report_http)
        self.log.info("preview at %s%s", self._server.url, " (token required)" if token else "")

    def teardown(self):
        self._server.stop()

    def on_param(self, name, value):
        if name in _READ_AT_START:
            raise ValueError(f"{name} is read at start only: restart the preview node to change it")
        self._server.request_interval = self.request_interval_s
        self._server.host_check = HostCheck(self.host, self.allowed_hosts)

    def on_video(self, msg: Image):
        self._server.offer(msg.image)

    def _report_http(self):
        """Clients that hung up or were turned away are counted, not logged one by one."""
        httpd = self._server.httpd
        for kind, count in (("http_client_gone", httpd.clients_gone), ("http_turned_away", httpd.turned_away)):
            if count:
                self.errors[kind] = count

    def _measure_fps(self):
        self._fps = self.input_rate("video")

    def on_answer(self, msg: ChatReply):
        self._pending.deliver(msg.reply_to, msg.text)

    def on_overlay(self, msg: Overlay):
        self._caption = msg.text

    def on_target(self, msg: Target):
        self._subject = " + ".join(msg.labels) or ", ".join(map(str, msg.class_ids))

    def on_status(self, msg: Status):
        self._nodes[msg.node] = {
            "seen": time.monotonic(),
            "state": msg.state,
            "uptime": msg.uptime,
            "errors": sum(msg.errors.values()),
            "problem": msg.problem,
            "pid": msg.pid,
            "host": msg.host,
            "inputs": {t: i.get("rate", 0) for t, i in msg.inputs.items()},
            "outputs": {t: o.get("rate", 0) for t, o in msg.outputs.items()},
        }

    def _snapshot(self) -> dict:
        """Called from HTTP threads: reads only values the node thread replaces whole."""
        now = time.monotonic()
        nodes = {}
        for name, info in list(self._nodes.items()):
            age = now - info["seen"]
            health = "stale" if age > _STALE_S else ("errors" if info["errors"] or info["problem"] else "ok")
            nodes[name] = {**{k: v for k, v in info.items() if k != "seen"}, "age": round(age, 1), "health": health}
        return {
            "subject": self._subject,
            "caption": self._caption,
            "fps": round(self._fps, 2),
            "nodes": nodes,
            "viewers": self._server.hub.clients,
        }

    def _request(self, text: str) -> str:
        """Called from an HTTP thread: publish the request (handed to the node thread) and wait for its answer."""
        message_id = str(uuid.uuid4())
        self._pending.expect(message_id)
        self.chat.publish(
            ChatMessage(
                source="web", user="web", display_name="web", text=text, message_id=message_id, timestamp=time.time()
            )
        )
        answer = self._pending.wait(message_id, self.answer_wait_s)
        self.log.info("web request: %s -> %s", text, answer or "no answer")
        return answer or NO_ANSWER
