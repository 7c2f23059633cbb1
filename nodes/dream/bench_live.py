"""Live quality benchmark: the optimizer's keyframe loop at stream size, subject after subject, judged as a
viewer sees it.

A fixed sequence of subjects (singles and top-bottom pairs) is dreamed with `LiveLoop`, the loop the
optimizer node runs, from the node's start picture, each subject starting from the last one's picture. Every
keyframe is judged (raw and at a glance) to time the switch and described (nodes/dream/picture.py), so a
tint that lingers through whole holds shows in the colour cast; the end-of-hold frames are judged, compared
with natural photos, and judged again after the stream's H.264 encode at its bitrate.

The sequence ends with a reprise of its first quarter, a fifth of the run, so that drift compares the same
subjects at the start and at the end: compared across different subjects it read a dark volcano followed by a
light lemon as the loop drifting.
"""

from __future__ import annotations

import math
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..common.imagenet import class_label
from ..common.start_picture import start_picture
from .judge import TOP_K, Judge, recognised
from .live import LiveLoop
from .picture import describe, distinctness, dominant_hue, hue_in
from .prior import SKIMAGE_PHOTOS, skimage_photos
from .render import Dreamer
from .settings import DreamSettings


@dataclass(frozen=True)
class Subject:
    class_ids: tuple[int, ...]  # one id, or a pair laid out by the settings' layout (top-bottom: bottom first)
    hue: tuple[float, float] | None = None  # the arc (degrees) its dominant hue must fall in, for colour truth

    @property
    def name(self) -> str:
        return " + ".join(class_label(c) for c in self.class_ids)


GREEN, YELLOW, ORANGE, RED, PINK = (70.0, 170.0), (35.0, 75.0), (10.0, 50.0), (330.0, 25.0), (290.0, 20.0)
# Singles and pairs alternate so that every switch changes the picture's colour and shape.
SUBJECTS = (
    Subject((937,), GREEN),  # broccoli
    Subject((980,)),  # volcano
    Subject((951,), YELLOW),  # lemon
    Subject((107,)),  # jellyfish
    Subject((963, 980)),  # pizza (bottom) + volcano (top)
    Subject((949,), RED),  # strawberry
    Subject((309,)),  # bee
    Subject((950,), ORANGE),  # orange
    Subject((309, 985)),  # bee + daisy
    Subject((1,), ORANGE),  # goldfish
    Subject((849,)),  # teapot
    Subject((277,), ORANGE),  # red fox
    Subject((1, 973)),  # goldfish + coral reef
    Subject((943,), GREEN),  # cucumber
    Subject((84,)),  # peacock
    Subject((130,), PINK),  # flamingo
    Subject((779, 970)),  # school bus + alp
    Subject((951, 107)),  # lemon + jellyfish
)

STREAM_BITS_PER_PIXEL = 4_500_000 / (25 * 1024 * 576)  # the Twitch preset at the default 1024x576, 25 fps


@dataclass
class HoldResult:
    subject: Subject
    frame: np.ndarray
    ranks: list[int]
    glance: list[int]
    switch: int | None  # keyframes until the judge first recognised the subject (None: never)
    switch_glance: int | None
    hue: float | None
    layout: str  # where each target was dreamed, so that it is judged there


@dataclass
class RunResult:
    holds: list[HoldResult] = field(default_factory=list)
    per_keyframe: list[dict] = field(default_factory=list)  # picture figures of every keyframe, in order
    encoded_ranks: list[list[int]] = field(default_factory=list)
    second_ranks: list[list[int]] | None = None
    period_s: float = 0.0
    reprise_keyframes: int = 0  # the last keyframes of per_keyframe: the reprise of the first subjects


