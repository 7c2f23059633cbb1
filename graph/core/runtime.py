"""Where a running graph lives on this machine: one directory per graph, found by the CLI without configuration.

``<root>/<graph-id>/graph.json`` describes the graph (launcher pid, launch file, nodes); ``ep/<participant>.sock``
are the ipc:// endpoints of its participants. The root (see `runtime_root`) is private to the user. Removing the
directory removes every ipc file of the graph.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import stat
import tempfile
import time

IPC_PATH_LIMIT = 100  # sockaddr_un holds 108 bytes; leave room for the terminator


class UnsafeRuntimeDir(RuntimeError):
    """The runtime root exists but another user could plant sockets in it."""


def runtime_root() -> pathlib.Path:
    """``$DREAMGRAPH_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/dreamgraph``, else ``/tmp/dreamgraph-<uid>``; private.

    It is created 0700 in one step, then checked without following links: a root made by someone else (say,
    another user who created ``/tmp/dreamgraph-<uid>`` first to plant sockets) is refused, never reused.
    """
    configured = os.environ.get("DREAMGRAPH_RUNTIME_DIR")
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if configured:
        path = pathlib.Path(configured)
    elif xdg and os.path.isabs(xdg):
        path = pathlib.Path(xdg) / "dreamgraph"
    else:
        path = pathlib.Path(tempfile.gettempdir()) / f"dreamgraph-{os.getuid()}"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    _check_private(path)
    return path


def _check_private(path: pathlib.Path):
    info = os.lstat(path)
    advice = "remove it, or set DREAMGRAPH_RUNTIME_DIR to a private directory"
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeRuntimeDir(f"the runtime directory {path} is not a directory (a link?); {advice}")
    if info.st_uid != os.getuid():
        raise UnsafeRuntimeDir(
            f"the runtime directory {path} belongs to uid {info.st_uid}, not to you (uid {os.getuid()}): "
            f"another user could plant sockets in it; {advice}"
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        raise UnsafeRuntimeDir(
            f"the runtime directory {path} has mode {stat.S_IMODE(info.st_mode):04o}, not 0700: other users could "
            f"plant sockets in it; run `chmod 700 {path}` or {advice}"
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def safe_name(name: str) -> str:
    """A participant name as a file name (namespaces use '/')."""
    return name.strip("/").replace("/", ".")


class GraphDir:
    def __init__(self, path: pathlib.Path):
        self.path = pathlib.Path(path)

    @property
    def graph_id(self) -> str:
        return self.path.name

    @property
    def endpoints_dir(self) -> pathlib.Path:
        return self.path / "ep"

    @classmethod
    def create(cls, stem: str) -> "GraphDir":
        graph_id = f"{safe_name(stem)[:24]}-{os.getpid()}"
        path = runtime_root() / graph_id
        if path.exists():
            shutil.rmtree(path)
        (path / "ep").mkdir(parents=True, mode=0o700)
        return cls(path)

    def ipc_endpoint(self, participant: str) -> str:
        path = self.endpoints_dir / f"{safe_name(participant)}.sock"
        if len(str(path)) > IPC_PATH_LIMIT:
            raise ValueError(f"ipc path {path} is too long; set DREAMGRAPH_RUNTIME_DIR to a shorter directory")
        return f"ipc://{path}"

    def ipc_endpoints(self) -> list[str]:
        try:
            return sorted(f"ipc://{p}" for p in self.endpoints_dir.glob("*.sock"))
        except OSError:
            return []

    def write_info(self, info: dict):
        tmp = self.path / "graph.json.tmp"
        tmp.write_text(json.dumps(info, indent=1))
        tmp.replace(self.path / "graph.json")

    def read_info(self) -> dict:
        try:
            return json.loads((self.path / "graph.json").read_text())
        except (OSError, ValueError):
            return {}

    def alive(self) -> bool:
        pid = self.read_info().get("pid")
        return bool(pid) and _pid_alive(int(pid))

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


def running_graphs() -> list[GraphDir]:
    """Graphs whose owner process is alive; stale directories of dead graphs are cleaned up on the way."""
    graphs = []
    for path in sorted(runtime_root().iterdir()):
        if not path.is_dir():
            continue
        graph = GraphDir(path)
        if graph.alive():
            graphs.append(graph)
        elif time.time() - path.stat().st_mtime > 5:  # not one being created right now
            graph.remove()
    return graphs


def find_graph(name: str | None = None) -> GraphDir:
    graphs = running_graphs()
    if name:
        matches = [g for g in graphs if g.graph_id == name or g.graph_id.rsplit("-", 1)[0] == name]
        if not matches:
            raise LookupError(
                f"no running graph named {name!r}; running: {', '.join(g.graph_id for g in graphs) or 'none'}"
            )
        return matches[0]
    if not graphs:
        raise LookupError("no running graph found; start one with `dreamgraph launch FILE`")
    if len(graphs) > 1:
        raise LookupError(
            f"several graphs are running ({', '.join(g.graph_id for g in graphs)}); choose one with --graph"
        )
    return graphs[0]
