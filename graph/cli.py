"""The ``dreamgraph`` command line: launch, check, run, graph, topic, node, param, keys, bench.

Commands that belong to a node library (not to the framework) are plugged in through the entry-point groups
``dreamgraph.commands`` (a typer app becomes a command group, a function a command) and ``dreamgraph.bench``
(a function becomes ``dreamgraph bench NAME``).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from importlib.metadata import entry_points
from typing import List, Optional

import typer

from graph import message as wire

app = typer.Typer(help="dreamgraph: run and inspect node graphs.", no_args_is_help=True, add_completion=False)
topic_app = typer.Typer(help="Inspect and publish topics of the running graph.", no_args_is_help=True)
node_app = typer.Typer(help="Inspect the nodes of the running graph.", no_args_is_help=True)
param_app = typer.Typer(help="Change node parameters of the running graph.", no_args_is_help=True)
keys_app = typer.Typer(help="CurveZMQ keys for graphs that span machines.", no_args_is_help=True)
bag_app = typer.Typer(help="Record topics to a file and play them back.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks; each prints one JSON line per figure.", no_args_is_help=True)
app.add_typer(topic_app, name="topic")
app.add_typer(node_app, name="node")
app.add_typer(param_app, name="param")
app.add_typer(keys_app, name="keys")
app.add_typer(bag_app, name="bag")
app.add_typer(bench_app, name="bench")

GraphOption = typer.Option(None, "--graph", "-g", help="graph id (when several graphs run)")


def fail(text: str, code: int = 1):
    typer.echo(f"error: {text}", err=True)
    raise typer.Exit(code)


def _client(graph_name: Optional[str]):
    from graph.introspect import GraphClient
    from graph.runtime import find_graph

    try:
        return GraphClient(find_graph(graph_name))
    except LookupError as err:
        fail(str(err))


def _parse_assignments(items: List[str], sep: str, what: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, found, value = item.partition(sep)
        if not found or not key:
            fail(f"{what} {item!r} must look like name{sep}value")
        out[key] = value
    return out


# -- launch / check / run / graph -------------------------------------------------------------------------------


def _parse_or_fail(file: str, args: List[str]):
    from graph.launchfile import LaunchError, parse_launch, parse_launch_args

    try:
        return parse_launch(file, parse_launch_args(args))
    except LaunchError as err:
        for problem in err.problems:
            typer.echo(problem, err=True)
        typer.echo(f"{len(err.problems)} problem(s) in {file}", err=True)
        raise typer.Exit(1)
    except ValueError as err:  # a malformed name:=value
        fail(str(err))


@app.command()
def launch(file: str = typer.Argument(..., help="launch file (YAML)"),
           args: List[str] = typer.Argument(None, help="launch arguments as name:=value"),
           duration: Optional[float] = typer.Option(None, help="stop after this many seconds"),
           machine: str = typer.Option("", help="start only the nodes placed on this machine"),
           remote: str = typer.Option("", help="'ssh': also start the other machines' nodes over ssh")):
    """Start every node of a launch file; Ctrl-C stops them all."""
    from graph.launcher import Supervisor
    from graph.runner import configure_logging

    configure_logging("INFO")
    spec = _parse_or_fail(file, args or [])
    remote_procs = []
    try:
        supervisor = Supervisor(spec, machine=machine, duration=duration)
        if remote:
            from graph.remote import start_remote_machines

            remote_procs = start_remote_machines(file, args or [], spec, machine, remote, duration)
    except ValueError as err:
        fail(str(err))
    code = supervisor.run()
    for proc in remote_procs:
        proc.terminate()  # ssh goes away; the remote launcher is hung up and stops its nodes
    for proc in remote_procs:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    raise typer.Exit(code)


@app.command()
def check(file: str = typer.Argument(..., help="launch file (YAML)"),
          args: List[str] = typer.Argument(None, help="launch arguments as name:=value")):
    """Validate a launch file without starting anything; errors name the file, line and key."""
    spec = _parse_or_fail(file, args or [])
    for note in spec.notes:
        typer.echo(f"note: {note}")
    typer.echo(f"{file}: OK ({len(spec.nodes)} nodes"
               + (f", machines {', '.join(spec.machines)}" if spec.machines else "") + ")")


@app.command()
def run(node: str = typer.Argument(..., help="MODULE or MODULE:CLASS"),
        param: List[str] = typer.Option(None, "--param", "-p", help="key=value (repeatable)"),
        remap: List[str] = typer.Option(None, "--remap", "-r", help="topic=new_topic (repeatable)"),
        name: str = typer.Option("", help="node name (default: the module's last part)"),
        graph: Optional[str] = GraphOption):
    """Run one node alone; it joins the running graph if there is one, else starts a graph of its own."""
    from graph.node import NodeConfig
    from graph.runner import run_node
    from graph.runtime import GraphDir, find_graph, running_graphs

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
    config = NodeConfig(name=node_name, node=node, params=_parse_assignments(param or [], "=", "--param"),
                        remap=_parse_assignments(remap or [], "=", "--remap"), graph_dir=str(target.path),
                        connect=target.read_info().get("connect", []), keys_dir=target.read_info().get("keys_dir", ""))
    try:
        code = run_node(config)
    finally:
        if owned:
            owned.remove()
    raise typer.Exit(code)


@app.command("graph")
def graph_cmd(file: str = typer.Argument(..., help="launch file (YAML)"),
              args: List[str] = typer.Argument(None, help="launch arguments as name:=value"),
              dot: bool = typer.Option(False, "--dot", help="print Graphviz DOT")):
    """Show the nodes and topics of a launch file (text, or DOT with --dot)."""
    from graph.launchfile import node_topics

    spec = _parse_or_fail(file, args or [])
    edges = []
    for node in spec.nodes:
        ins, outs = node_topics(node)
        edges.append((node, ins, outs))
    if dot:
        typer.echo("digraph dreamgraph {\n  rankdir=LR;")
        for node, ins, outs in edges:
            typer.echo(f'  "{node.name}" [shape=box, label="{node.name}\\n{node.node}"];')
            for topic, type_name in outs:
                typer.echo(f'  "{node.name}" -> "/{topic}" [label="{type_name}"];')
            for topic, _ in ins:
                typer.echo(f'  "/{topic}" -> "{node.name}";')
        topics = {t for _, ins, outs in edges for t, _ in ins + outs}
        for topic in sorted(topics):
            typer.echo(f'  "/{topic}" [shape=ellipse];')
        typer.echo("}")
        return
    for node, ins, outs in edges:
        where = f" @{node.machine}" if node.machine else ""
        typer.echo(f"{node.name} ({node.node}){where}")
        for topic, type_name in ins:
            typer.echo(f"  <- /{topic} [{type_name}]")
        for topic, type_name in outs:
            typer.echo(f"  -> /{topic} [{type_name}]")


# -- topic -------------------------------------------------------------------------------------------------------


@topic_app.command("list")
def topic_list(graph: Optional[str] = GraphOption,
               seconds: float = typer.Option(1.5, help="how long to listen for node reports")):
    """Every topic of the running graph with its type, publishers and subscribers."""
    client = _client(graph)
    topics: dict[str, dict] = {}
    for status in client.statuses(seconds).values():
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
        typer.echo(f"/{topic}  [{entry['type']}]  pub: {', '.join(entry['pub']) or '-'}  sub: {', '.join(entry['sub']) or '-'}")


@topic_app.command("echo")
def topic_echo(topic: str, count: Optional[int] = typer.Option(None, "--count", "-n", help="stop after N messages"),
               timeout: float = typer.Option(3600.0, help="give up after this many seconds"),
               graph: Optional[str] = GraphOption):
    """Print messages of a topic as JSON lines (binary payloads summarised)."""
    client = _client(graph)
    got = 0
    for env in client.listen(topic.lstrip("/"), timeout, count):
        typer.echo(json.dumps({"topic": env.topic, "type": env.msg.TYPE, "seq": env.seq, "from": env.source.split("#")[0],
                               **env.msg.to_dict()}, default=str))
        got += 1
    if count and got < count:
        fail(f"only {got} of {count} message(s) on /{topic.lstrip('/')} within {timeout:g} s")


@topic_app.command("hz")
def topic_hz(topic: str, duration: float = typer.Option(5.0, help="seconds to measure"),
             graph: Optional[str] = GraphOption):
    """Measure a topic's rate (without decoding payloads, so image topics cost little)."""
    from graph.transport import arrival_rate

    client = _client(graph)
    arrivals, nbytes = client.count(topic.lstrip("/"), duration)
    if len(arrivals) < 2:
        fail(f"fewer than 2 messages on /{topic.lstrip('/')} in {duration:g} s")
    gaps = sorted(b - a for a, b in zip(arrivals, arrivals[1:]))
    span = arrivals[-1] - arrivals[0]
    rate = arrival_rate(arrivals)
    typer.echo(f"/{topic.lstrip('/')}: rate {rate:.2f} Hz  messages {len(arrivals)}  "
               f"min {gaps[0]*1000:.1f} ms  max {gaps[-1]*1000:.1f} ms  "
               f"p50 {gaps[len(gaps)//2]*1000:.1f} ms  bandwidth {nbytes / max(span, 1e-9) / 1e6:.2f} MB/s")


