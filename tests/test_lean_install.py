"""A lean install, without the prior extra (scikit-image, scipy): the optimizer node and `dreamgraph dream` run on
the shipped prior file, and what does need the extra (fitting a prior, the photo benches) says how to install it.

Every Python process these tests start, graph nodes included, finds None for those packages in sys.modules (a
sitecustomize on PYTHONPATH puts it there), so importing them raises ImportError as where they are not installed.
"""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from dreamgraph.graph.testing.harness import GraphHarness
from dreamgraph.nodes.common.messages import Target

BLOCKER = "import sys\n\nsys.modules.update(skimage=None, scipy=None)\n"
INSTALL = "pip install 'dreamgraph[prior]'"


@pytest.fixture
def lean_env(tmp_path):
    folder = tmp_path / "lean"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(BLOCKER)
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p)}
    blocked = _cli(["-c", "import skimage"], env)
    assert blocked.returncode == 1 and "ModuleNotFoundError" in blocked.stderr  # the blocker works
    return env


def _cli(args, env, timeout=300):
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=timeout
    )


def _dreamgraph(args, env):
    return _cli(["-m", "dreamgraph.graph.cli", *args], env)


def test_the_optimizer_node_dreams_without_the_extra(lean_env):
    params = {"width": 64, "height": 48, "steps_per_keyframe": 2, "first_keyframe_steps": 1, "device": "cpu"}
    with GraphHarness({"nodes": [{"name": "optimizer", "node": "optimizer", "params": params}]}, env=lean_env) as h:
        h.wait_for("keyframes", timeout=90)  # set up: the start picture
        for _ in range(12):  # published again, in case the subscription joined late
            h.publish("target", Target(class_ids=[309]))
            try:
                h.wait_for("keyframes", lambda m: m.class_ids == [309] and m.steps > 0, timeout=5.0)
                break
            except AssertionError:
                continue
        else:
            raise AssertionError(f"no dreamed keyframe\n{h.text()}")


def test_dream_command_runs_without_the_extra(lean_env, tmp_path):
    out = tmp_path / "bee.png"
    args = ["dream", "--target", "bee", "--size", "64x48", "--steps", "2", "--device", "cpu", "--out", str(out)]
    done = _dreamgraph(args, lean_env)
    assert done.returncode == 0, done.stderr
    assert cv2.imread(str(out)).shape == (48, 64, 3)


def test_what_needs_the_extra_names_it(lean_env, tmp_path):
    fitted = _dreamgraph(["prior", "fit", "skimage", "--out", str(tmp_path / "p.npz")], lean_env)
    assert fitted.returncode == 1
    assert fitted.stderr.strip().splitlines()[-1] == f"error: skimage.data is not installed; it comes with {INSTALL}"
    # own photos need no scikit-image, but the fit needs scipy
    cv2.imwrite(str(tmp_path / "noise.png"), np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
    fitted = _dreamgraph(["prior", "fit", str(tmp_path), "--out", str(tmp_path / "p.npz")], lean_env)
    assert fitted.returncode == 1 and f"error: scipy.stats is not installed; it comes with {INSTALL}" in fitted.stderr
    # the benches that use the photos still load (and say so only when run)
    listed = _dreamgraph(["bench", "--help"], lean_env)
    assert listed.returncode == 0 and "unavailable" not in listed.stderr, listed.stderr
    assert "encoder" in listed.stdout and "bag" in listed.stdout
