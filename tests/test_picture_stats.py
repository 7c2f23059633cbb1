"""The picture figures of `bench live`, on synthetic images whose answers are known."""

import numpy as np
import pytest

from dreamgraph.nodes.dream.bench_live import SUBJECTS, centre_crop, drift, pooled, with_reprise
from dreamgraph.nodes.dream.judge import glance_views, regions
from dreamgraph.nodes.dream.picture import (
    clipped_share,
    colour_cast,
    colourfulness,
    distinctness,
    dominant_hue,
    hue_in,
    luminance,
    spectral_slope,
)


def flat(rgb, h=64, w=96):
    return np.broadcast_to(np.array(rgb, np.uint8), (h, w, 3)).copy()


def test_luminance_of_flat_colours():
    assert luminance(flat((0, 0, 0))) == 0
    assert luminance(flat((255, 255, 255))) == pytest.approx(255, abs=0.01)
    assert luminance(flat((0, 255, 0))) == pytest.approx(0.587 * 255, abs=0.01)


def test_clipped_share_counts_the_worst_channel():
    img = flat((128, 128, 128))
    img[:16, :, 2] = 255  # a quarter of the blue channel stuck at the top
    img[:8, :, 0] = 0  # an eighth of the red channel stuck at the bottom
    assert clipped_share(img) == pytest.approx(0.25)


def test_colourfulness_grey_is_zero_and_saturation_raises_it():
    assert colourfulness(flat((90, 90, 90))) == pytest.approx(0.0)
    half = flat((128, 128, 128))
    half[:, :48] = (200, 40, 40)
    assert colourfulness(half) > colourfulness(flat((150, 110, 110))) > 0


def test_colour_cast_signs():
    rg, yb = colour_cast(flat((200, 100, 100)))
    assert rg == pytest.approx(100) and yb == pytest.approx(50)
    rg, yb = colour_cast(flat((100, 100, 200)))
    assert rg == 0 and yb == pytest.approx(-100)


def test_spectral_slope_tells_noise_from_smooth_pictures():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (144, 256, 3)).astype(np.uint8)
    assert abs(spectral_slope(noise)) < 0.5
    # 1/f amplitude (power ~ f^-2), as natural photos have
    fy = np.fft.fftfreq(144)[:, None]
    fx = np.fft.rfftfreq(256)[None, :]
    amplitude = 1.0 / np.maximum(np.hypot(fx, fy), 1.0 / 256)
    field = np.fft.irfft2(amplitude * np.exp(2j * np.pi * rng.random(amplitude.shape)), s=(144, 256))
    grey = (128 + 40 * field / field.std()).clip(0, 255).astype(np.uint8)
    assert spectral_slope(np.repeat(grey[..., None], 3, axis=2)) == pytest.approx(-2.0, abs=0.35)


@pytest.mark.parametrize(
    "rgb, hue",
    [((220, 30, 30), 0), ((30, 200, 30), 120), ((30, 30, 220), 240), ((230, 230, 20), 60), ((240, 140, 20), 33)],
)
def test_dominant_hue_of_saturated_colours(rgb, hue):
    assert min(abs(dominant_hue(flat(rgb)) - hue), 360 - abs(dominant_hue(flat(rgb)) - hue)) < 2


def test_dominant_hue_ignores_grey_and_wraps_around_red():
    assert dominant_hue(flat((128, 128, 128))) is None
    img = flat((128, 128, 128))
    img[:, :20] = (230, 20, 60)  # crimson, just below 360
    img[:, 20:40] = (230, 60, 20)  # scarlet, just above 0
    assert hue_in(dominant_hue(img), 350, 10)
    assert hue_in(5.0, 330, 25) and not hue_in(120.0, 330, 25)


def test_distinctness_low_for_look_alikes_high_for_different_colours():
    haze = [flat((120, 130, 170)), flat((118, 131, 172)), flat((121, 128, 169))]
    varied = [flat((200, 40, 40)), flat((40, 180, 40)), flat((40, 40, 200))]
    assert distinctness(haze) < 0.1
    assert distinctness(varied) > 0.9


def test_drift_is_relative_change_between_the_first_and_the_last_span():
    steady = [{"luminance": 120.0, "colourfulness": 40.0, "spectral_slope": -2.5}] * 10
    assert drift(steady, 2) == 0
    rising = steady[:8] + [{"luminance": 180.0, "colourfulness": 40.0, "spectral_slope": -2.5}] * 2
    assert drift(rising, 2) == pytest.approx(0.5)
    assert drift(rising, 4) == pytest.approx(0.25)


