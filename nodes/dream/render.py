"""Dreaming: the step loop (forward to the logit map, backward to the image, update) and keyframes.

`Dreamer` holds the model and the image on the device; `keyframe()` moves the image by the video's zoom and
rotation, runs steps_per_keyframe steps and copies the result to the host once. Inside the step loop nothing
touches the host, so on CUDA a whole step is captured in a CUDA graph and replayed.
`dream()` is the one-call version for scripts and the CLI.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .models import SpatialClassifier, load_model
from .objective import ClassObjective, class_loss, same_weights
from .palette import class_colour
from .prior import PatchPrior, PriorParams
from .settings import DreamSettings
from .tone import ToneNormaliser
from .transform import Jitter, gaussian_blur, keyframe_motion, zoom_rotate
from .update import StepBasis, Update

log = logging.getLogger(__name__)
MAX_TARGETS = 8
# settings that need a new model / new image-sized state / only a new scalar
MODEL_KEYS = {"model", "weights", "pretrained", "device", "channels_last", "dtype"}
_STATE_KEYS = {
    "width",
    "height",
    "glance_width",
    "glance_thumbnail",
    "glance_grey",
    "update",
    "prior_scales",
    "prior_stride",
    "prior_path",
    "jitter",
    "zoom_jitter",
    "blur_jitter",
    "decorrelate_colour",
    "fourier_decay",
    "cuda_graphs",
    "compile",
}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but torch sees no CUDA device")
    return torch.device(name)


def to_tensor(image: np.ndarray, width: int, height: int, device) -> torch.Tensor:
    """HxWx3 uint8 -> (1, 3, height, width) float32 on the 0..255 scale."""
    if image.ndim != 3 or image.shape[2] < 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {image.shape}")
    x = torch.from_numpy(np.ascontiguousarray(image[..., :3])).to(device).permute(2, 0, 1)[None].float()
    if x.shape[-2:] != (height, width):
        x = F.interpolate(x, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    return x.clamp_(0, 255).contiguous()


def to_uint8(image: torch.Tensor, out: np.ndarray | None = None) -> np.ndarray:
    """(1, 3, H, W) 0..255 -> HxWx3 uint8 on the host, into `out` when given (no new host array)."""
    pixels = image[0].round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0)
    if out is None:
        return pixels.contiguous().cpu().numpy()
    torch.from_numpy(out).copy_(pixels)
    return out


class Dreamer:
    """A model plus an image on the device, stepped keyframe by keyframe towards target classes.

    A model passed in is moved to the device and its weights are cast to the compute dtype in place."""

    def __init__(self, settings: DreamSettings | None = None, model: SpatialClassifier | None = None):
        self.settings = settings or DreamSettings()
        self.targets: ClassObjective | None = None
        self.last_step_ms = 0.0
        self._model = model
        self._setup_model()
        self._scalars()
        self._build(image=None)

    # ---- construction -------------------------------------------------------------------------------------
    def _setup_model(self) -> None:
        s = self.settings
        self.device = resolve_device(s.device)
        self.cuda = self.device.type == "cuda"
        if s.seed is not None:
            torch.manual_seed(s.seed)
        if self.cuda:
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        model = self._model if self._model is not None else load_model(s.model, s.weights, s.pretrained)
        self.model = model.to(self.device)
        self.amp_dtype = torch.bfloat16 if (s.dtype == "bfloat16" or (s.dtype == "auto" and self.cuda)) else None
        # Weights in the compute dtype, cast once here rather than by autocast in every step (its cache must
        # stay off for CUDA graphs): for VGG that is 0.8 GB of memory traffic a step. Buffers (the input
        # normalisation) stay float32.
        with torch.no_grad():
            for weight in self.model.parameters():
                weight.data = weight.data.to(self.amp_dtype or torch.float32)
        self.channels_last = self.cuda and s.channels_last
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)

    def _scalars(self) -> None:
        """Settings that change live without touching a captured graph: device scalars updated in place."""
        s = self.settings
        self._step_size = torch.tensor(float(s.step_size), device=self.device)
        self._strength = torch.tensor(float(s.prior_strength), device=self.device)
        self._other = torch.tensor(float(s.other_weight), device=self.device)
        self._animal = torch.zeros((), device=self.device)  # set with the targets: zero when one is an animal
        self._glance = torch.tensor(float(s.glance), device=self.device)
        self.tone = ToneNormaliser(s.normalise, self.device, s.neutralise, s.chroma_floor, s.palette, s.palette_tint)

    def _build(self, image: torch.Tensor | None) -> None:
        """(Re)allocate everything sized by the image; keep the current picture (resampled) if there is one."""
        s = self.settings
        if s.width < self.model.min_size or s.height < self.model.min_size:
            raise ValueError(
                f"model {s.model} needs images of at least {self.model.min_size}x{self.model.min_size}"
                f", got {s.width}x{s.height}"
            )
        if image is None:
            image = (128.0 + s.init_noise * torch.randn(1, 3, s.height, s.width, device=self.device)).clamp_(0, 255)
        elif image.shape[-2:] != (s.height, s.width):
            image = F.interpolate(image, size=(s.height, s.width), mode="bilinear", align_corners=False).clamp_(0, 255)
        self.image = image.contiguous()
        self.prior = PatchPrior(PriorParams.load(s.prior_path), s.prior_scales, s.prior_stride).to(self.device)
        self.jitter = Jitter(s.jitter, s.height, s.width, self.device, s.zoom_jitter, s.blur_jitter)
        basis = StepBasis(s.height, s.width, self.device, s.decorrelate_colour, s.fourier_decay)
        self.update = Update(s.update, self.image, self._step_size, basis)
        with torch.no_grad(), self._autocast():
            h, w = self.model(self._model_input(self.image)).shape[-2:]
        self._ids = torch.zeros(MAX_TARGETS, dtype=torch.long, device=self.device)
        self._masks = torch.zeros(MAX_TARGETS, h, w, device=self.device)
        self._glance_size = self._thumbnail_size = None
        glance_width = min(s.width, max(self.model.min_size, s.glance_width))  # VGG's fc layers need 224 px
        through_thumbnail = 0 < s.glance_thumbnail < glance_width
        if 0 < s.glance_width and (glance_width < s.width or through_thumbnail):  # else it is the raw view
            self._glance_size = (max(self.model.min_size, round(s.height * glance_width / s.width)), glance_width)
            if through_thumbnail:
                self._thumbnail_size = (max(1, round(s.height * s.glance_thumbnail / s.width)), s.glance_thumbnail)
            with torch.no_grad(), self._autocast():
                gh, gw = self.model(self._model_input(self._shrink(self.image))).shape[-2:]
            self._glance_masks = torch.zeros(MAX_TARGETS, gh, gw, device=self.device)
        self._graph = None
        self._graph_key = None
        # compiled lazily at the first step (the slow one); dynamic=False: one kernel set per image size
        self._compiled_loss = torch.compile(self._loss, dynamic=False) if s.compile else None
        if self.targets is not None:
            self._load_targets()

    def _autocast(self):
        # no cast cache: a CUDA graph must not capture casts that live outside it (the weights are cast already)
        return torch.autocast(
            self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None, cache_enabled=False
        )

    def _model_input(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    # ---- public control -----------------------------------------------------------------------------------
    def set_image(self, image: np.ndarray | None) -> None:
        """Start from a photo (resized to the dream size) or, with None, from grey noise."""
        s = self.settings
        if image is None:
            fresh = (128.0 + s.init_noise * torch.randn(1, 3, s.height, s.width, device=self.device)).clamp_(0, 255)
        else:
            fresh = to_tensor(image, s.width, s.height, self.device)
        self.image.copy_(fresh)  # in place: a captured graph keeps pointing at self.image

    def set_targets(self, class_ids, weights=None, layout: str | None = None) -> None:
        """Aim at new classes (ValueError for ids outside 0..999, an empty list or too many targets)."""
        targets = self._objective(class_ids, weights, layout or self.settings.layout)
        if len(targets.class_ids) > MAX_TARGETS:
            raise ValueError(f"at most {MAX_TARGETS} targets at once, got {len(targets.class_ids)}")
        self.targets = targets
        self._load_targets()

    def _objective(self, class_ids, weights, layout: str) -> ClassObjective:
        s = self.settings
        return ClassObjective(class_ids, weights, layout, s.other_weight, s.animal_weight)

    def _load_targets(self) -> None:
        n = len(self.targets.class_ids)
        self._animal.fill_(self.targets.animal_weight)
        self._ids.zero_()
        self._ids[:n] = torch.tensor(self.targets.class_ids, device=self.device)
        self._masks.zero_()
        self._masks[:n] = self.targets.weighted_masks(*self._masks.shape[-2:]).to(self.device)
        if self._glance_size is not None:
            self._glance_masks.zero_()
            self._glance_masks[:n] = self.targets.weighted_masks(*self._glance_masks.shape[-2:]).to(self.device)
        # each subject's colour over its region, from the coarse logit-map masks scaled up: soft borders
        coarse = self.targets.masks(*self._masks.shape[-2:])
        coarse = coarse / coarse.amax(dim=(1, 2), keepdim=True)
        regions = F.interpolate(coarse[:, None], size=self.image.shape[-2:], mode="bilinear", align_corners=False)
        self.tone.paint(regions[:, 0], [class_colour(c) for c in self.targets.class_ids])

    def configure(self, **changes) -> None:
        """Apply setting changes live, rebuilding only what they touch; on error nothing changes.

        A different model or device needs a new Dreamer (see `replaced`)."""
        old = self.settings
        new = old.with_(**changes)
        changed = {k for k in changes if getattr(old, k) != getattr(new, k)}
        if changed & MODEL_KEYS:
            raise ValueError(f"{', '.join(sorted(changed & MODEL_KEYS))} need a new Dreamer: use replaced()")
        self.settings = new
        if changed & _STATE_KEYS:
            try:
                self._build(self.image)
            except Exception:
                self.settings = old
                raise
        self._step_size.fill_(float(self.settings.step_size))
        self._strength.fill_(float(self.settings.prior_strength))
        self._other.fill_(float(self.settings.other_weight))
        if self.targets is not None:  # the objective's weights follow the settings too
            t = self.targets
            self.targets = self._objective(t.class_ids, t.weights, t.layout)
            self._animal.fill_(self.targets.animal_weight)
        self._glance.fill_(float(self.settings.glance))
        self.tone.rate, self.tone.neutralise = self.settings.normalise, self.settings.neutralise
        self.tone.chroma_floor, self.tone.palette = self.settings.chroma_floor, self.settings.palette
        self.tone.palette_tint = self.settings.palette_tint

    def replaced(self, **changes) -> "Dreamer":
        """A new Dreamer with changed settings (any, model and device included) that carries on with this one's
        picture and targets; raises (leaving this one usable) if the new model cannot be loaded."""
        fresh = Dreamer(self.settings.with_(**changes))
        fresh.set_image(to_uint8(self.image))
        if self.targets is not None:
            fresh.set_targets(self.targets.class_ids, self.targets.weights, self.targets.layout)
        return fresh

    # ---- the step -----------------------------------------------------------------------------------------
    def _shrink(self, image: torch.Tensor) -> torch.Tensor:
        """The glance view: the picture shrunk, through the thumbnail when there is one, in grey when asked."""
        if self._thumbnail_size is None:
            view = F.interpolate(image, size=self._glance_size, mode="area")
        else:
            thumbnail = F.interpolate(image, size=self._thumbnail_size, mode="area")
            view = F.interpolate(thumbnail, size=self._glance_size, mode="bilinear", align_corners=False)
        if self.settings.glance_grey:  # the channels' plain mean: its gradient moves no colour
            view = view.mean(dim=1, keepdim=True).expand_as(view)
        return view

    def _loss(
        self, image: torch.Tensor, masks: torch.Tensor, glance_masks: torch.Tensor, prior_on: bool, glance_on: bool
    ) -> torch.Tensor:
        # the flags are arguments, not read from the settings, so a compiled loss specialises on them only
        # (reading the float weights would recompile for every new value)
        with self._autocast():
            loss = class_loss(self.model(self._model_input(image)), self._ids, masks, self._other, self._animal)
            if glance_on:
                small = self.model(self._model_input(self._shrink(image)))
                loss = loss + self._glance * class_loss(small, self._ids, glance_masks, self._other, self._animal)
        if prior_on:
            loss = loss + self._strength * self.prior(image)
        return loss

    def _gradient(self, x: torch.Tensor, compiled: bool) -> torch.Tensor:
        """d loss / d x at a jittered view of x, each target asked for over its region as the view shows it."""
        glance_on = self._glance_on
        fixed = (self._masks, self._glance_masks) if glance_on else (self._masks,)
        xj, *moved = self.jitter(x, fixed)
        masks = [same_weights(m, f) for m, f in zip(moved, fixed)]
        args = (xj, masks[0], masks[-1], self._prior_on, glance_on)
        if compiled and self._compiled_loss is not None:
            try:  # around backward too: inductor compiles the backward at its first call
                return torch.autograd.grad(self._compiled_loss(*args), x)[0]
            except Exception as e:  # no C++ compiler / triton, an op inductor refuses: stay correct, just slower
                log.warning("torch.compile failed (%s: %s); running eagerly", type(e).__name__, e)
                self._compiled_loss = None
                self.settings = self.settings.with_(compile=False)
        return torch.autograd.grad(self._loss(*args), x)[0]

    def _step(self, compiled: bool = True) -> None:
        """One optimisation step; compiled=False runs the loss eagerly even when compile is on (FLOP counting)."""
        grad = self._gradient(self.image.detach().requires_grad_(True), compiled)
        with torch.no_grad():
            self.update(self.image, grad)

    @property
    def _prior_on(self) -> bool:
        return self.settings.prior_strength > 0

    @property
    def _glance_on(self) -> bool:
        return self._glance_size is not None and self.settings.glance > 0

    def _capture(self) -> None:
        """Record one whole step (forward, backward to the image, update) as a CUDA graph."""
        saved = self.image.clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up outside the capture: cudnn autotuning, lazy allocations
            for _ in range(3):
                self._step()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._step()
        self.image.copy_(saved)
        self.update.reset()
        self._graph = graph

    def run_steps(self, steps: int) -> None:
        """Run optimisation steps on the device; returns without waiting for them."""
        if self.targets is None:
            raise RuntimeError("no targets: call set_targets() first")
        if self.cuda and self.settings.cuda_graphs:
            key = (self._prior_on, self._glance_on)
            if self._graph is None or self._graph_key != key:
                try:
                    self._capture()
                    self._graph_key = key
                except Exception as e:  # some op refused capture: stay correct, just slower
                    log.warning("CUDA graph capture failed (%s); running eagerly", e)
                    self.settings = self.settings.with_(cuda_graphs=False)
                    self._graph = None
            if self._graph is not None:
                for _ in range(steps):
                    self._graph.replay()
                return
        for _ in range(steps):
            self._step()

    def keyframe(
        self, steps: int | None = None, zoom: float = 1.0, rotation: float = 0.0, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Zoom/rotate the current image, reset the optimiser, run the steps; return the result as HxWx3 uint8
        (written into `out` when given). The same as begin_keyframe, run_steps and finish_keyframe."""
        start = time.perf_counter()
        steps = self.settings.steps_per_keyframe if steps is None else steps
        self.begin_keyframe(zoom, rotation)
        self.run_steps(steps)
        frame = self.finish_keyframe(out)
        self.last_step_ms = 1000.0 * (time.perf_counter() - start) / max(steps, 1)
        return frame

    def begin_keyframe(self, zoom: float = 1.0, rotation: float = 0.0) -> None:
        """Move the picture by the video's motion since the last keyframe and reset the optimiser (unless
        keep_state)."""
        with torch.no_grad():
            if zoom != 1.0 or rotation != 0.0:
                self.image.copy_(zoom_rotate(self.image, zoom, rotation))
            if self.settings.blur_sigma > 0:
                self.image.copy_(gaussian_blur(self.image, self.settings.blur_sigma))
        if not self.settings.keep_state:
            self.update.reset()

    def finish_keyframe(self, out: np.ndarray | None = None) -> np.ndarray:
        """Normalise the picture's tone and copy it to the host: the only host sync of a keyframe."""
        with torch.no_grad():
            self.tone(self.image)
        return to_uint8(self.image, out)

    def logits(self) -> torch.Tensor:
        """The current image's spatial logit map (for inspection and tests)."""
        with torch.no_grad(), self._autocast():
            return self.model(self._model_input(self.image)).float()


