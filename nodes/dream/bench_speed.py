"""Optimizer speed benchmark: the Dreamer's step loop against a plain fp32 eager torch.optim.Adam loop."""

from __future__ import annotations

import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from .objective import ClassObjective
from .prior import PatchPrior, PriorParams
from .render import Dreamer
from .settings import DreamSettings

TARGETS = [309, 980]  # bee below a volcano


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_dreamer(dreamer: Dreamer, keyframes: int) -> dict:
    """Steps and keyframes per second of the real loop (zoom and host copy included)."""
    spk = dreamer.settings.steps_per_keyframe
    start = time.perf_counter()
    dreamer.keyframe(zoom=1.0)  # warm-up: compilation, graph capture, cudnn autotuning
    first_keyframe_s = time.perf_counter() - start
    if dreamer.cuda:
        torch.cuda.reset_peak_memory_stats(dreamer.device)
    start = time.perf_counter()
    for _ in range(keyframes):
        dreamer.keyframe(zoom=1.01)  # ends with a host copy, so the clock covers the device work
    elapsed = time.perf_counter() - start
    out = {
        "ms_per_step": 1000 * elapsed / (keyframes * spk),
        "keyframes_per_s": keyframes / elapsed,
        "first_keyframe_s": first_keyframe_s,
        "compiled": dreamer.settings.compile,
        "cuda_graphs": dreamer.cuda and dreamer.settings.cuda_graphs,
    }  # as run: both fall back on failure
    with FlopCounterMode(display=False) as counter:
        dreamer._step(compiled=False)  # FLOPs are counted on the eager ops
    out["gflop_per_step"] = counter.get_total_flops() / 1e9
    if dreamer.cuda:
        out["peak_mem_gib"] = torch.cuda.max_memory_allocated(dreamer.device) / 2**30
    return out


def measure_reference(settings: DreamSettings, model, steps: int) -> float:
    """ms per step of the obvious loop: fp32 eager, torch.optim.Adam on the image, same loss, no graphs."""
    device = torch.device(model.scale.device)
    image = (128 + 8 * torch.randn(1, 3, settings.height, settings.width, device=device)).requires_grad_(True)
    objective = ClassObjective(
        TARGETS, layout=settings.layout, other_weight=settings.other_weight, animal_weight=settings.animal_weight
    )
    prior = PatchPrior(PriorParams.load(settings.prior_path), settings.prior_scales, settings.prior_stride).to(device)
    opt = torch.optim.Adam([image], lr=settings.step_size)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = objective(model(image)) + settings.prior_strength * prior(image)
        loss.backward()
        opt.step()
        with torch.no_grad():
            image.clamp_(0, 255)

    for _ in range(2):
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return 1000 * (time.perf_counter() - start) / steps


def run(settings: DreamSettings, steps: int) -> tuple[str, torch.device, dict, float]:
    """Returns (case, the device it ran on, our figures, reference ms/step)."""
    dreamer = Dreamer(settings)
    dreamer.set_targets(TARGETS)
    keyframes = max(1, steps // settings.steps_per_keyframe)
    ours = measure_dreamer(dreamer, keyframes)
    dreamer.model.float().to(memory_format=torch.contiguous_format)  # the reference runs the model as plain fp32
    ref_ms = measure_reference(settings, dreamer.model, max(2, steps // 2))
    device = dreamer.device
    case = f"{settings.model}-{settings.width}x{settings.height}-{device.type}"
    if settings.compile:
        case += "-compile"
    if dreamer.cuda and not settings.cuda_graphs:
        case += "-nographs"
    return case, device, ours, ref_ms


def kernel_table(settings: DreamSettings, steps: int, rows: int = 25) -> str:
    """The most expensive operators/kernels of eager steps (no CUDA graph hides them), as torch.profiler's table."""
    from torch.profiler import ProfilerActivity, profile

    dreamer = Dreamer(settings.with_(cuda_graphs=False))
    dreamer.set_targets(TARGETS)
    dreamer.keyframe(steps=2)  # warm-up: cudnn autotuning, compilation
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dreamer.cuda else [])
    with profile(activities=activities) as prof:
        dreamer.keyframe(steps=steps)
    key = "self_cuda_time_total" if dreamer.cuda else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=rows)
