"""Keep a dream's luminance, contrast and colour within the ranges of natural photos, keyframe after keyframe.

Class gradients have a strong picture-wide component: left alone over minutes of live zoom the picture drifts
to white, to black or to a tint. Once per keyframe the picture's mean luma and luma spread, and its chroma
spread and tint, are pulled into ranges measured on natural photos (`bench live`'s natural case), and
channels near 0 and 255 bend softly instead of clipping. Everything stays on the device (no host sync).

Before that, the palette: each subject's region of the picture has its tint moved towards the subject's
everyday colour (nodes/dream/palette.py), so a lemon is dreamed yellow and broccoli green. The gradient keeps
the shapes and the colour spread; only the region's mean colour and brightness are aimed.
"""

from __future__ import annotations

import torch

from .settings import DreamSettings

_LUMA = (0.299, 0.587, 0.114)
# Ranges of the prior's natural photos at stream size (luma mean 62-119, luma std 27-75, chroma std 18-47,
# median 35), kept a little inside so a dream reads well on a phone and a projector. The least chroma spread
# is a setting (`chroma_floor`).
LUMA_MEAN = (90.0, 150.0)
LUMA_STD = (40.0, 62.0)
CHROMA_STD_MAX = 56.0
TINT_MAX = 40.0  # largest picture-wide chroma offset while no subject colour is painted (a cast)
KNEE = 24.0  # channels within this of 0 or 255 bend towards 1 and 254 rather than clip


class ToneNormaliser:
    def __init__(
        self,
        rate: float,
        device,
        neutralise: float = 0.0,
        chroma_floor: float = DreamSettings.chroma_floor,
        palette: float = 0.0,
        palette_tint: float = DreamSettings.palette_tint,
    ):
        self.rate, self.neutralise, self.chroma_floor = rate, neutralise, chroma_floor
        self.palette, self.palette_tint = palette, palette_tint
        self.luma = torch.tensor(_LUMA, device=device).view(1, 3, 1, 1)
        self._regions: torch.Tensor | None = None
        self._shares: torch.Tensor | None = None
        self._hues: torch.Tensor | None = None
        self._lumas: torch.Tensor | None = None

    def paint(self, regions: torch.Tensor, colours: list[tuple[int, int, int] | None]) -> None:
        """Aim region k (soft weights (k, H, W) in 0..1) at colours[k] (sRGB; None leaves its colour be).

        Where regions overlap (several subjects over the whole picture) they share the pull, so the picture
        moves to the mean of their colours and never overshoots."""
        regions = regions / regions.sum(dim=0, keepdim=True).clamp(min=1.0)
        keep = [k for k, colour in enumerate(colours) if colour is not None]
        if not keep:
            self._regions = self._shares = self._hues = self._lumas = None
            return
        rgb = torch.tensor([colours[k] for k in keep], dtype=torch.float32, device=self.luma.device)
        luma = (rgb * self.luma.view(1, 3)).sum(1, keepdim=True)
        chroma = rgb - luma
        # a lemon is a light yellow, not an olive: the region's brightness is aimed too, within natural photos'
        self._hues = chroma / chroma.norm(dim=1, keepdim=True).clamp(min=1e-3)  # unit length: the tint is live
        self._lumas = luma[:, 0].clamp(*LUMA_MEAN)
        self._regions = regions[keep].to(self.luma.device)
        self._shares = self._regions / self._regions.sum(dim=(1, 2), keepdim=True).clamp(min=1e-6)

    def __call__(self, image: torch.Tensor) -> None:
        """Move `image` (1, 3, H, W, 0..255) in place `palette` of the way to its subjects' colours, then
        `rate` of the way to its normalised self."""
        painting = self.palette > 0 and self._hues is not None
        if painting:
            luma = (image * self.luma).sum(1, keepdim=True)
            tints = torch.einsum("nchw,khw->kc", image - luma, self._shares)
            lumas = torch.einsum("nchw,khw->k", luma, self._shares)
            # the luma term is the same on every channel: it moves brightness only
            aim = self.palette_tint * self._hues - tints + (self._lumas - lumas)[:, None]
            shift = torch.einsum("kc,khw->chw", aim, self._regions)
            image.add_(shift[None], alpha=self.palette).clamp_(0.0, 255.0)
        if self.rate <= 0:
            return
        luma = (image * self.luma).sum(1, keepdim=True)
        chroma = image - luma
        mean, std = luma.mean(), luma.std().clamp(min=1e-3)
        luma = mean.clamp(*LUMA_MEAN) + (luma - mean) * (std.clamp(*LUMA_STD) / std)
        tint = chroma.mean(dim=(2, 3), keepdim=True)
        spread = chroma - tint
        chroma_std = spread.square().sum(1).mean().sqrt().clamp(min=1e-3)
        # a subject's own colour may be stronger than a cast, which fades to TINT_MAX once no colour is painted
        most = max(TINT_MAX, self.palette_tint) if painting else TINT_MAX
        tint = tint * ((1.0 - self.neutralise) * most / tint.norm().clamp(min=most))
        target = luma + tint + spread * (chroma_std.clamp(self.chroma_floor, CHROMA_STD_MAX) / chroma_std)
        image.lerp_(_soft_clip(target), self.rate)


def _soft_clip(x: torch.Tensor) -> torch.Tensor:
    """Identity inside [KNEE, 255 - KNEE]; beyond, tanh curves that approach 1 and 254 and never reach them."""
    lo, hi, room = KNEE, 255.0 - KNEE, KNEE - 1.0
    x = torch.where(x > hi, hi + room * torch.tanh((x - hi) / room), x)
    return torch.where(x < lo, lo - room * torch.tanh((lo - x) / room), x)
