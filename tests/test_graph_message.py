"""Message encoding, zero-copy receive, defensive decoding and delivery policies, over real zmq sockets."""

from __future__ import annotations

import math
import os
import time
from typing import Annotated

import msgpack
import numpy as np
import pytest
import zmq
from hypothesis import given, settings
from hypothesis import strategies as st
from test_graph_helpers import same_message, sample_messages, spawn_sample_publisher

from dreamgraph.graph.core import message as wire
from dreamgraph.graph.core import transport
from dreamgraph.graph.core.message import Counter, DecodeError, Image, Text
from dreamgraph.graph.core.transport import Delivery, Publisher, Subscription


def _ids(msgs):
    return [m.TYPE.split("/")[1] for m in msgs]


@pytest.mark.parametrize("msg", sample_messages(), ids=_ids(sample_messages()))
def test_encode_decode_round_trip(msg):
    frames = wire.encode("some/topic", msg, seq=5, source="me#1")
    env = wire.decode(frames)
    assert (env.topic, env.seq, env.source) == ("some/topic", 5, "me#1")
    assert same_message(env.msg, msg)
    assert len(frames) == 2 + len(msg._array_fields)


def test_non_contiguous_array_round_trips():
    base = np.arange(10 * 20 * 3, dtype=np.uint8).reshape(10, 20, 3)
    view = base[:, ::2]  # strided: must be made contiguous before it goes out
    env = wire.decode(wire.encode("v", Image(image=view), 1, "s"))
    assert np.array_equal(env.msg.image, view)


def test_wrong_field_type_is_refused_on_publish():
    with pytest.raises(TypeError, match="Counter.n"):
        wire.encode("t", Counter(n="three"), 1, "s")
    with pytest.raises(TypeError, match="labels"):
        wire.encode("t", wire.message_type("dreamgraph/Target")(labels=[1, 2]), 1, "s")


def _with_fields(msg: wire.Message, **fields) -> list:
    """Frames of msg with fields set past the type check on publish: what a hostile local publisher can send."""
    frames = wire.encode("t", msg, 1, "s")
    header = msgpack.unpackb(frames[1], raw=False)
    header["f"].update(fields)
    return [frames[0], msgpack.packb(header, use_bin_type=True), *frames[2:]]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_refused_unless_the_field_allows_them(bad):
    with pytest.raises(TypeError, match="Counter.stamp: expected a finite number"):
        wire.encode("t", Counter(stamp=bad), 1, "s")
    with pytest.raises(DecodeError, match="Counter.stamp"):
        wire.decode(_with_fields(Counter(), stamp=bad))
    with pytest.raises(DecodeError, match="Target.weights"):
        wire.decode(_with_fields(wire.message_type("dreamgraph/Target")(), weights=[1.0, bad]))
    # a field declared to allow them (checked as Message does; a test type would join the registry of every test)
    allowed = wire._checker(Annotated[float, wire.NON_FINITE])(bad)
    assert math.isnan(allowed) if math.isnan(bad) else allowed == bad
    with pytest.raises(TypeError, match="finite"):
        wire._checker(Annotated[float, "some other note"])(bad)


@pytest.fixture
def ipc_dir(tmp_path_factory):
    # Short paths: ipc paths are limited to ~100 characters.
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dgm-", dir="/tmp") as d:
        yield d


def _wait_subscribed(pub: Publisher, topic: str, count: int = 1, timeout: float = 10.0):
    end = time.monotonic() + timeout
    while pub.subscribers.get(topic, 0) < count:
        assert time.monotonic() < end, f"no subscriber for {topic} within {timeout} s"
        pub.socket.poll(50)
        pub.handle_subscriptions()


def test_received_arrays_are_read_only_views_on_the_zmq_frame(ipc_dir):
    ctx = zmq.Context.instance()
    pub = Publisher(ctx, [f"ipc://{ipc_dir}/p.sock"], "p#1")
    sub = Subscription(ctx, "frames", Delivery.parse("queue:4"))
    try:
        sub.connect(pub.endpoints[0])
        _wait_subscribed(pub, "frames")
        image = np.random.default_rng(1).integers(0, 255, (120, 160, 3), dtype=np.uint8)  # > zmq copy threshold
        pub.publish("frames", Image(image=image, seq=1))
        assert sub.socket.poll(10000), "frame did not arrive"
        frames = sub.socket.recv_multipart(copy=False)
        env = wire.decode(frames)
        arr = env.msg.image
        assert np.array_equal(arr, image)
        assert not arr.flags.owndata
        # The pixels are the zmq frame's own memory, not a copy of it.
        frame_address = np.frombuffer(frames[2].buffer, np.uint8).__array_interface__["data"][0]
        assert arr.__array_interface__["data"][0] == frame_address
        base = arr
        while isinstance(base, np.ndarray):
            base = base.base
        assert isinstance(base, memoryview) and base.obj is frames[2]
        assert not arr.flags.writeable, "received arrays must be read-only (API: read-only views on the zmq buffer)"
    finally:
        sub.close()
        pub.close()