def octave_sizes(width: int, height: int, octaves: int, scale: float, min_size: int) -> list[tuple[int, int]]:
    sizes = []
    for k in reversed(range(max(1, octaves))):
        f = max(scale**k, 1.0)
        sizes.append((max(min_size, round(width / f)), max(min_size, round(height / f))))
    return sizes


def dream(
    image: np.ndarray | None,
    targets,
    settings: DreamSettings | None = None,
    weights=None,
    progress: Callable[[int, int], None] | None = None,
    model: SpatialClassifier | None = None,
) -> np.ndarray:
    """Dream `targets` (ImageNet class ids) into `image` (HxWx3 uint8, or None for noise); return HxWx3 uint8.

    Runs settings.steps steps in keyframes of settings.steps_per_keyframe, zooming between keyframes as the
    video would (zoom_per_s over period_s), coarse to fine over settings.octaves octaves. With a seed on the
    CPU it runs single-threaded: multi-threaded CPU kernels sum in varying order, and sign steps amplify that.
    """
    s = settings or DreamSettings()
    if s.seed is not None and resolve_device(s.device).type == "cpu":
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return _dream(image, targets, s, weights, progress, model)
        finally:
            torch.set_num_threads(threads)
    return _dream(image, targets, s, weights, progress, model)


def _dream(image, targets, s: DreamSettings, weights, progress, model) -> np.ndarray:
    model = model if model is not None else load_model(s.model, s.weights, s.pretrained)
    sizes = octave_sizes(s.width, s.height, s.octaves, s.octave_scale, model.min_size)
    dreamer = Dreamer(s.with_(width=sizes[0][0], height=sizes[0][1]), model=model)
    dreamer.set_image(image)
    dreamer.set_targets(targets, weights)
    zoom, rotation = keyframe_motion(s.zoom_per_s, s.rotation_per_s, s.period_s)
    per_octave = [s.steps // len(sizes) + (i < s.steps % len(sizes)) for i in range(len(sizes))]
    done, frame = 0, None
    for (w, h), steps in zip(sizes, per_octave):
        if (w, h) != (dreamer.settings.width, dreamer.settings.height):
            dreamer.configure(width=w, height=h)
        while steps > 0:
            n = min(s.steps_per_keyframe, steps)
            moving = done > 0
            frame = dreamer.keyframe(n, zoom if moving else 1.0, rotation if moving else 0.0)
            steps -= n
            done += n
            if progress:
                progress(done, s.steps)
    return frame if frame is not None else to_uint8(dreamer.image)
