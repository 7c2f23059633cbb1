"""``dreamgraph keys generate``: CurveZMQ certificates for a graph that spans machines."""

from __future__ import annotations

import typer

app = typer.Typer(help="CurveZMQ keys for graphs that span machines.", no_args_is_help=True)


@app.command("generate")
def keys_generate(directory: str):
    """Create a graph's CurveZMQ certificates in DIRECTORY (copy it to every machine of the graph)."""
    from ..core.security import generate_keys

    root = generate_keys(directory)
    typer.echo(f"keys written to {root} (secret keys are mode 0600; point graph.keys or DREAMGRAPH_KEYS at it)")
