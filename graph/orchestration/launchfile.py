"""Launch files: YAML graphs with arguments, substitutions, includes, remapping, respawn policies and placement.

Every error names the file, the line and the key, so ``dreamgraph check`` can point at the mistake.

    args:
      size: {default: 512x288, doc: dream size}
    machines:
      gpu: {address: "${env:GPU_HOST}"}
    nodes:
      - name: optimizer
        node: optimizer
        params: {size: "${arg:size}"}
        remap: {target: target}
        respawn: true
        respawn_delay: 1.0
        max_restarts: 10
        required: false
        machine: gpu
    include:
      - file: other.yaml
        namespace: cam2
        args: {size: 256x144}
"""

from __future__ import annotations

import os
import pathlib
import re
from dataclasses import dataclass, field
from importlib import resources
from importlib.metadata import entry_points
from typing import Any

import yaml

from ..core.contract import Input, Output, Param, declared, load_node_class, resolve_topic
from ..core.secrets import SecretMasker

TOP_KEYS = {"args", "env", "nodes", "include", "machines", "graph"}
NODE_KEYS = {
    "name",
    "node",
    "params",
    "remap",
    "respawn",
    "respawn_delay",
    "max_restarts",
    "required",
    "machine",
    "doc",
    "stop_timeout",
    "nice",
    "watchdog_s",
}
INCLUDE_KEYS = {"file", "namespace", "args"}
ARG_KEYS = {"default", "doc", "required"}
MACHINE_KEYS = {"address", "doc"}
ENV_KEYS = {"doc", "required"}
GRAPH_KEYS = {"name", "base_port", "keys", "secure", "watchdog_s"}
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
SUBST_RE = re.compile(r"\$\{(arg|env):([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
SECRET_ENV_RE = re.compile(r"KEY|TOKEN|SECRET|PASS|OAUTH", re.I)
MAX_INCLUDE_DEPTH = 8
# Launch files are small; these bounds stop hostile YAML (alias bombs, deep nesting) before it is built.
MAX_LAUNCH_BYTES = 1 << 20
MAX_ALIASES = 256
MAX_NESTING = 64
MAX_VALUES = 100_000
LAUNCH_ENTRY_POINTS = "dreamgraph.launch"  # packages whose *.yaml files are launch files found by name


class LaunchError(ValueError):
    """One or more problems in a launch file, each with file, line and key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class NodeSpec:
    name: str
    node: str
    params: dict = field(default_factory=dict)
    remap: dict = field(default_factory=dict)
    namespace: str = ""
    respawn: bool = False
    respawn_delay: float = 1.0
    max_restarts: int | None = None
    required: bool = False
    machine: str = ""
    stop_timeout: float = 5.0
    nice: int = 0  # CPU priority (Unix nice, relative to the launcher): heavy nodes yield, the video path goes first
    watchdog_s: float | None = None  # restart after this long without a heartbeat (0: never; None: the graph's)
    source: str = ""  # file:line, for messages


@dataclass
class Launch:
    path: str
    nodes: list[NodeSpec]
    machines: dict[str, str]
    args: dict[str, str]
    graph: dict
    secrets: list[str]  # values of secret-looking environment variables used, to mask in logs
    missing_env: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # advice that is not an error (optional variables unset)


class LaunchFileTooLarge(ValueError):
    """A launch file beyond the bounds any real graph needs (a YAML bomb, or not a launch file at all)."""


def _check_bounds(text: str) -> None:
    """Raise LaunchFileTooLarge for a file too big, too deeply nested or with too many aliases. PyYAML's event
    parser is iterative, so this reads a hostile file in bounded time and stack before anything is composed."""
    if len(text) > MAX_LAUNCH_BYTES:
        raise LaunchFileTooLarge(f"larger than {MAX_LAUNCH_BYTES} bytes")
    depth = aliases = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_NESTING:
                raise LaunchFileTooLarge(f"line {event.start_mark.line + 1}: nested deeper than {MAX_NESTING} levels")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise LaunchFileTooLarge(f"line {event.start_mark.line + 1}: more than {MAX_ALIASES} aliases")


class _Located:
    """YAML values with the line of every mapping key and sequence item."""

    def __init__(self, path: str):
        self.path = path
        self.lines: dict[tuple, int] = {}
        self.values = 0

    def build(self, node: yaml.Node, at: tuple = ()) -> Any:
        self.values += 1
        if self.values > MAX_VALUES:  # aliases within the bound can still expand exponentially
            raise LaunchFileTooLarge(f"more than {MAX_VALUES} values once aliases are expanded")
        self.lines.setdefault(at, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(self._scalar(key_node))
                self.lines[at + (key,)] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, at + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, at + (i,)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    @staticmethod
    def _scalar(node: yaml.Node) -> Any:
        return yaml.SafeLoader("").construct_object(node, deep=True)

    def where(self, at: tuple) -> str:
        for cut in range(len(at), -1, -1):
            if at[:cut] in self.lines:
                return f"{self.path}:{self.lines[at[:cut]]}"
        return self.path


def _key_name(at: tuple) -> str:
    return ".".join(str(p) for p in at) or "(top)"


class _Parser:
    def __init__(self, cli_args: dict[str, str], environ: dict[str, str]):
        self.cli_args = cli_args
        self.environ = environ
        self.problems: list[str] = []
        self.secrets: set[str] = set()
        self.missing_env: set[str] = set()
        self.nodes: list[NodeSpec] = []
        self.machines: dict[str, str] = {}
        self.graph: dict = {}
        self.top_args: dict[str, str] = {}
        self.notes: list[str] = []

    def problem(self, loc: _Located, at: tuple, text: str):
        self.problems.append(f"{loc.where(at)}: {_key_name(at)}: {text}")

    def check_keys(self, loc: _Located, at: tuple, mapping: dict, allowed: set[str]):
        """A problem for every key of `mapping` (found at `at`) that is not one of `allowed`."""
        for key in mapping:
            if key not in allowed:
                self.problem(loc, at + (key,), f"unknown key; expected one of {', '.join(sorted(allowed))}")

    def parse_file(
        self, path: pathlib.Path, namespace: str, passed_args: dict[str, str], depth: int, included_from: str = ""
    ):
        loc = _Located(str(path))
        try:
            text = path.read_text()
        except OSError as err:
            self.problems.append(f"{included_from or path}: cannot read {path}: {err.strerror}")
            return
        # An included file may be anything the launch file names (a key file, /etc/shadow): its problems give line
        # numbers only, never its text, until it shows itself to be a launch file.
        quiet = bool(included_from)
        try:
            _check_bounds(text)
            tree = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            line = f":{mark.line + 1}" if mark else ""
            what = "not valid YAML" if quiet else getattr(err, "problem", None) or err
            self.problems.append(f"{path}{line}: (syntax): {what}")
            return
        except LaunchFileTooLarge as err:
            self.problems.append(f"{path}: (syntax): {err}")
            return
        try:
            data = loc.build(tree) if tree is not None else {}
        except LaunchFileTooLarge as err:
            self.problems.append(f"{path}: (syntax): {err}")
            return
        except (yaml.YAMLError, ValueError, TypeError, AttributeError) as err:
            # A scalar with a tag PyYAML cannot build (!!python/object, a malformed !!timestamp or !!binary).
            mark = getattr(err, "problem_mark", None)
            line = f":{mark.line + 1}" if mark else ""
            what = "" if quiet else f": {getattr(err, 'problem', None) or err}"
            self.problems.append(f"{path}{line}: (syntax): cannot read a value{what}")
            return
        if not isinstance(data, dict) or (quiet and not data.keys() & TOP_KEYS):
            self.problem(loc, (), "a launch file must be a mapping with a 'nodes' list")
            return
        self.check_keys(loc, (), data, TOP_KEYS)
        args = self.parse_args(loc, data.get("args") or {}, passed_args)
        self.parse_env(loc, data.get("env") or {})
        if depth == 0:
            self.top_args = args
            self.parse_graph(loc, data.get("graph") or {}, args)
            self.parse_machines(loc, data.get("machines") or {}, args)
        nodes = data.get("nodes") or []
        if not isinstance(nodes, list):
            self.problem(loc, ("nodes",), "must be a list of nodes")
            nodes = []
        for i, item in enumerate(nodes):
            self.parse_node(loc, ("nodes", i), item, namespace, args)
        includes = data.get("include") or []
        if not isinstance(includes, list):
            self.problem(loc, ("include",), "must be a list of {file, namespace, args}")
            includes = []
        for i, inc in enumerate(includes):
            at = ("include", i)
            if not isinstance(inc, dict) or "file" not in inc:
                self.problem(loc, at, "an include needs at least 'file'")
                continue
            self.check_keys(loc, at, inc, INCLUDE_KEYS)
            if depth >= MAX_INCLUDE_DEPTH:
                self.problem(loc, at, f"includes nest deeper than {MAX_INCLUDE_DEPTH} (a cycle?)")
                continue
            sub_ns = str(self.subst(loc, at + ("namespace",), inc.get("namespace", ""), args)).strip("/")
            inc_args = inc.get("args") or {}
            if not isinstance(inc_args, dict):
                self.problem(loc, at + ("args",), "must be a mapping of argument values")
                inc_args = {}
            inc_args = {k: str(self.subst(loc, at + ("args", k), v, args)) for k, v in inc_args.items()}
            target = (path.parent / str(self.subst(loc, at + ("file",), inc["file"], args))).resolve()
            full_ns = "/".join(p for p in (namespace, sub_ns) if p)
            self.parse_file(
                target,
                full_ns,
                inc_args,
                depth + 1,
                included_from=f"{loc.where(at + ('file',))}: {_key_name(at + ('file',))}",
            )

    def parse_args(self, loc, raw, passed: dict[str, str]) -> dict[str, str]:
        if not isinstance(raw, dict):
            self.problem(loc, ("args",), "must be a mapping of argument names")
            return {}
        values = {}
        for name, spec in raw.items():
            at = ("args", name)
            if not isinstance(name, str) or not NAME_RE.match(name):
                self.problem(loc, at, "argument names are letters, digits, '_' and '-'")
                continue
            if isinstance(spec, dict):
                self.check_keys(loc, at, spec, ARG_KEYS)
                default = spec.get("default")
            else:
                default = spec
            if name in passed:
                values[name] = passed[name]
            elif default is not None:
                values[name] = str(self.subst(loc, at, default, values))
            else:
                self.problem(loc, at, f"argument has no default; pass it as {name}:=VALUE")
        for name in passed:
            if name not in raw and passed is self.cli_args:
                self.problems.append(
                    f"{loc.path}: args: unknown argument {name!r} given on the command line; "
                    f"known: {', '.join(raw) or 'none'}"
                )
        return values

    def parse_env(self, loc, raw):
        """Environment variables the nodes read themselves (secrets): missing required ones are errors."""
        if not isinstance(raw, dict):
            self.problem(loc, ("env",), "must map variable names to {doc, required}")
            return
        for name, spec in raw.items():
            at = ("env", name)
            spec = spec if isinstance(spec, dict) else {"doc": str(spec or "")}
            self.check_keys(loc, at, spec, ENV_KEYS)
            if self.environ.get(str(name)):
                if SECRET_ENV_RE.search(str(name)):
                    self.secrets.add(self.environ[str(name)])
                continue
            doc = f" ({spec['doc']})" if spec.get("doc") else ""
            if spec.get("required", True):
                self.missing_env.add(str(name))
                self.problem(loc, at, f"environment variable {name} is not set{doc}")
            else:
                self.notes.append(f"{loc.where(at)}: env.{name}: not set{doc}")

    def subst(self, loc, at: tuple, value: Any, args: dict[str, str]) -> Any:
        """Substitute ${arg:..} and ${env:..} in strings, recursively in lists and mappings."""
        if isinstance(value, dict):
            return {k: self.subst(loc, at + (k,), v, args) for k, v in value.items()}
        if isinstance(value, list):
            return [self.subst(loc, at + (i,), v, args) for i, v in enumerate(value)]
        if not isinstance(value, str):
            return value

        def replace(match):
            kind, name, default = match.groups()
            if kind == "arg":
                if name not in args:
                    self.problem(loc, at, f"${{arg:{name}}} is not a declared argument")
                    return ""
                return args[name]
            if name in self.environ:
                if SECRET_ENV_RE.search(name) and self.environ[name]:
                    self.secrets.add(self.environ[name])
                return self.environ[name]
            if default is not None:
                return default
            self.missing_env.add(name)
            self.problem(loc, at, f"environment variable {name} is not set (export {name}=... before launching)")
            return ""

        return SUBST_RE.sub(replace, value)

    def parse_graph(self, loc, raw, args):
        if not isinstance(raw, dict):
            self.problem(loc, ("graph",), "must be a mapping")
            return
        self.check_keys(loc, ("graph",), raw, GRAPH_KEYS)
        self.graph = self.subst(loc, ("graph",), raw, args)
        if "base_port" in self.graph:
            try:
                port = int(self.graph["base_port"])
                if not 1024 <= port <= 65000:
                    raise ValueError
                self.graph["base_port"] = port
            except (TypeError, ValueError):
                self.problem(loc, ("graph", "base_port"), "must be a port number between 1024 and 65000")
        if "watchdog_s" in self.graph:
            try:
                self.graph["watchdog_s"] = float(self.graph["watchdog_s"])
                if not self.graph["watchdog_s"] >= 0:
                    raise ValueError
            except (TypeError, ValueError):
                self.problem(loc, ("graph", "watchdog_s"), "must be a number of seconds >= 0 (0: no watchdog)")

    def parse_machines(self, loc, raw, args):
        if not isinstance(raw, dict):
            self.problem(loc, ("machines",), "must be a mapping of machine names to {address}")
            return
        for name, spec in raw.items():
            at = ("machines", name)
            if not isinstance(spec, dict) or "address" not in spec:
                self.problem(loc, at, "a machine needs an 'address' (use ${arg:..} or ${env:..}, not a literal IP)")
                continue
            self.check_keys(loc, at, spec, MACHINE_KEYS)
            self.machines[str(name)] = str(self.subst(loc, at + ("address",), spec["address"], args))

    def parse_node(self, loc, at, item, namespace, args):
        if not isinstance(item, dict):
            self.problem(loc, at, "a node must be a mapping with at least 'name' and 'node'")
            return
        self.check_keys(loc, at, item, NODE_KEYS)
        for key in ("name", "node"):
            if key not in item:
                self.problem(loc, at, f"missing required key {key!r}")
        if "name" not in item or "node" not in item:
            return
        name = str(item["name"])
        if not NAME_RE.match(name):
            self.problem(loc, at + ("name",), "node names are letters, digits, '_' and '-'")
            return
        spec = NodeSpec(
            name="/".join(p for p in (namespace, name) if p),
            node=str(item["node"]),
            namespace=namespace,
            source=loc.where(at),
        )
        for key in ("respawn", "required"):
            if key in item:
                if not isinstance(item[key], bool):
                    self.problem(loc, at + (key,), "must be true or false")
                else:
                    setattr(spec, key, item[key])
        for key in ("respawn_delay", "stop_timeout", "watchdog_s"):
            if key in item:
                value = self.subst(loc, at + (key,), item[key], args)
                try:
                    value = float(value)
                    if not value >= 0:  # NaN too
                        raise ValueError
                    setattr(spec, key, value)
                except (TypeError, ValueError):
                    self.problem(loc, at + (key,), f"must be a number of seconds >= 0, not {value!r}")
        if "nice" in item:
            value = item["nice"]
            if isinstance(value, bool) or not isinstance(value, int) or not -20 <= value <= 19:
                self.problem(
                    loc, at + ("nice",), f"must be a whole number from -20 (highest) to 19 (lowest), not {value!r}"
                )
            else:
                spec.nice = value
        if "max_restarts" in item:
            value = item["max_restarts"]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                self.problem(
                    loc, at + ("max_restarts",), f"must be a whole number >= 0 (or null for no limit), not {value!r}"
                )
            else:
                spec.max_restarts = value
        if "machine" in item:
            spec.machine = str(item["machine"])
            if spec.machine not in self.machines:
                self.problem(
                    loc,
                    at + ("machine",),
                    f"unknown machine {spec.machine!r}; "
                    f"declared: {', '.join(self.machines) or 'none (add a machines: section)'}",
                )
        for key in ("params", "remap"):
            value = item.get(key) or {}
            if not isinstance(value, dict):
                self.problem(loc, at + (key,), "must be a mapping")
                value = {}
            setattr(spec, key, self.subst(loc, at + (key,), value, args))
        self.check_node_class(loc, at, spec)
        self.nodes.append(spec)

    def check_node_class(self, loc, at, spec: NodeSpec):
        try:
            cls = load_node_class(spec.node)
        except ValueError as err:
            self.problem(loc, at + ("node",), str(err))
            return
        params = declared(cls, Param)
        for key, value in spec.params.items():
            if key not in params:
                self.problem(
                    loc, at + ("params", key), f"unknown parameter of {cls.__name__}; known: {', '.join(params)}"
                )
                continue
            if isinstance(value, str) and value == "" and params[key].type is not str:
                continue  # a missing env var, already reported
            try:
                params[key].convert(value)
            except ValueError as err:
                self.problem(loc, at + ("params", key), str(err))
        names = {d.topic for d in list(declared(cls, Input).values()) + list(declared(cls, Output).values())}
        names |= set(declared(cls, Input)) | set(declared(cls, Output))
        for key, value in spec.remap.items():
            if key not in names:
                self.problem(
                    loc,
                    at + ("remap", key),
                    f"{cls.__name__} has no topic {key!r}; its topics: {', '.join(sorted(names))}",
                )
            elif not isinstance(value, str) or not value.strip("/"):
                self.problem(loc, at + ("remap", key), "must map to a topic name")
        # Remapping by input/output attribute name is allowed too; normalise to declared topic names.
        decls = {**declared(cls, Input), **declared(cls, Output)}
        spec.remap = {(decls[k].topic if k in decls else k): v for k, v in spec.remap.items()}


def parse_launch_args(items: list[str] | None) -> dict[str, str]:
    """Command-line launch arguments ``name:=value`` as a mapping; ValueError names a malformed one."""
    values = {}
    for item in items or []:
        key, found, value = item.partition(":=")
        if not found or not key:
            raise ValueError(f"argument {item!r} must look like name:=value")
        values[key] = value
    return values


def find_launch_file(name: str | os.PathLike) -> pathlib.Path:
    """A launch file's path: ``name`` itself when it is a path, else a shipped launch file found by name
    (``stream`` or ``stream.yaml``) in the packages listed under the entry-point group ``dreamgraph.launch``."""
    path = pathlib.Path(name)
    if path.exists() or len(path.parts) > 1:
        return path
    file_name = path.name if path.suffix in (".yaml", ".yml") else f"{path.name}.yaml"
    for ep in entry_points(group=LAUNCH_ENTRY_POINTS):
        shipped = resources.files(ep.value) / file_name
        if shipped.is_file():
            return pathlib.Path(str(shipped))
    return path


def declared_args(path: str | os.PathLike) -> list[tuple[str, str | None, str]]:
    """A launch file's own arguments as (name, default or None when required, doc), read without substituting
    anything, so they show even when the environment the file needs is missing. ValueError when unreadable."""
    text = find_launch_file(path).read_text()
    try:
        _check_bounds(text)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"not valid YAML: {getattr(err, 'problem', None) or err}") from None
    raw = data.get("args") if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        return []
    found = []
    for name, spec in raw.items():
        spec = spec if isinstance(spec, dict) else {"default": spec}
        default = spec.get("default")
        found.append((str(name), None if default is None else str(default), str(spec.get("doc") or "")))
    return found


def parse_launch(
    path: str | os.PathLike, cli_args: dict[str, str] | None = None, environ: dict[str, str] | None = None
) -> Launch:
    """Read and validate a launch file (a path, or a shipped file's name); raise LaunchError listing every
    problem."""
    parser = _Parser(cli_args or {}, dict(os.environ) if environ is None else environ)
    path = find_launch_file(path)
    parser.parse_file(path, "", parser.cli_args, 0)
    seen = {}
    for spec in parser.nodes:
        if spec.name in seen:
            parser.problems.append(
                f"{spec.source}: name: duplicate node name {spec.name!r} (first at {seen[spec.name]})"
            )
        seen.setdefault(spec.name, spec.source)
    if not parser.nodes and not parser.problems:
        parser.problems.append(f"{path}: nodes: the graph has no nodes")
    if parser.problems:
        mask = SecretMasker(*parser.secrets)  # a bad value may be a secret from the environment
        raise LaunchError([mask(problem) for problem in parser.problems])
    return Launch(
        path=str(path),
        nodes=parser.nodes,
        machines=parser.machines,
        args=parser.top_args,
        graph=parser.graph,
        secrets=sorted(parser.secrets),
        missing_env=sorted(parser.missing_env),
        notes=parser.notes,
    )


def node_topics(spec: NodeSpec) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(inputs, outputs) of a node as (resolved topic, message type name)."""
    cls = load_node_class(spec.node)
    ins = [(resolve_topic(d.topic, spec.namespace, spec.remap), d.type.__name__) for d in declared(cls, Input).values()]
    outs = [
        (resolve_topic(d.topic, spec.namespace, spec.remap), d.type.__name__) for d in declared(cls, Output).values()
    ]
    return ins, outs
