"""``dreamgraph nodes-doc`` and ``dreamgraph schema``: the node reference and the launch file schema, generated
from the nodes' contracts."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from .common import fail


def nodes_doc(
    nodes: Annotated[
        Optional[List[str]], typer.Argument(help="node names or modules (default: every documented node)")
    ] = None,
    write: Annotated[Optional[str], typer.Option(help="rewrite the reference section of this Markdown file")] = None,
    check: Annotated[Optional[str], typer.Option(help="fail if this file's reference section is stale")] = None,
):
    """Print the Markdown node reference generated from the nodes' contracts."""
    from ..tools.docgen import node_reference, splice

    reference = node_reference(nodes or None)
    target = write or check
    if not target:
        typer.echo(reference)
        return
    with open(target) as f:
        document = f.read()
    try:
        updated = splice(document, reference)
    except ValueError as err:
        fail(str(err))
    if check:
        if updated != document:
            fail(f"the node reference in {check} is stale; run `dreamgraph nodes-doc --write {check}`")
        typer.echo(f"{check}: node reference is up to date")
    else:
        with open(target, "w") as f:
            f.write(updated)
        typer.echo(f"{target}: node reference rewritten")


def schema():
    """Print the JSON Schema of launch files (every installed node's parameters included), for an editor's YAML
    extension: `dreamgraph schema > launch.schema.json`."""
    import json

    from ..tools.schema import launch_schema

    typer.echo(json.dumps(launch_schema(), indent=2))
