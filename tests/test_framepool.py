"""FramePool: zero-copy frames are never overwritten while in flight, and a stalled subscriber never blocks."""

import numpy as np
import zmq

from dreamgraph.graph.core import message as wire
from dreamgraph.graph.core.message import Image
from dreamgraph.graph.core.node import FramePool
from dreamgraph.graph.core.transport import Publisher


def test_stalled_subscriber_gets_intact_frames_and_the_publisher_never_waits(tmp_path):
    ctx = zmq.Context()
    pub = Publisher(ctx, [f"ipc://{tmp_path}/pool.sock"], "pool#1", sndhwm=1000)
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 2)  # a tiny receive queue: the frames wait at the publisher
    sub.setsockopt(zmq.SUBSCRIBE, b"frames\0")
    sub.connect(pub.endpoints[0])
    while pub.subscribers.get("frames", 0) <= 0:
        pub.socket.poll(50)
        pub.handle_subscriptions()
    pool = FramePool((512, 512, 3), np.uint8, count=4)
    for seq in range(60):  # the subscriber reads nothing meanwhile
        frame = pool.acquire()
        frame.fill(seq % 251)
        pool.track(frame, pub.publish("frames", Image(image=frame, seq=seq), track=True))
    received = []
    while len(received) < 60 and sub.poll(2000):
        env = wire.decode(sub.recv_multipart(copy=False))
        received.append((env.msg.seq, int(env.msg.image.min()), int(env.msg.image.max())))
    assert [seq for seq, _, _ in received] == list(range(60))
    assert all(low == high == seq % 251 for seq, low, high in received), "a frame was overwritten in flight"
    assert pool.replaced > 0, "in-flight buffers were replaced rather than waited for"
    sub.close(0)
    pub.close()
    ctx.term()
