"""Wiring checks of a parsed launch file, like ``dora check``: every input has a publisher of its type, no topic
carries two types, and outputs nobody reads are pointed out.

Reserved topics (``/_status`` and the rest) are the framework's own and are not checked.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..core.contract import Input, Output, declared, load_node_class, resolve_topic
from ..core.message import Message
from .launchfile import Launch, NodeSpec


@dataclass(frozen=True)
class Endpoint:
    """One node's end of a topic."""

    node: NodeSpec
    declared_as: str  # the topic name in the node's contract, before remapping
    type: type[Message]
    optional: bool = False


@dataclass
class Wiring:
    errors: list[str]
    notes: list[str]


def _endpoints(launch: Launch, kind) -> dict[str, list[Endpoint]]:
    by_topic: dict[str, list[Endpoint]] = {}
    for spec in launch.nodes:
        for decl in declared(load_node_class(spec.node), kind).values():
            if decl.topic.startswith("/_"):
                continue
            topic = resolve_topic(decl.topic, spec.namespace, spec.remap)
            # a remapped input was wired on purpose: without a publisher it is a typo, optional or not
            optional = kind is Input and decl.optional and decl.topic not in spec.remap
            by_topic.setdefault(topic, []).append(Endpoint(spec, decl.topic, decl.type, optional))
    return by_topic


def _where(end: Endpoint) -> tuple[str, str]:
    """Where the node is declared, and a note when its topic was remapped (the likely place of a typo)."""
    remapped = f" (remapped from {end.declared_as!r})" if end.node.remap.get(end.declared_as) else ""
    return f"{end.node.source}: node {end.node.name}", remapped


def check_wiring(launch: Launch) -> Wiring:
    """Errors: an input nobody publishes (unless the contract marks it optional), a topic published with two
    types, an input whose type the publisher does not send. Notes: outputs nobody in the graph reads."""
    inputs, outputs = _endpoints(launch, Input), _endpoints(launch, Output)
    errors, notes = [], []
    for topic, pubs in sorted(outputs.items()):
        types = sorted({p.type.__name__ for p in pubs})
        if len(types) > 1:
            where = ", ".join(f"{p.node.name} ({p.type.__name__})" for p in pubs)
            errors.append(f"{pubs[0].node.source}: topic /{topic} is published with different types: {where}")
    for topic, subs in sorted(inputs.items()):
        pubs = outputs.get(topic, [])
        for sub in subs:
            where, remapped = _where(sub)
            if not pubs:
                if sub.optional:
                    continue
                close = difflib.get_close_matches(topic, list(outputs), n=1, cutoff=0.6)
                hint = f"; did you mean /{close[0]}?" if close else ""
                errors.append(
                    f"{where}: input /{topic}{remapped} ({sub.type.__name__}) has no publisher in the graph{hint}"
                )
                continue
            wrong = [p for p in pubs if not issubclass(p.type, sub.type)]
            if wrong:
                sent = ", ".join(f"{p.node.name} sends {p.type.__name__}" for p in wrong)
                errors.append(f"{where}: input /{topic}{remapped} takes {sub.type.__name__}, but {sent}")
    for topic, pubs in sorted(outputs.items()):
        if topic not in inputs:
            for pub in pubs:
                where, remapped = _where(pub)
                notes.append(f"{where}: output /{topic}{remapped} ({pub.type.__name__}) is read by no node")
    return Wiring(errors, notes)
