"""A node's contract: its inputs, outputs and parameters, declared once on the class.

The same declarations drive the node at run time, validate launch files, and generate the README's node
reference, so the documentation cannot drift from the code.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import json
import math
import sys
from importlib.metadata import entry_points
from typing import Any, Callable

from .message import Message
from .transport import Delivery

NODE_ENTRY_POINTS = "dreamgraph.nodes"


class _Declaration:
    """A class attribute that learns its own name (Param, Input, Output)."""

    name = ""

    def __set_name__(self, owner, name):
        self.name = name


class Param(_Declaration):
    """A typed node parameter with a default, an optional unit, range and choices."""

    def __init__(
        self,
        type_: type,
        default: Any,
        doc: str = "",
        unit: str = "",
        min: float | None = None,
        max: float | None = None,
        choices: list | None = None,
        check: Callable[[Any], None] | None = None,
    ):
        if type_ not in (int, float, str, bool, list, dict):
            raise TypeError(f"unsupported parameter type {type_!r}")
        self.type, self.default, self.doc, self.unit = type_, default, doc, unit
        self.min, self.max, self.choices = min, max, choices
        self.check = check  # extra validation: raises ValueError with a message for the user

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return instance._param_values[self.name]

    def convert(self, value: Any) -> Any:
        """The value as this parameter's type, or ValueError saying why not."""
        t = self.type
        if t is bool:
            if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
                value = value.lower() in ("true", "1", "yes", "on")
            elif not isinstance(value, bool):
                raise ValueError(f"{self.name} must be true or false, not {value!r}")
        elif t in (int, float):
            if isinstance(value, bool):
                raise ValueError(f"{self.name} must be a number, not {value!r}")
            try:
                converted = t(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{self.name} must be {'an integer' if t is int else 'a number'}, not {value!r}"
                ) from None
            if t is int and isinstance(value, float) and converted != value:
                raise ValueError(f"{self.name} must be an integer, not {value!r}")
            if not math.isfinite(converted):  # inf would pass any minimum and hang whatever waits or scales by it
                raise ValueError(f"{self.name} must be a finite number, not {value!r}")
            value = converted
            if self.min is not None and value < self.min:
                raise ValueError(f"{self.name} must be >= {self.min}, not {value}")
            if self.max is not None and value > self.max:
                raise ValueError(f"{self.name} must be <= {self.max}, not {value}")
        elif t is str:
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ValueError(f"{self.name} must be text, not {value!r}")
            value = str(value)
        elif t is list and isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]  # "a, b" from a launch argument
        elif t is dict and isinstance(value, str):
            try:
                value = json.loads(value or "{}")
            except ValueError:
                raise ValueError(f"{self.name} must be a mapping (or its JSON), not {value!r}") from None
            if not isinstance(value, dict):
                raise ValueError(f"{self.name} must be a mapping, not {type(value).__name__}")
        elif not isinstance(value, t):
            raise ValueError(f"{self.name} must be a {t.__name__}, not {type(value).__name__}")
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"{self.name} must be one of {', '.join(map(str, self.choices))}, not {value!r}")
        if self.check is not None:
            try:
                self.check(value)
            except ValueError as err:
                raise ValueError(f"{self.name}: {err}") from None
        return value


class Input(_Declaration):
    """A subscription: messages of ``type`` on ``topic`` go to the node's ``on_<name>`` method. ``optional``: the
    node works without a publisher (``dreamgraph check`` then does not ask for one)."""

    def __init__(
        self, type_: type[Message], topic: str, delivery: str = "queue:16", doc: str = "", optional: bool = False
    ):
        self.type, self.topic, self.doc, self.optional = type_, topic, doc, optional
        self.delivery = Delivery.parse(delivery)


class Output(_Declaration):
    """A publication of ``type`` on ``topic``. ``latched`` topics are state: late joiners get the last value."""

    def __init__(self, type_: type[Message], topic: str, latched: bool = False, doc: str = ""):
        self.type, self.topic, self.latched, self.doc = type_, topic, latched, doc

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return instance._bound_outputs[self.name]


def declared(cls, kind) -> dict[str, Any]:
    """Declarations of one kind on a node class, base classes first, in declaration order."""
    found = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, kind):
                found[name] = value
    return found


def node_modules() -> dict[str, str]:
    """Short node names and their modules, as installed packages list them under ``dreamgraph.nodes``."""
    return {ep.name: ep.value for ep in entry_points(group=NODE_ENTRY_POINTS)}


def load_node_class(ref: str):
    """A short name (``optimizer``, from the entry-point group ``dreamgraph.nodes``), ``package.module`` (its one
    Node subclass) or ``package.module:Class``."""
    from .node import Node

    module_name, _, class_name = ref.partition(":")
    installed = node_modules()
    module_name = installed.get(module_name, module_name)
    if module_name.partition(".")[0] in sys.stdlib_module_names:
        # importing runs the module: `node: this` would print, `node: antigravity` open a browser
        raise ValueError(f"{module_name!r} is a Python standard library module, not a node module")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        close = difflib.get_close_matches(module_name, list(installed), n=1)
        hint = (f"; did you mean {close[0]}?" if close else "") + (
            f"; installed nodes: {', '.join(sorted(installed)) or 'none'}" if "." not in module_name else ""
        )
        raise ValueError(f"cannot import node module {module_name!r}: {err}{hint}") from None
    if class_name:
        cls = getattr(module, class_name, None)
        if not (inspect.isclass(cls) and issubclass(cls, Node)):
            raise ValueError(f"{module_name} has no node class {class_name!r}")
        return cls
    classes = [
        c
        for c in vars(module).values()
        if inspect.isclass(c) and issubclass(c, Node) and c is not Node and c.__module__ == module.__name__
    ]
    if len(classes) != 1:
        raise ValueError(f"{module_name} defines {len(classes)} node classes; name one as {module_name}:CLASS")
    return classes[0]


def resolve_topic(name: str, namespace: str = "", remap: dict[str, str] | None = None) -> str:
    """A declared topic name after remapping and namespacing. Names starting with '/' ignore the namespace."""
    remap = remap or {}
    name = remap.get(name, name)
    if name.startswith("/"):
        return name.lstrip("/")
    return f"{namespace.strip('/')}/{name}" if namespace.strip("/") else name


def describe(cls) -> dict:
    """The contract as plain data (for documentation and `graph` output)."""
    doc = inspect.getdoc(cls) or ""
    return {
        "class": f"{cls.__module__}:{cls.__name__}",
        "summary": doc.split("\n\n")[0].replace("\n", " "),
        "inputs": [
            {
                "name": n,
                "topic": i.topic,
                "type": i.type.__name__,
                "delivery": str(i.delivery),
                "doc": i.doc,
                "optional": i.optional,
            }
            for n, i in declared(cls, Input).items()
        ],
        "outputs": [
            {"name": n, "topic": o.topic, "type": o.type.__name__, "latched": o.latched, "doc": o.doc}
            for n, o in declared(cls, Output).items()
        ],
        "params": [
            {
                "name": n,
                "type": p.type.__name__,
                "default": p.default,
                "unit": p.unit,
                "doc": p.doc,
                "min": p.min,
                "max": p.max,
                "choices": p.choices,
            }
            for n, p in declared(cls, Param).items()
        ],
    }
