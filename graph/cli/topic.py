"""``dreamgraph topic list | echo | hz | pub``: the topics of the running graph."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from ..core import message as wire
from .common import GraphOption, TopicName, client, fail

app = typer.Typer(help="Inspect and publish topics of the running graph.", no_args_is_help=True)


@app.command("list")
def topic_list(
    graph: GraphOption = None, seconds: Annotated[float, typer.Option(help="how long to listen for node reports")] = 1.5
):
    """Every topic of the running graph with its type, publishers and subscribers."""
    graph_client = client(graph)
    topics: dict[str, dict] = {}
    for status in graph_client.statuses(seconds).values():
        for topic, info in status.outputs.items():
            entry = topics.setdefault(topic, {"type": info["type"], "pub": [], "sub": []})
            entry["pub"].append(f"{status.node} ({info['rate']:.1f}/s)")
        for topic, info in status.inputs.items():
            entry = topics.setdefault(topic, {"type": info["type"], "pub": [], "sub": []})
            entry["sub"].append(status.node)
    if not topics:
        fail("no node reported within the listening time")
    for topic in sorted(topics):
        entry = topics[topic]
        typer.echo(
            f"/{topic}  [{entry['type']}]  pub: {', '.join(entry['pub']) or '-'}  sub: {', '.join(entry['sub']) or '-'}"
        )


@app.command("echo")
def topic_echo(
    topic: TopicName,
    count: Annotated[Optional[int], typer.Option("--count", "-n", help="stop after N messages")] = None,
    timeout: Annotated[float, typer.Option(help="give up after this many seconds")] = 3600.0,
    graph: GraphOption = None,
):
    """Print messages of a topic as JSON lines (binary payloads summarised)."""
    graph_client = client(graph)
    got = 0
    for env in graph_client.listen(topic.lstrip("/"), timeout, count):
        typer.echo(
            json.dumps(
                {
                    "topic": env.topic,
                    "type": env.msg.TYPE,
                    "seq": env.seq,
                    "from": env.source.split("#")[0],
                    **env.msg.to_dict(),
                },
                default=str,
            )
        )
        got += 1
    if count and got < count:
        fail(f"only {got} of {count} message(s) on /{topic.lstrip('/')} within {timeout:g} s")


@app.command("hz")
def topic_hz(
    topic: TopicName,
    duration: Annotated[float, typer.Option(help="seconds to measure")] = 5.0,
    graph: GraphOption = None,
):
    """Measure a topic's rate (without decoding payloads, so image topics cost little)."""
    from ..core.transport import arrival_rate

    seen = client(graph).count(topic.lstrip("/"), duration)
    arrivals, nbytes = seen.times, seen.bytes
    if len(arrivals) < 2:
        fail(f"fewer than 2 messages on /{topic.lstrip('/')} in {duration:g} s")
    gaps = sorted(b - a for a, b in zip(arrivals, arrivals[1:]))
    span = arrivals[-1] - arrivals[0]
    rate = arrival_rate(arrivals)
    typer.echo(
        f"/{topic.lstrip('/')}: rate {rate:.2f} Hz  messages {len(arrivals)}  "
        f"min {gaps[0] * 1000:.1f} ms  max {gaps[-1] * 1000:.1f} ms  "
        f"p50 {gaps[len(gaps) // 2] * 1000:.1f} ms  bandwidth {nbytes / max(span, 1e-9) / 1e6:.2f} MB/s"
    )


@app.command("pub")
def topic_pub(
    topic: TopicName,
    data: Annotated[str, typer.Argument(help="message fields as JSON")],
    type_name: Annotated[Optional[str], typer.Option("--type", help="message type (default: from the graph)")] = None,
    graph: GraphOption = None,
):
    """Publish one message (JSON fields) on a topic; rejected if it does not fit the topic's type."""
    graph_client = client(graph)
    topic = topic.lstrip("/")
    if type_name is None:
        for status in graph_client.statuses().values():
            for table in (status.inputs, status.outputs):
                if topic in table:
                    type_name = table[topic]["type"]
        if type_name is None:
            fail(f"no node publishes or subscribes /{topic}; give its type with --type")
    try:
        cls = wire.message_type(type_name)
    except wire.DecodeError:
        fail(f"unknown message type {type_name!r}")
    try:
        fields = json.loads(data)
        if not isinstance(fields, dict):
            raise ValueError("the JSON must be an object of fields")
        msg = cls.from_fields(fields)
    except (ValueError, TypeError) as err:
        fail(f"message does not fit {cls.TYPE}: {err}")
    subscribers = graph_client.publish(topic, msg)
    graph_client.close()
    typer.echo(f"published to /{topic} ({subscribers} subscriber(s))")


@app.command("info")
def topic_info(
    topic: TopicName, graph: GraphOption = None, seconds: Annotated[float, typer.Option(help="listening time")] = 1.5
):
    """A topic's type, its publishers and subscribers, with their message rates."""
    topic = topic.lstrip("/")
    pubs, subs, types = [], [], set()
    for status in client(graph).statuses(seconds).values():
        for table, rows in ((status.outputs, pubs), (status.inputs, subs)):
            if topic in table:
                types.add(table[topic]["type"])
                rows.append(f"{status.node} ({table[topic]['rate']:.1f}/s)")
    if not types:
        fail(f"no node publishes or subscribes /{topic}")
    typer.echo(f"/{topic}\n  type: {', '.join(sorted(types))}")
    typer.echo(f"  publishers: {', '.join(sorted(pubs)) or '-'}\n  subscribers: {', '.join(sorted(subs)) or '-'}")
