"""``dreamgraph run``: one node alone, joining the running graph if there is one."""

from __future__ import annotations

import os
import time
from typing import Annotated, List, Optional

import typer

from .common import GraphOption, fail, parse_assignments


def run(
    node: Annotated[str, typer.Argument(help="node name (optimizer), MODULE or MODULE:CLASS")],
    param: Annotated[
        Optional[List[str]], typer.Option("--param", "-p", help="name=value or name:=value (repeatable)")
    ] = None,
    remap: Annotated[Optional[List[str]], typer.Option("--remap", "-r", help="topic=new_topic (repeatable)")] = None,
    name: Annotated[str, typer.Option(help="node name (default: the module's last part)")] = "",
    graph: GraphOption = None,
):
    """Run one node alone; it joins the running graph if there is one, else starts a graph of its own."""
    from ..core.node import NodeConfig
    from ..core.runtime import GraphDir, find_graph, running_graphs
    from ..orchestration.runner import run_node

    node_name = name or node.split(":")[0].rsplit(".", 1)[-1]
    owned = None
    if graph or running_graphs():
        try:
            target = find_graph(graph)
        except LookupError as err:
            fail(str(err))
    else:
        owned = target = GraphDir.create(node_name)
        target.write_info({"pid": os.getpid(), "launch_file": "", "nodes": [node_name], "started": time.time()})
    config = NodeConfig(
        name=node_name,
        node=node,
        params=parse_assignments(param or [], "=", "--param"),
        remap=parse_assignments(remap or [], "=", "--remap"),
        graph_dir=str(target.path),
        connect=target.read_info().get("connect", []),
        keys_dir=target.read_info().get("keys_dir", ""),
    )
    try:
        code = run_node(config)
    finally:
        if owned:
            owned.remove()
    raise typer.Exit(code)