@topic_app.command("pub")
def topic_pub(topic: str, data: str = typer.Argument(..., help="message fields as JSON"),
              type_name: Optional[str] = typer.Option(None, "--type", help="message type (default: from the graph)"),
              graph: Optional[str] = GraphOption):
    """Publish one message (JSON fields) on a topic; rejected if it does not fit the topic's type."""
    client = _client(graph)
    topic = topic.lstrip("/")
    if type_name is None:
        for status in client.statuses().values():
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
    subscribers = client.publish(topic, msg)
    client.close()
    typer.echo(f"published to /{topic} ({subscribers} subscriber(s))")


# -- node / param / keys ------------------------------------------------------------------------------------------


@node_app.command("list")
def node_list(graph: Optional[str] = GraphOption, seconds: float = typer.Option(1.5, help="listening time")):
    """Every node of the running graph: pid, state, restarts and message rates."""
    client = _client(graph)
    launches = client.launch_states()
    statuses = client.statuses(seconds)
    rows = {}
    for state in launches.values():
        for name, info in state.nodes.items():
            rows[name] = dict(info)
    for name, status in statuses.items():
        row = rows.setdefault(name, {"state": "running", "restarts": 0, "machine": ""})
        row["pid"] = status.pid
        row["host"] = status.host
        row["in"] = sum(i["rate"] for i in status.inputs.values() if not i.get("type", "").endswith(("ParamSet",)))
        row["out"] = sum(o["rate"] for o in status.outputs.values())
        row["errors"] = sum(status.errors.values())
        row["heard"] = True
    if not rows:
        fail("no node found")
    typer.echo(f"{'NAME':20} {'PID':>7} {'STATE':9} {'RESTARTS':>8} {'IN/s':>8} {'OUT/s':>8} {'ERRORS':>6}  MACHINE")
    for name in sorted(rows):
        r = rows[name]
        state = r.get("state", "?")
        if state == "running" and not r.get("heard"):
            state = "silent"
        typer.echo(f"{name:20} {r.get('pid', 0) or '-':>7} {state:9} {r.get('restarts', 0):>8} "
                   f"{r.get('in', 0):>8.1f} {r.get('out', 0):>8.1f} {r.get('errors', 0):>6}  {r.get('machine') or r.get('host', '')}")


