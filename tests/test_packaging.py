"""A plain `pip install .` (a container, a systemd install) gets every file the code reads, not only the .py files
that an editable install of a checkout happens to see."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE_DIRS = {"graph": "dreamgraph/graph", "nodes": "dreamgraph/nodes", "launch": "dreamgraph/launch"}


def test_the_wheel_holds_every_data_file(tmp_path):
    # built from a copy of the tracked files: a checkout's build/ folder would lend the wheel what it lacks
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    source = tmp_path / "source"
    for path in tracked:
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, source / path)
    wheel_dir = tmp_path / "wheel"
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheel_dir)]
    built = subprocess.run([*pip, str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheel_dir.glob("dreamgraph-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (p for p in tracked if p.split("/")[0] in PACKAGE_DIRS):
        top, rest = path.split("/", 1)
        assert f"{PACKAGE_DIRS[top]}/{rest}" in names, f"{path} is missing from the wheel"
