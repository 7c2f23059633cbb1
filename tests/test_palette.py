"""Subjects' everyday colours: read from the class descriptions, and painted over each subject's region."""

import colorsys

import numpy as np
import pytest
import torch

from dreamgraph.nodes.dream.palette import COLOURS, class_colour, colour_in
from dreamgraph.nodes.dream.settings import DreamSettings
from dreamgraph.nodes.dream.tone import TINT_MAX, ToneNormaliser

PALETTE_TINT = DreamSettings.palette_tint  # the default strength of a subject's colour
BROCCOLI, LEMON, BANANA, ZEBRA, VOLCANO, FLAMINGO, SILVER_SALMON = 937, 951, 954, 340, 980, 130, 391


def hue(rgb) -> float:
    return 360.0 * colorsys.rgb_to_hsv(*(c / 255 for c in rgb))[0]


def test_the_first_colour_a_description_names_is_the_subjects():
    assert colour_in("A bright yellow fruit among glossy green leaves.") == COLOURS["yellow"]


def test_a_colour_of_unripe_or_young_specimens_is_skipped():
    assert colour_in("Usually green when unripe and yellow when ripe.") == COLOURS["yellow"]
    assert colour_in("Grey in juveniles, brown in adults.") == COLOURS["brown"]
    assert colour_in("Brown, though young birds are grey.") == COLOURS["brown"]


def test_black_white_or_grey_named_first_means_no_hue():
    assert colour_in("Black and white stripes with a yellow tag.") is None


