"""Warp geometry and the two back ends (OpenCV and torch) agreeing on it."""

import subprocess
import sys

import cv2
import numpy as np
import pytest

from dreamgraph.nodes.video.warp import CpuWarper, TorchWarper, make_warper, nvidia_driver_may_be_present, zoom_matrix


def smooth_image(h, w, seed=0):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def test_identity_when_sizes_match_and_no_motion():
    assert np.allclose(zoom_matrix(64, 48, 64, 48, 1.0, 0.0), [[1, 0, 0], [0, 1, 0]])


def test_cover_fit_fills_the_output():
    # A 100x50 source into 64x64 must be scaled by 64/50 so that no border shows.
    matrix = zoom_matrix(100, 50, 64, 64, 1.0, 0.0)
    assert matrix[0, 0] == pytest.approx(64 / 50)
    top_left = matrix @ [-0.5, -0.5, 1]
    bottom_right = matrix @ [99.5, 49.5, 1]
    assert top_left[1] == pytest.approx(-0.5) and bottom_right[1] == pytest.approx(63.5)
    assert top_left[0] < -0.5 and bottom_right[0] > 63.5


def test_zoom_magnifies_about_the_centre_and_rotation_is_counter_clockwise():
    matrix = zoom_matrix(101, 101, 101, 101, 2.0, 90.0)
    assert np.allclose(matrix @ [50, 50, 1], [50, 50])
    # A point right of the centre ends up above it (screen y grows downwards), twice as far.
    assert np.allclose(matrix @ [60, 50, 1], [50, 30])


def test_zooms_compose():
    image = smooth_image(96, 128)
    twice = cv2.warpAffine(
        cv2.warpAffine(image, zoom_matrix(128, 96, 128, 96, 1.1, 2.0), (128, 96)),
        zoom_matrix(128, 96, 128, 96, 1.1, 2.0),
        (128, 96),
    )
    once = cv2.warpAffine(image, zoom_matrix(128, 96, 128, 96, 1.21, 4.0), (128, 96))
    centre = (slice(20, 76), slice(20, 108))
    assert np.abs(twice[centre].astype(int) - once[centre]).mean() < 2.0


@pytest.mark.parametrize("weight", [0.0, 0.3, 1.0])
def test_torch_back_end_matches_opencv(weight):
    first, second = smooth_image(72, 128, 1), smooth_image(72, 128, 2)
    out_cv = np.empty((90, 160, 3), np.uint8)
    out_torch = np.empty_like(out_cv)
    cpu, torch_warper = CpuWarper(160, 90), TorchWarper(160, 90, device="cpu")
    args = (1.07, 3.0)
    cpu.render(out_cv, cpu.upload(first), 1.3, -2.0, cpu.upload(second), *args, weight)
    torch_warper.render(out_torch, torch_warper.upload(first), 1.3, -2.0, torch_warper.upload(second), *args, weight)
    assert np.abs(out_cv.astype(int) - out_torch).mean() < 1.5
    assert out_cv.std() > 10


def test_blend_weights_both_sources():
    warper = CpuWarper(32, 32)
    black, white = np.zeros((16, 16, 3), np.uint8), np.full((16, 16, 3), 200, np.uint8)
    out = np.empty((32, 32, 3), np.uint8)
    warper.render(out, black, 1.0, 0.0, white, 1.0, 0.0, 0.25)
    assert np.all(np.abs(out.astype(int) - 50) <= 1)


def test_make_warper_rejects_unknown_device_and_defaults_to_cpu_without_gpu():
    with pytest.raises(ValueError):
        make_warper(16, 16, "tpu")
    assert make_warper(16, 16, "cpu").device == "cpu"


@pytest.mark.skipif(nvidia_driver_may_be_present(), reason="this machine may have a CUDA GPU")
def test_auto_picks_the_cpu_without_importing_torch_where_there_is_no_nvidia_driver():
    code = (
        "import sys; import dreamgraph.nodes.interpolator; from dreamgraph.nodes.video.warp import make_warper; "
        "print(make_warper(16, 16, 'auto').device, 'torch' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["cpu", "False"], r.stderr
