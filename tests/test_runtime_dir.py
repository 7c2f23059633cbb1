"""The runtime root is private: created 0700 in one step, and refused when someone else could have planted in it."""

import os
import subprocess
import sys

import pytest

from dreamgraph.graph.core.runtime import UnsafeRuntimeDir, runtime_root

NOBODY = 65534


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv("DREAMGRAPH_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    return monkeypatch


def test_prefers_xdg_runtime_dir_and_creates_it_private(clean_env, tmp_path):
    clean_env.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    root = runtime_root()
    assert root == tmp_path / "dreamgraph"
    assert root.stat().st_mode & 0o777 == 0o700
    assert runtime_root() == root, "an existing private root is reused"


def test_falls_back_to_a_per_user_folder_in_tmp(clean_env, tmp_path):
    clean_env.setenv("TMPDIR", str(tmp_path))
    import tempfile

    clean_env.setattr(tempfile, "tempdir", None)
    assert runtime_root() == tmp_path / f"dreamgraph-{os.getuid()}"


def test_refuses_a_root_open_to_others(clean_env, tmp_path):
    root = tmp_path / "root"
    root.mkdir(mode=0o700)
    root.chmod(0o777)
    clean_env.setenv("DREAMGRAPH_RUNTIME_DIR", str(root))
    with pytest.raises(UnsafeRuntimeDir, match="mode 0777, not 0700"):
        runtime_root()


def test_refuses_a_link_even_to_a_private_folder(clean_env, tmp_path):
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    clean_env.setenv("DREAMGRAPH_RUNTIME_DIR", str(tmp_path / "link"))
    with pytest.raises(UnsafeRuntimeDir, match="not a directory"):
        runtime_root()


@pytest.mark.skipif(os.geteuid() != 0, reason="making a folder owned by another user needs root")
def test_refuses_a_root_squatted_by_another_user_and_the_cli_says_why(clean_env, tmp_path):
    root = tmp_path / "squatted"
    root.mkdir(mode=0o700)
    os.chown(root, NOBODY, NOBODY)
    clean_env.setenv("DREAMGRAPH_RUNTIME_DIR", str(root))
    with pytest.raises(UnsafeRuntimeDir, match=f"belongs to uid {NOBODY}"):
        runtime_root()
    result = subprocess.run(
        [sys.executable, "-c", "from dreamgraph.graph.cli import main; main()", "node", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"error: the runtime directory {root} belongs to uid {NOBODY}" in result.stderr
    assert "Traceback" not in result.stderr
