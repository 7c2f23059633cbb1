"""Natural-image prior: a Student-t on whitened 8x8x3 patches, applied at several scales.

z = W @ (patch - mean) on the image's 0..255 - 128 scale; loss = mean(log(1 + (z - mu)^2 / v)). Noise has
large whitened responses, smooth natural texture small ones, so descending this loss removes the
high-frequency garbage that class gradients produce. Patches are a conv2d with the filters (no unfold).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ...graph.core.extras import import_extra, photo

PATCH = 8
DEFAULT_PRIOR = Path(__file__).parent / "data" / "default_prior.npz"
SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle")


@dataclass
class PriorParams:
    filters: np.ndarray  # (K, 3*8*8) whitening filters over (channel, y, x) patches
    mean: np.ndarray  # (3*8*8,) mean patch on the 0..255 - 128 scale
    mu: np.ndarray  # (K,) location of each whitened response
    v: float  # Student-t scale (the original used ~0.665)

    def save(self, path) -> None:
        np.savez(
            path,
            filters=self.filters.astype(np.float32),
            mean=self.mean.astype(np.float32),
            mu=self.mu.astype(np.float32),
            v=np.float32(self.v),
        )

    @classmethod
    def load(cls, path=None) -> "PriorParams":
        with np.load(path or DEFAULT_PRIOR) as f:
            return cls(f["filters"], f["mean"], f["mu"], float(f["v"]))


def skimage_photos() -> list[np.ndarray]:
    """scikit-image's bundled colour photographs (no download)."""
    images = [photo(name) for name in SKIMAGE_PHOTOS]
    return [(img[0] if isinstance(img, tuple) else img)[..., :3] for img in images]  # stereo: left view


def load_images(source: str) -> list[np.ndarray]:
    """'skimage' = the bundled photos; otherwise every readable image in the directory."""
    if source == "skimage":
        return skimage_photos()
    import cv2

    images = []
    for path in sorted(Path(source).iterdir()):
        img = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
        if img is not None:
            images.append(img[..., ::-1])
    if not images:
        raise ValueError(f"no readable images in {source}")
    return images


def _random_patches(images, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 192) patches on the 0..255 - 128 scale from the images and their 2x and 4x reductions."""
    pyramid = []
    for img in images:
        x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float() - 128.0
        for s in (1, 2, 4):
            xs = F.avg_pool2d(x, s) if s > 1 else x
            if min(xs.shape[-2:]) > 2 * PATCH:
                pyramid.append(xs[0].numpy())
    per = -(-count // len(pyramid))
    out = []
    for x in pyramid:
        _, h, w = x.shape
        ys = rng.integers(0, h - PATCH + 1, per)
        xs = rng.integers(0, w - PATCH + 1, per)
        idx_y = ys[:, None, None] + np.arange(PATCH)[None, :, None]
        idx_x = xs[:, None, None] + np.arange(PATCH)[None, None, :]
        out.append(x[:, idx_y, idx_x].transpose(1, 0, 2, 3).reshape(per, -1))
    return np.concatenate(out)[:count]


def fit_prior(images, patches: int = 200_000, eps: float = 1.0, seed: int = 0) -> PriorParams:
    """ZCA-whiten random 8x8x3 patches and fit a Student-t to the whitened responses (deterministic per seed)."""
    stats = import_extra("scipy.stats", "prior")
    rng = np.random.default_rng(seed)
    p = _random_patches(images, patches, rng).astype(np.float64)
    mean = p.mean(0)
    cov = np.cov(p - mean, rowvar=False)
    lam, u = np.linalg.eigh(cov)
    # eps (variance on the 0..255 scale) keeps quantisation noise from being amplified without bound
    filters = (u / np.sqrt(np.maximum(lam, 0) + eps)) @ u.T
    z = (p - mean) @ filters.T
    mu = np.median(z, axis=0)
    sample = (z - mu).ravel()[rng.choice(z.size, 50_000, replace=False)]
    df, _, scale = stats.t.fit(sample, floc=0.0)
    return PriorParams(filters.astype(np.float32), mean.astype(np.float32), mu.astype(np.float32), float(df * scale**2))


class PatchPrior(nn.Module):
    """Multi-scale Student-t patch loss of an image on the 0..255 scale (N, 3, H, W)."""

    def __init__(self, params: PriorParams, scales=(1, 4, 8, 16, 32), stride: int = 1):
        super().__init__()
        w = torch.from_numpy(params.filters).float()
        k = w.shape[0]
        self.register_buffer("weight", w.view(k, 3, PATCH, PATCH).contiguous())
        # z - mu = W (p - mean) - mu, so the whole thing is one biased conv
        self.register_buffer("bias", -(w @ torch.from_numpy(params.mean).float()) - torch.from_numpy(params.mu))
        self.inv_v = 1.0 / params.v
        self.scales = tuple(scales)
        self.stride = stride

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = image - 128.0
        total, used = 0.0, 0
        level, level_scale = x, 1
        for s in sorted(self.scales):
            # Pool from the previous level, not the full image: the same averages (floor(floor(H/a)/b) equals
            # floor(H/ab)) at a fraction of the cost, since large pooling kernels are slow on GPUs.
            if s % level_scale == 0:
                level = F.avg_pool2d(level, s // level_scale) if s > level_scale else level
            else:
                level = F.avg_pool2d(x, s)
            level_scale, xs = s, level
            if min(xs.shape[-2:]) < PATCH:
                continue
            z = F.conv2d(xs, self.weight.to(xs.dtype), self.bias.to(xs.dtype), stride=max(1, self.stride // s))
            total = total + torch.log1p(z.float().square() * self.inv_v).mean()
            used += 1
        return total / max(used, 1)
