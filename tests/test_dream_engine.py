"""The dream engine's parts on the CPU at tiny sizes: objective, prior, motion, update rule, Dreamer."""

import numpy as np
import pytest
import torch

from dreamgraph.graph.core.extras import photo
from dreamgraph.nodes.common.constants import LAYOUTS
from dreamgraph.nodes.common.motion import KEYFRAME_MAX_ROTATION, KEYFRAME_ZOOM_RANGE
from dreamgraph.nodes.dream.models import load_model
from dreamgraph.nodes.dream.objective import (
    ClassObjective,
    class_loss,
    region_masks,
    same_weights,
    validate_targets,
)
from dreamgraph.nodes.dream.prior import DEFAULT_PRIOR, PatchPrior, PriorParams, fit_prior, skimage_photos
from dreamgraph.nodes.dream.render import Dreamer, dream
from dreamgraph.nodes.dream.settings import DreamSettings
from dreamgraph.nodes.dream.transform import Jitter, gaussian_blur, keyframe_motion, zoom_rotate

BEE, VOLCANO = 309, 980


@pytest.fixture(scope="module")
def lite0():
    return load_model("lite0")


# ---- objective -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("n,h,w", [(1, 2, 2), (2, 2, 2), (3, 1, 5), (4, 9, 16)])
def test_region_masks_are_normalised_and_never_empty(layout, n, h, w):
    masks = region_masks(layout, n, h, w)
    assert masks.shape == (n, h, w)
    assert torch.allclose(masks.sum(dim=(1, 2)), torch.ones(n))
    assert (masks >= 0).all()


def test_top_bottom_puts_the_first_target_at_the_bottom():
    masks = region_masks("top-bottom", 2, 4, 3)
    assert masks[0, 2:].sum() == pytest.approx(1.0) and masks[0, :2].sum() == 0
    assert masks[1, :2].sum() == pytest.approx(1.0)
    grid = region_masks("grid", 4, 4, 4)
    assert grid[1, :2, 2:].sum() == pytest.approx(1.0)  # second target top-right


@pytest.mark.parametrize(
    "ids,message", [([], "no target"), ([1000], "0..999"), ([-1], "0..999"), (["bee"], "0..999"), ([1.5], "0..999")]
)
def test_bad_targets_are_clear_value_errors(ids, message):
    with pytest.raises(ValueError, match=message):
        validate_targets(ids)
    with pytest.raises(ValueError, match="layout"):
        validate_targets([1], layout="diagonal")
    with pytest.raises(ValueError, match="weights"):
        validate_targets([1, 2], weights=[1.0])


def test_objective_raises_target_logit_in_its_region_only(lite0):
    """Descending the top-bottom objective lifts the bee on the bottom rows of the logit map, the volcano on
    the top rows, each much more than in the other half and more than the other classes. Sign steps amplify
    tiny differences, so single runs vary a lot: the gains are averaged over a few random starts."""
    objective = ClassObjective([BEE, VOLCANO], layout="top-bottom", other_weight=1.0)
    gains = []
    for seed in range(3):
        torch.manual_seed(seed)
        x = (128 + 8 * torch.randn(1, 3, 192, 64)).requires_grad_(True)  # tall, so the halves are far apart
        with torch.no_grad():
            before = lite0(x)
        for _ in range(10):
            (grad,) = torch.autograd.grad(objective(lite0(x)), x)
            with torch.no_grad():
                x -= 2.0 * grad.sign()
        with torch.no_grad():
            gains.append(lite0(x) - before)  # (1, 1000, 6, 2): compare the outer thirds
    gain = torch.stack(gains).mean(0)
    bee_bottom, bee_top = gain[0, BEE, 4:].mean(), gain[0, BEE, :2].mean()
    volcano_top, volcano_bottom = gain[0, VOLCANO, :2].mean(), gain[0, VOLCANO, 4:].mean()
    assert bee_bottom > bee_top + 3.0
    assert volcano_top > volcano_bottom + 3.0
    assert gain[0].mean() < min(bee_bottom, volcano_top) - 3.0


