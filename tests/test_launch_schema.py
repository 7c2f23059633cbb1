"""The launch file JSON Schema (`dreamgraph schema`): shipped files validate, mistakes an editor should flag fail,
and it knows every key the launch file parser knows."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import jsonschema
import pytest
import yaml

from dreamgraph.graph.orchestration import launchfile as lf
from dreamgraph.graph.tools import schema as launch_schema_module

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def validator():
    printed = subprocess.run(
        [sys.executable, "-m", "dreamgraph.graph.cli", "schema"], capture_output=True, text=True, timeout=120
    )
    assert printed.returncode == 0, printed.stderr
    schema = json.loads(printed.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", sorted((ROOT / "launch").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_launch_files_validate(validator, path):
    errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert not errors, errors


@pytest.mark.parametrize(
    "node, words",
    [
        ({"name": "o", "node": "optimizer", "respwan": True}, "'respwan' was unexpected"),
        ({"name": "o", "node": "optimizer", "params": {"widht": 512}}, "'widht' was unexpected"),
        (
            {"name": "o", "node": "optimizer", "params": {"device": "gpu"}},
            "'gpu' is not one of ['auto', 'cpu', 'cuda']",
        ),
        ({"name": "o", "node": "dreamgraph.nodes.optimizer", "params": {"zoom_per_s": "fast"}}, "'fast' is not valid"),
        ({"name": "o", "node": "optimizer", "nice": 30}, "30 is greater than the maximum of 19"),
        ({"name": "o", "node": "optimizer", "watchdog_s": -1}, "-1 is less than the minimum of 0"),
        ({"name": "o"}, "'node' is a required property"),
    ],
)
def test_mistakes_an_editor_should_flag(validator, node, words):
    messages = [e.message for e in validator.iter_errors({"nodes": [node]})]
    messages += [c.message for e in validator.iter_errors({"nodes": [node]}) for c in e.context or []]
    assert any(words in m for m in messages), messages


def test_substitutions_are_accepted_where_a_number_goes(validator):
    launch = {"args": {"w": 512}, "nodes": [{"name": "o", "node": "optimizer", "params": {"width": "${arg:w}"}}]}
    assert not list(validator.iter_errors(launch))


def test_the_schema_knows_every_key_the_parser_knows():
    s = launch_schema_module
    assert set(s.NODE_PROPERTIES) == lf.NODE_KEYS
    assert set(s.ARG_PROPERTIES) == lf.ARG_KEYS
    assert set(s.INCLUDE_PROPERTIES) == lf.INCLUDE_KEYS
    assert set(s.MACHINE_PROPERTIES) == lf.MACHINE_KEYS
    assert set(s.ENV_PROPERTIES) == lf.ENV_KEYS
    assert set(s.GRAPH_PROPERTIES) == lf.GRAPH_KEYS
    assert set(s.launch_schema()["properties"]) == lf.TOP_KEYS
