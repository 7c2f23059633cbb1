"""launch/twitch.yaml end to end against a real IRC server (ngircd) and a real RTMP server (nginx-rtmp)."""

import os
import time

import imageio_ffmpeg
from servers.irc import IrcServer, RawIrcClient
from servers.rtmp import RtmpServer
from test_ffmpeg_output import probe

import dreamgraph.nodes.common.messages  # noqa: F401  (registers the message types the test decodes)
from dreamgraph.graph.testing.harness import GraphHarness

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "oauth:b0t-chat-t0ken"
STREAM_KEY = "live_123456_streamkeysecret"


def test_chat_request_becomes_keyframes_a_reply_and_an_rtmp_stream(tmp_path):
    with IrcServer(tmp_path / "irc", password=TOKEN) as irc, RtmpServer(tmp_path / "rtmp") as rtmp:
        args = {
            "chat_host": irc.host,
            "chat_port": irc.port,
            "chat_tls": "false",
            "stream_url": rtmp.url("{key}"),
            "device": "cpu",
            "width": 64,
            "height": 48,
            "fps": 10,
        }
        env = {
            "TWITCH_CHANNEL": "DreamChannel",
            "TWITCH_NICK": "dreambot",
            "TWITCH_OAUTH": TOKEN,
            "TWITCH_STREAM_KEY": STREAM_KEY,
        }
        with GraphHarness("twitch", args=args, env=env) as graph:
            graph.wait_output("joined #dreamchannel", 60)
            graph.wait_for("keyframes", timeout=120)  # the optimizer is up (autopilot)
            viewer = RawIrcClient(irc, "viewer", "#dreamchannel", password=TOKEN)
            viewer.say("volcano + pizza")
            keyframe = graph.wait_for("keyframes", lambda m: m.labels == ["volcano", "pizza"], timeout=120)
            reply = viewer.wait_for(
                lambda line: line.startswith(":dreambot!") and "PRIVMSG #dreamchannel" in line, timeout=30
            )
            frame = graph.wait_for("video", lambda m: m.meta.get("labels") == ["volcano", "pizza"], timeout=120)
            time.sleep(2.0)
            viewer.close()
        log = graph.text()
    assert keyframe.msg.class_ids == [980, 963] and keyframe.msg.image.shape == (48, 64, 3)
    assert "volcano" in reply and "pizza" in reply
    assert frame.msg.image.shape == (48, 64, 3)
    assert TOKEN.removeprefix("oauth:") not in log and STREAM_KEY not in log
    recordings = rtmp.recordings()
    assert recordings and all(STREAM_KEY in r.name for r in recordings), "published under the stream key"
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(recordings[-1]))
    info = probe(recordings[-1])
    assert frames >= 20 and "64x48" in info and "Audio: aac" in info, info