def test_two_colours_named_together_are_blended():
    red, orange = np.array(COLOURS["reddish"]), np.array(COLOURS["orange"])
    assert np.allclose(colour_in("Its coat is reddish orange."), (red + orange) // 2)


def test_no_colour_named_gives_none():
    assert colour_in("A vessel for brewing tea.") is None
    assert colour_in("") is None


@pytest.mark.parametrize(
    "class_id, lo, hi", [(BROCCOLI, 80, 160), (LEMON, 40, 70), (BANANA, 40, 70), (FLAMINGO, 300, 360)]
)
def test_real_classes_get_their_everyday_hue(class_id, lo, hi):
    assert lo <= hue(class_colour(class_id)) <= hi


def test_a_fish_named_like_a_colour_takes_its_own_colour():
    assert class_colour(SILVER_SALMON) is None  # "a salmon with a streamlined silver body": no hue, not pink


def test_real_classes_without_a_hue_get_none():
    assert class_colour(ZEBRA) is None  # black and white
    assert class_colour(VOLCANO) is None  # no colour named


LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


def direction(rgb) -> torch.Tensor:
    colour = torch.tensor(rgb, dtype=torch.float32)
    chroma = colour - (colour * LUMA.view(3)).sum()
    return chroma / chroma.norm()


def region_tint(image: torch.Tensor, rows: slice) -> torch.Tensor:
    chroma = image - (image * LUMA).sum(1, keepdim=True)
    return chroma[0, :, rows].mean(dim=(1, 2))


def test_the_palette_tints_each_region_towards_its_subjects_colour_and_keeps_the_texture():
    """Top band yellow, bottom band green, on a grey textured picture: each band's mean colour and lightness
    become its colour's; the texture's spread is kept."""
    rng = np.random.default_rng(0)
    image = (120 + torch.from_numpy(rng.normal(0, 20, (1, 3, 64, 64))).float()).clamp(0, 255)
    before = image.clone()
    regions = torch.zeros(2, 64, 64)
    regions[0, :32], regions[1, 32:] = 1.0, 1.0
    tone = ToneNormaliser(0.0, "cpu", palette=1.0)
    tone.paint(regions, [COLOURS["yellow"], COLOURS["green"]])
    tone(image)
    top, bottom = region_tint(image, slice(0, 32)), region_tint(image, slice(32, 64))
    assert top.norm() == pytest.approx(PALETTE_TINT, rel=0.1) and bottom.norm() == pytest.approx(PALETTE_TINT, rel=0.1)
    assert top[:2].mean() > top[2] + 30, "yellow: red and green over blue"
    assert bottom[1] > bottom[0] + 15 and bottom[1] > bottom[2] + 15, "green over red and blue"
    lumas = (image * LUMA).sum(1)[0]
    assert lumas[:32].mean() == pytest.approx(150, abs=3), "a light yellow: as light as natural photos allow"
    assert lumas[32:].mean() == pytest.approx(109, abs=3), "the green's own lightness"
    shift = (image - before)[:, :, 4:28]
    assert (shift - shift.mean(dim=(2, 3), keepdim=True)).abs().max() < 1.0, "the same shift for every pixel"


def test_subjects_sharing_the_whole_picture_move_it_to_their_mean_colour_and_never_overshoot():
    """Eight subjects over the whole picture (layout single): one move at palette 1 lands on their colours'
    mean; adding each one's pull instead would throw the picture eight times as far."""
    image = torch.full((1, 3, 16, 16), 120.0)
    tone = ToneNormaliser(0.0, "cpu", palette=1.0)
    tone.paint(torch.ones(8, 16, 16), [COLOURS["yellow"]] * 4 + [COLOURS["green"]] * 4)
    tone(image)
    alone = {}
    for name in ("yellow", "green"):
        single = torch.full((1, 3, 16, 16), 120.0)
        tone.paint(torch.ones(1, 16, 16), [COLOURS[name]])
        tone(single)
        alone[name] = single[0, :, 0, 0]
    assert torch.allclose(image[0, :, 0, 0], (alone["yellow"] + alone["green"]) / 2, atol=0.5)


def test_a_subject_without_a_colour_keeps_its_regions_colour():
    image = torch.full((1, 3, 32, 32), 120.0)
    image[:, 2] += 30  # a blue picture
    before = image.clone()
    tone = ToneNormaliser(0.0, "cpu", palette=1.0)
    tone.paint(torch.ones(1, 32, 32), [None])
    tone(image)
    assert torch.equal(image, before)


def test_a_painted_subjects_colour_may_be_stronger_than_a_cast():
    """The normaliser caps a picture-wide tint at TINT_MAX, but while a subject's colour is painted the cap is
    the palette's own tint: a lemon stays as yellow as the palette makes it. The next subject, with no colour
    of its own, gets the cast's cap again: the lemon's yellow does not linger at full strength."""
    strong = TINT_MAX + 10
    image = torch.full((1, 3, 32, 32), 120.0)
    image[:, :2] += 40  # a strong yellow cast
    tone = ToneNormaliser(1.0, "cpu", palette=1.0, palette_tint=strong)
    tone.paint(torch.ones(1, 32, 32), [COLOURS["yellow"]])
    tone(image)
    assert region_tint(image, slice(0, 32)).norm() == pytest.approx(strong, rel=0.05)
    tone.paint(torch.ones(1, 32, 32), [None])
    tone(image)
    assert region_tint(image, slice(0, 32)).norm() <= TINT_MAX + 0.5


def test_the_colours_strength_changes_live_without_repainting():
    from dreamgraph.nodes.dream.render import Dreamer

    dreamer = Dreamer(DreamSettings(width=64, height=64, pretrained=False, device="cpu", normalise=0.0, palette=1.0))
    dreamer.tone.paint(torch.ones(1, 16, 16), [COLOURS["green"]])
    dreamer.configure(palette_tint=20.0)
    image = torch.full((1, 3, 16, 16), 120.0)
    dreamer.tone(image)
    assert region_tint(image, slice(0, 16)).norm() == pytest.approx(20.0, rel=0.02)
    assert region_tint(image, slice(0, 16)) @ direction(COLOURS["green"]) == pytest.approx(20.0, rel=0.02)


def test_a_dreamed_pair_gets_each_subjects_colour_in_its_band():
    """broccoli (bottom) + lemon (top): each band's tint goes most of the way to its subject's colour (from
    grey noise the gradient alone gives tints of about 6 along them), and the bottom ends greener than the top."""
    from dreamgraph.nodes.dream.models import load_model
    from dreamgraph.nodes.dream.render import Dreamer

    dreamer = Dreamer(DreamSettings(width=96, height=96, steps_per_keyframe=2, seed=0), model=load_model("lite0"))
    dreamer.set_targets([BROCCOLI, LEMON], layout="top-bottom")
    for _ in range(6):
        dreamer.keyframe()
    top, bottom = region_tint(dreamer.image, slice(0, 40)), region_tint(dreamer.image, slice(56, 96))
    assert top @ direction(COLOURS["yellow"]) > 0.6 * PALETTE_TINT
    assert bottom @ direction(COLOURS["green"]) > 0.6 * PALETTE_TINT
    assert bottom[1] - bottom[0] > top[1] - top[0] + 20
