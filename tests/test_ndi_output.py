"""The NDI output node on a real graph, received by a real NDI receiver in this process (over loopback: the
sandbox has no multicast, so both sides list 127.0.0.1 in their NDI configuration, as across subnets)."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from dreamgraph.graph.testing.harness import GraphHarness

ndi = pytest.importorskip("NDIlib", reason="ndi-python is not installed (pip install 'dreamgraph[ndi]')")


@pytest.fixture
def ndi_config(tmp_path, monkeypatch):
    (tmp_path / "ndi-config.v1.json").write_text(json.dumps({"ndi": {"networks": {"ips": "127.0.0.1"}}}))
    monkeypatch.setenv("NDI_CONFIG_DIR", str(tmp_path))  # read by the runtime when it starts, in both processes
    return str(tmp_path)


def _receive_one(source_name: str, timeout: float = 40.0):
    assert ndi.initialize()
    finder = ndi.find_create_v2()
    receiver = None
    try:
        end = time.monotonic() + timeout
        source = None
        while source is None:
            assert time.monotonic() < end, f"no NDI source named {source_name!r} appeared"
            ndi.find_wait_for_sources(finder, 500)
            source = next((s for s in ndi.find_get_current_sources(finder) if f"({source_name})" in s.ndi_name), None)
        receiver = ndi.recv_create_v3(ndi.RecvCreateV3(color_format=ndi.RECV_COLOR_FORMAT_BGRX_BGRA))
        ndi.recv_connect(receiver, source)
        while time.monotonic() < end:
            kind, video, _, _ = ndi.recv_capture_v2(receiver, 500)
            if kind == ndi.FRAME_TYPE_VIDEO:
                frame = np.copy(video.data)
                ndi.recv_free_video_v2(receiver, video)
                return frame
        raise AssertionError("the NDI source sent no video")
    finally:
        if receiver is not None:
            ndi.recv_destroy(receiver)
        ndi.find_destroy(finder)
        ndi.destroy()


def test_the_video_arrives_as_an_ndi_source(ndi_config):
    name = f"dreamgraph-test-{os.getpid()}"
    launch = {
        "nodes": [
            {"name": "pattern", "node": "dreamgraph.graph.builtin.testpattern", "params": {"width": 160, "height": 96}},
            {"name": "ndi", "node": "ndi_output", "params": {"source_name": name}, "remap": {"video": "frames"}},
        ]
    }
    with GraphHarness(launch, env={"NDI_CONFIG_DIR": ndi_config}):
        frame = _receive_one(name)
    assert frame.shape == (96, 160, 4)
    assert frame[..., :3].std() > 10, "a test pattern, not a blank frame"
