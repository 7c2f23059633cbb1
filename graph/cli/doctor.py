"""``dreamgraph doctor``: is this machine ready for the show?"""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

from .common import parse_or_fail


def doctor(
    file: Annotated[
        Optional[str], typer.Argument(help="launch file to check the machine for (default: every node)")
    ] = None,
    args: Annotated[Optional[List[str]], typer.Argument(help="launch arguments as name:=value")] = None,
    machine: Annotated[str, typer.Option(help="check only what the nodes placed on this machine need")] = "",
):
    """Check this machine before a show, one line per check with the fix. Exits 0 only when everything the
    launch file needs is there (without a file: when Python and the disk are fine; the rest only warns)."""
    from ..tools.doctor import diagnose

    checks = diagnose(parse_or_fail(file, args or []) if file else None, machine)
    for check in checks:
        mark = "ok  " if check.ok else "FAIL" if check.needed else "warn"
        fix = f"  -> {check.fix}" if check.fix and not check.ok else ""
        typer.echo(f"{mark}  {check.name}: {check.detail}{fix}")
    failed = [c for c in checks if c.needed and not c.ok]
    typer.echo(f"{len(failed)} problem(s)" if failed else "ready", err=bool(failed))
    if failed:
        raise typer.Exit(1)
