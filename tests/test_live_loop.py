"""The live keyframe loop over many keyframes: it stays watchable, and colours move the way the subject asks."""

import numpy as np
import pytest

from dreamgraph.nodes.dream.live import LiveLoop
from dreamgraph.nodes.dream.models import load_model
from dreamgraph.nodes.dream.picture import clipped_share, luminance
from dreamgraph.nodes.dream.render import Dreamer
from dreamgraph.nodes.dream.settings import DreamSettings

BROCCOLI, LEMON, VOLCANO, JELLYFISH = 937, 951, 980, 107


@pytest.fixture(scope="module")
def lite0():
    return load_model("lite0")


def test_a_long_live_loop_stays_within_luminance_and_clipping_bounds(lite0):
    """300 keyframes of zoom at 64x64, switching subjects: neither washes out, goes black nor clips."""
    dreamer = Dreamer(DreamSettings(width=64, height=64, steps_per_keyframe=2, seed=0), model=lite0)
    loop = LiveLoop(dreamer, period_s=1.0)
    lows, clips = [], []
    for subject in (BROCCOLI, VOLCANO, LEMON):
        dreamer.set_targets([subject], layout="single")
        for _ in range(100):
            frame = loop.keyframe()
            lows.append(luminance(frame))
            clips.append(clipped_share(frame))
    assert 60 <= min(lows) and max(lows) <= 190
    assert max(clips) <= 0.03
    assert loop.zoom > 1.0  # the picture really moved between keyframes


def test_without_normalising_the_same_loop_leaves_those_bounds(lite0):
    """The bounds above are the normaliser's doing, not a loop too short to drift."""
    dreamer = Dreamer(
        DreamSettings(width=64, height=64, steps_per_keyframe=2, seed=0, normalise=0.0, step_size=8.0), model=lite0
    )
    loop = LiveLoop(dreamer, period_s=1.0)
    dreamer.set_targets([BROCCOLI], layout="single")
    frames = [loop.keyframe() for _ in range(100)]
    assert max(clipped_share(f) for f in frames) > 0.03 or not all(60 <= luminance(f) <= 190 for f in frames)


def red_minus_green(frame: np.ndarray) -> float:
    rgb = frame.reshape(-1, 3).astype(np.float64)
    return float((rgb[:, 0] - rgb[:, 1]).mean())


def yellowness(frame: np.ndarray) -> float:
    rgb = frame.reshape(-1, 3).astype(np.float64)
    return float((0.5 * (rgb[:, 0] + rgb[:, 1]) - rgb[:, 2]).mean())


def test_broccoli_moves_the_picture_towards_green_and_a_lemon_to_yellow(lite0):
    """From the same grey start, broccoli's picture moves towards green (G over R) through its hold and ends
    greener than a lemon's, which ends yellow (R+G over B). At this small size the glance objective shapes
    before it colours, so the hold is 16 keyframes."""
    frames = {}
    for subject in (BROCCOLI, LEMON):
        dreamer = Dreamer(DreamSettings(width=256, height=144, seed=0), model=lite0)
        dreamer.set_targets([subject], layout="single")
        loop = LiveLoop(dreamer, period_s=1.0)
        for k in range(16):
            frames[subject, k] = loop.keyframe()
    assert red_minus_green(frames[BROCCOLI, 15]) < red_minus_green(frames[BROCCOLI, 0]) - 2
    assert red_minus_green(frames[BROCCOLI, 15]) < red_minus_green(frames[LEMON, 15]) - 3
    assert yellowness(frames[LEMON, 15]) > 3


def test_the_start_picture_is_grey_on_average():
    """The dream keeps its start picture's tint for minutes on a CPU: a blue one once tinted every subject."""
    from dreamgraph.nodes.common.start_picture import start_picture
    from dreamgraph.nodes.dream.picture import colour_cast

    rg, yb = colour_cast(start_picture(512, 288))
    assert np.hypot(rg, yb) < 8


def test_neutralise_fades_a_picture_wide_tint_and_keeps_the_rest():
    import torch

    from dreamgraph.nodes.dream.tone import ToneNormaliser

    rng = np.random.default_rng(0)
    texture = torch.from_numpy(rng.normal(0, 40, (1, 1, 64, 64))).float()
    blue_tint = torch.tensor([-12.0, -12.0, 18.0]).view(1, 3, 1, 1)

    def tint_after(neutralise: float) -> float:
        image = (120.0 + texture + blue_tint).clamp(0, 255)
        ToneNormaliser(1.0, "cpu", neutralise)(image)
        return float(image.mean(dim=(2, 3))[0, 2] - image.mean(dim=(2, 3))[0, :2].mean())

    assert tint_after(0.0) == pytest.approx(30.0, abs=2)  # within the natural range: kept
    assert tint_after(0.5) == pytest.approx(15.0, abs=2)


def test_chroma_floor_lifts_a_dull_picture_colours_and_leaves_a_vivid_one():
    import torch

    from dreamgraph.nodes.dream.tone import ToneNormaliser

    rng = np.random.default_rng(1)
    weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)

    def spread(image: torch.Tensor) -> float:
        chroma = image - (image * weights).sum(1, keepdim=True)
        return float((chroma - chroma.mean(dim=(2, 3), keepdim=True)).square().sum(1).mean().sqrt())

    def before_after(colour: float, floor: float) -> tuple[float, float]:
        image = torch.from_numpy(120 + rng.normal(0, 30, (1, 1, 64, 64)) + rng.normal(0, colour, (1, 3, 64, 64)))
        image = image.float().clamp(0, 255)
        before = spread(image)
        ToneNormaliser(1.0, "cpu", chroma_floor=floor)(image)
        return before, spread(image)

    dull, lifted = before_after(8.0, 32.0)
    assert dull < 20 and lifted == pytest.approx(32.0, abs=2), "a dull picture is lifted to the floor"
    dull, kept = before_after(8.0, 0.0)
    assert kept == pytest.approx(dull, rel=0.05), "no floor: left as it is"
    vivid, kept = before_after(30.0, 32.0)
    assert vivid > 40 and kept == pytest.approx(vivid, rel=0.05), "a vivid picture keeps its colours"


def test_keep_state_carries_adams_moments_across_keyframes(lite0):
    steps = []
    for keep in (False, True):
        dreamer = Dreamer(DreamSettings(width=64, height=64, steps_per_keyframe=3, keep_state=keep), model=lite0)
        dreamer.set_targets([LEMON])
        dreamer.keyframe()
        dreamer.keyframe(zoom=1.05)
        steps.append(float(dreamer.update.rule.t))
    assert steps == [3.0, 6.0]
