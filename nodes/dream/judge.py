"""Judging what a viewer recognises: an independent classifier ranks the subject on the picture, raw and at
a glance.

The dreaming net writes fine textures that a net of its own family also reads, while a viewer sees shapes and
colours, on a phone, after compression, across a room. So every recognition figure is also taken "at a
glance": on the picture blurred with sigma = 1 % of its width, and on a 48-pixel-wide thumbnail scaled back
up; the better of the two ranks counts.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from ..common.constants import DEFAULT_LAYOUT
from .models import MissingWeightsError, SpatialClassifier, load_model
from .objective import region_masks

JUDGE_SHORT_SIDE = 260  # EfficientNet-Lite2's own input size
TOP_K = 5


def glance_views(frame: np.ndarray) -> list[np.ndarray]:
    """The frame blurred with sigma = 1 % of its width, and as a 48-pixel-wide thumbnail scaled back up."""
    h, w = frame.shape[:2]
    blurred = cv2.GaussianBlur(frame, (0, 0), 0.01 * w)
    thumb = cv2.resize(frame, (48, max(1, round(48 * h / w))), interpolation=cv2.INTER_AREA)
    return [blurred, cv2.resize(thumb, (w, h), interpolation=cv2.INTER_LINEAR)]


def regions(frame: np.ndarray, n: int, layout: str = DEFAULT_LAYOUT) -> list[np.ndarray]:
    """Where each of n targets is dreamed under `layout`: the box around its region mask (objective.py)."""
    if n == 1:
        return [frame]
    out = []
    for mask in region_masks(layout, n, *frame.shape[:2]) > 0:
        rows, cols = mask.any(dim=1).nonzero()[:, 0], mask.any(dim=0).nonzero()[:, 0]
        out.append(frame[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    return out


class Judge:
    """Ranks classes on a picture with a classifier that did not dream it (rank 0 = its first choice)."""

    def __init__(self, model: SpatialClassifier, name: str, device: str = "cpu"):
        self.model, self.name, self.device = model.to(device), name, torch.device(device)

    @classmethod
    def load(cls, name: str, device: str = "cpu") -> "Judge | None":
        """The judge `name`, or None when its weights are not on this machine."""
        try:
            return cls(load_model(name), name, device)
        except MissingWeightsError:
            return None

    def logits(self, image: np.ndarray) -> torch.Tensor:
        h, w = image.shape[:2]
        scale = JUDGE_SHORT_SIDE / min(h, w)
        if scale < 1:
            image = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        x = torch.from_numpy(np.ascontiguousarray(image)).to(self.device).permute(2, 0, 1)[None].float()
        with torch.no_grad():
            return self.model(x).mean(dim=(2, 3))[0].cpu()

    def ranks(self, frame: np.ndarray, class_ids, layout: str = DEFAULT_LAYOUT) -> list[int]:
        """The rank of each target in its own region of `layout`."""
        out = []
        for region, c in zip(regions(frame, len(class_ids), layout), class_ids):
            logits = self.logits(region)
            out.append(int((logits > logits[c]).sum()))
        return out

    def glance_ranks(self, frame: np.ndarray, class_ids, layout: str = DEFAULT_LAYOUT) -> list[int]:
        """Each target's better rank over the glance views of the whole frame."""
        per_view = [self.ranks(view, class_ids, layout) for view in glance_views(frame)]
        return [min(r) for r in zip(*per_view)]


def recognised(ranks: list[int]) -> bool:
    return all(r < TOP_K for r in ranks)