@param_app.command("set", context_settings={"ignore_unknown_options": True})  # values like -1 are not options
def param_set(node: str, name: str, value: str, graph: Optional[str] = GraphOption,
              timeout: float = typer.Option(5.0, help="seconds to wait for the node's answer")):
    """Change a parameter of a running node (NODE '*': every node that has it) and print the answer: applied, or
    refused with the reason. The value is parsed as JSON when it can be. Exits 1 when the change is refused or
    nobody answers (no such node or parameter)."""
    client = _client(graph)
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    answers = client.set_param(node, name, parsed, timeout)
    client.close()
    if not answers:
        fail(f"no node has a parameter {name!r}" if node == "*" else
             f"no answer from node {node!r} within {timeout:g} s: is it running? (see `dreamgraph node list`)")
    for answer in sorted(answers, key=lambda a: a.node):
        if answer.applied:
            typer.echo(f"{answer.node}.{name} = {answer.value!r} (applied)")
        else:
            typer.echo(f"error: {answer.node} refused {name} = {parsed!r}: {answer.reason}", err=True)
    if not all(answer.applied for answer in answers):
        raise typer.Exit(1)


@keys_app.command("generate")
def keys_generate(directory: str):
    """Create a graph's CurveZMQ certificates in DIRECTORY (copy it to every machine of the graph)."""
    from graph.security import generate_keys

    root = generate_keys(directory)
    typer.echo(f"keys written to {root} (secret keys are mode 0600; point graph.keys or DREAMGRAPH_KEYS at it)")


