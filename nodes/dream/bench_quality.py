"""Quality benchmark: dream a fixed set of ImageNet classes and let a stronger, independent net judge them.

EfficientNet-Lite2 (not the dreaming net) classifies each dream; for two-target top-bottom pairs it classifies
each half on its own. The same classes are dreamed by a plain baseline (no prior, no motion, no tricks) in the
same run, so the ratio shows what the prior and the tricks buy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .models import SpatialClassifier, load_model
from .render import dream
from .settings import DreamSettings

# animals, food, objects, scenes
CLASSES = (309, 980, 1, 130, 31, 323, 107, 292, 340, 84, 301, 327,        # bee volcano goldfish flamingo ...
           963, 949, 954, 951, 937, 953, 967, 933,                          # pizza strawberry banana lemon ...
           889, 849, 879, 437, 483, 812, 970, 973)                          # violin teapot ... alp coral reef
# (bottom, top) pairs for the top-bottom layout
PAIRS = ((963, 980), (340, 970), (1, 973), (309, 985), (954, 953), (130, 975),
         (292, 437), (327, 107), (951, 949), (849, 967), (301, 937), (812, 483))


@dataclass
class Score:
    top1: float
    top5: float
    images: list


def judge_topk(judge: SpatialClassifier, image: np.ndarray, k: int = 5) -> list[int]:
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float()
    with torch.no_grad():
        return judge(x).mean(dim=(2, 3))[0].topk(k).indices.tolist()


def score_singles(settings: DreamSettings, classes, judge, model) -> Score:
    top1 = top5 = 0
    images = []
    for c in classes:
        img = dream(None, [c], settings.with_(layout="single"), model=model)
        ranked = judge_topk(judge, img)
        top1 += ranked[0] == c
        top5 += c in ranked
        images.append(img)
    return Score(top1 / len(classes), top5 / len(classes), images)


def score_pairs(settings: DreamSettings, pairs, judge, model) -> Score:
    """A pair (bottom, top) scores per half: is the half's target the judge's top-1 / in its top-5?"""
    top1 = top5 = 0
    images = []
    for bottom, top in pairs:
        img = dream(None, [bottom, top], settings.with_(layout="top-bottom"), model=model)
        h = img.shape[0] // 2
        for half, c in ((img[h:], bottom), (img[:h], top)):
            ranked = judge_topk(judge, half)
            top1 += ranked[0] == c
            top5 += c in ranked
        images.append(img)
    return Score(top1 / (2 * len(pairs)), top5 / (2 * len(pairs)), images)


def contact_sheet(rows: list[list[np.ndarray]], cols: int = 12, gap: int = 4) -> np.ndarray:
    """Tile equally sized images into one picture, each list of `rows` starting on a new line."""
    tiles = []
    for images in rows:
        for i in range(0, len(images), cols):
            line = list(images[i:i + cols])
            line += [np.zeros_like(images[0])] * (cols - len(line))
            tiles.append(np.concatenate([np.pad(t, ((gap, gap), (gap, gap), (0, 0))) for t in line], axis=1))
    return np.concatenate(tiles, axis=0)


def run(settings: DreamSettings, classes=CLASSES, pairs=PAIRS, judge_name: str = "lite2"):
    """Score the settings and their plain baseline; returns {case: (score, baseline_score)}."""
    model = load_model(settings.model, settings.weights, settings.pretrained)
    judge = load_model(judge_name)
    results = {}
    for case, fn, items in (("single", score_singles, classes), ("pair", score_pairs, pairs)):
        if items:
            results[case] = (fn(settings, items, judge, model), fn(settings.plain(), items, judge, model))
    return results
