"""The prepared GPU check: every GPU figure in one run, each stage in its own process under a time limit, so one
hang cannot eat a whole device session.

    python -m dreamgraph.nodes.bench.gpu_check --out gpu-out  # on a CUDA machine (scripts/gpu_check.sh runs this)
    python -m dreamgraph.nodes.bench.gpu_check --tiny         # the same stages, tiny, on the CPU (a test runs this)

All stages take about 15 minutes on an H200 (compiling is most of it); `--only optimizer` and
`--only kernels,e2e,interpolator,live,quality` split them into two device calls of under 10 minutes each.

Stages: the optimizer bench for Lite0 1024x576 and VGG-16 at 1024x576 and 1920x1080 (random VGG weights: speed
does not depend on them), each with CUDA graphs and with torch.compile plus CUDA graphs; the top kernels of an
eager Lite0 and VGG-16 step (OUT/kernels-*.txt, for the next optimisation); chat-to-screen latency; the
interpolator on CUDA; the live bench (18 subjects, 100 keyframes each at 1024x576, OUT/live/live.png)
and the dream quality bench. JSON lines go to stdout and OUT/gpu.jsonl.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

OPTIMIZER_CASES = [("lite0", "1024x576", 400), ("vgg16", "1024x576", 300), ("vgg16", "1920x1080", 150)]  # WxH
TINY_OPTIMIZER_CASES = [("lite0", "64x64", 6), ("vgg16", "224x224", 2)]


def _stages(tiny: bool, out: Path) -> list[tuple[str, str, float]]:
    """(name, python code, time limit in s) for each stage."""
    device = "cpu" if tiny else "cuda"
    stages = []
    for model, size, steps in TINY_OPTIMIZER_CASES if tiny else OPTIMIZER_CASES:
        for compiled in (False,) if tiny else (False, True):
            stages.append(
                (
                    f"optimizer {model} {size} compile={compiled}",
                    "from dreamgraph.nodes.dream.cli import bench_optimizer as b; "
                    f"b(device='{device}', model='{model}', size='{size}', steps={steps}, "
                    f"random_weights={model != 'lite0'}, compile={compiled})",
                    300 if compiled or tiny else 120,
                )
            )
    for model, size, _ in (TINY_OPTIMIZER_CASES if tiny else OPTIMIZER_CASES)[:2]:
        stages.append(
            (
                f"kernels {model} {size}",
                "from dreamgraph.nodes.dream.bench_speed import kernel_table; "
                "from dreamgraph.nodes.dream.settings import DreamSettings; "
                f"w, h = {size.split('x')[0]}, {size.split('x')[1]}; "
                f"t = kernel_table(DreamSettings(model='{model}', width=w, height=h, device='{device}', "
                f"pretrained={model == 'lite0'}), steps={2 if tiny else 10}); "
                f"open('{out}/kernels-{model}-{size}.txt', 'w').write(t)",
                120,
            )
        )
    if not tiny:  # the graph needs a free GPU-sized machine; the CPU figures come from `dreamgraph bench e2e`
        stages.append(
            (
                "e2e",
                "import yaml; from dreamgraph.nodes.bench.e2e import LAUNCH_FILE, bench_e2e as b; "
                "from dreamgraph.graph.orchestration.launchfile import find_launch_file; "
                "g = yaml.safe_load(open(find_launch_file(LAUNCH_FILE))); "
                "g['nodes'] = [n for n in g['nodes'] if n['node'] != 'video_output']; "  # no ffmpeg
                f"p = '{out}/e2e.yaml'; yaml.safe_dump(g, open(p, 'w')); "
                "b(subjects='volcano,goldfish,pizza', device='cuda', size='224x224', timeout=40, "
                "launch=p)",
                150,
            )
        )
        stages.append(
            (
                "interpolator",
                "from dreamgraph.nodes.bench.interpolator import bench_interpolator as b; "
                "b(seconds=3.0, device='cuda')",
                60,
            )
        )
    stages.append(
        (
            "live",
            "from pathlib import Path; from dreamgraph.nodes.dream.cli import bench_live as b; "
            f"b(subjects={2 if tiny else 18}, hold={2 if tiny else 100}, "
            f"size='{'96x64' if tiny else '1024x576'}', view='{'96x64' if tiny else ''}', device='{device}', "
            f"out=Path('{out}/live'))",
            600 if tiny else 400,
        )
    )
    stages.append(
        (
            "quality",
            "from pathlib import Path; from dreamgraph.nodes.dream.cli import bench_quality as b; "
            f"b(steps={4 if tiny else 100}, out=Path('{out}/quality'), device='{device}', "
            f"classes={2 if tiny else 0})",
            600 if tiny else 150,
        )
    )
    return stages


def gpu_check(
    out: Annotated[Path, typer.Option(help="directory for gpu.jsonl and the quality contact sheet")] = Path("gpu-out"),
    tiny: Annotated[bool, typer.Option(help="tiny sizes on the CPU: checks the script itself")] = False,
    only: Annotated[
        str,
        typer.Option(
            help="run only the stages whose names start with one of these (comma-separated: "
            "optimizer, kernels, e2e, interpolator, quality), e.g. to split the check "
            "over two device calls"
        ),
    ] = "",
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    prefixes = tuple(p.strip() for p in only.split(",") if p.strip())
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    failures = []
    with open(out / "gpu.jsonl", "w") as lines:
        for name, code, limit in _stages(tiny, out.resolve()):
            if prefixes and not name.startswith(prefixes):
                continue
            start = time.time()
            try:
                done = subprocess.run(
                    [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, timeout=limit, env=env
                )
                output, ok = done.stdout, done.returncode == 0
            except subprocess.TimeoutExpired as e:  # keep the figures printed before the limit (always bytes)
                output, ok = (e.stdout or b"").decode(errors="replace"), False
            for line in output.splitlines():
                if line.startswith("{"):
                    json.loads(line)
                    print(line, flush=True)
                    lines.write(line + "\n")
            if not ok:
                failures.append(name)
            print(f"# {name}: {'ok' if ok else 'FAILED'} in {time.time() - start:.1f} s", file=sys.stderr, flush=True)
    if failures:
        print(f"# failed: {', '.join(failures)}", file=sys.stderr)
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(gpu_check)