def test_animal_logits_are_pushed_down_only_when_no_target_is_an_animal():
    BROCCOLI, TEAPOT = 937, 849
    logits = torch.zeros(1, 1000, 2, 2)
    logits[:, :398] = -30.0  # the animal classes, all far down but a tiger (292) showing at one cell
    logits[:, 292, 0, 0] = 8.0
    masks = region_masks("single", 1, 2, 2)
    plain = class_loss(logits, torch.tensor([BROCCOLI]), masks, 1.0)
    strongest = (8.0 + 3 * (np.log(398) - 30.0)) / 4  # the animals' soft maximum per cell, averaged over cells
    assert class_loss(logits, torch.tensor([BROCCOLI]), masks, 1.0, 2.0) == pytest.approx(
        plain.item() + 2.0 * strongest, abs=1e-3
    )
    assert ClassObjective([BROCCOLI, TEAPOT], animal_weight=2.0).animal_weight == 2.0
    assert ClassObjective([BROCCOLI, BEE], animal_weight=2.0).animal_weight == 0.0  # a bee is an animal


def test_the_animal_weight_follows_targets_and_live_changes():
    d = Dreamer(DreamSettings(width=64, height=64, pretrained=False, animal_weight=2.0, device="cpu"))
    d.set_targets([937])
    assert d._animal.item() == 2.0
    d.set_targets([BEE])
    assert d._animal.item() == 0.0
    d.set_targets([VOLCANO])
    d.configure(animal_weight=0.5, other_weight=2.0)
    assert d._animal.item() == 0.5
    assert (d.targets.animal_weight, d.targets.other_weight) == (0.5, 2.0), "the objective follows the settings"


# ---- prior ---------------------------------------------------------------------------------------------------
def test_prior_is_lower_on_a_photo_than_on_noise():
    prior = PatchPrior(PriorParams.load(), stride=1)
    picture = torch.from_numpy(photo("chelsea")).permute(2, 0, 1)[None].float()
    noise = (128 + 40 * torch.randn_like(picture)).clamp(0, 255)
    assert prior(picture) < prior(noise) - 0.5


def test_prior_gradient_descent_smooths_noise():
    prior = PatchPrior(PriorParams.load(), stride=1)
    x = (128 + 30 * torch.randn(1, 3, 64, 64)).requires_grad_(True)
    start = prior(x).item()
    for _ in range(10):
        (grad,) = torch.autograd.grad(prior(x), x)
        with torch.no_grad():
            x -= 2.0 * grad.sign()
    assert prior(x).item() < start


def test_fit_prior_is_deterministic_and_round_trips(tmp_path):
    images = skimage_photos()[:2]
    a, b = fit_prior(images, patches=5000, seed=3), fit_prior(images, patches=5000, seed=3)
    assert np.allclose(a.filters, b.filters) and a.v == pytest.approx(b.v)
    assert a.filters.shape == (192, 192) and a.v > 0
    a.save(tmp_path / "p.npz")
    c = PriorParams.load(tmp_path / "p.npz")
    assert np.allclose(c.filters, a.filters) and c.v == pytest.approx(a.v, rel=1e-6)
    assert DEFAULT_PRIOR.is_file()


# ---- motion --------------------------------------------------------------------------------------------------
def test_zoom_keeps_size_and_moves_pixels_outward():
    img = torch.zeros(1, 3, 60, 80)
    img[:, :, 34, 50] = 255.0  # a dot right of and below the centre (30, 40)
    out = zoom_rotate(img, 1.5)
    assert out.shape == img.shape
    y, x = divmod(int(out[0, 0].argmax()), 80)
    assert x > 50 and y > 34  # further from the centre


def test_rotation_turns_about_the_centre():
    img = torch.zeros(1, 1, 64, 64)
    img[:, :, 32, 50] = 1.0  # on the right of the centre
    out = zoom_rotate(img, 1.0, 90.0)
    y, x = divmod(int(out[0, 0].argmax()), 64)
    assert abs(x - 32) <= 1 and abs(abs(y - 32) - 18) <= 1


