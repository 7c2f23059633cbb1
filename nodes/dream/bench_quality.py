"""Quality benchmark: dream a fixed set of ImageNet classes and let a stronger, independent net judge them.

EfficientNet-Lite2 (not the dreaming net) classifies each dream, raw and at a glance (nodes/dream/judge.py);
for a pair it classifies each target's region of the layout on its own. The same classes are dreamed by a plain
baseline (no prior, no motion, no tricks) in the same run, so the ratio shows what the prior and the tricks buy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .judge import TOP_K, Judge
from .models import load_model
from .render import dream
from .settings import DreamSettings

# animals, food, objects, scenes
CLASSES = (
    309,
    980,
    1,
    130,
    31,
    323,
    107,
    292,
    340,
    84,
    301,
    327,  # bee volcano goldfish flamingo ...
    963,
    949,
    954,
    951,
    937,
    953,
    967,
    933,  # pizza strawberry banana lemon ...
    889,
    849,
    879,
    437,
    483,
    812,
    970,
    973,
)  # violin teapot ... alp coral reef
# pairs, first target first: (bottom, top) in the default top-bottom layout
PAIRS = (
    (963, 980),
    (340, 970),
    (1, 973),
    (309, 985),
    (954, 953),
    (130, 975),
    (292, 437),
    (327, 107),
    (951, 949),
    (849, 967),
    (301, 937),
    (812, 483),
)


@dataclass
class Score:
    rates: dict[str, float]  # top1_rate, top5_rate and the same at a glance (`_glance`)
    images: list


def score(settings: DreamSettings, subjects, judge: Judge, model) -> Score:
    """Dream each subject (one id: the whole picture; a pair: laid out by the settings' layout, each target
    judged in its region) and count how often the judge puts each target first and in its top five, raw and at
    a glance."""
    raw, glance, images = [], [], []
    for ids in subjects:
        ids = list(ids) if isinstance(ids, tuple) else [ids]
        layout = "single" if len(ids) == 1 else settings.layout
        img = dream(None, ids, settings.with_(layout=layout), model=model)
        raw += judge.ranks(img, ids, layout)
        glance += judge.glance_ranks(img, ids, layout)
        images.append(img)

    rates = {
        f"top{k}_rate{suffix}": float(np.mean([r < k for r in ranks]))
        for suffix, ranks in (("", raw), ("_glance", glance))
        for k in (1, TOP_K)
    }
    return Score(rates, images)


def contact_sheet(rows: list[list[np.ndarray]], cols: int = 12, gap: int = 4) -> np.ndarray:
    """Tile equally sized images into one picture, each list of `rows` starting on a new line."""
    tiles = []
    for images in rows:
        for i in range(0, len(images), cols):
            line = list(images[i : i + cols])
            line += [np.zeros_like(images[0])] * (cols - len(line))
            tiles.append(np.concatenate([np.pad(t, ((gap, gap), (gap, gap), (0, 0))) for t in line], axis=1))
    return np.concatenate(tiles, axis=0)


def run(settings: DreamSettings, classes=CLASSES, pairs=PAIRS, judge_name: str = "lite2"):
    """Score the settings and their plain baseline; returns {case: (score, baseline_score)}."""
    model = load_model(settings.model, settings.weights, settings.pretrained)
    judge = Judge(load_model(judge_name), judge_name)
    results = {}
    for case, items in (("single", classes), ("pair", pairs)):
        if items:
            results[case] = (score(settings, items, judge, model), score(settings.plain(), items, judge, model))
    return results