def test_every_type_crosses_a_process_boundary(ipc_dir):
    endpoint = f"ipc://{ipc_dir}/samples.sock"
    child = spawn_sample_publisher(endpoint, "samples")
    sub = Subscription(zmq.Context.instance(), "samples", Delivery.parse("queue:1000"))
    try:
        sub.connect(endpoint)
        wanted = {m.TYPE: m for m in sample_messages()}
        got = {}
        end = time.monotonic() + 20
        while len(got) < len(wanted) and time.monotonic() < end:
            if sub.socket.poll(100):
                sub.drain(lambda reason: pytest.fail(f"rejected: {reason}"))
                while sub.buffer:
                    env = sub.buffer.popleft()
                    got[env.msg.TYPE] = env.msg
                    assert env.source.startswith("samples#") and env.source != f"samples#{os.getpid()}"
        assert set(got) == set(wanted)
        for type_name, msg in wanted.items():
            assert same_message(got[type_name], msg), type_name
    finally:
        sub.close()
        child.kill()
        child.wait(10)


# -- defensive decoding ----------------------------------------------------------------------------------------

TOPIC = b"ticks\0"


def _header(**override) -> bytes:
    header = {"t": "dreamgraph/Counter", "q": 1, "s": "x#1", "w": 1.0, "f": {"n": 1, "stamp": 0.0}, "a": []}
    header.update(override)
    return msgpack.packb(header, use_bin_type=True)


def _image_header(dtype="uint8", shape=(2, 2, 3), name="image") -> bytes:
    return _header(t="dreamgraph/Image", f={"seq": 1, "stamp": 0.0}, a=[[name, dtype, list(shape)]])


MALFORMED = {
    "one_frame": [TOPIC],
    "random_bytes": [TOPIC, bytes(np.random.default_rng(7).integers(0, 256, 300, dtype=np.uint8))],
    "invalid_msgpack": [TOPIC, b"\xc1\xc1\xc1"],
    "truncated_msgpack": [TOPIC, _header()[:-3]],
    "header_not_a_map": [TOPIC, msgpack.packb([1, 2, 3])],
    "oversized_header": [TOPIC, msgpack.packb({"t": "x" * (2 << 20)}, use_bin_type=True)],
    "non_string_map_keys": [TOPIC, msgpack.packb({1: 2}, use_bin_type=True)],
    "topic_without_nul": [b"ticks", _header()],
    "unknown_type": [TOPIC, _header(t="evil.module:Pickle")],
    "missing_seq": [TOPIC, msgpack.packb({"t": "dreamgraph/Counter", "s": "x", "w": 1.0, "f": {}, "a": []})],
    "fields_not_a_map": [TOPIC, _header(f=[1, 2])],
    "unknown_field": [TOPIC, _header(f={"n": 1, "evil": True})],
    "wrong_field_type": [TOPIC, _header(f={"n": "one"})],
    "bool_for_int": [TOPIC, _header(f={"n": True})],
    "huge_array_claim": [TOPIC, _image_header(shape=(100000, 100000, 3)), b"\0" * 12],
    "array_size_mismatch": [TOPIC, _image_header(shape=(2, 2, 3)), b"\0" * 11],
    "wrong_dtype": [TOPIC, _image_header(dtype="object"), b"\0" * 12],
    "complex_dtype": [TOPIC, _image_header(dtype="complex128", shape=(1,)), b"\0" * 16],
    "too_many_dims": [TOPIC, _image_header(shape=(1, 1, 1, 1, 3)), b"\0" * 3],
    "negative_dim": [TOPIC, _image_header(shape=(-1, 2, 3)), b""],
    "unknown_array_field": [TOPIC, _image_header(name="pixels"), b"\0" * 12],
    "missing_array_frame": [TOPIC, _image_header()],
    "extra_frames": [TOPIC, _header(), b"surprise"],
    "missing_array": [TOPIC, _header(t="dreamgraph/Image", f={"seq": 1})],
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_frames_raise_decode_error(name):
    with pytest.raises(DecodeError):
        wire.decode(MALFORMED[name])


def test_sent_time_reads_the_header_alone_and_never_raises_on_garbage():
    frames = wire.encode("ticks", Counter(n=3), seq=1, source="me")
    assert wire.sent_time(frames) == wire.decode(frames).sent > time.time() - 60
    for name in ("random_bytes", "invalid_msgpack", "header_not_a_map", "oversized_header", "one_frame"):
        assert wire.sent_time(MALFORMED[name]) is None, name


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), min_size=0, max_size=5))
def test_decode_of_arbitrary_frames_only_ever_raises_decode_error(frames):
    try:
        wire.decode(frames)
    except DecodeError:
        pass


