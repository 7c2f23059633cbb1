"""Every knob of the dream engine in one dataclass, so a run is fully described by one value.

Defaults were chosen with `dreamgraph bench live` (the live loop at stream size over minutes, judged raw and
at a glance, with natural photos' statistics beside it) and checked with `dreamgraph bench quality` (stills):
Adam stepping in the decorrelated-colour 1/f Fourier basis, the glance objective, the per-keyframe tone
normaliser and the patch prior (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, fields, replace

from ..common.constants import DEFAULT_LAYOUT

MODELS = ("lite0", "lite2", "vgg16", "vgg19")
UPDATE_RULES = ("sign", "adam")
DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "bfloat16")

# The live loop's picture size and steps per keyframe on each device, chosen with `bench live`. On a CPU the
# picture is about Lite0's own input size (224 px), where the network draws one subject across the whole picture,
# and a step takes a third of 512x288's time, so the subject gets twice the steps per keyframe in less time before
# the zoom carries it away: better at a glance and after H.264, worse raw (docs/BENCHMARKS.md, session 9).
LIVE_SIZES = {"cpu": (256, 144, 20), "cuda": (1024, 576, 10)}  # width, height, steps_per_keyframe


@dataclass
class DreamSettings:
    # model
    model: str = "lite0"  # lite0 | lite2 | vgg16 | vgg19
    weights: str | None = None  # explicit weights file (VGG); None = package / torch hub cache
    pretrained: bool = True  # False = random weights (tests and speed benches only)
    # image
    width: int = 512
    height: int = 288
    # optimisation
    steps: int = 200  # total steps for dream()
    steps_per_keyframe: int = 10
    update: str = "adam"  # adam: Adam on the pixels; sign: the 2015 original's effective rule
    step_size: float = 4.0  # pixels on the 0..255 scale per sign step (Adam: its learning rate)
    # objective
    layout: str = DEFAULT_LAYOUT
    other_weight: float = 1.0  # weight of "+ mean of all logits" (pushes every other class down)
    animal_weight: float = 1.0  # weight of "+ the strongest animal logit" when no target is an animal:
    # keeps eyes and fur, a classifier's strongest features, out of broccoli and teapots. 1 beat 0 and 0.3
    # live by eye (no dreamed eye left on nine subjects) and raw; 0.09 lower at a glance, all on animal
    # subjects, which it leaves alone (docs/BENCHMARKS.md, session 12)
    glance: float = 6.0  # weight of the same objective on the whole picture at most
    glance_width: int = 256  # this wide (about the model's own input size, so the whole picture is one
    # view of one subject) and seen
    glance_thumbnail: int = 48  # through a thumbnail this wide, scaled back up: only what a thumbnail
    # shows counts, shapes, not texture (0 = no thumbnail; glance_width 0 = all off)
    glance_grey: bool = False  # and in grey, so the glance shapes the subject and the full view colours
    # it: it kept lemons and oranges from turning blue in a short run, but lost at a glance in bench live
    # image prior (Student-t on whitened 8x8x3 patches)
    prior_strength: float = 3.0  # 3 beat 1 live on CUDA and CPU (docs/BENCHMARKS.md, session 6)
    prior_scales: tuple[int, ...] = (1, 4, 8, 16, 32)
    prior_stride: int = 8  # patch stride in pixels (scale s: stride/s); jitter moves the grid so
    # every patch is seen. 8 vs 4: faster, mixed quality (docs/BENCHMARKS.md)
    prior_path: str | None = None  # .npz from `dreamgraph prior fit`; None = the shipped default
    # motion between keyframes (the video zoom)
    zoom_per_s: float = 0.05
    rotation_per_s: float = 0.0  # degrees per second
    period_s: float = 1.0  # seconds of video one keyframe stands for when dreaming offline
    # quality tricks
    jitter: int = 16  # random roll by up to this many pixels every step (0 = off)
    zoom_jitter: float = 0.6  # and a random zoom into the view by up to this share every step, so the subject
    # must read at every scale the video zoom shows it at: 0.6 beat 0, 0.15, 0.25, 0.4 and 1.0 live on the CPU,
    # raw and at a glance (docs/BENCHMARKS.md, session 10; 0 = off)
    blur_jitter: float = 0.0  # and a Gaussian blur of the view, sigma random up to this share of the
    # width, every step: only what survives blur (shapes, colours) raises the logits (0 = off)
    octaves: int = 1  # dream(): coarse-to-fine octaves (1 = off)
    octave_scale: float = 1.4
    decorrelate_colour: bool = True  # step in ImageNet's decorrelated colour basis
    fourier_decay: float = 1.5  # step in Fourier coefficients scaled by 1/f^decay (0 = pixels)
    blur_sigma: float = 0.0  # Gaussian blur of the image after each keyframe (0 = off)
    normalise: float = 0.5  # per keyframe, pull luminance, contrast and colour this far into
    # natural photos' ranges (nodes/dream/tone.py; 0 = off)
    neutralise: float = 0.0  # and aim the picture-wide tint this share closer to grey, so a tint the
    # subject does not keep up fades (per keyframe it shrinks by normalise x neutralise)
    palette: float = 0.5  # and first move each subject's region this share of the way to the subject's
    # everyday colour and lightness, read from its class description (nodes/dream/palette.py; 0 = off)
    palette_tint: float = 50.0  # how strong that colour is (chroma, 0..255); while it is painted, picture-wide
    # tints up to this are kept, where a cast is held to tone.TINT_MAX. 50 beat 35 live: more colourful
    # (above natural photos), more recognisable at a glance; a little less raw and after H.264, above the
    # goals (docs/BENCHMARKS.md, session 13)
    chroma_floor: float = 24.0  # and lift the picture's colour spread (chroma std, 0..255) to at least
    # this (natural photos: 18-47, median 35)
    keep_state: bool = False  # carry the optimiser's state (Adam's moments) from keyframe to keyframe
    # instead of resetting it: the picture moves only a little between keyframes
    init_noise: float = 8.0  # std of the noise around grey 128 for an image started from nothing
    # execution
    device: str = "auto"
    dtype: str = "auto"  # auto = bfloat16 autocast on CUDA, float32 on CPU
    channels_last: bool = True  # CUDA only (slower on this CPU)
    cuda_graphs: bool = True  # capture a whole step in a CUDA graph (CUDA only)
    compile: bool = False  # torch.compile the loss and its backward: faster steps, a slow first one
    seed: int | None = None

    def __post_init__(self):
        if self.update not in UPDATE_RULES:
            raise ValueError(f"update must be one of {UPDATE_RULES}, got {self.update!r}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {self.device!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {self.dtype!r}")
        if self.width < 16 or self.height < 16:
            raise ValueError(f"image size must be at least 16x16, got {self.width}x{self.height}")
        if self.steps_per_keyframe < 1:
            raise ValueError("steps_per_keyframe must be >= 1")
        self.prior_scales = tuple(int(s) for s in self.prior_scales)

    def with_(self, **changes) -> "DreamSettings":
        return replace(self, **changes)

    def plain(self) -> "DreamSettings":
        """The baseline of the quality bench: the same model and steps, no prior, no motion, no tricks."""
        return replace(
            self,
            prior_strength=0.0,
            zoom_per_s=0.0,
            rotation_per_s=0.0,
            jitter=0,
            zoom_jitter=0.0,
            octaves=1,
            decorrelate_colour=False,
            fourier_decay=0.0,
            blur_sigma=0.0,
            normalise=0.0,
            palette=0.0,
            glance=0.0,
        )

    @classmethod
    def live(cls, device: str, **changes) -> "DreamSettings":
        """The live loop's settings on `device` ("cpu" or "cuda"): its size and steps per keyframe there."""
        width, height, steps = LIVE_SIZES[device]
        return cls(device=device, **{"width": width, "height": height, "steps_per_keyframe": steps, **changes})

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def parse_assignments(cls, assignments: list[str]) -> dict:
        """'name=value' texts (as typed on a command line) -> typed setting changes; ValueError names the culprit."""
        hints = typing.get_type_hints(cls)
        changes = {}
        for text in assignments:
            name, sep, value = text.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in hints:
                raise ValueError(f"expected NAME=VALUE with NAME one of {', '.join(cls.names())}; got {text!r}")
            changes[name] = _parse_value(hints[name], value.strip(), name)
        return changes


def _parse_value(hint, text: str, name: str):
    optional = typing.get_origin(hint) is not tuple and type(None) in typing.get_args(hint)
    if optional and text.lower() in ("", "none"):
        return None
    kind = next(k for k in typing.get_args(hint) if k is not type(None)) if optional else hint
    try:
        if kind is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ValueError(text)
            return text.lower() in ("true", "1", "yes", "on")
        if typing.get_origin(kind) is tuple:
            return tuple(int(part) for part in text.split(",") if part.strip())
        return kind(text)
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a valid {getattr(kind, '__name__', kind)}") from None
