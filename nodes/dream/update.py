"""Pixel update rules and gradient preconditioners, all in place on device tensors (CUDA-graph friendly).

"sign" is the 2015 original's effective rule: its hand-written Adam had the betas swapped, so every step moved
each pixel by ~step_size * sign(grad) on the 0..255 scale. "adam" is a plain Adam on the pixels. State is reset
at each keyframe and pixels are clipped to [0, 255] after every step.
"""
from __future__ import annotations

import torch

# sqrt of ImageNet's RGB colour correlation (Lucid's color_correlation_svd_sqrt)
_COLOUR_SQRT = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])


class Preconditioner:
    """Gradient of a reparameterised image, mapped back to pixels.

    Optimising p with x = C p (decorrelated colour) or x = F^-1(S * p) (Fourier basis scaled by 1/f^decay)
    moves x by C C^T grad or F^-1(S^2 F grad) for a gradient step; applying that to the pixel gradient keeps
    the pixels as the state (so zoom and clipping stay exact) while steering steps towards natural statistics.
    """

    def __init__(self, height: int, width: int, device, decorrelate_colour: bool, fourier_decay: float):
        self.colour = None
        if decorrelate_colour:
            c = _COLOUR_SQRT @ _COLOUR_SQRT.T
            self.colour = (c / c.diagonal().mean()).to(device)
        self.spectrum = None
        if fourier_decay > 0:
            fy = torch.fft.fftfreq(height, device=device)[:, None]
            fx = torch.fft.rfftfreq(width, device=device)[None, :]
            f = torch.sqrt(fx * fx + fy * fy).clamp(min=1.0 / max(height, width))
            s2 = f.pow(-2.0 * fourier_decay)
            self.spectrum = s2 / s2.mean()

    @property
    def active(self) -> bool:
        return self.colour is not None or self.spectrum is not None

    def __call__(self, grad: torch.Tensor) -> torch.Tensor:
        if self.colour is not None:
            grad = torch.einsum("ij,njhw->nihw", self.colour, grad)
        if self.spectrum is not None:
            grad = torch.fft.irfft2(torch.fft.rfft2(grad) * self.spectrum, s=grad.shape[-2:])
        return grad


class SignStep:
    """x <- clip(x - step_size * sign(grad), 0, 255); step_size is a device scalar so it can change live."""

    def __init__(self, image: torch.Tensor, step_size: torch.Tensor):
        self.step_size = step_size

    def reset(self) -> None:
        pass

    def __call__(self, image: torch.Tensor, grad: torch.Tensor) -> None:
        image.sub_(grad.sign() * self.step_size).clamp_(0.0, 255.0)


class AdamStep:
    """Adam on the pixels with in-place state (a device step counter, so it can live inside a CUDA graph)."""

    def __init__(self, image: torch.Tensor, step_size: torch.Tensor, betas=(0.9, 0.999), eps: float = 1e-8):
        self.step_size = step_size
        self.b1, self.b2, self.eps = betas[0], betas[1], eps
        self.m = torch.zeros_like(image)
        self.v = torch.zeros_like(image)
        self.t = torch.zeros((), device=image.device)

    def reset(self) -> None:
        self.m.zero_()
        self.v.zero_()
        self.t.zero_()

    def __call__(self, image: torch.Tensor, grad: torch.Tensor) -> None:
        self.t.add_(1.0)
        self.m.lerp_(grad, 1.0 - self.b1)
        self.v.mul_(self.b2).addcmul_(grad, grad, value=1.0 - self.b2)
        m_hat = self.m / (1.0 - self.b1 ** self.t)
        v_hat = self.v / (1.0 - self.b2 ** self.t)
        image.sub_(self.step_size * m_hat / (v_hat.sqrt() + self.eps)).clamp_(0.0, 255.0)


def make_update(rule: str, image: torch.Tensor, step_size: torch.Tensor):
    if rule == "sign":
        return SignStep(image, step_size)
    if rule == "adam":
        return AdamStep(image, step_size)
    raise ValueError(f"unknown update rule {rule!r}; choose sign or adam")
