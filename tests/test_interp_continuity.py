"""The blended video has no pop when keyframes switch, keeps moving when they stop, and paces itself."""

import math

import cv2
import numpy as np
import pytest

from dreamgraph.nodes.video.blend import KeyframeBlender
from dreamgraph.nodes.video.timeline import KeyframeTimeline
from dreamgraph.nodes.video.warp import zoom_matrix

FPS = 25
SIZE = (192, 108)  # output width, height
KEY_SIZE = (128, 72)  # keyframes are smaller than the output and get fitted
ZOOM, ROTATION = 1.05, 0.5
# A boundary frame may differ from its predecessor by at most this factor of the median frame difference.
SPIKE_FACTOR = 2.5


def keyframes(count, seed=0):
    """Like the optimizer: each keyframe is the previous one zoomed/rotated, then changed by 'optimisation'."""
    rng = np.random.default_rng(seed)
    w, h = KEY_SIZE
    image = cv2.resize(
        rng.integers(0, 256, (h // 4, w // 4, 3), dtype=np.uint8), KEY_SIZE, interpolation=cv2.INTER_CUBIC
    )
    for _ in range(count):
        yield image
        zoomed = cv2.warpAffine(image, zoom_matrix(w, h, w, h, ZOOM, ROTATION), KEY_SIZE, borderMode=cv2.BORDER_REFLECT)
        change = cv2.resize(
            rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8), KEY_SIZE, interpolation=cv2.INTER_CUBIC
        )
        image = cv2.addWeighted(zoomed, 0.7, change, 0.3, 0)


def play(arrivals, duration, blender=None):
    """Render at FPS over simulated time; return frame-to-frame mean abs differences and the frames' timestamps."""
    blender = blender or KeyframeBlender(*SIZE, device="cpu", default_period=1.0)
    frames = iter(keyframes(len(arrivals)))
    pending = list(arrivals)
    previous, current = np.zeros((SIZE[1], SIZE[0], 3), np.uint8), np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    diffs, times = [], []
    for n in range(int(duration * FPS)):
        now = n / FPS
        while pending and pending[0] <= now:
            blender.add(next(frames), ZOOM, ROTATION, pending.pop(0))
        blender.render(current, now)
        if n:
            diffs.append(cv2.absdiff(current, previous).mean())
            times.append(now)
        previous, current = current, previous
    return np.array(diffs), np.array(times), blender


def irregular_arrivals(count, seed=1):
    rng = np.random.default_rng(seed)
    return list(np.cumsum(rng.uniform(0.7, 1.3, count)))


def test_no_spike_at_keyframe_boundaries():
    arrivals = irregular_arrivals(14)
    diffs, times, _ = play(arrivals, duration=arrivals[-1] + 1)
    steady = diffs[times > arrivals[1] + 1]  # after the start-up blend
    median = np.median(steady)
    assert median > 0.5, "the video should keep moving"
    assert steady.max() <= SPIKE_FACTOR * median, (steady.max(), median)


def test_a_hard_cut_would_be_caught():
    # The same measure flags a plain switch between keyframes, so the test above can fail.
    frames = list(keyframes(6))
    diffs = [cv2.absdiff(a, b).mean() for a, b in zip(frames, frames[1:])]
    per_frame_motion = np.median(diffs) / FPS
    assert min(diffs) > SPIKE_FACTOR * per_frame_motion


def test_keeps_zooming_through_a_stall_and_blends_back_without_a_pop():
    arrivals = [float(t) for t in range(1, 8)] + [12.0 + t for t in range(6)]  # 4 s without keyframes
    diffs, times, _ = play(arrivals, duration=18.5)
    stall = diffs[(times > 8.5) & (times < 12)]
    assert stall.min() > 0.1, "the last keyframe should keep zooming while the optimizer is silent"
    after = diffs[times > 3]
    assert after.max() <= SPIKE_FACTOR * np.median(after), (after.max(), np.median(after))


def test_paces_itself_to_the_keyframe_rate_and_stays_about_one_behind():
    rate = 4.0
    arrivals = [k / rate for k in range(1, 60)]
    _, _, blender = play(arrivals, duration=15)
    assert abs(blender.timeline.period - 1 / rate) < 1e-6
    assert blender.timeline.backlog <= 1
    assert 0.8 < blender.timeline.speed < 1.2


def test_faster_keyframes_than_frames_do_not_pile_up():
    arrivals = [k / 100 for k in range(1, 400)]  # 100 keyframes/s into 25 fps
    _, _, blender = play(arrivals, duration=4.2)
    assert blender.timeline.backlog <= blender.timeline.max_backlog


def test_the_warp_zoom_stays_in_range_whatever_the_keyframes_say():
    """A warp's cost grows as its zoom shrinks: however far keyframes claim to move, the frame stays cheap."""
    timeline = KeyframeTimeline(default_period=0.5)
    for n, (zoom, rotation) in enumerate([(1e-3, math.nan), (1e9, 1e9), (math.nan, -1e9), (0.0, 0.0)]):
        timeline.add(f"keyframe {n}", zoom, rotation, now=n * 0.5)
    shots = [timeline.shot(t / 10) for t in range(10, 600)]  # the keyframes, then a minute without any
    for shot in shots:
        zooms = [shot.first_zoom] + ([shot.second_zoom] if shot.second is not None else [])
        assert all(1 / 8 <= zoom <= 1e4 for zoom in zooms), zooms
        assert math.isfinite(shot.first_rotation) and math.isfinite(shot.second_rotation)
    assert shots[-1].first_zoom == 1 / 8, "a stalled zoom-out stops at a few mirrored copies"


def test_a_keyframe_that_is_no_picture_is_refused():
    blender = KeyframeBlender(*SIZE, device="cpu")
    for shape in [(0, 0, 3), (72, 0, 3), (72, 128), (72, 128, 4)]:
        with pytest.raises(ValueError, match="HxWx3"):
            blender.add(np.zeros(shape, np.uint8), 1.0, 0.0, now=0.0)
    assert blender.render(np.zeros((SIZE[1], SIZE[0], 3), np.uint8), 1.0) is None, "nothing was taken"
