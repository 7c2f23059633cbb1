"""`dreamgraph words`: look up which words the chat bot understands."""

from __future__ import annotations

from typing import Annotated

import typer

from .text import request_text
from .vocab import Vocabulary

words_app = typer.Typer(
    help="The 1000 ImageNet classes the chat can ask for, with their synonyms.", no_args_is_help=True
)


@words_app.command()
def search(
    text: Annotated[str, typer.Argument(help="a word or request, e.g. 'kit fox' or 'vulcano + pizza'")],
    limit: Annotated[int, typer.Option(help="most classes to list for a partial word")] = 10,
) -> None:
    """Show how a chat message would be understood, and classes named like it."""
    vocabulary = Vocabulary()
    text = request_text(text)  # as the scheduler reads a chat line
    result = vocabulary.parse(text)
    shown = set()
    for match in result.matches:
        candidates = vocabulary.lookup(match.matched_word)[0] or [match.class_id]
        note = f"  (one of {len(candidates)}, picked at random)" if len(candidates) > 1 else ""
        for class_id in candidates:
            typer.echo(f"{class_id:4d}  {vocabulary.labels[class_id]}  <- '{match.matched_word}'{note}")
        shown.update(candidates)
    for word in result.unknown:
        hint = f" - did you mean '{result.suggestions[word]}'?" if word in result.suggestions else ""
        typer.echo(f"   ?  '{word}' names no class{hint}")
    for word in result.ignored:
        typer.echo(f"   -  '{word}' ignored: at most {vocabulary.max_targets} subjects at once")
    similar = [(i, name) for i, name in vocabulary.search(text, limit) if i not in shown]
    if similar:
        typer.echo("similar names:")
        for class_id, name in similar:
            typer.echo(f"{class_id:4d}  {name}  ({vocabulary.labels[class_id]})")
    if not result.matches and not similar:
        raise typer.Exit(code=1)


@words_app.command("list")
def list_classes(
    synonyms: Annotated[bool, typer.Option(help="show every WordNet synonym, not only the label")] = True,
) -> None:
    """List all 1000 classes: id, label and synonyms."""
    vocabulary = Vocabulary()
    for class_id, label in enumerate(vocabulary.labels):
        names = ", ".join(vocabulary.names(class_id)) if synonyms else ""
        typer.echo(f"{class_id:4d}  {label}" + (f"  [{names}]" if names else ""))