class StreamEncoder:
    """Pipes frames through the stream's H.264 settings at its bits per pixel, then decodes chosen frames."""

    def __init__(self, width: int, height: int, folder: Path):
        import imageio_ffmpeg

        self.exe = imageio_ffmpeg.get_ffmpeg_exe()
        self.size = (width, height)
        self.path = folder / "live.mp4"
        bitrate = int(STREAM_BITS_PER_PIXEL * width * height * 25)
        self.process = subprocess.Popen(
            [
                self.exe,
                "-hide_banner",
                "-loglevel",
                "error",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "-s",
                f"{width}x{height}",
                "-framerate",
                "25",
                "-i",
                "pipe:0",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-preset",
                "veryfast",
                "-tune",
                "zerolatency",
                "-b:v",
                str(bitrate),
                "-maxrate",
                str(bitrate),
                "-bufsize",
                str(2 * bitrate),
                "-g",
                "50",
                "-y",
                str(self.path),
            ],
            stdin=subprocess.PIPE,
        )
        self.count = 0

    def write(self, frame: np.ndarray) -> None:
        self.process.stdin.write(np.ascontiguousarray(frame).tobytes())
        self.count += 1

    def decoded(self, indices: list[int]) -> list[np.ndarray]:
        self.process.stdin.close()
        if self.process.wait() != 0:
            raise RuntimeError("ffmpeg could not encode the run")
        w, h = self.size
        size = w * h * 3
        wanted, frames = set(indices), {}
        decoder = subprocess.Popen(
            [self.exe, "-loglevel", "error", "-i", str(self.path)]
            + ["-frames:v", str(max(indices) + 1), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
            stdout=subprocess.PIPE,
        )
        for index in range(max(indices) + 1):  # frame by frame: a whole run would not fit in memory
            data = decoder.stdout.read(size)
            if len(data) < size:
                break
            if index in wanted:
                frames[index] = np.frombuffer(data, np.uint8).reshape(h, w, 3).copy()
        decoder.stdout.close()
        decoder.wait()
        if len(frames) != len(wanted):
            raise RuntimeError(f"ffmpeg decoded {len(frames)} of the {len(wanted)} frames asked for")
        return [frames[i] for i in indices]


def run(
    settings: DreamSettings,
    subjects,
    hold: int,
    judge: Judge,
    second: Judge | None = None,
    period_s: float | None = None,
    encode: bool = True,
    progress=None,
    view: tuple[int, int] | None = None,
) -> RunResult:
    """Dream `subjects` one after another, `hold` keyframes each, with the node's live loop; judge the keyframes
    at `view` (width, height; default: the dream's size), scaled up bilinearly as the interpolator scales them.
    Then dream the reprise (only described, for the drift)."""
    dreamer = Dreamer(settings)
    dreamer.set_image(start_picture(settings.width, settings.height))  # where the node starts too
    loop = LiveLoop(dreamer, period_s)
    result = RunResult()
    out = np.empty((settings.height, settings.width, 3), np.uint8)
    view = view or (settings.width, settings.height)
    shown = np.empty((view[1], view[0], 3), np.uint8)
    sequence = with_reprise(subjects)
    result.reprise_keyframes = (len(sequence) - len(subjects)) * hold
    with tempfile.TemporaryDirectory() as folder:
        encoder = StreamEncoder(*view, Path(folder)) if encode else None
        ends = []
        for number, subject in enumerate(sequence):
            layout = "single" if len(subject.class_ids) == 1 else settings.layout
            dreamer.set_targets(list(subject.class_ids), layout=layout)
            judged = number < len(subjects)
            switch = switch_glance = None
            for k in range(hold):
                keyframe = loop.keyframe(out=out)
                frame = keyframe if view == keyframe.shape[1::-1] else scale_to(keyframe, view, shown)
                result.per_keyframe.append(describe(frame))
                if encoder and judged:  # the reprise is only described
                    encoder.write(frame)
                if judged and switch is None and recognised(judge.ranks(frame, subject.class_ids, layout)):
                    switch = k + 1
                if (
                    judged
                    and switch_glance is None
                    and recognised(judge.glance_ranks(frame, subject.class_ids, layout))
                ):
                    switch_glance = k + 1
                if progress:
                    progress(number * hold + k + 1, len(sequence) * hold)
            if not judged:
                continue
            ends.append(len(result.per_keyframe) - 1)
            result.holds.append(
                HoldResult(
                    subject,
                    frame.copy(),
                    judge.ranks(frame, subject.class_ids, layout),
                    judge.glance_ranks(frame, subject.class_ids, layout),
                    switch,
                    switch_glance,
                    dominant_hue(frame),
                    layout,
                )
            )
        result.period_s = loop.period
        if encoder:
            result.encoded_ranks = [
                judge.ranks(f, h.subject.class_ids, h.layout) for f, h in zip(encoder.decoded(ends), result.holds)
            ]
    if second is not None:
        result.second_ranks = [second.ranks(h.frame, h.subject.class_ids, h.layout) for h in result.holds]
    return result


def with_reprise(subjects) -> tuple[Subject, ...]:
    """`subjects`, then their first quarter again: the reprise is a fifth of the whole sequence."""
    subjects = tuple(subjects)
    return subjects + subjects[: math.ceil(len(subjects) / 4)]


def scale_to(frame: np.ndarray, view: tuple[int, int], out: np.ndarray) -> np.ndarray:
    """`frame` at `view` (width, height), bilinear as the interpolator's warp, into `out`."""
    return cv2.resize(frame, view, dst=out, interpolation=cv2.INTER_LINEAR)


def natural_frames(width: int, height: int) -> list[np.ndarray]:
    """The prior's natural photos, centre-cropped to the stream's aspect and resized to its size."""
    return [centre_crop(photo, width, height) for photo in skimage_photos()]


def centre_crop(photo: np.ndarray, width: int, height: int) -> np.ndarray:
    """The largest centred part of `photo` with the aspect width:height, resized to width x height."""
    h, w = photo.shape[:2]
    ch, cw = min(h, round(w * height / width)), min(w, round(h * width / height))
    y, x = (h - ch) // 2, (w - cw) // 2
    part = np.ascontiguousarray(photo[y : y + ch, x : x + cw])
    return cv2.resize(part, (width, height), interpolation=cv2.INTER_AREA)


def figures(result: RunResult) -> dict[str, float]:
    """The run's figures by metric name (see `dreamgraph bench live --help`)."""
    holds = result.holds
    per_target = [r for h in holds for r in h.ranks]
    per_target_glance = [r for h in holds for r in h.glance]
    described = [describe(h.frame) for h in holds]
    truths = [hue_in(h.hue, *h.subject.hue) for h in holds if h.subject.hue]

    def median_switch(values):
        hold = (len(result.per_keyframe) - result.reprise_keyframes) // max(1, len(holds))
        return float(np.median([v if v is not None else hold + 1 for v in values]))

    out = {
        "top5_rate": float(np.mean([r < TOP_K for r in per_target])),
        "top5_rate_glance": float(np.mean([r < TOP_K for r in per_target_glance])),
        "top1_rate": float(np.mean([r == 0 for r in per_target])),
        "top1_rate_glance": float(np.mean([r == 0 for r in per_target_glance])),
        "switch_keyframes_median": median_switch([h.switch for h in holds]),
        "switch_keyframes_median_glance": median_switch([h.switch_glance for h in holds]),
        **picture_figures(described, [h.frame for h in holds], result.per_keyframe),
        "clipped_max": float(max(d["clipped"] for d in described)),
        "drift": drift(result.per_keyframe, result.reprise_keyframes),
    }
    if truths:
        out["colour_truth_rate"] = float(np.mean(truths))
    if result.encoded_ranks:
        out["top5_rate_h264"] = float(np.mean([r < TOP_K for ranks in result.encoded_ranks for r in ranks]))
    if result.second_ranks is not None:
        second = [r for ranks in result.second_ranks for r in ranks]
        out["top5_rate_second_judge"] = float(np.mean([r < TOP_K for r in second]))
        out["judge_agreement"] = float(np.mean([(a < TOP_K) == (b < TOP_K) for a, b in zip(per_target, second)]))
    return out


def pooled(per_run: list[dict[str, float]]) -> dict[str, float]:
    """The figures of several seeded runs as one: extremes of the extremes (`_min`, `_max`), means of the rest
    (a mean of rates over equal runs is the rate over all of them)."""

    def pool(metric: str, values: list[float]) -> float:
        if metric.endswith("_min"):
            return min(values)
        if metric.endswith("_max"):
            return max(values)
        return float(np.mean(values))

    return {metric: pool(metric, [f[metric] for f in per_run]) for metric in per_run[0]}


def picture_figures(
    described: list[dict], frames: list[np.ndarray], every_frame: list[dict] | None = None
) -> dict[str, float]:
    """Figures that describe a set of pictures, for dreams and natural photos alike; the colour cast is taken
    over `every_frame` when given (all keyframes of a run: a tint that lingers is what viewers notice)."""
    lum = [d["luminance"] for d in described]
    cast = every_frame or described
    return {
        "luminance_min": float(min(lum)),
        "luminance_max": float(max(lum)),
        "colourfulness_median": float(np.median([d["colourfulness"] for d in described])),
        "colour_cast": float(np.hypot(np.mean([d["cast_rg"] for d in cast]), np.mean([d["cast_yb"] for d in cast]))),
        "spectral_slope_median": float(np.median([d["spectral_slope"] for d in described])),
        "distinctness": distinctness(frames),
    }


DRIFT_FIGURES = ("luminance", "colourfulness", "spectral_slope")


def drift(per_keyframe: list[dict], span: int) -> float:
    """The largest relative change of a picture figure's mean between the first and the last `span` keyframes
    (the run's first subjects and their reprise)."""
    first, last = per_keyframe[:span], per_keyframe[-span:]
    changes = []
    for name in DRIFT_FIGURES:
        a = np.mean([d[name] for d in first])
        b = np.mean([d[name] for d in last])
        changes.append(abs(b - a) / max(abs(a), 1e-6))
    return float(max(changes))


# ImageNet classes that name what a natural photo shows (any of them counts); the astronaut has none
NATURAL_CLASSES = {
    "chelsea": (281, 282, 285),  # tabby, tiger cat, Egyptian cat
    "coffee": (967, 968, 504),  # espresso, cup, coffee mug
    "rocket": (657, 744, 812),  # missile, projectile, space shuttle
    "stereo_motorcycle": (665, 670),  # moped, motor scooter
}


def natural_figures(width: int, height: int, judge: Judge) -> tuple[dict[str, float], list[float]]:
    """Figures of the natural photos, and the colour cast of each photo (its range is the goal's).

    The labelled photos are judged raw and at a glance too: how often a real photo of a subject passes is the
    ceiling the dreams' recognition rates are read against."""
    frames = natural_frames(width, height)
    described = [describe(f) for f in frames]
    labelled = [(f, NATURAL_CLASSES[n]) for f, n in zip(frames, SKIMAGE_PHOTOS) if n in NATURAL_CLASSES]
    figures = {
        "top5_rate": float(np.mean([min(judge.ranks(f, [c])[0] for c in ids) < TOP_K for f, ids in labelled])),
        "top5_rate_glance": float(
            np.mean([min(judge.glance_ranks(f, [c])[0] for c in ids) < TOP_K for f, ids in labelled])
        ),
        **picture_figures(described, frames),
    }
    return figures, [float(np.hypot(d["cast_rg"], d["cast_yb"])) for d in described]


def contact_sheet(result: RunResult, columns: int = 6) -> np.ndarray:
    """End-of-hold frames at stream size, each labelled with its subject and its raw and glance ranks."""
    tiles = []
    for h in result.holds:
        frame = h.frame
        label = np.full((44, frame.shape[1], 3), 24, np.uint8)
        cv2.putText(label, h.subject.name[:40], (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        ranks = "rank " + "/".join(str(r + 1) for r in h.ranks) + "   glance " + "/".join(str(r + 1) for r in h.glance)
        cv2.putText(label, ranks, (6, 37), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (190, 190, 190), 1, cv2.LINE_AA)
        tiles.append(np.pad(np.concatenate([frame, label]), ((3, 3), (3, 3), (0, 0))))
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[i : i + columns], axis=1) for i in range(0, len(tiles), columns)]
    return np.concatenate(rows, axis=0)
