"""A JSON Schema for launch files, from the launch file keys and every installed node's declared parameters, so an
editor's YAML extension can complete keys and parameter names and flag mistakes while typing.

``dreamgraph check`` stays the authority (it also resolves substitutions, includes and wiring); the schema is the
editor's early warning. Strings are accepted wherever a ``${arg:..}`` or ``${env:..}`` may stand.
"""

from __future__ import annotations

from typing import Any

from ..core.contract import Param, declared, load_node_class, node_modules
from ..orchestration import launchfile as lf

SUBSTITUTION = {"type": "string", "pattern": r"\$\{(arg|env):"}
_JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean", list: "array", dict: "object"}


def _value(json_type: str, **limits) -> dict:
    """A value of this type, or a string with a substitution in it (resolved at launch)."""
    plain = {"type": json_type, **limits}
    return plain if json_type == "string" and not limits else {"anyOf": [plain, SUBSTITUTION]}


# one entry per key the parser knows; tests/test_launch_schema.py keeps these in step with launchfile's key sets
NODE_PROPERTIES: dict[str, dict] = {
    "name": {"type": "string", "pattern": lf.NAME_RE.pattern, "description": "unique node name"},
    "node": {"type": "string", "description": "a node's short name, a module (its one Node class) or module:Class"},
    "params": {"type": "object", "description": "parameter values (see the node reference)"},
    "remap": {"type": "object", "additionalProperties": {"type": "string"}, "description": "declared topic: new"},
    "respawn": {"type": "boolean", "description": "restart when it exits"},
    "respawn_delay": _value("number", minimum=0),
    "max_restarts": {"type": ["integer", "null"], "minimum": 0},
    "required": {"type": "boolean", "description": "its death stops the graph"},
    "machine": {"type": "string", "description": "a name from machines:"},
    "doc": {"type": "string"},
    "stop_timeout": _value("number", minimum=0),
    "nice": {"type": "integer", "minimum": -20, "maximum": 19, "description": "CPU priority (negative: first)"},
    "watchdog_s": _value("number", minimum=0),
}
ARG_PROPERTIES = {"default": {}, "doc": {"type": "string"}, "required": {"type": "boolean"}}
INCLUDE_PROPERTIES = {"file": {"type": "string"}, "namespace": {"type": "string"}, "args": {"type": "object"}}
MACHINE_PROPERTIES = {"address": {"type": "string"}, "doc": {"type": "string"}}
ENV_PROPERTIES = {"doc": {"type": "string"}, "required": {"type": "boolean"}}
GRAPH_PROPERTIES = {
    "name": {"type": "string"},
    "base_port": _value("integer", minimum=1024, maximum=65000),
    "keys": {"type": "string"},
    "secure": {"type": "boolean"},
    "watchdog_s": _value("number", minimum=0),
}


def _closed(properties: dict, **extra) -> dict:
    return {"type": "object", "properties": properties, "additionalProperties": False, **extra}


def param_schema(param: Param) -> dict:
    limits: dict[str, Any] = {}
    if param.min is not None:
        limits["minimum"] = param.min
    if param.max is not None:
        limits["maximum"] = param.max
    if param.choices is not None:
        limits["enum"] = list(param.choices)
    schema = _value(_JSON_TYPES[param.type], **limits)
    unit = f" ({param.unit})" if param.unit else ""
    return {**schema, "description": f"{param.doc}{unit}", "default": param.default}


def launch_schema() -> dict:
    """The schema (draft 2020-12) for launch files, with each installed node's parameters by its short name."""
    per_node = []
    for short, module in sorted(node_modules().items()):
        params = {name: param_schema(p) for name, p in declared(load_node_class(module), Param).items()}
        per_node.append(
            {
                "if": {"properties": {"node": {"enum": [short, module]}}, "required": ["node"]},
                "then": {"properties": {"params": _closed(params)}},
            }
        )
    node = _closed(NODE_PROPERTIES, required=["name", "node"], allOf=per_node)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "dreamgraph launch file",
        **_closed(
            {
                "args": {
                    "type": "object",
                    "additionalProperties": {"anyOf": [_closed(ARG_PROPERTIES), {"not": {"type": "object"}}]},
                },
                "env": {
                    "type": "object",
                    "additionalProperties": {"anyOf": [_closed(ENV_PROPERTIES), {"not": {"type": "object"}}]},
                },
                "machines": {
                    "type": "object",
                    "additionalProperties": _closed(MACHINE_PROPERTIES, required=["address"]),
                },
                "graph": _closed(GRAPH_PROPERTIES),
                "nodes": {"type": "array", "items": node},
                "include": {"type": "array", "items": _closed(INCLUDE_PROPERTIES, required=["file"])},
            }
        ),
    }
