"""The Twitch chat node: a channel's chat lines in, the bot's replies out."""

from __future__ import annotations

from ..graph.core.node import Input, Node, Output, Param
from ..graph.core.secrets import read_secret
from .chat.irc import ChatLine
from .chat.irc_client import IrcClient, IrcSettings, Secret
from .common.messages import ChatMessage, ChatReply


class TwitchChat(Node):
    """Reads a Twitch channel's chat over IRC and posts the bot's replies.

    Without a nick (or without a token) it logs in anonymously and read-only; replies are then dropped and
    counted. With a nick it needs an OAuth token, read from the environment variable named by `token_env` or
    from `token_file` - never from a parameter, so it stays out of launch files, logs and process titles.
    Replies are rate-limited (Twitch ignores a bot that sends too fast), capped at 500 characters, stripped of
    control characters, and threaded under the request when the server accepts tags. The connection follows
    Twitch's RECONNECT and reconnects with exponential backoff after any disconnect; a refused login stops it
    with the server's reason in the log. Works with any IRC server (host, port, tls).
    Emotes (placed by the `emotes` tag) and cheermotes ("Cheer100") are cut out of the published text; a
    channel-points redemption's reward id and a cheer's bits travel with the message.
    """

    chat = Output(ChatMessage, "chat", doc="every chat line of the channel (source 'twitch')")
    chat_reply = Input(
        ChatReply,
        "chat_reply",
        delivery="queue:100",
        doc="lines to post; those for another channel are ignored",
        optional=True,
    )

    channel = Param(str, "", doc="the channel to join, with or without '#' (required)")
    nick = Param(str, "", doc="the bot's login name; empty: anonymous, read-only")
    token_env = Param(str, "TWITCH_OAUTH", doc="environment variable holding the OAuth token ('oauth:...')")
    token_file = Param(str, "", doc="file holding the OAuth token (used when the variable is unset)")
    host = Param(str, "irc.chat.twitch.tv", doc="IRC server")
    port = Param(int, 6697, min=1, max=65535, doc="IRC port (6697 TLS, 6667 plain)")
    tls = Param(bool, True, doc="connect with TLS")
    tls_ca_file = Param(str, "", doc="trust this certificate file instead of the system's (private servers)")
    reply_limit = Param(
        int, 20, min=1, max=1000, doc="replies allowed per reply_window (100 when the bot is a moderator)"
    )
    reply_window = Param(float, 30.0, unit="s", min=1.0, max=3600.0, doc="the window of the reply limit")
    max_reply_chars = Param(int, 500, min=1, max=500, doc="longer replies are cut")
    backoff_max = Param(float, 60.0, unit="s", min=0.1, max=3600.0, doc="longest wait between reconnection attempts")
    subscription_messages = Param(
        bool, False, doc="the message a viewer adds to a resubscription is a chat line too (and so can be a request)"
    )

    def setup(self):
        if not self.channel:
            raise ValueError("twitch_chat needs the channel parameter")
        token = self._token()
        if self.nick and token is None:
            self.count_error(
                "no_token",
                f"nick {self.nick!r} is set but neither ${self.token_env} nor token_file "
                "holds a token: reading chat anonymously, replies are dropped",
            )
        settings = IrcSettings(
            channel=self.channel,
            host=self.host,
            port=self.port,
            tls=self.tls,
            tls_ca_file=self.tls_ca_file,
            nick=self.nick,
            token=token,
            reply_limit=self.reply_limit,
            reply_window=self.reply_window,
            max_reply_chars=self.max_reply_chars,
            backoff_max=self.backoff_max,
            subscription_messages=self.subscription_messages,
        )
        self.client = IrcClient(settings, on_chat=self._publish_line, log=self.log)
        self._reported_error = False
        self.client.start()
        self.every(1.0, self._report)

    def _token(self) -> Secret | None:
        try:
            value = read_secret(self.token_env, self.token_file, what="chat token", optional=True)
        except RuntimeError as err:
            self.count_error("token_file", str(err))
            return None
        return Secret(value) if value else None

    def _publish_line(self, line: ChatLine):
        """Runs on the client's thread; publishing hands the message over to the node thread."""
        self.chat.publish(
            ChatMessage(
                source="twitch",
                channel=line.channel,
                user=line.user,
                display_name=line.display_name,
                text=line.text,
                message_id=line.message_id,
                timestamp=line.timestamp,
                badges=line.badges,
                reward_id=line.reward_id,
                bits=line.bits,
            )
        )

    def on_chat_reply(self, msg: ChatReply):
        if msg.channel and msg.channel.lower() != self.client.channel:
            return
        self.client.send(msg.text, reply_to=msg.reply_to)

    def _report(self):
        """Mirror the client's problems into this node's status."""
        for kind, count in dict(self.client.stats.replies_dropped).items():  # a copy: the client thread adds
            self.errors[f"reply_dropped_{kind}"] = count
        if self.client.stats.connect_failures:
            self.errors["connect_failed"] = self.client.stats.connect_failures
        if self.client.error is not None:
            self.problem = str(self.client.error)
        else:
            self.problem = "" if self.client.joined else self.client.last_failure
        if self.client.error is not None and not self._reported_error:
            self._reported_error = True
            self.count_error("login_refused", str(self.client.error))

    def teardown(self):
        self.client.stop()
