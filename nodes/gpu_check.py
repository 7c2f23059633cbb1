"""The prepared GPU check: every GPU figure in one run, each stage in its own process under a time limit, so one
hang cannot eat a whole device session.

    python -m nodes.gpu_check --out gpu-out     # on a CUDA machine (scripts/gpu_check.sh installs, then runs this)
    python -m nodes.gpu_check --tiny            # the same stages at tiny sizes on the CPU (a test runs this)

All stages take about 15 minutes on an H200 (compiling is most of it); `--only optimizer` and
`--only kernels,e2e,interpolator,live,quality` split them into two device calls of under 10 minutes each.

Stages: the optimizer bench for Lite0 576x1024 and VGG-16 at 576x1024 and 1080x1920 (random VGG weights: speed
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

import typer

OPTIMIZER_CASES = [("lite0", "576x1024", 400), ("vgg16", "576x1024", 300), ("vgg16", "1080x1920", 150)]
TINY_OPTIMIZER_CASES = [("lite0", "64x64", 6), ("vgg16", "224x224", 2)]


def _stages(tiny: bool, out: Path) -> list[tuple[str, str, float]]:
    """(name, python code, time limit in s) for each stage."""
    device = "cpu" if tiny else "cuda"
    stages = []
    for model, size, steps in (TINY_OPTIMIZER_CASES if tiny else OPTIMIZER_CASES):
        for compiled in ((False,) if tiny else (False, True)):
            stages.append((f"optimizer {model} {size} compile={compiled}",
                           "from nodes.dream.cli import bench_optimizer as b; "
                           f"b(device='{device}', model='{model}', size='{size}', steps={steps}, "
                           f"random_weights={model != 'lite0'}, compile={compiled})", 300 if compiled or tiny else 120))
    for model, size, _ in (TINY_OPTIMIZER_CASES if tiny else OPTIMIZER_CASES)[:2]:
        stages.append((f"kernels {model} {size}",
                       "from nodes.dream.bench_speed import kernel_table; from nodes.dream.settings import "
                       f"DreamSettings; h, w = {size.split('x')[0]}, {size.split('x')[1]}; "
                       f"t = kernel_table(DreamSettings(model='{model}', width=w, height=h, device='{device}', "
                       f"pretrained={model == 'lite0'}), steps={2 if tiny else 10}); "
                       f"open('{out}/kernels-{model}-{size}.txt', 'w').write(t)", 120))
    if not tiny:   # the graph needs a free GPU-sized machine; the CPU figures come from `dreamgraph bench e2e`
        stages.append(("e2e", "import yaml; from nodes.e2e_bench import LAUNCH_FILE, bench_e2e as b; "
                              "g = yaml.safe_load(open(LAUNCH_FILE)); "
                              "g['nodes'] = [n for n in g['nodes'] if n['node'] != 'nodes.video_output']; "  # no ffmpeg
                              f"p = '{out}/e2e.yaml'; yaml.safe_dump(g, open(p, 'w')); "
                              "b(subjects='volcano,goldfish,pizza', device='cuda', size='224x224', timeout=40, "
                              "launch=p)",
                       150))
        stages.append(("interpolator", "from nodes.video.bench import bench_interpolator as b; "
                                       "b(seconds=3.0, device='cuda')", 60))
    stages.append(("live", "from pathlib import Path; from nodes.dream.cli import bench_live as b; "
                           f"b(subjects={2 if tiny else 18}, hold={2 if tiny else 100}, "
                           f"size='{'96x64' if tiny else '1024x576'}', device='{device}', out=Path('{out}/live'))",
                   600 if tiny else 400))
    stages.append(("quality", "from pathlib import Path; from nodes.dream.cli import bench_quality as b; "
                              f"b(steps={4 if tiny else 100}, out=Path('{out}/quality'), device='{device}', "
                              f"classes={2 if tiny else 0})", 600 if tiny else 150))
    return stages


def gpu_check(
    out: Path = typer.Option(Path("gpu-out"), help="directory for gpu.jsonl and the quality contact sheet"),
    tiny: bool = typer.Option(False, help="tiny sizes on the CPU: checks the script itself"),
    only: str = typer.Option("", help="run only the stages whose names start with one of these (comma-separated: "
                                      "optimizer, kernels, e2e, interpolator, quality), e.g. to split the check "
                                      "over two device calls"),
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
                done = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                                      timeout=limit, env=env)
                output, ok = done.stdout, done.returncode == 0
            except subprocess.TimeoutExpired as e:   # keep the figures printed before the limit (always bytes)
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
