"""The dream CLI functions, called in a fresh interpreter as a user would run them."""

import json
import subprocess
import sys

import cv2
import numpy as np

from dreamgraph.graph.core.extras import photo


def _py(code: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)


def _dream(out, seed, extra=""):
    code = (
        "import typer; from dreamgraph.nodes.dream.cli import dream; app = typer.Typer(); app.command()(dream); "
        f"app(['--target', 'bee', '--target', '980', '--size', '64x48', '--steps', '6', '--device', 'cpu', "
        f"'--seed', '{seed}', '--out', '{out}', '--quiet'{extra}])"
    )
    return _py(code)


def test_dream_writes_a_png_and_is_deterministic_with_a_seed(tmp_path):
    runs = [_dream(tmp_path / f"{name}.png", seed) for name, seed in (("a", 1), ("b", 1), ("c", 2))]
    for r in runs:
        assert "wrote" in r.stdout, r.stderr
    a, b, c = (cv2.imread(str(tmp_path / f"{n}.png")) for n in "abc")
    assert a.shape == (48, 64, 3)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dream_from_a_photo(tmp_path):
    source = tmp_path / "in.jpg"
    cv2.imwrite(str(source), photo("chelsea")[..., ::-1])
    r = _dream(tmp_path / "out.png", 0, f", '--from', '{source}'")
    assert "wrote" in r.stdout, r.stderr
    out = cv2.imread(str(tmp_path / "out.png"))
    small = cv2.resize(cv2.imread(str(source)), (64, 48), interpolation=cv2.INTER_AREA)
    assert np.abs(out.astype(int) - small.astype(int)).mean() < 40  # still the photo, dreamed on


def test_dream_rejects_an_unknown_word(tmp_path):
    code = (
        "import typer; from dreamgraph.nodes.dream.cli import dream; app = typer.Typer(); app.command()(dream); "
        f"app(['--target', 'zzzunknown', '--out', '{tmp_path / 'x.png'}', '--device', 'cpu'])"
    )
    r = _py(code)
    assert r.returncode != 0
    assert "zzzunknown" in r.stderr + r.stdout


def test_dream_takes_any_setting_with_set(tmp_path):
    runs = [
        _dream(tmp_path / f"{name}.png", 1, extra)
        for name, extra in (("sign", ", '--set', 'update=sign', '--set', 'step_size=3'"), ("adam", ""))
    ]
    for r in runs:
        assert "wrote" in r.stdout, r.stderr
    sign, adam = (cv2.imread(str(tmp_path / f"{n}.png")) for n in ("sign", "adam"))
    assert not np.array_equal(sign, adam)
    for bad, culprit in (("'nope=1'", "nope=1"), ("'octaves=many'", "octaves"), ("'update=sgd'", "sgd")):
        r = _dream(tmp_path / "bad.png", 1, f", '--set', {bad}")
        assert r.returncode != 0 and culprit in r.stderr + r.stdout
    assert not (tmp_path / "bad.png").exists()


def test_prior_fit_writes_a_loadable_file(tmp_path):
    for name in ("chelsea", "coffee"):
        cv2.imwrite(str(tmp_path / f"{name}.png"), photo(name)[..., ::-1])
    out = tmp_path / "prior.npz"
    code = (
        f"from dreamgraph.nodes.dream.cli import prior_app; prior_app(['fit', '{tmp_path}', '--out', '{out}', "
        "'--patches', '4000'])"
    )
    r = _py(code)
    assert "wrote" in r.stdout, r.stderr
    from dreamgraph.nodes.dream.prior import PriorParams

    assert PriorParams.load(out).filters.shape == (192, 192)


def test_bench_optimizer_prints_json_lines():
    code = (
        "from dreamgraph.nodes.dream.cli import bench_optimizer; "
        "bench_optimizer(device='cpu', model='lite0', size='64x64', steps=4)"
    )
    r = _py(code)
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert lines, r.stderr
    metrics = {rec["metric"]: rec for rec in lines}
    for key in ("bench", "case", "metric", "value", "unit", "device", "baseline", "ratio"):
        assert key in metrics["ms_per_step"]
    assert metrics["steps_per_s"]["case"] == "lite0-64x64-cpu"
    assert metrics["steps_per_s"]["value"] > 0 and metrics["gflop_per_step"]["value"] > 0


def test_gpu_check_script_runs_on_cpu_with_tiny_sizes(tmp_path):
    import os

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run(
        [sys.executable, "-m", "dreamgraph.nodes.bench.gpu_check", "--tiny", "--out", "out"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=repo),
    )
    assert r.returncode == 0, r.stderr[-3000:]
    records = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    assert {rec["bench"] for rec in records} == {"optimizer", "live", "quality"}
    assert {"lite0-64x64-cpu", "vgg16-224x224-cpu", "single", "pair"} <= {rec["case"] for rec in records}
    assert (tmp_path / "out" / "gpu.jsonl").read_text().splitlines() == r.stdout.splitlines()
    assert (tmp_path / "out" / "quality" / "quality.png").is_file()
    assert "conv" in (tmp_path / "out" / "kernels-lite0-64x64.txt").read_text()
