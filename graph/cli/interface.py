"""``dreamgraph interface list | show``: the message types a graph can carry and their fields, as in ROS 2."""

from __future__ import annotations

import dataclasses
import inspect
import typing

import typer

from ..core import message as wire
from .common import fail

app = typer.Typer(help="Message types and their fields.", no_args_is_help=True)


def _types() -> dict[str, type[wire.Message]]:
    wire.load_message_plugins()
    return wire.registered_types()


@app.command("list")
def interface_list():
    """Every message type installed (the framework's and every package's), by wire name."""
    for name, cls in sorted(_types().items()):
        typer.echo(f"{name}  {_summary(cls)}".rstrip())


def _summary(cls) -> str:
    doc = inspect.getdoc(cls) or ""
    return doc.splitlines()[0] if doc else ""


def _type_name(hint) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


@app.command("show")
def interface_show(name: str):
    """A message type's fields: name, type, default. NAME is a wire name (dreamgraph/Image) or a class name."""
    types = _types()
    matches = [cls for wire_name, cls in types.items() if name in (wire_name, cls.__name__)]
    if not matches:
        fail(f"unknown message type {name!r}; see `dreamgraph interface list`")
    for cls in matches:
        hints = typing.get_type_hints(cls)
        typer.echo(f"{cls.TYPE}  ({cls.__module__}:{cls.__name__})")
        if _summary(cls):
            typer.echo(f"  {_summary(cls)}")
        for field in dataclasses.fields(cls):
            if field.default is not dataclasses.MISSING:
                default = f" = {field.default!r}"
            elif field.default_factory is not dataclasses.MISSING:
                default = f" = {field.default_factory()!r}"
            else:
                default = "  (required)"
            typer.echo(f"  {field.name}: {_type_name(hints[field.name])}{default}")