_int64 = st.integers(-(2**63), 2**63 - 1)
_values = st.one_of(
    st.none(),
    st.booleans(),
    _int64,
    st.floats(),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.lists(_int64, max_size=3),
    st.dictionaries(st.text(max_size=4), _int64, max_size=3),
    st.sampled_from(["dreamgraph/Image", "dreamgraph/Counter", "dreamgraph/Target"]),
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["t", "q", "s", "w", "f", "a", "x"]), _values),
    st.dictionaries(st.sampled_from(["n", "stamp", "seq", "image", "labels", "class_ids", "z"]), _values),
    st.lists(st.binary(max_size=16), max_size=2),
)
def test_decode_of_arbitrary_headers_only_ever_raises_decode_error(header, fields, extra_frames):
    """Valid msgpack with hostile contents, including plausible type names with bad fields and arrays."""
    header.setdefault("f", fields)
    try:
        wire.decode([TOPIC, msgpack.packb(header, use_bin_type=True), *extra_frames])
    except DecodeError:
        pass


# -- delivery policies -----------------------------------------------------------------------------------------


def test_delivery_parse():
    assert Delivery.parse("latest") == Delivery(True, 1)
    assert Delivery.parse("queue:5") == Delivery(False, 5)
    for bad in ("queue", "queue:0", "queue:-1", "newest", "queue:x"):
        with pytest.raises(ValueError):
            Delivery.parse(bad)


def _drain_until(sub: Subscription, last_n: int, timeout: float = 10.0):
    end = time.monotonic() + timeout
    while not (sub.buffer and sub.buffer[-1].msg.n == last_n):
        assert time.monotonic() < end, f"message {last_n} never arrived (received {sub.received})"
        if sub.socket.poll(50):
            sub.drain(lambda reason: pytest.fail(reason))


def test_latest_keeps_only_the_newest_and_queue_keeps_n(ipc_dir):
    """A subscriber that does not read while 20 messages arrive: latest holds the 20th, queue:3 the last three."""
    ctx = zmq.Context.instance()
    pub = Publisher(ctx, [f"ipc://{ipc_dir}/d.sock"], "d#1")
    latest = Subscription(ctx, "ticks", Delivery.parse("latest"))
    queue = Subscription(ctx, "ticks", Delivery.parse("queue:3"))
    try:
        for sub in (latest, queue):
            sub.connect(pub.endpoints[0])
        _wait_subscribed(pub, "ticks", 2)
        time.sleep(0.1)
        for n in range(1, 21):
            pub.publish("ticks", Counter(n=n))
        _drain_until(latest, 20)
        _drain_until(queue, 20)
        assert [e.msg.n for e in latest.buffer] == [20]
        assert latest.dropped == latest.received - 1 and latest.received >= 2
        assert [e.msg.n for e in queue.buffer] == [18, 19, 20]
        assert queue.received == 20, "a queue:N input has a deep socket buffer and must not lose messages there"
        assert queue.dropped == 17
    finally:
        latest.close()
        queue.close()
        pub.close()


def test_subscription_ignores_longer_topics_with_the_same_prefix(ipc_dir):
    ctx = zmq.Context.instance()
    pub = Publisher(ctx, [f"ipc://{ipc_dir}/t.sock"], "t#1")
    sub = Subscription(ctx, "video", Delivery.parse("queue:10"))
    try:
        sub.connect(pub.endpoints[0])
        _wait_subscribed(pub, "video")
        pub.publish("video_raw", Text(text="wrong"))
        pub.publish("video", Text(text="right"))
        end = time.monotonic() + 10
        while not sub.buffer and time.monotonic() < end:
            if sub.socket.poll(50):
                sub.drain(lambda reason: None)
        time.sleep(0.2)
        sub.drain(lambda reason: None)
        assert [e.msg.text for e in sub.buffer] == ["right"]
    finally:
        sub.close()
        pub.close()


def test_a_subscription_flood_is_bounded_and_forgotten(ipc_dir, monkeypatch):
    monkeypatch.setattr(transport, "MAX_TRACKED_TOPICS", 50)
    ctx = zmq.Context.instance()
    pub = Publisher(ctx, [f"ipc://{ipc_dir}/t.sock"], "t#1")
    flood = ctx.socket(zmq.SUB)
    try:
        flood.connect(pub.endpoints[0])
        topics = [f"made-up/{i}\0".encode() for i in range(200)]
        for topic in topics:
            flood.setsockopt(zmq.SUBSCRIBE, topic)
        end = time.monotonic() + 10
        while len(pub.subscribers) + pub.untracked_subscriptions < 200 and time.monotonic() < end:
            pub.socket.poll(50)
            pub.handle_subscriptions()
        assert len(pub.subscribers) == 50
        assert pub.untracked_subscriptions == 150
        for topic in topics:
            flood.setsockopt(zmq.UNSUBSCRIBE, topic)
        end = time.monotonic() + 10
        while pub.subscribers and time.monotonic() < end:
            pub.socket.poll(50)
            pub.handle_subscriptions()
        assert pub.subscribers == {}
    finally:
        flood.close(0)
        pub.close()