@bag_app.command("record")
def bag_record(topics: List[str] = typer.Argument(..., help="topics to record"),
               out: str = typer.Option(..., "--out", "-o", help="bag file to write"),
               duration: float = typer.Option(10.0, help="seconds to record"),
               graph: Optional[str] = GraphOption):
    """Record the raw messages of TOPICS (frames included) with their timing."""
    from graph.bag import record

    counts = record(_client(graph), topics, out, duration)
    typer.echo(f"{out}: " + (", ".join(f"/{t} {n}" for t, n in sorted(counts.items())) or "no messages"))


@bag_app.command("play")
def bag_play(file: str, rate: float = typer.Option(1.0, help="playback speed factor"),
             graph: Optional[str] = GraphOption):
    """Publish a bag's messages into the running graph with their original spacing."""
    from graph.bag import play

    client = _client(graph)
    sent = play(client, file, rate)
    client.close()
    typer.echo(f"played {sent} message(s) from {file}")


@bag_app.command("info")
def bag_info(file: str):
    """Topics, message counts and duration of a bag."""
    from graph.bag import info

    wire.load_message_plugins()
    typer.echo(json.dumps(info(file), indent=1))


@bench_app.command("transport")
def bench_transport(frames: int = typer.Option(300, help="frames per throughput case"),
                    width: int = 1920, height: int = 1080):
    """1080p RGB frames between two processes over ipc:// and tcp://, with a memcpy baseline."""
    from graph.bench_transport import run_transport_bench

    for line in run_transport_bench(frames, width, height):
        typer.echo(json.dumps(line))


def _mount_framework_benches():
    from graph.chaos import bench_chaos
    from graph.soak import bench_soak

    bench_app.command("chaos")(bench_chaos)
    bench_app.command("soak")(bench_soak)


_mount_framework_benches()


@app.command("nodes-doc")
def nodes_doc(modules: List[str] = typer.Argument(None, help="node modules (default: every documented node)"),
              write: Optional[str] = typer.Option(None, help="rewrite the reference section of this Markdown file"),
              check: Optional[str] = typer.Option(None, help="fail if this file's reference section is stale")):
    """Print the Markdown node reference generated from the nodes' contracts."""
    from graph.docgen import node_reference, splice

    reference = node_reference(modules or None)
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


def _plugins():
    for ep in entry_points(group="dreamgraph.commands"):
        try:
            obj = ep.load()
        except Exception as err:  # a broken optional plug-in must not break the whole CLI
            typer.echo(f"warning: command {ep.name} unavailable: {err}", err=True)
            continue
        if isinstance(obj, typer.Typer):
            app.add_typer(obj, name=ep.name)
        else:
            app.command(ep.name)(obj)
    for ep in entry_points(group="dreamgraph.bench"):
        try:
            bench_app.command(ep.name)(ep.load())
        except Exception as err:
            typer.echo(f"warning: benchmark {ep.name} unavailable: {err}", err=True)


def main():
    _plugins()
    app()


if __name__ == "__main__":
    main()