def test_keyframe_motion_follows_the_period():
    assert keyframe_motion(0.05, 2.0, 0.0) == (1.0, 0.0)
    zoom, rot = keyframe_motion(0.05, 2.0, 2.0)
    assert zoom == pytest.approx(1.05**2) and rot == pytest.approx(4.0)


def test_keyframe_motion_stays_blendable_after_a_long_stall():
    assert keyframe_motion(-0.3, -90.0, 60.0) == (KEYFRAME_ZOOM_RANGE[0], -KEYFRAME_MAX_ROTATION)
    assert keyframe_motion(1.0, 0.0, 1e6) == (KEYFRAME_ZOOM_RANGE[1], 0.0), "no overflow on the way"


def test_jitter_is_a_roll():
    torch.manual_seed(1)
    img = torch.arange(2 * 5 * 7, dtype=torch.float32).view(1, 2, 5, 7)
    (out,) = Jitter(3, 5, 7, "cpu")(img)
    assert sorted(out.flatten().tolist()) == sorted(img.flatten().tolist())
    matches = [(dy, dx) for dy in range(5) for dx in range(7) if torch.equal(torch.roll(img, (dy, dx), (2, 3)), out)]
    assert len(matches) == 1


def test_zoom_jitter_magnifies_a_crop_that_stays_inside_the_picture():
    torch.manual_seed(2)
    ramp = torch.linspace(0, 255, 64).view(1, 1, 1, 64).expand(1, 3, 32, 64).contiguous()
    zoom = Jitter(0, 32, 64, "cpu", max_zoom=0.5)
    views = [zoom(ramp)[0] for _ in range(20)]
    assert all(v.shape == ramp.shape for v in views)
    # a magnified ramp changes more slowly per pixel: by 1/zoom, zoom from 1 to 1.5; no value from beyond the picture
    slopes = [float((v[0, 0, 16, 40] - v[0, 0, 16, 20]) / (ramp[0, 0, 16, 40] - ramp[0, 0, 16, 20])) for v in views]
    assert all(1 / 1.5 - 1e-3 <= s <= 1.0 + 1e-4 for s in slopes) and min(slopes) < 0.8
    assert all(float(v.min()) >= -1e-3 and float(v.max()) <= 255.0 + 1e-3 for v in views)


def test_zoom_jitter_moves_the_region_masks_with_the_view():
    """A crop into the top of a top-bottom picture is mostly the top subject's ground: its masks say so, and each
    target still weighs its weight over the part of its region in view."""
    torch.manual_seed(4)
    picture = torch.linspace(0, 1, 40).view(1, 1, 40, 1).expand(1, 1, 40, 8).contiguous()  # rows top to bottom
    masks = region_masks("top-bottom", 2, 40, 8)  # bottom subject first
    zoom = Jitter(0, 40, 8, "cpu", max_zoom=1.0)
    for _ in range(20):
        view, moved = zoom(picture, (masks,))
        moved = same_weights(moved, masks)
        totals = moved.sum(dim=(1, 2)).tolist()
        assert all(t == pytest.approx(1.0, abs=1e-4) or t < 1e-6 for t in totals) and max(totals) > 0.99
        # where the view shows the picture's lower half (value > 0.5) the bottom subject is asked for, and back
        lower = view[0, 0] > 0.55
        upper = view[0, 0] < 0.45
        assert bool((moved[0][lower] > 0).all()) and float(moved[0][upper].sum()) < 1e-6
        assert bool((moved[1][upper] > 0).all()) and float(moved[1][lower].sum()) < 1e-6


