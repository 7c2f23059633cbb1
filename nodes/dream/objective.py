"""The class objective on logits: raise each target's logit over its region, push every other class down.

loss = -sum_i w_i * mean(logit_i over region_i) + other_weight * mean(all logits)
       + animal_weight * mean(logsumexp(animal logits))    (only when no target is an animal)

The animal term is there because a classifier's strongest features are eyes and fur, and dreamed broccoli or
teapots grow eyes. It is a soft maximum over the animal classes at each cell of the logit map, so it pushes
down the animals that are showing, not all 398 a little.

Regions are soft masks over the logit map built from area overlap, so every region is non-empty even when
the map is smaller than the number of bands (a 64x64 image gives Lite0 a 2x2 map).
"""

from __future__ import annotations

import math

import torch

from ..common.constants import DEFAULT_LAYOUT, LAYOUTS, NUM_ANIMALS, NUM_CLASSES


def validate_targets(class_ids, weights=None, layout: str = "single") -> tuple[list[int], list[float]]:
    """Check a target request; return (class_ids, weights) with weights defaulting to 1.0 each."""
    ids = list(class_ids)
    if not ids:
        raise ValueError("no target classes given: need at least one ImageNet class id (0..999)")
    for c in ids:
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < NUM_CLASSES:
            raise ValueError(f"target class {c!r} is not an ImageNet class id (an integer 0..999)")
    ws = [1.0] * len(ids) if not weights else [float(w) for w in weights]
    if len(ws) != len(ids):
        raise ValueError(f"{len(ws)} weights given for {len(ids)} targets")
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose one of {LAYOUTS}")
    return ids, ws


def _band_overlap(cells: int, bands: int) -> torch.Tensor:
    """(bands, cells): the fraction of each of `cells` equal cells that lies in each of `bands` equal bands."""
    edges_c = torch.linspace(0, 1, cells + 1, dtype=torch.float64)
    edges_b = torch.linspace(0, 1, bands + 1, dtype=torch.float64)
    lo = torch.maximum(edges_b[:-1, None], edges_c[None, :-1])
    hi = torch.minimum(edges_b[1:, None], edges_c[None, 1:])
    return (hi - lo).clamp(min=0).float()


def region_masks(layout: str, n: int, h: int, w: int) -> torch.Tensor:
    """(n, h, w) masks, each summing to 1, so (mask * map).sum() is the mean of the map over the region."""
    ones_h, ones_w = torch.ones(1, h), torch.ones(1, w)
    if layout == "single" or n == 1:
        rows, cols = ones_h.expand(n, h), ones_w.expand(n, w)
    elif layout == "top-bottom":  # first target on the bottom band, the next ones above it
        rows, cols = _band_overlap(h, n).flip(0), ones_w.expand(n, w)
    elif layout == "horizontal":  # bands stacked top to bottom, first on top
        rows, cols = _band_overlap(h, n), ones_w.expand(n, w)
    elif layout == "vertical":  # bands left to right
        rows, cols = ones_h.expand(n, h), _band_overlap(w, n)
    elif layout == "grid":  # row-major cells of a 2x2 (or larger square) grid
        side = max(2, math.ceil(math.sqrt(n)))
        r, c = _band_overlap(h, side), _band_overlap(w, side)
        rows = torch.stack([r[i // side] for i in range(n)])
        cols = torch.stack([c[i % side] for i in range(n)])
    else:
        raise ValueError(f"unknown layout {layout!r}; choose one of {LAYOUTS}")
    masks = rows[:, :, None] * cols[:, None, :]
    return masks / masks.sum(dim=(1, 2), keepdim=True)


def class_loss(
    logits: torch.Tensor, ids: torch.Tensor, weighted_masks: torch.Tensor, other_weight, animal_weight=0.0
) -> torch.Tensor:
    """The objective for target ids (k,) and weight-scaled region masks (k, h, w); zero masks are unused slots.
    The weights may be device scalars, so changing them live needs no new graph and no host sync."""
    logits = logits.float()
    gain = torch.einsum("nkhw,khw->n", logits[:, ids], weighted_masks).mean()
    animal = torch.logsumexp(logits[:, :NUM_ANIMALS], dim=1).mean()
    return other_weight * logits.mean() + animal_weight * animal - gain


def same_weights(moved: torch.Tensor, weighted_masks: torch.Tensor) -> torch.Tensor:
    """Weighted region masks after a move (a crop), rescaled so each sums to its weight again: the mean over
    what is left of the region (nothing, for a region the move took out of view)."""
    total = moved.sum(dim=(1, 2), keepdim=True)
    return moved * (weighted_masks.sum(dim=(1, 2), keepdim=True) / total.clamp(min=1e-6))


class ClassObjective:
    """A validated target set, ready to score logit maps of any size."""

    def __init__(
        self,
        class_ids,
        weights=None,
        layout: str = DEFAULT_LAYOUT,
        other_weight: float = 1.0,
        animal_weight: float = 0.0,
    ):
        self.class_ids, self.weights = validate_targets(class_ids, weights, layout)
        self.layout = layout
        self.other_weight = float(other_weight)
        # the animal term is for objects and food: off when any target is an animal
        self.animal_weight = 0.0 if any(c < NUM_ANIMALS for c in self.class_ids) else float(animal_weight)

    def masks(self, h: int, w: int) -> torch.Tensor:
        return region_masks(self.layout, len(self.class_ids), h, w)

    def weighted_masks(self, h: int, w: int) -> torch.Tensor:
        return self.masks(h, w) * torch.tensor(self.weights)[:, None, None]

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        wm = self.weighted_masks(*logits.shape[-2:]).to(logits.device)
        ids = torch.tensor(self.class_ids, device=logits.device)
        return class_loss(logits, ids, wm, self.other_weight, self.animal_weight)
