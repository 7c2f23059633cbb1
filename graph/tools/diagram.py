"""A launch file's nodes and topics drawn as text, Graphviz DOT or a Mermaid flowchart.

Each takes ``edges``: (NodeSpec, inputs, outputs) per node, inputs and outputs as (topic, type name) pairs.
"""

from __future__ import annotations


def text(edges) -> str:
    lines = []
    for node, ins, outs in edges:
        where = f" @{node.machine}" if node.machine else ""
        lines.append(f"{node.name} ({node.node}){where}")
        lines += [f"  <- /{topic} [{type_name}]" for topic, type_name in ins]
        lines += [f"  -> /{topic} [{type_name}]" for topic, type_name in outs]
    return "\n".join(lines)


def dot(edges) -> str:
    lines = ["digraph dreamgraph {", "  rankdir=LR;"]
    for node, ins, outs in edges:
        lines.append(f'  "{node.name}" [shape=box, label="{node.name}\\n{node.node}"];')
        lines += [f'  "{node.name}" -> "/{topic}" [label="{type_name}"];' for topic, type_name in outs]
        lines += [f'  "/{topic}" -> "{node.name}";' for topic, _ in ins]
    lines += [f'  "/{topic}" [shape=ellipse];' for topic in _topics(edges)]
    return "\n".join(lines + ["}"])


def mermaid(edges) -> str:
    """Mermaid ids must be plain words, so nodes and topics get n0.., t0.. ids with their names as labels."""
    topic_ids = {topic: f"t{i}" for i, topic in enumerate(_topics(edges))}
    lines = ["flowchart LR"]
    for i, (node, ins, outs) in enumerate(edges):
        lines.append(f'  n{i}["{node.name}<br/><small>{node.node}</small>"]')
        lines += [f"  n{i} -->|{type_name}| {topic_ids[topic]}" for topic, type_name in outs]
        lines += [f"  {topic_ids[topic]} --> n{i}" for topic, _ in ins]
    lines += [f'  {tid}(["/{topic}"])' for topic, tid in topic_ids.items()]
    return "\n".join(lines)


def _topics(edges) -> list[str]:
    return sorted({topic for _, ins, outs in edges for topic, _ in ins + outs})
