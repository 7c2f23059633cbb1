"""Bags as MCAP: record a running graph, read the file with the `mcap` library on its own, play it back into a
graph and compare what arrives; old msgpack bags play and convert; -a, --exclude and Ctrl-C behave."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import threading
import time

import cv2
import jsonschema
import msgpack
import numpy as np
import pytest
from mcap.reader import make_reader

from dreamgraph.graph.core import message as wire
from dreamgraph.graph.core.message import Counter
from dreamgraph.graph.testing.harness import GraphHarness
from dreamgraph.graph.tools import bag
from dreamgraph.graph.tools.bag.schemas import message_schema

TICKER = "dreamgraph.graph.builtin.ticker"
PATTERN = {"name": "pattern", "node": "dreamgraph.graph.builtin.testpattern", "params": {"width": 64, "height": 48}}
RECORD_S = 3.0


def ok(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"rc={result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def dreamgraph(h: GraphHarness, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dreamgraph.graph.cli", *args],
        env=h.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def mcap_messages(path) -> dict[str, list]:
    """Every message of the file by channel topic, read with the mcap library alone."""
    found: dict[str, list] = {}
    with open(path, "rb") as f:
        for schema, channel, message in make_reader(f).iter_messages():
            found.setdefault(channel.topic, []).append((schema, channel, message))
    return found


def recorded(path, topic: str) -> list[wire.Envelope]:
    return [wire.decode(frames) for _, frames in bag.messages(str(path), [topic])]


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """Three seconds of ticks (20 Hz) and small test-pattern frames, images as foxglove.RawImage."""
    path = tmp_path_factory.mktemp("bag") / "graph.mcap"
    launch = {"nodes": [{"name": "tick", "node": TICKER, "params": {"rate": 20}}, PATTERN]}
    with GraphHarness(launch) as h:
        h.wait_for("frames")
        started = time.time_ns()
        result = ok(
            h.cli("bag", "record", "ticks", "frames", "-o", str(path), "--duration", str(RECORD_S), "--raw-images")
        )
        stopped = time.time_ns()
    return path, result.stdout, started, stopped


@pytest.fixture(scope="module")
def player_graph():
    """A graph to play into, where nothing publishes the recorded topics."""
    with GraphHarness({"nodes": [{"name": "other", "node": TICKER, "remap": {"ticks": "other"}}]}) as h:
        h.wait_for("other")
        yield h


class Collector:
    """A subscription opened before playing that keeps connecting to new publishers (the player) and collects
    (arrival time, message) in the background until closed."""

    def __init__(self, h: GraphHarness, topic: str):
        self.sub, self.peers = h.client.subscribe(topic)
        self.got: list[tuple[float, wire.Envelope]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._collect, daemon=True)
        self.thread.start()
        time.sleep(0.3)

    def _collect(self):
        while not self.stop.is_set():
            self.peers.refresh()
            if self.sub.socket.poll(50):
                self.sub.drain(lambda reason: None)
                while self.sub.buffer:
                    self.got.append((time.monotonic(), self.sub.buffer.popleft()))

    def until(self, done, timeout: float = 30.0) -> list[wire.Envelope]:
        end = time.monotonic() + timeout
        while time.monotonic() < end and not done(self.got):
            time.sleep(0.05)
        return [env for _, env in self.got]

    def close(self) -> list[wire.Envelope]:
        self.stop.set()
        self.thread.join(5)
        self.sub.close()
        return [env for _, env in self.got]


def play(h: GraphHarness, path, *options: str, topics=("ticks",), expect=None) -> tuple[str, dict]:
    """Play the bag and collect ``topics`` until the player exits; returns its output and what arrived."""
    collectors = {t: Collector(h, t) for t in topics}
    player = dreamgraph(h, "bag", "play", str(path), *options)
    out, err = player.communicate(timeout=60)
    assert player.returncode == 0, out + err
    time.sleep(0.5)  # the last messages are on their way
    return out, {t: c.close() for t, c in collectors.items()}


# -- the file, read independently ------------------------------------------------------------------------------


def test_recording_has_a_wire_and_a_view_channel_per_topic_with_schemas(recording):
    path, stdout, _, _ = recording
    with open(path, "rb") as f:
        summary = make_reader(f).get_summary()
    channels = {c.topic: c for c in summary.channels.values()}
    assert set(channels) == {"/ticks", "/frames", "/_wire/ticks", "/_wire/frames"}
    assert channels["/ticks"].message_encoding == "json" and channels["/frames"].message_encoding == "json"
    assert channels["/_wire/ticks"].message_encoding == "dreamgraph-msgpack"
    ticks_schema = summary.schemas[channels["/ticks"].schema_id]
    assert (ticks_schema.name, ticks_schema.encoding) == ("dreamgraph/Counter", "jsonschema")
    assert json.loads(ticks_schema.data)["properties"] == {"n": {"type": "integer"}, "stamp": {"type": "number"}}
    assert summary.schemas[channels["/frames"].schema_id].name == "foxglove.RawImage"
    assert {c.metadata["dreamgraph_type"] for c in summary.channels.values()} == {
        "dreamgraph/Counter",
        "dreamgraph/Image",
    }
    assert all(c.compression == "zstd" for c in summary.chunk_indexes) and summary.chunk_indexes


def test_recorded_messages_match_their_schemas_counts_and_times(recording):
    path, stdout, started, stopped = recording
    found = mcap_messages(path)
    counts = {topic: len(messages) for topic, messages in found.items()}
    assert counts["/ticks"] == counts["/_wire/ticks"] >= 20 * (RECORD_S - 1.5)
    assert counts["/frames"] == counts["/_wire/frames"] >= 25 * (RECORD_S - 1.5)
    assert f"/ticks {counts['/ticks']}" in stdout and f"/frames {counts['/frames']}" in stdout
    for topic in ("/ticks", "/frames"):
        times = [m.log_time for _, _, m in found[topic]]
        assert times == sorted(times) and started <= times[0] and times[-1] <= stopped
        schema = json.loads(found[topic][0][0].data)
        for _, _, message in found[topic]:
            jsonschema.validate(json.loads(message.data), schema)
    ticks = [json.loads(m.data)["n"] for _, _, m in found["/ticks"]]
    assert ticks == list(range(ticks[0], ticks[0] + len(ticks))), "a tick was lost"
    # The Foxglove view of a frame holds its exact pixels, the same as the wire copy.
    for (_, _, view), (_, _, raw) in zip(found["/frames"], found["/_wire/frames"]):
        image = wire.decode(msgpack.unpackb(raw.data)).msg.image
        shown = json.loads(view.data)
        assert (shown["width"], shown["height"], shown["encoding"], shown["step"]) == (64, 48, "rgb8", 64 * 3)
        assert base64.b64decode(shown["data"]) == image.tobytes()


def test_bag_info_reads_the_summary_and_matches_the_file(recording, player_graph):
    path, _, _, _ = recording
    found = mcap_messages(path)
    info = json.loads(ok(player_graph.cli("bag", "info", str(path))).stdout)
    assert info["format"] == "mcap" and info["compression"] == ["zstd"]
    assert info["topics"] == {"ticks": len(found["/ticks"]), "frames": len(found["/frames"])}
    assert info["types"] == {"ticks": "dreamgraph/Counter", "frames": "dreamgraph/Image"}
    first = min(m.log_time for messages in found.values() for _, _, m in messages)
    last = max(m.log_time for messages in found.values() for _, _, m in messages)
    assert info["duration_s"] == round((last - first) / 1e9, 3) and info["size_bytes"] == path.stat().st_size
    # The summary alone answers: a file cut off before its data still gives the same info from its end.
    data = path.read_bytes()
    with open(path, "rb") as f:
        start = make_reader(f).get_summary().chunk_indexes[0].chunk_start_offset
    blanked = path.with_name("blanked.mcap")
    blanked.write_bytes(data[:start] + bytes(len(data) - start - 4096) + data[-4096:])
    summary_start = int.from_bytes(data[-8 - 20 : -8 - 12], "little")  # the footer's summary offset
    assert summary_start > len(data) - 4096, "the test needs the summary in the file's last 4 KiB"
    assert bag.info(str(blanked)) == {**bag.info(str(path)), "size_bytes": blanked.stat().st_size}


def test_a_cut_off_file_is_reported_not_misread(recording, tmp_path):
    path, _, _, _ = recording
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    result = subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", "bag", "info", str(cut)], capture_output=True, text=True
    )
    assert result.returncode == 1 and "has no summary" in result.stderr, result.stderr


def test_every_message_type_has_a_valid_json_schema():
    wire.load_message_plugins()
    for name, cls in wire.registered_types().items():
        schema = message_schema(cls)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["title"] == name and set(schema["properties"]) == set(cls._fields)


# -- playing back ------------------------------------------------------------------------------------------------


def test_played_messages_are_identical_to_the_recorded_ones(recording, player_graph):
    path, _, _, _ = recording
    out, got = play(player_graph, path, topics=("ticks", "frames"))
    for topic in ("ticks", "frames"):
        expected = recorded(path, topic)
        assert [env.msg.TYPE for env in got[topic]] == [env.msg.TYPE for env in expected]
        for played, original in zip(got[topic], expected):
            assert played.msg.to_dict() == original.msg.to_dict()
            for name in original.msg._array_fields:
                a, b = getattr(played.msg, name), getattr(original.msg, name)
                assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    assert f"played {sum(len(v) for v in got.values())} message(s)" in out


def test_play_topics_start_offset_and_rate(recording, player_graph):
    path, _, _, _ = recording
    ticks = [at for at, _ in bag.messages(str(path), ["ticks"])]
    out, got = play(player_graph, path, "--topics", "ticks", "--start-offset", "1.5", topics=("ticks", "frames"))
    later = recorded(path, "ticks")[-len([at for at in ticks if at >= 1.5]) :]
    assert [env.msg.n for env in got["ticks"]] == [env.msg.n for env in later] and got["frames"] == []
    assert f"played {len(later)} message(s)" in out

    collector = Collector(player_graph, "ticks")
    player = dreamgraph(player_graph, "bag", "play", str(path), "--topics", "/ticks", "--rate", "2")
    collector.until(lambda g: len(g) >= len(ticks), timeout=30)
    player.communicate(timeout=30)
    collector.close()
    arrivals = [at for at, _ in collector.got]
    recorded_span = ticks[-1] - ticks[0]
    assert len(arrivals) == len(ticks)
    assert abs((arrivals[-1] - arrivals[0]) - recorded_span / 2) < 0.3, (arrivals[-1] - arrivals[0], recorded_span)


def test_play_loop_starts_again_until_interrupted(recording, player_graph):
    path, _, _, _ = recording
    count = len(recorded(path, "ticks"))
    collector = Collector(player_graph, "ticks")
    player = dreamgraph(player_graph, "bag", "play", str(path), "--topics", "ticks", "--loop", "--rate", "4")
    got = collector.until(lambda g: len(g) >= count + 5, timeout=40)
    player.send_signal(signal.SIGINT)
    out, err = player.communicate(timeout=30)
    collector.close()
    assert player.returncode == 0, out + err
    numbers = [env.msg.n for env in got]
    assert len(numbers) >= count + 5 and numbers[count] == numbers[0], "the second pass starts from the beginning"
    assert int(out.split("played ")[1].split(" ")[0]) >= count + 5


# -- old bags ----------------------------------------------------------------------------------------------------


def test_old_msgpack_bag_plays_and_converts(tmp_path, player_graph):
    old = tmp_path / "old.bag"
    packer = msgpack.Packer(use_bin_type=True)
    with open(old, "wb") as out:
        for n in range(1, 6):
            frames = wire.encode("ticks", Counter(n=n, stamp=float(n)), n, "old#1")
            out.write(packer.pack([0.05 * n, frames]))
    assert not bag.is_mcap(str(old))
    assert json.loads(ok(player_graph.cli("bag", "info", str(old))).stdout)["topics"] == {"ticks": 5}
    out, got = play(player_graph, old)
    assert [env.msg.n for env in got["ticks"]] == [1, 2, 3, 4, 5] and "played 5 message(s)" in out

    new = tmp_path / "new.mcap"
    ok(player_graph.cli("bag", "convert", str(old), str(new)))
    info = json.loads(ok(player_graph.cli("bag", "info", str(new))).stdout)
    assert info["format"] == "mcap" and info["topics"] == {"ticks": 5} and info["duration_s"] == 0.2
    assert [json.loads(m.data)["n"] for _, _, m in mcap_messages(new)["/ticks"]] == [1, 2, 3, 4, 5]
    out, got = play(player_graph, new)
    assert [env.msg.n for env in got["ticks"]] == [1, 2, 3, 4, 5]


# -- what gets recorded, and how it ends -------------------------------------------------------------------------


def test_record_all_picks_up_new_topics_leaves_out_excluded_ones_and_compresses_images(tmp_path):
    path = tmp_path / "all.mcap"
    launch = {
        "nodes": [
            {"name": "tick", "node": TICKER},
            {"name": "noise", "node": TICKER, "remap": {"ticks": "noise"}},
            PATTERN,
        ]
    }
    with GraphHarness(launch) as h:
        h.wait_for("frames")
        recorder = dreamgraph(h, "bag", "record", "-a", "--exclude", "noi*", "-o", str(path), "--duration", "7")
        time.sleep(2.0)
        late = dreamgraph(h, "run", TICKER, "--name", "late", "--remap", "ticks=late")
        try:
            h.wait_for("late", timeout=20)
        finally:
            out, err = recorder.communicate(timeout=60)
            late.send_signal(signal.SIGINT)
            late.communicate(timeout=30)
    assert recorder.returncode == 0, out + err
    info = bag.info(str(path))
    assert set(info["topics"]) == {"ticks", "frames", "late"}, info
    assert all(n > 0 for n in info["topics"].values())
    frames = mcap_messages(path)["/frames"]
    assert frames[0][0].name == "foxglove.CompressedImage"
    shown = json.loads(frames[-1][2].data)
    jpeg = cv2.imdecode(np.frombuffer(base64.b64decode(shown["data"]), np.uint8), cv2.IMREAD_COLOR)
    assert shown["format"] == "jpeg" and jpeg.shape == (48, 64, 3)


def test_ctrl_c_ends_a_recording_with_a_complete_indexed_file(tmp_path):
    path = tmp_path / "interrupted.mcap"
    with GraphHarness({"nodes": [{"name": "tick", "node": TICKER, "params": {"rate": 20}}]}) as h:
        h.wait_for("ticks")
        recorder = dreamgraph(h, "bag", "record", "ticks", "-o", str(path))
        assert "Ctrl-C to stop" in recorder.stderr.readline()
        time.sleep(2.0)
        recorder.send_signal(signal.SIGINT)
        out, err = recorder.communicate(timeout=30)
    assert recorder.returncode == 0, out + err
    with open(path, "rb") as f:
        summary = make_reader(f).get_summary()
    count = summary.statistics.message_count // 2  # a wire and a view message each
    assert count >= 20 and f"/ticks {count}" in out
    assert summary.chunk_indexes and bag.info(str(path))["topics"] == {"ticks": count}


def test_an_image_no_viewer_format_holds_is_kept_for_replay_without_a_view(tmp_path):
    from dreamgraph.graph.tools.bag.writer import BagWriter

    odd = wire.Image(image=np.zeros((4, 4, 2), np.uint8), seq=1)  # two channels: neither RGB nor grey
    path = tmp_path / "odd.mcap"
    with open(path, "wb") as out:
        writer = BagWriter(out)
        writer.write(time.time_ns(), wire.encode("odd", odd, 1, "test#1"))
        writer.close()
    assert {topic: len(m) for topic, m in mcap_messages(path).items()} == {"/_wire/odd": 1}
    (played,) = recorded(path, "odd")
    assert played.msg.image.shape == (4, 4, 2) and played.msg.seq == 1
