#!/usr/bin/env bash
# The prepared GPU check (see nodes/bench/gpu_check.py): installs what the GPU machine lacks (wheels put in .whl/),
# records the device, then runs every GPU figure as JSON lines into $OUT (or ./gpu-out).
# Run from the repo root on a CUDA machine that has torch. Arguments go to dreamgraph.nodes.bench.gpu_check
# (e.g. --only optimizer).
set -u
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
fi
# the package itself (as dreamgraph, with its entry points for node and CLI plugins and its launch files)
python3 -m pip install -q --no-index --no-deps --no-build-isolation --no-compile --target /tmp/site . 2>&1 | tail -2
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/device.txt"
python3 -c "import torch; print('torch', torch.__version__)" | tee -a "$OUT/device.txt"
python3 -m dreamgraph.nodes.bench.gpu_check --out "$OUT" "$@" 2> >(tee "$OUT/stderr.txt" >&2)