def test_blur_jitter_softens_by_a_random_amount_up_to_its_share_of_the_width():
    torch.manual_seed(3)
    checker = (torch.arange(64).view(1, -1) // 2 + torch.arange(32).view(-1, 1) // 2) % 2 * 255.0
    image = checker.expand(1, 3, 32, 64).contiguous()
    blur = Jitter(0, 32, 64, "cpu", max_blur=0.05)  # sigma up to 3.2 px
    contrasts = [float(blur(image)[0].std()) for _ in range(30)]
    assert all(c < float(image.std()) for c in contrasts), "every view is softer than the picture"
    assert max(contrasts) / min(contrasts) > 3, "and by a different amount each step"
    assert float(blur(image)[0].mean()) == pytest.approx(float(image.mean()), rel=1e-3), "colours are kept"
    assert min(contrasts) > float(gaussian_blur(image, 3.3).std()), "never past the largest sigma"


# ---- Dreamer and dream() --------------------------------------------------------------------------------------
# mechanics: no random jitter, so two gradients of one picture agree
TINY = dict(width=64, height=64, steps_per_keyframe=3, device="cpu", jitter=0, zoom_jitter=0.0, glance_thumbnail=0)


def _margin(d: Dreamer, cid: int) -> float:
    """What the objective raises: the class logit above the mean of all logits."""
    logits = d.logits()[0]
    return float(logits[cid].mean() - logits.mean())


def test_dreamer_keyframes_keep_pixels_in_range_and_raise_the_target(lite0):
    d = Dreamer(DreamSettings(**TINY, seed=0), model=lite0)
    d.set_targets([BEE], layout="single")
    start = _margin(d, BEE)
    frames = [d.keyframe(zoom=1.05) for _ in range(3)]
    assert all(f.shape == (64, 64, 3) and f.dtype == np.uint8 for f in frames)
    assert not np.array_equal(frames[0], frames[-1])
    assert _margin(d, BEE) > start + 1.0
    assert 0.0 <= float(d.image.min()) and float(d.image.max()) <= 255.0


def test_glance_thumbnail_leaves_only_what_a_thumbnail_shows(lite0):
    """A 2-pixel checkerboard survives the plain glance shrink (to half the width) but not the 16-pixel thumbnail."""
    size = {"width": 128, "height": 64, "glance_width": 64}
    checker = torch.from_numpy(np.indices((64, 128)).sum(0) // 2 % 2 * 255.0).float().expand(1, 3, 64, 128)
    plain = Dreamer(DreamSettings(**size, glance_thumbnail=0), model=lite0)._shrink(checker)
    thumb = Dreamer(DreamSettings(**size, glance_thumbnail=16), model=lite0)._shrink(checker)
    assert plain.shape == thumb.shape == (1, 3, 32, 64)
    assert float(plain.std()) > 50.0
    assert float(thumb.std()) < 5.0


def test_a_grey_glance_view_moves_no_colour(lite0):
    """The glance view in grey: its gradient is the same on R, G and B, so it shapes without tinting."""
    size = {"width": 128, "height": 64, "glance_width": 64, "glance_thumbnail": 32, "prior_strength": 0.0}
    picture = torch.from_numpy(photo("chelsea")[:64, :128].transpose(2, 0, 1).copy()).float()[None]
    for grey in (True, False):
        d = Dreamer(DreamSettings(**size, glance_grey=grey), model=lite0)
        d.set_targets([BEE])
        x = picture.clone().requires_grad_(True)
        loss = d._glance * class_loss(d.model(d._shrink(x)), d._ids, d._glance_masks, d._other)
        (grad,) = torch.autograd.grad(loss, x)
        spread = float((grad - grad.mean(dim=1, keepdim=True)).abs().max() / grad.abs().max())
        assert (spread < 1e-5) == grey, f"grey={grey}: colour share of the glance gradient {spread:.2g}"


def test_a_glance_view_as_wide_as_the_picture_counts_only_through_a_thumbnail(lite0):
    """A still no wider than glance_width is already one view of one subject: only a thumbnail adds a glance."""
    still = {"width": 128, "height": 64, "glance_width": 256}
    assert Dreamer(DreamSettings(**still, glance_thumbnail=0), model=lite0)._glance_size is None
    thumb = Dreamer(DreamSettings(**still, glance_thumbnail=16), model=lite0)
    assert thumb._glance_size == (64, 128) and thumb._glance_on


def test_dreamer_adam_rule_in_the_fourier_basis_runs(lite0):
    d = Dreamer(DreamSettings(**TINY, update="adam", fourier_decay=1.0, seed=0), model=lite0)
    d.set_targets([BEE, VOLCANO], layout="vertical")
    start = _margin(d, BEE)
    d.keyframe()
    assert _margin(d, BEE) > start


def test_dreamer_rejects_bad_targets_and_keeps_the_old_ones(lite0):
    d = Dreamer(DreamSettings(**TINY), model=lite0)
    d.set_targets([BEE])
    for bad in ([], [1000], list(range(9))):
        with pytest.raises(ValueError):
            d.set_targets(bad)
    assert d.targets.class_ids == [BEE]


def test_dreamer_resizes_live_and_keeps_the_picture(lite0):
    d = Dreamer(DreamSettings(**TINY, seed=0), model=lite0)
    d.set_image(photo("chelsea"))
    d.set_targets([BEE])
    d.configure(width=96, height=64, step_size=1.0, prior_strength=0.5)
    assert d.keyframe().shape == (64, 96, 3)
    with pytest.raises(ValueError):
        d.configure(width=16)  # below the model's minimum
    assert d.settings.width == 96
    with pytest.raises(ValueError, match="new Dreamer"):
        d.configure(model="vgg16")


def test_dream_from_photo_is_deterministic_with_a_seed(lite0):
    s = DreamSettings(**TINY, steps=6, seed=7, octaves=2)
    picture = photo("coffee")
    a = dream(picture, [BEE], s, model=lite0)
    b = dream(picture, [BEE], s, model=lite0)
    assert a.shape == (64, 64, 3)
    assert np.array_equal(a, b)


def _gradient(d: Dreamer, compiled: bool) -> torch.Tensor:
    return d._gradient(d.image.detach().requires_grad_(True), compiled)


def test_compiled_loss_matches_eager_and_follows_live_targets_and_strength(lite0):
    """torch.compile (inductor on this CPU) gives the eager gradient, and sees targets and prior strength changed
    in place after compilation instead of baking them in as constants."""
    d = Dreamer(DreamSettings(**TINY, compile=True, seed=0), model=lite0)
    d.set_image(photo("chelsea"))
    d.set_targets([BEE])
    for change in (lambda: None, lambda: d.set_targets([VOLCANO, BEE]), lambda: d.configure(prior_strength=5.0)):
        change()
        compiled, eager = _gradient(d, True), _gradient(d, False)
        assert d._compiled_loss is not None, "compilation fell back to eager"
        assert torch.allclose(compiled, eager, rtol=1e-3, atol=1e-4 * float(eager.abs().max()))
    frame = d.keyframe()
    assert frame.shape == (64, 64, 3) and d.settings.compile


def test_a_failing_compile_falls_back_to_eager(lite0, caplog):
    d = Dreamer(DreamSettings(**TINY, compile=True), model=lite0)
    d.set_targets([BEE])

    def refuse(*args):
        raise RuntimeError("inductor: no working C++ compiler")

    d._compiled_loss = refuse
    eager = _gradient(d, False)
    assert torch.equal(_gradient(d, True), eager)
    assert d._compiled_loss is None and not d.settings.compile
    assert "running eagerly" in caplog.text


def test_bfloat16_casts_weights_once_and_matches_autocast_of_float32_weights():
    from dreamgraph.nodes.dream.objective import class_loss

    reference = load_model("lite0")
    d = Dreamer(DreamSettings(**TINY, dtype="bfloat16"), model=load_model("lite0"))
    d.set_image(photo("chelsea"))
    d.set_targets([BEE])
    assert {w.dtype for w in d.model.parameters()} == {torch.bfloat16}
    assert {b.dtype for b in d.model.buffers()} == {torch.float32}
    x = d.image.detach().requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = class_loss(reference(x), d._ids, d._masks, d._other)
    (expected,) = torch.autograd.grad(loss + d._strength * d.prior(x), x)
    assert torch.allclose(d._gradient(x, compiled=False), expected, rtol=1e-2, atol=1e-2 * float(expected.abs().max()))
