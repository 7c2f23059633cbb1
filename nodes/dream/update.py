"""Pixel update rules and the basis they step in, all in place on device tensors (CUDA-graph friendly).

The rules step in a reparameterised basis, Lucid's x = C F^-1(S p): decorrelated colour (C) and Fourier
coefficients scaled by 1/f^decay (S). The pixels stay the state, so zoom and clipping stay exact; the
gradient is carried into the basis (dL/dp = S F C^T dL/dx), the rule normalises it there, and the step is
carried back. Normalising in the basis matters: Adam or a sign step on pixels would flatten every colour
direction and frequency to the same size, and a preconditioned pixel gradient is dominated by its
picture-wide brightness, which drifted live pictures to white or black and washed their colours out.

"sign" is the 2015 original's effective rule: its hand-written Adam had the betas swapped, so every step moved
each coordinate by ~step_size * sign(grad). "adam" is a plain Adam. State is reset at each keyframe and
pixels are clipped to [0, 255] after every step.
"""

from __future__ import annotations

import torch

# sqrt of ImageNet's RGB colour correlation (Lucid's color_correlation_svd_sqrt)
_COLOUR_SQRT = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])


class StepBasis:
    """x = C F^-1(S p): maps pixel gradients into the basis and steps in the basis back to pixels.

    C and S are scaled to unit root-mean-square gain and the FFT is orthonormal, so a step of size 1 on every
    coordinate of p moves pixels by about 1 (root mean square) on the 0..255 scale."""

    def __init__(self, height: int, width: int, device, decorrelate_colour: bool, fourier_decay: float):
        self.size = (height, width)
        self.colour = None
        if decorrelate_colour:
            self.colour = (_COLOUR_SQRT / _COLOUR_SQRT.square().sum(0).mean().sqrt()).to(device)
        self.spectrum = None
        if fourier_decay > 0:
            fy = torch.fft.fftfreq(height, device=device)[:, None]
            fx = torch.fft.rfftfreq(width, device=device)[None, :]
            s = torch.sqrt(fx * fx + fy * fy).clamp(min=1.0 / max(height, width)).pow(-fourier_decay)
            self.spectrum = s / s.square().mean().sqrt()

    def param_shape(self, image: torch.Tensor) -> tuple[int, ...]:
        n, c, h, w = image.shape
        return (n, c, h, w // 2 + 1, 2) if self.spectrum is not None else (n, c, h, w)

    def to_param(self, grad: torch.Tensor) -> torch.Tensor:
        if self.colour is not None:
            grad = torch.einsum("ji,njhw->nihw", self.colour, grad)
        if self.spectrum is not None:
            grad = torch.view_as_real(torch.fft.rfft2(grad, norm="ortho") * self.spectrum)
        return grad

    def to_pixels(self, step: torch.Tensor) -> torch.Tensor:
        if self.spectrum is not None:
            step = torch.fft.irfft2(torch.view_as_complex(step) * self.spectrum, s=self.size, norm="ortho")
        if self.colour is not None:
            step = torch.einsum("ij,njhw->nihw", self.colour, step)
        return step


class SignStep:
    """p <- p - step_size * sign(dL/dp); step_size is a device scalar so it can change live."""

    def __init__(self, shape, device, step_size: torch.Tensor):
        self.step_size = step_size

    def reset(self) -> None:
        pass

    def __call__(self, grad: torch.Tensor) -> torch.Tensor:
        return grad.sign() * self.step_size


class AdamStep:
    """Adam with in-place state (a device step counter, so it can live inside a CUDA graph)."""

    def __init__(self, shape, device, step_size: torch.Tensor, betas=(0.9, 0.999), eps: float = 1e-8):
        self.step_size = step_size
        self.b1, self.b2, self.eps = betas[0], betas[1], eps
        self.m = torch.zeros(shape, device=device)
        self.v = torch.zeros(shape, device=device)
        self.t = torch.zeros((), device=device)

    def reset(self) -> None:
        self.m.zero_()
        self.v.zero_()
        self.t.zero_()

    def __call__(self, grad: torch.Tensor) -> torch.Tensor:
        self.t.add_(1.0)
        self.m.lerp_(grad, 1.0 - self.b1)
        self.v.mul_(self.b2).addcmul_(grad, grad, value=1.0 - self.b2)
        m_hat = self.m / (1.0 - self.b1**self.t)
        v_hat = self.v / (1.0 - self.b2**self.t)
        return self.step_size * m_hat / (v_hat.sqrt() + self.eps)


class Update:
    """One pixel update: gradient into the basis, the rule's step there, back to pixels, clip to 0..255."""

    def __init__(self, rule: str, image: torch.Tensor, step_size: torch.Tensor, basis: StepBasis):
        rules = {"sign": SignStep, "adam": AdamStep}
        if rule not in rules:
            raise ValueError(f"unknown update rule {rule!r}; choose sign or adam")
        self.basis = basis
        self.rule = rules[rule](basis.param_shape(image), image.device, step_size)

    def reset(self) -> None:
        self.rule.reset()

    def __call__(self, image: torch.Tensor, grad: torch.Tensor) -> None:
        image.sub_(self.basis.to_pixels(self.rule(self.basis.to_param(grad)))).clamp_(0.0, 255.0)
