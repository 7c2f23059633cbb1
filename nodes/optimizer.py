"""The optimizer node: dreams keyframes of the current target classes, zooming into the picture as it goes."""

from __future__ import annotations

import time

from ..graph.core.node import FramePool, Input, Node, Output, Param
from ..graph.core.preflight import Check
from .common.constants import LAYOUTS
from .common.imagenet import class_label
from .common.messages import Keyframe, Target
from .common.start_picture import start_picture
from .dream.settings import LIVE_SIZES, MODELS, UPDATE_RULES, DreamSettings
from .dream.tone import CHROMA_STD_MAX

# the parameters that are DreamSettings fields of the same name and meaning
_SETTING_PARAMS = (
    "model",
    "device",
    "width",
    "height",
    "steps_per_keyframe",
    "step_size",
    "prior_strength",
    "other_weight",
    "animal_weight",
    "zoom_per_s",
    "rotation_per_s",
    "layout",
    "update",
    "compile",
    "glance",
    "glance_width",
    "glance_thumbnail",
    "glance_grey",
    "zoom_jitter",
    "normalise",
    "palette",
    "palette_tint",
    "chroma_floor",
)
_DEFAULTS = DreamSettings()
START_PICTURE_PERIOD_S = 1.0  # the start picture is re-sent this often, for interpolators that join late


def _model_candidates(spec: str) -> list[str]:
    names = [name.strip() for name in spec.split("|") if name.strip()]
    unknown = [name for name in names if name not in MODELS]
    if not names or unknown:
        raise ValueError(f"models are {', '.join(MODELS)} (alternatives separated by '|'), not {spec!r}")
    return names


def _by_device(column: int) -> str:
    """The device defaults of one column of LIVE_SIZES, as the reference states them: '256 on CPU, 1024 on CUDA'."""
    return ", ".join(f"{sizes[column]} on {device.upper()}" for device, sizes in LIVE_SIZES.items())


def _zero_or_at_least_32(pixels: int) -> None:
    if 0 < pixels < 32:
        raise ValueError(f"a dream side is 0 (the device's own) or at least 32 px, not {pixels}")


def _dream_side(name: str, column: int) -> Param:
    return Param(
        int,
        0,
        unit="px",
        min=0,
        max=8192,
        check=_zero_or_at_least_32,
        doc=f"dream {name} (0: by device, {_by_device(column)})",
    )


