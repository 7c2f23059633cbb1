"""``dreamgraph check`` on broken launch files, as a real CLI process: every error names file:line and the key."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from test_graph_helpers import LAUNCH_DATA

# file -> (line, key, words of the explanation)
BROKEN = {
    "bad_syntax.yaml": (5, "(syntax)", "expected ','"),
    "unknown_top_key.yaml": (4, "nodez", "unknown key"),
    "unknown_node_key.yaml": (5, "nodes.0.max_restart", "unknown key"),
    "missing_node_key.yaml": (4, "nodes.1", "missing required key 'node'"),
    "unknown_module.yaml": (5, "nodes.1.node", "cannot import node module 'dreamgraph.graph.builtin.no_such_node'"),
    "unknown_param.yaml": (6, "nodes.0.params.speed", "unknown parameter of Ticker"),
    "bad_param_value.yaml": (5, "nodes.0.params.rate", "rate must be >= 0.01"),
    "bad_respawn_delay.yaml": (5, "nodes.0.respawn_delay", "must be a number of seconds"),
    "bad_watchdog.yaml": (5, "nodes.0.watchdog_s", "must be a number of seconds >= 0"),
    "bad_graph_watchdog.yaml": (3, "graph.watchdog_s", "must be a number of seconds >= 0 (0: no watchdog)"),
    "duplicate_names.yaml": (6, "name", "duplicate node name 'tick' (first at"),
    "undefined_arg.yaml": (7, "nodes.0.params.rate", "${arg:rat} is not a declared argument"),
    "missing_env.yaml": (5, "nodes.0.params.rate", "environment variable DREAMGRAPH_TEST_SURELY_UNSET_VAR is not set"),
    "unknown_machine.yaml": (8, "nodes.0.machine", "unknown machine 'cpu'"),
    "bad_remap.yaml": (5, "nodes.0.remap.tiks", "has no topic 'tiks'"),
    "bad_include.yaml": (5, "include.0.file", "cannot read"),
}


def check(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "DREAMGRAPH_TEST_SURELY_UNSET_VAR"}
    return subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", "check", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(environ, **(env or {})),
        cwd=LAUNCH_DATA,
    )


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_check_reports_file_line_and_key(name):
    line, key, words = BROKEN[name]
    result = check(name)
    assert result.returncode != 0
    problems = [l for l in result.stderr.splitlines() if l.startswith(f"{name}:")]
    assert problems, result.stderr
    assert f"{name}:{line}: {key}: " in problems[0], result.stderr
    assert words in problems[0], result.stderr
    assert "problem(s) in" in result.stderr
    assert "OK" not in result.stdout


def test_check_accepts_a_valid_file():
    result = check("valid.yaml")
    assert result.returncode == 0, result.stderr
    assert "valid.yaml: OK (2 nodes)" in result.stdout


def test_check_takes_arguments_and_environment():
    assert check("missing_env.yaml", env={"DREAMGRAPH_TEST_SURELY_UNSET_VAR": "7"}).returncode == 0
    bad_value = check("valid.yaml", "rate:=fast")
    assert bad_value.returncode != 0 and "nodes.0.params.rate: rate must be a number" in bad_value.stderr
    unknown = check("valid.yaml", "speed:=3")
    assert unknown.returncode != 0 and "unknown argument 'speed'" in unknown.stderr
    malformed = check("valid.yaml", "rate=3")
    assert malformed.returncode != 0 and "must look like name:=value" in malformed.stderr


def test_check_reports_every_problem_of_a_file(tmp_path):
    path = tmp_path / "many.yaml"
    path.write_text(
        "nodes:\n"
        "  - {name: a, node: dreamgraph.graph.builtin.ticker, params: {rate: 0}}\n"
        "  - {name: b, node: dreamgraph.graph.builtin.ticker, respawn: maybe}\n"
        "  - {name: a, node: dreamgraph.graph.builtin.counter, colour: red}\n"
    )
    result = check(str(path))
    assert result.returncode != 0
    assert f"{path}:2: nodes.0.params.rate:" in result.stderr
    assert f"{path}:3: nodes.1.respawn: must be true or false" in result.stderr
    assert f"{path}:4: nodes.2.colour: unknown key" in result.stderr
    assert "duplicate node name 'a'" in result.stderr
    assert "4 problem(s)" in result.stderr


def test_check_of_a_missing_file_fails():
    result = check("does_not_exist.yaml")
    assert result.returncode != 0
    assert "cannot read" in result.stderr


def test_shipped_launch_files_are_found_by_name_from_anywhere(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", "check", "stream"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0 and "stream: OK (5 nodes)" in result.stdout, result.stderr


def test_nodes_are_named_by_short_name_or_module(tmp_path):
    (tmp_path / "short.yaml").write_text(
        "nodes:\n  - {name: a, node: scheduler}\n"
        "  - {name: b, node: dreamgraph.nodes.scheduler}\n"
        "  - {name: c, node: schedulr}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", "check", "short.yaml"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    problems = [line for line in result.stderr.splitlines() if line.startswith("short.yaml:")]
    assert len(problems) == 1, result.stderr
    assert "nodes.2.node: cannot import node module 'schedulr'" in problems[0]
    assert "did you mean scheduler?; installed nodes: interpolator, ndi_output, optimizer" in problems[0]


def _alias_bomb(levels: int = 9) -> str:
    """The billion laughs: each level is nine aliases of the one before, 9**levels values once expanded."""
    names = "abcdefghijklmnop"[:levels]
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"{name}: &{name} [{', '.join([f'*{before}'] * 9)}]" for before, name in zip(names, names[1:])]
    return "\n".join(lines + [f"nodes: *{names[-1]}", ""])


HOSTILE = {
    "alias_bomb.yaml": _alias_bomb(),
    "deep.yaml": "nodes: " + "[" * 5000 + "]" * 5000 + "\n",
    "huge.yaml": "nodes: []\n" + "#" * (2 << 20) + "\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_check_refuses_hostile_yaml_quickly_and_clearly(tmp_path, name):
    (tmp_path / name).write_text(HOSTILE[name])
    result = check(str(tmp_path / name))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert f"{tmp_path / name}" in result.stderr + result.stdout
    assert any(w in result.stderr + result.stdout for w in ("aliases", "nested deeper", "larger than", "values once"))


def test_an_included_file_that_is_no_launch_file_shows_only_its_line(tmp_path):
    (tmp_path / "key.txt").write_text("root:x:0:0:root:/root:/bin/bash\nstream key: live_123456_secret\n")
    (tmp_path / "graph.yaml").write_text("nodes: []\ninclude:\n  - file: key.txt\n")
    result = check(str(tmp_path / "graph.yaml"))
    assert result.returncode != 0
    out = result.stderr + result.stdout
    assert "key.txt:" in out
    assert "live_123456_secret" not in out and "stream key" not in out and "/bin/bash" not in out


def test_check_does_not_import_standard_library_modules_named_as_nodes(tmp_path):
    (tmp_path / "graph.yaml").write_text("nodes:\n  - {name: zen, node: this}\n")
    result = check(str(tmp_path / "graph.yaml"))
    assert result.returncode != 0
    assert "Zen of Python" not in result.stdout + result.stderr
    assert "standard library module" in result.stderr + result.stdout


def _wiring(tmp_path, text: str, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "graph.yaml").write_text(text)
    return check(str(tmp_path / "graph.yaml"), *args)


def test_check_finds_a_remap_typo_and_suggests_the_topic(tmp_path):
    result = _wiring(
        tmp_path,
        "nodes:\n"
        "  - {name: tick, node: dreamgraph.graph.builtin.ticker}\n"
        "  - {name: count, node: dreamgraph.graph.builtin.counter, remap: {ticks: tiks}}\n",
    )
    assert result.returncode != 0
    assert (
        f"{tmp_path / 'graph.yaml'}:3: node count: input /tiks (remapped from 'ticks') (Counter) has no publisher "
        "in the graph; did you mean /ticks?" in result.stderr
    )


def test_check_finds_a_topic_carrying_two_types(tmp_path):
    # the example: the scheduler's Overlay remapped onto the interpolator's video
    result = _wiring(
        tmp_path,
        "nodes:\n"
        "  - {name: scheduler, node: scheduler, remap: {overlay: video}}\n"
        "  - {name: interpolator, node: interpolator}\n"
        "  - {name: window, node: window}\n",
    )
    assert result.returncode != 0
    assert "topic /video is published with different types: scheduler (Overlay), interpolator (Image)" in result.stderr
    assert "node window: input /video takes Image, but scheduler sends Overlay" in result.stderr
    assert "node interpolator: input /keyframes (Keyframe) has no publisher" in result.stderr


def test_check_notes_unread_outputs_and_strict_makes_them_errors(tmp_path):
    text = "nodes:\n  - {name: tick, node: dreamgraph.graph.builtin.ticker}\n"
    relaxed = _wiring(tmp_path, text)
    assert relaxed.returncode == 0, relaxed.stderr
    assert "note: " in relaxed.stdout and "node tick: output /ticks (Counter) is read by no node" in relaxed.stdout
    strict = _wiring(tmp_path, text, "--strict")
    assert strict.returncode != 0 and "(--strict: notes count)" in strict.stderr


def test_wiring_follows_the_namespace_and_remapping_rules(tmp_path):
    # as in ROS 2: a relative topic gets the include's namespace, a '/'-prefixed one stays global
    (tmp_path / "counter.yaml").write_text("nodes:\n  - {name: count, node: dreamgraph.graph.builtin.counter}\n")
    (tmp_path / "counter_global.yaml").write_text(
        "nodes:\n  - {name: count, node: dreamgraph.graph.builtin.counter, remap: {ticks: /ticks}}\n"
    )
    top = "nodes:\n  - {name: tick, node: dreamgraph.graph.builtin.ticker}\ninclude:\n  - {file: %s, namespace: cam}\n"
    (tmp_path / "relative.yaml").write_text(top % "counter.yaml")
    (tmp_path / "absolute.yaml").write_text(top % "counter_global.yaml")
    relative = check(str(tmp_path / "relative.yaml"), "--strict")
    assert relative.returncode != 0
    assert "node tick: output /ticks (Counter) is read by no node" in relative.stdout
    assert "node cam/count: output /cam/counter_report (Text) is read by no node" in relative.stdout
    absolute = check(str(tmp_path / "absolute.yaml"))
    assert absolute.returncode == 0, absolute.stderr
    assert "output /ticks" not in absolute.stdout, "the namespaced counter reads the global /ticks"
