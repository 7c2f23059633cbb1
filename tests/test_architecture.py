"""docs/ARCHITECTURE.md stays true: what may import what, node modules only at the top of nodes/, one import
convention, every package installed, and the install name dreamgraph alone."""

import ast
import json
import pathlib
import subprocess
import sys

import pytest
import tomllib

from dreamgraph.graph.core.contract import load_node_class, node_modules

ROOT = pathlib.Path(__file__).resolve().parent.parent
FOLDERS = {"graph": "dreamgraph.graph", "nodes": "dreamgraph.nodes", "launch": "dreamgraph.launch"}
NODE_MODULES = "node modules"  # the modules at the top of nodes/, one Node class each

# package -> the packages it may import besides itself (docs/ARCHITECTURE.md, "What may import what")
ALLOWED = {
    "graph.core": set(),
    "graph.orchestration": {"graph.core"},
    "graph.tools": {"graph.core", "graph.orchestration"},
    "graph.testing": {"graph.core", "graph.orchestration", "graph.tools"},
    "graph.bench": {"graph.core", "graph.orchestration", "graph.tools", "graph.testing"},
    "graph.builtin": {"graph.core"},
    "graph.cli": {"graph.core", "graph.orchestration", "graph.tools", "graph.testing", "graph.bench", "graph.builtin"},
    "graph": set(),
    "nodes.common": {"graph.core"},
    "nodes.chat": {"graph.core", "nodes.common"},
    "nodes.video": {"graph.core", "nodes.common"},
    "nodes.dream": {"graph.core", "graph.bench", "nodes.common"},
    NODE_MODULES: {"graph.core", "nodes.common", "nodes.chat", "nodes.video", "nodes.dream"},
    "nodes.bench": {
        "graph.core",
        "graph.orchestration",
        "graph.testing",
        "graph.bench",
        "nodes.common",
        "nodes.chat",
        "nodes.video",
        "nodes.dream",
    },
    "nodes": set(),
    "launch": set(),
}


def package_modules():
    """(dotted module name under dreamgraph, file) of every module in the package."""
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def group_of(module: str) -> str:
    """The row of ALLOWED a module belongs to."""
    parts = module.split(".")
    if parts[0] == "nodes" and len(parts) == 2 and not (ROOT / "nodes" / parts[1]).is_dir():
        return NODE_MODULES
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def imports(module: str, path: pathlib.Path):
    """(line, imported module under dreamgraph, or the absolute name as written) of every import."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            names = [target] if node.module else [f"{target}.{alias.name}" for alias in node.names]
            for name in names:
                yield node.lineno, name
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, "/" + node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, "/" + alias.name


def test_imports_follow_the_allowed_directions():
    problems = []
    for module, path in package_modules():
        group = group_of(module)
        allowed = ALLOWED[group] | {group}
        for line, target in imports(module, path):
            if target.startswith("/"):
                continue
            target_group = group_of(target)
            if target_group not in allowed and not (target_group == NODE_MODULES and group == "nodes"):
                problems.append(f"{path.relative_to(ROOT)}:{line}: {group} imports {target} ({target_group})")
    assert not problems, "\n".join(problems)


def test_inside_the_package_imports_are_relative():
    own = ("dreamgraph", "graph", "nodes", "launch")
    problems = [
        f"{path.relative_to(ROOT)}:{line}: import {target[1:]}"
        for module, path in package_modules()
        for line, target in imports(module, path)
        if target.startswith("/") and target[1:].split(".")[0] in own
    ]
    assert not problems, "\n".join(problems)


def test_the_framework_loads_without_the_application():
    """Importing every framework module (in a fresh interpreter) never loads anything of dreamgraph.nodes."""
    modules = ["dreamgraph." + m for m, _ in package_modules() if m.split(".")[0] == "graph"]
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    if name != 'dreamgraph.graph.cli.__main__':\n"
        "        importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('dreamgraph.nodes'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd="/")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_top_of_nodes_holds_node_modules_only_each_with_a_short_name():
    top = sorted(p.stem for p in (ROOT / "nodes").glob("*.py") if p.name != "__init__.py")
    registered = node_modules()
    assert sorted(registered) == top
    for name in top:
        assert registered[name] == f"dreamgraph.nodes.{name}"
        load_node_class(name)  # exactly one Node class, or ValueError


def test_every_package_is_installed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        FOLDERS[p.relative_to(ROOT).parts[0]] + "".join("." + part for part in p.relative_to(ROOT).parts[1:])
        for folder in FOLDERS
        for p in [ROOT / folder, *(ROOT / folder).rglob("*")]
        if p.is_dir() and (p / "__init__.py").exists()
    }
    assert found == set(config["packages"])
    assert config["package-dir"] == {name: folder for folder, name in FOLDERS.items()}


@pytest.mark.parametrize("old_name", ["graph", "nodes"])
def test_only_the_name_dreamgraph_is_installed(old_name):
    """Outside the repository the folders exist only as dreamgraph.graph and dreamgraph.nodes."""
    done = subprocess.run(
        [sys.executable, "-c", f"import dreamgraph.{old_name}; import {old_name}"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
    )
    assert done.returncode == 1 and f"No module named '{old_name}'" in done.stderr, done.stderr