class Optimizer(Node):
    """Dreams the target classes into an endless zoom and publishes a keyframe every few optimisation steps.

    Each keyframe starts from the previous one zoomed (and optionally rotated) by as much as the video moves
    during one measured keyframe period, so the zoom speed on screen stays the same however fast the machine
    is; then it runs `steps_per_keyframe` steps (forward to the spatial logit map, backward to the pixels, an
    Adam or the 2015 original's normalised sign step) with a natural-image prior. The first keyframe comes after
    only `first_keyframe_steps`, so a picture appears fast. The node answers between steps: targets, parameter
    changes and its status take effect within one step, not one keyframe. It dreams only what the target topic
    says (the scheduler's autopilot picks subjects); until a target arrives it shows its calm start picture.
    A bad target (class outside 0..999, empty list, unknown layout) is logged, counted as `bad_target`, and
    ignored.
    """

    target = Input(Target, "target", delivery="latest", doc="classes to dream and their layout (latched state)")
    keyframes = Output(Keyframe, "keyframes", doc="dreamed images with their zoom, rotation and period")

    model = Param(
        str,
        _DEFAULTS.model,
        check=lambda v: _model_candidates(v),
        doc=f"classifier that is dreamed through ({', '.join(MODELS)}); 'vgg16|lite0' uses the first "
        "whose weights are present",
    )
    weights = Param(str, "", doc="weights file for VGG models (empty: torch hub cache)")
    device = Param(str, "auto", choices=["auto", "cpu", "cuda"], doc="where to dream (auto: CUDA if present)")
    width = _dream_side("width", 0)
    height = _dream_side("height", 1)
    steps_per_keyframe = Param(
        int, 0, min=0, max=10000, doc=f"optimisation steps between published keyframes (0: by device, {_by_device(2)})"
    )
    first_keyframe_steps = Param(
        int, 2, min=1, max=10000, doc="optimisation steps of the first keyframe (few: a picture appears fast)"
    )
    update = Param(
        str,
        _DEFAULTS.update,
        choices=list(UPDATE_RULES),
        doc="pixel update rule: adam, or the 2015 original's normalised sign step",
    )
    step_size = Param(
        float, _DEFAULTS.step_size, min=0.0, max=255.0, doc="pixel step per update (0..255 scale; Adam's learning rate)"
    )
    prior_strength = Param(
        float,
        _DEFAULTS.prior_strength,
        min=0.0,
        max=1000.0,
        doc="weight of the natural-image prior (higher: smoother, less detailed)",
    )
    other_weight = Param(
        float,
        _DEFAULTS.other_weight,
        min=0.0,
        max=10.0,
        doc="weight of the mean of all class logits, pushed down (higher: other classes' features are "
        "pushed down harder; 0: off)",
    )
    animal_weight = Param(
        float,
        _DEFAULTS.animal_weight,
        min=0.0,
        max=10.0,
        doc="weight of the strongest animal class logit (a soft maximum), pushed down when no target is an animal "
        "(higher: fewer dreamed eyes and fur on objects and food; 0: off)",
    )
    glance = Param(
        float,
        _DEFAULTS.glance,
        min=0.0,
        max=100.0,
        doc="weight of the objective on the whole picture shrunk to glance_width and seen through a "
        "glance_thumbnail (higher: the subject shows as one big shape; 0: texture only)",
    )
    glance_width = Param(
        int,
        _DEFAULTS.glance_width,
        unit="px",
        min=32,
        max=1024,
        doc="width of that shrunk picture (about the model's input size, 224 px for Lite0: the whole "
        "picture is one view of one subject)",
    )
    glance_thumbnail = Param(
        int,
        _DEFAULTS.glance_thumbnail,
        unit="px",
        min=0,
        max=1024,
        doc="width of the thumbnail that view passes through (0: none): only shapes and colours count",
    )
    glance_grey = Param(
        bool,
        _DEFAULTS.glance_grey,
        doc="the glance view in grey, so that it shapes the subject and the full view colours it",
    )
    zoom_jitter = Param(
        float,
        _DEFAULTS.zoom_jitter,
        min=0.0,
        max=1.0,
        doc="each step sees the picture zoomed in at random by up to this share (0.6: up to 1.6x), so the "
        "subject must read at every scale the video zoom will show it at (0: off)",
    )
    normalise = Param(
        float,
        _DEFAULTS.normalise,
        min=0.0,
        max=1.0,
        doc="per keyframe, how far luminance, contrast and colour are pulled into natural photos' "
        "ranges (0: off; the picture may then drift to white, black or a tint)",
    )
    palette = Param(
        float,
        _DEFAULTS.palette,
        min=0.0,
        max=1.0,
        doc="per keyframe, how far each subject's part of the picture moves to the subject's "
        "everyday colour and lightness, named in its class description (a lemon light yellow, broccoli "
        "green; 0: off, the network's own colours, mostly blue)",
    )
    palette_tint = Param(
        float,
        _DEFAULTS.palette_tint,
        unit="0-255",
        min=0.0,
        max=100.0,
        doc="how strong a subject's everyday colour is painted (chroma): more is more vivid, less leaves more "
        "of the network's own colours",
    )
    chroma_floor = Param(
        float,
        _DEFAULTS.chroma_floor,
        unit="0-255",
        min=0.0,
        max=CHROMA_STD_MAX,
        doc="with normalise, the least colour spread (chroma std) a picture keeps: higher is more vivid "
        "(natural photos: 18-47, median 35)",
    )
    zoom_per_s = Param(
        float,
        _DEFAULTS.zoom_per_s,
        unit="1/s",
        # a keyframe moves at most a factor 2 either way (nodes.common.motion): faster speeds would only be clamped
        min=-0.3,
        max=1.0,
        doc="zoom speed of the video (0.05 = 5 % per second; negative zooms out)",
    )
    rotation_per_s = Param(
        float,
        _DEFAULTS.rotation_per_s,
        unit="deg/s",
        min=-90.0,
        max=90.0,
        doc="rotation speed of the video about the centre",
    )
    layout = Param(str, _DEFAULTS.layout, choices=list(LAYOUTS), doc="layout used when a target names none")
    seed = Param(int, -1, min=-1, max=2**32 - 1, doc="random seed (-1: none)")
    prior = Param(str, "", doc="prior file from `dreamgraph prior fit` (empty: the shipped one)")
    compile = Param(
        bool,
        _DEFAULTS.compile,
        doc="torch.compile the loss: faster GPU steps after a first keyframe that compiles for a minute "
        "or more (slower on CPUs)",
    )

    @classmethod
    def preflight(cls, params: dict) -> list[Check]:
        import torch

        from .dream.models import load_model

        checks = [Check("torch", True, f"torch {torch.__version__}")]
        if params["device"] != "cpu":
            found = torch.cuda.is_available()
            name = torch.cuda.get_device_name(0) if found else "no CUDA device visible to torch"
            fix = "install the NVIDIA driver and a CUDA build of torch (or set device: cpu)"
            checks.append(Check("cuda", found, name, fix, needed=params["device"] == "cuda"))
        try:
            load_model(params["model"], params["weights"] or None)
            checks.append(Check("weights", True, f"{params['model']} weights load"))
        except (OSError, ValueError, RuntimeError) as err:
            checks.append(Check("weights", False, f"{params['model']}: {err}", "see README: VGG-16/19 offline"))
        return checks

    def setup(self):
        # torch is imported here, in the node's own process, not by `dreamgraph check` or the launcher
        from .dream.live import LiveLoop
        from .dream.render import Dreamer, to_uint8

        self._to_uint8 = to_uint8
        settings = DreamSettings(**self._setting_values())
        dreamer = self._first_available(lambda name: Dreamer(settings.with_(model=name)))
        dreamer.set_image(start_picture(settings.width, settings.height))
        self.live = LiveLoop(dreamer)  # `bench live` runs this same loop; it holds the node's one Dreamer
        self._pool = self._frame_pool()
        self._seq = 0
        self._labels: list[str] = []
        self.every(START_PICTURE_PERIOD_S, self._show_start_picture)

    @property
    def dreamer(self):
        return self.live.dreamer

    def _frame_pool(self) -> FramePool:
        s = self.dreamer.settings
        return FramePool((s.height, s.width, 3), count=4)

    def _setting_values(self) -> dict:
        """The engine settings the parameters stand for (0 for a size or a step count: the device's own)."""
        from .dream.render import resolve_device

        values = {name: getattr(self, name) for name in _SETTING_PARAMS}
        values["device"] = resolve_device(self.device).type
        by_device = DreamSettings.live(values["device"])
        for name in ("width", "height", "steps_per_keyframe"):
            values[name] = values[name] or getattr(by_device, name)
        return {
            **values,
            "weights": self.weights or None,
            "seed": None if self.seed < 0 else self.seed,
            "prior_path": self.prior or None,
        }

    def _first_available(self, build):
        """``build(model_name)`` with the first model of `model` ('vgg16|lite0') whose weights are present."""
        from .dream.models import MissingWeightsError

        candidates = _model_candidates(self.model)
        for i, name in enumerate(candidates):
            try:
                built = build(name)
            except MissingWeightsError as err:
                if i == len(candidates) - 1:
                    raise
                self.log.info("%s unavailable (%s); trying %s", name, err, candidates[i + 1])
                continue
            self.log.info("dreaming through %s", name)
            return built
        raise AssertionError("unreachable: _model_candidates never returns an empty list")

    # -- targets ---------------------------------------------------------------------------------------------
    def _show_start_picture(self):
        """Until the first target, the picture the dream will start from (a still keyframe of 0 steps)."""
        if self.dreamer.targets is None:
            self._publish(self._to_uint8(self.dreamer.image, self._pool.acquire()), zoom=1.0, rotation=0.0, steps=0)

    def on_target(self, msg: Target):
        try:
            self.dreamer.set_targets(list(msg.class_ids), list(msg.weights) or None, msg.layout or self.layout)
        except ValueError as err:
            self.count_error("bad_target", f"ignored target {list(msg.class_ids)}: {err}")
            return
        labels = list(msg.labels)
        self._labels = labels if len(labels) == len(msg.class_ids) else [class_label(c) for c in msg.class_ids]
        self.log.info("target: %s (%s)", " + ".join(self._labels), msg.layout)

    # -- parameters ------------------------------------------------------------------------------------------
    def on_param(self, name, value):
        from .dream.render import MODEL_KEYS

        if name == "first_keyframe_steps":
            return  # read by the loop
        try:
            changes = self._setting_values()
            if name in MODEL_KEYS or name in ("weights", "seed", "prior"):
                self.live.dreamer = self._first_available(
                    lambda model: self.dreamer.replaced(**{**changes, "model": model})
                )
            else:
                self.dreamer.configure(**changes)
        except Exception as err:  # e.g. missing VGG weights or no CUDA: refused, and it keeps dreaming as before
            raise ValueError(f"not applied: {err}") from None
        if name in ("width", "height"):
            self._pool = self._frame_pool()

    # -- the work --------------------------------------------------------------------------------------------
    def loop(self):
        """One keyframe, a step at a time: after each step the node serves its inputs, parameters and timers.

        On CUDA a step is a CUDA graph replay that returns at once: nothing here waits for the device until the
        keyframe is copied to the host."""
        if self.dreamer.targets is None:
            return START_PICTURE_PERIOD_S  # nothing to dream: wait for a target
        started = time.perf_counter()
        yield from self.live.steps(self.first_keyframe_steps if self.live.count == 0 else None)
        frame = self.live.finish(self._pool.acquire())
        step_ms = 1000.0 * (time.perf_counter() - started) / self.live.steps_done
        self._publish(frame, self.live.zoom, self.live.rotation, self.live.steps_done, step_ms)

    def _publish(self, frame, zoom: float, rotation: float, steps: int, step_ms: float = 0.0):
        d = self.dreamer
        self._seq += 1
        self.keyframes.publish(
            Keyframe(
                image=frame,
                seq=self._seq,
                class_ids=list(d.targets.class_ids) if d.targets else [],
                labels=list(self._labels),
                zoom=zoom,
                rotation=rotation,
                period=self.live.period,
                step_ms=step_ms,
                steps=steps,
                stamp=time.time(),
            ),
            pool=self._pool,
        )