def test_sequence_ends_with_its_first_quarter_again_a_fifth_of_the_run():
    """Drift then compares the same subjects minutes apart, not a dark subject with a light one."""
    sequence = with_reprise(SUBJECTS)
    reprise = len(sequence) - len(SUBJECTS)
    assert sequence[: len(SUBJECTS)] == SUBJECTS and sequence[-reprise:] == SUBJECTS[:reprise]
    assert 0.18 <= reprise / len(sequence) <= 0.22
    assert with_reprise(SUBJECTS[:1]) == SUBJECTS[:1] * 2


@pytest.mark.parametrize("shape", [(300, 451), (300, 600), (400, 300), (288, 512)])
def test_centre_crop_keeps_the_middle_of_any_photo_at_the_streams_aspect(shape):
    """A photo a little narrower than 16:9 once came out as one column smeared across the frame."""
    h, w = shape
    ramp = np.broadcast_to(np.linspace(0, 255, w)[None, :, None], (h, w, 3)).astype(np.uint8)
    frame = centre_crop(ramp, 128, 72)
    assert frame.shape == (72, 128, 3)
    row = frame[36, :, 0].astype(float)
    assert np.all(np.diff(row) >= 0) and row[-1] - row[0] > 0.5 * 255 * min(1.0, h * 16 / (w * 9))
    assert abs(row.mean() - 127.5) < 4  # centred


def test_glance_views_keep_the_size_and_remove_fine_texture():
    rng = np.random.default_rng(1)
    texture = rng.integers(0, 256, (90, 160, 3)).astype(np.uint8)
    for view in glance_views(texture):
        assert view.shape == texture.shape
        assert view.std() < texture.std() / 3


def test_top_bottom_bands_put_the_first_target_at_the_bottom():
    frame = np.zeros((10, 4, 3), np.uint8)
    frame[5:] = 1
    bottom, top = regions(frame, 2)
    assert bottom.min() == 1 and top.max() == 0


def test_judge_regions_follow_the_layout_the_targets_were_dreamed_in():
    frame = np.zeros((6, 8, 3), np.uint8)
    frame[:, 4:] = 1
    left, right = regions(frame, 2, "vertical")
    assert left.shape[:2] == right.shape[:2] == (6, 4)
    assert left.max() == 0 and right.min() == 1
    cells = regions(np.zeros((6, 8, 3), np.uint8), 4, "grid")
    assert [c.shape[:2] for c in cells] == [(3, 4)] * 4


def test_stream_encoder_round_trip_returns_the_chosen_frames_in_order(tmp_path):
    """Frames go through the stream's H.264 at its bitrate and come back decoded, the chosen ones only."""
    from dreamgraph.nodes.dream.bench_live import StreamEncoder

    encoder = StreamEncoder(96, 64, tmp_path)
    for level in range(10):
        encoder.write(flat((level * 20,) * 3))
    third, last = encoder.decoded([3, 9])
    assert third.shape == (64, 96, 3)
    assert abs(float(third.mean()) - 60) < 4 and abs(float(last.mean()) - 180) < 4


def test_live_run_judges_and_encodes_the_keyframes_scaled_to_the_view():
    """A dream smaller than the stream is judged as viewers get it: scaled up as the interpolator scales it."""
    from dreamgraph.nodes.dream.bench_live import run
    from dreamgraph.nodes.dream.judge import Judge
    from dreamgraph.nodes.dream.settings import DreamSettings

    judge = Judge.load("lite2")
    settings = DreamSettings.live("cpu", width=48, height=32, steps_per_keyframe=1, pretrained=False, seed=0)
    result = run(settings, SUBJECTS[:2], 2, judge, period_s=1.0, view=(96, 64))
    assert [h.frame.shape for h in result.holds] == [(64, 96, 3)] * 2
    assert len(result.encoded_ranks) == 2 and len(result.holds) == 2
    assert len(result.per_keyframe) == 6 and result.reprise_keyframes == 2, "the first subject again, described"
    smooth = np.abs(np.diff(result.holds[-1].frame.astype(float), axis=1)).mean()
    raw = np.abs(np.diff(result.holds[-1].frame[::2, ::2].astype(float), axis=1)).mean()
    assert smooth < raw, "scaled up bilinearly, neighbouring pixels differ less than the dream's own"


def test_seeded_runs_pool_into_one_set_of_figures():
    """Rates and medians are averaged over the runs; the bounds keep the worst run's extreme."""
    runs = [
        {"top5_rate": 0.5, "luminance_min": 70.0, "luminance_max": 150.0, "clipped_max": 0.01},
        {"top5_rate": 1.0, "luminance_min": 60.0, "luminance_max": 190.0, "clipped_max": 0.0},
    ]
    assert pooled(runs) == {"top5_rate": 0.75, "luminance_min": 60.0, "luminance_max": 190.0, "clipped_max": 0.01}
