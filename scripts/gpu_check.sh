#!/usr/bin/env bash
# The prepared GPU check: optimizer speed (CUDA graphs on/off, against the plain fp32 Adam loop), the chat-to-
# screen latency, the interpolator on CUDA, and the dream quality, as JSON lines in $OUT (or ./gpu-out).
# Run from the repo root on a CUDA machine that has torch; missing wheels may be put in .whl/.
set -u
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
fi
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target /tmp/site . 2>&1 | tail -2
export PYTHONPATH=.:/tmp/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/device.txt"
python3 -c "import torch; print('torch', torch.__version__)" | tee -a "$OUT/device.txt"
run() { echo "## $*" >&2; timeout "$1" "${@:2}"; }
{
  for case in "lite0 576x1024 400" "vgg16 576x1024 300" "vgg16 1080x1920 150"; do
    set -- $case
    run 90 python3 -c "from nodes.dream.cli import bench_optimizer as b; b(device='cuda', model='$1', size='$2', steps=$3, random_weights='$1'!='lite0', cuda_graphs=True)"
  done
  python3 - <<'PY' > /tmp/e2e_gpu.yaml
import yaml
graph = yaml.safe_load(open("launch/stream.yaml"))
graph["nodes"] = [n for n in graph["nodes"] if n["node"] != "nodes.video_output"]  # no ffmpeg here
print(yaml.safe_dump(graph))
PY
  run 120 python3 -c "from nodes.e2e_bench import bench_e2e as b; b(subjects='volcano,goldfish,pizza', device='cuda', size='224x224', timeout=40, launch='/tmp/e2e_gpu.yaml')"
  run 40 python3 -c "from nodes.video.bench import bench_interpolator as b; b(seconds=3.0, device='cuda')"
  run 110 python3 -c "from pathlib import Path; from nodes.dream.cli import bench_quality as b; b(steps=100, out=Path('$OUT/quality'), device='cuda')"
} 2> >(tee "$OUT/stderr.txt" >&2) | tee "$OUT/gpu.jsonl"
