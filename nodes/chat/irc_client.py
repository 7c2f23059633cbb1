"""A small IRC client for Twitch chat: asyncio on a background thread, reconnecting forever.

    client = IrcClient(IrcSettings(channel="somechannel"), on_chat=print)   # anonymous, read-only
    client.start(); client.wait_joined(10); client.send("hi", reply_to=msg_id); client.stop()

It logs in (OAuth or anonymous `justinfan<digits>`), asks for Twitch's tags, joins one channel, answers PING,
follows RECONNECT, and reconnects with exponential backoff after any disconnect. Replies go through a sliding-
window limiter and a small queue (oldest dropped when full, stale ones dropped). A rejected login stops the client
with an `AuthenticationError` carrying the server's text; the token never appears in logs or errors.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from ...graph.core.secrets import MASK, SecretMasker
from .irc import TWITCH_CAPS, ChatLine, IrcLine, channel_name, chat_line, parse_line, privmsg
from .ratelimit import SlidingWindow

MAX_LINE_BYTES = 16384  # Twitch lines with tags exceed IRC's 512 bytes; anything longer is dropped whole
_AUTH_FAILURES = (
    "login authentication failed",
    "improperly formatted auth",
    "login unsuccessful",
    "bad password",
    "access denied",
    "password incorrect",
    "invalid password",
)


class IrcError(Exception):
    pass


class AuthenticationError(IrcError):
    """The server refused the login; retrying with the same credentials would not help."""


class _Reconnect(Exception):
    """The server asked us to reconnect (Twitch RECONNECT)."""


class Secret:
    """A token that never shows itself in a repr, a log line or a traceback."""

    def __init__(self, value: str):
        self.value = value
        self.mask = SecretMasker(value, value.removeprefix("oauth:"))

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    __str__ = __repr__


@dataclass
class IrcSettings:
    channel: str
    host: str = "irc.chat.twitch.tv"
    port: int = 6697
    tls: bool = True
    tls_ca_file: str = ""  # trust this CA/certificate instead of the system's (a private server)
    nick: str = ""  # empty: anonymous read-only login
    token: Secret | None = None  # "oauth:..." (the prefix is added when missing)
    reply_limit: int = 20  # replies per reply_window seconds
    reply_window: float = 30.0
    max_reply_chars: int = 500
    reply_queue: int = 10  # replies waiting for the limiter; the oldest is dropped beyond this
    reply_max_age: float = 60.0  # a reply still queued after this long is stale and dropped
    subscription_messages: bool = False  # pass on the message a viewer adds to a (re)subscription as chat
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    idle_timeout: float = 360.0  # silence before we PING; twice this and the connection is dead
    connect_timeout: float = 15.0

    @property
    def anonymous(self) -> bool:
        return not self.nick or self.token is None


@dataclass
class _Reply:
    text: str
    reply_to: str
    queued_at: float


@dataclass
class IrcStats:
    received: int = 0
    replies_sent: int = 0
    replies_dropped: collections.Counter = field(default_factory=collections.Counter)  # reason -> count
    connects: int = 0
    connect_failures: int = 0  # sessions that ended before joining: refused, unreachable, TLS, no welcome
    unparsed_lines: int = 0


class IrcClient:
    def __init__(self, settings: IrcSettings, on_chat: Callable[[ChatLine], None], log: logging.Logger | None = None):
        self.settings = settings
        self.channel = channel_name(settings.channel)
        self.on_chat = on_chat
        self.log = log or logging.getLogger(__name__)
        self.stats = IrcStats()
        self.error: Exception | None = None  # the AuthenticationError that stopped the client, if any
        self.last_failure = ""  # why the last session ended with an error (secrets masked)
        self.tags_enabled = False  # the server acknowledged twitch.tv/tags
        self.nick = ""
        self._limiter = SlidingWindow(settings.reply_limit, settings.reply_window)
        self._replies: collections.deque[_Reply] = collections.deque()
        self._joined = threading.Event()
        self._stopped = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._writer: asyncio.StreamWriter | None = None

    # --- public, any thread -------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._thread_main, name=f"irc {self.channel}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:  # the loop finished between the check and the call
                pass
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_joined(self, timeout: float) -> bool:
        return self._joined.wait(timeout)

    @property
    def joined(self) -> bool:
        return self._joined.is_set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def send(self, text: str, reply_to: str = "") -> bool:
        """Queue a chat message; False when it is dropped at once (anonymous login, client stopped)."""
        if self.settings.anonymous:
            self.stats.replies_dropped["anonymous"] += 1
            return False
        loop = self._loop
        if loop is None or loop.is_closed() or self._stopped.is_set():
            self.stats.replies_dropped["stopped"] += 1
            return False
        try:
            loop.call_soon_threadsafe(self._enqueue, _Reply(text, reply_to, time.monotonic()))
        except RuntimeError:
            self.stats.replies_dropped["stopped"] += 1
            return False
        return True

    # --- the client thread --------------------------------------------------------------------------------
    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._run())
        finally:
            self._joined.clear()
            self._stopped.set()
            loop.close()

    def _enqueue(self, reply: _Reply) -> None:
        if len(self._replies) >= self.settings.reply_queue:
            self._replies.popleft()
            self.stats.replies_dropped["queue_full"] += 1
        self._replies.append(reply)
        assert self._wakeup is not None
        self._wakeup.set()

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        self._wakeup = asyncio.Event()
        backoff = self.settings.backoff_initial
        while not self._stop.is_set():
            try:
                await self._session()
                reason, delay = "stopping", 0.0
            except _Reconnect:
                reason, delay = "the server asked us to reconnect", 0.0
            except AuthenticationError as error:
                self.error = error
                self.log.error("%s", error)
                return
            except (OSError, EOFError, ConnectionError, asyncio.TimeoutError, IrcError) as error:
                if self._joined.is_set():
                    backoff = self.settings.backoff_initial  # the connection worked: start over from short waits
                else:
                    self.stats.connect_failures += 1
                reason = self.last_failure = self._mask(f"{type(error).__name__}: {error}")
                delay = backoff * random.uniform(0.5, 1.0)
                backoff = min(backoff * 2, self.settings.backoff_max)
            self._joined.clear()
            if self._stop.is_set():
                return
            self.log.warning(
                "chat connection to %s:%d ended (%s); reconnecting in %.1f s",
                self.settings.host,
                self.settings.port,
                reason,
                delay,
            )
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass

    async def _session(self) -> None:
        settings = self.settings
        context = ssl.create_default_context(cafile=settings.tls_ca_file or None) if settings.tls else None
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(settings.host, settings.port, ssl=context), settings.connect_timeout
        )
        self._writer = writer
        self.stats.connects += 1
        self.tags_enabled = False
        self.nick = settings.nick.lower() if not settings.anonymous else f"justinfan{random.randint(10000, 99999)}"
        tasks = [asyncio.ensure_future(self._send_replies()), asyncio.ensure_future(self._stop.wait())]
        reading = asyncio.ensure_future(self._read(reader))
        try:
            await self._write(f"CAP REQ :{TWITCH_CAPS}")
            if not settings.anonymous:
                assert settings.token is not None
                token = settings.token.value
                await self._write("PASS " + (token if token.startswith("oauth:") else "oauth:" + token))
            await self._write(f"NICK {self.nick}")
            await self._write(f"USER {self.nick} 0 * :{self.nick}")
            await self._write("CAP END")
            done, _ = await asyncio.wait([reading, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raise what ended the session
        finally:
            for task in (reading, *tasks):
                task.cancel()
            await asyncio.gather(reading, *tasks, return_exceptions=True)
            self._writer = None
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 2.0)
            except (OSError, asyncio.TimeoutError, ssl.SSLError):
                pass

    async def _write(self, line: str) -> None:
        assert self._writer is not None
        self._writer.write(line.encode("utf-8") + b"\r\n")
        await self._writer.drain()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        """Split the stream into lines by hand, so that an over-long line is dropped rather than fatal."""
        buffer = bytearray()
        discarding = False
        pinged = False
        while True:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), self.settings.idle_timeout)
            except asyncio.TimeoutError:
                if pinged:
                    raise ConnectionError("no answer to our PING") from None
                pinged = True
                await self._write("PING :keepalive")
                continue
            if not chunk:
                raise ConnectionError("server closed the connection")
            pinged = False
            buffer += chunk
            while True:
                end = buffer.find(b"\n")
                if end < 0:
                    if len(buffer) > MAX_LINE_BYTES:
                        buffer.clear()
                        discarding = True
                    break
                raw = bytes(buffer[:end])
                del buffer[: end + 1]
                if discarding or len(raw) > MAX_LINE_BYTES:
                    discarding = False
                    self.stats.unparsed_lines += 1
                    continue
                await self._handle(raw)

    async def _handle(self, raw: bytes) -> None:
        line = parse_line(raw)
        if line is None:
            self.stats.unparsed_lines += 1
            return
        command = line.command
        if command == "PING":
            await self._write("PONG :" + (line.params[-1] if line.params else "tmi.twitch.tv"))
        elif command == "PRIVMSG" or (command == "USERNOTICE" and self.settings.subscription_messages):
            chat = chat_line(line)
            if chat is not None and chat.channel == self.channel:
                self.stats.received += 1
                try:
                    self.on_chat(chat)
                except Exception:  # a consumer's bug must not cost the connection
                    self.log.exception("chat message handler failed")
        elif command == "CAP" and len(line.params) >= 3:
            if line.params[1].upper() == "ACK" and "twitch.tv/tags" in line.params[2].split():
                self.tags_enabled = True
        elif command == "001":
            self.log.info("logged in to %s:%d as %s", self.settings.host, self.settings.port, self.nick)
            await self._write(f"JOIN {self.channel}")
        elif command == "JOIN" and line.nick.lower() == self.nick and line.params[:1] == [self.channel]:
            self.log.info("joined %s", self.channel)
            self._joined.set()
            self._wakeup.set()
        elif command == "RECONNECT":
            raise _Reconnect()
        elif command in ("464", "465"):  # ERR_PASSWDMISMATCH, ERR_YOUREBANNEDCREEP
            raise self._auth_error(line)
        elif command in ("NOTICE", "ERROR"):
            self._check_refusal(line)
        elif command == "433" and self.settings.anonymous:  # a justinfan nick taken: pick another
            self.nick = f"justinfan{random.randint(10000, 99999)}"
            await self._write(f"NICK {self.nick}")
        elif command in ("403", "405", "471", "473", "474", "475"):
            raise IrcError(f"cannot join {self.channel}: {self._mask(' '.join(line.params[1:]))}")

    def _check_refusal(self, line: IrcLine) -> None:
        text = line.params[-1] if line.params else ""
        if not self._joined.is_set() and any(failure in text.lower() for failure in _AUTH_FAILURES):
            raise self._auth_error(line)
        if line.command == "ERROR":
            raise IrcError(self._mask(f"server error: {text}"))
        self.log.info("notice from %s: %s", self.settings.host, self._mask(text))

    def _auth_error(self, line: IrcLine) -> AuthenticationError:
        text = self._mask(" ".join(line.params[1:] if line.command.isdigit() else line.params[-1:]))
        who = "anonymously" if self.settings.anonymous else f"as {self.settings.nick}"
        return AuthenticationError(
            f"{self.settings.host}:{self.settings.port} refused the login {who}: {text!r} "
            "(check the nick and the OAuth token)"
        )

    def _mask(self, text: str) -> str:
        return self.settings.token.mask(text) if self.settings.token is not None else text

    async def _send_replies(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._replies and self._joined.is_set():
                wait = self._limiter.wait_time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                reply = self._replies.popleft()
                if time.monotonic() - reply.queued_at > self.settings.reply_max_age:
                    self.stats.replies_dropped["stale"] += 1
                    continue
                line = privmsg(
                    self.channel, reply.text, reply.reply_to, self.tags_enabled, self.settings.max_reply_chars
                )
                if line is None:
                    self.stats.replies_dropped["empty"] += 1
                    continue
                self._limiter.try_acquire()
                await self._write(line)
                self.stats.replies_sent += 1
