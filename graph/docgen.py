"""The README's node reference, generated from the nodes' declared contracts."""

from __future__ import annotations

from graph.contract import describe, load_node_class

REFERENCE_MODULES = [
    "graph.builtin.testpattern",
    "graph.builtin.ticker",
    "graph.builtin.counter",
]


def _default(value) -> str:
    return f"`{value!r}`" if value not in ("", None) else "-"


def node_section(module: str) -> str:
    info = describe(load_node_class(module))
    lines = [f"### `{module}`", "", info["summary"], ""]
    if info["inputs"] or info["outputs"]:
        lines += ["| direction | topic | type | delivery | description |", "|---|---|---|---|---|"]
        for i in info["inputs"]:
            lines.append(f"| in | `{i['topic']}` | {i['type']} | {i['delivery']} | {i['doc']} |")
        for o in info["outputs"]:
            lines.append(f"| out | `{o['topic']}` | {o['type']} | {'latched' if o['latched'] else '-'} | {o['doc']} |")
        lines.append("")
    if info["params"]:
        lines += ["| parameter | type | default | unit | description |", "|---|---|---|---|---|"]
        for p in info["params"]:
            extra = []
            if p["choices"]:
                extra.append("one of " + ", ".join(f"`{c}`" for c in p["choices"]))
            if p["min"] is not None or p["max"] is not None:
                extra.append(f"range {p['min'] if p['min'] is not None else ''}..{p['max'] if p['max'] is not None else ''}")
            doc = p["doc"] + (f" ({'; '.join(extra)})" if extra else "")
            lines.append(f"| `{p['name']}` | {p['type']} | {_default(p['default'])} | {p['unit'] or '-'} | {doc} |")
        lines.append("")
    return "\n".join(lines)


def node_reference(modules: list[str] | None = None) -> str:
    return "\n".join(node_section(m) for m in (modules or REFERENCE_MODULES)).rstrip() + "\n"
