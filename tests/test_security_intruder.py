"""An intruder on the graph's network, with keys of its own or none, impersonating the chat machine (it holds
the chat box's address) and the output machine: it receives no frame, nothing it publishes takes effect, and the
graph logs the refusals with the intruder's address and without any key.
"""

from __future__ import annotations

import json

import pytest
from servers.netns import Network, require_netns
from test_multi_machine import LAUNCH, client_of, launch_args, secret_keys, wait_report

from dreamgraph.graph.core.security import generate_keys


@pytest.mark.parametrize("intruder_keys", ["own-keys", "no-keys"])
def test_intruder_gets_nothing_and_changes_nothing(tmp_path, intruder_keys):
    require_netns()
    launch_file = tmp_path / "graph.yaml"
    launch_file.write_text(LAUNCH)
    keys = generate_keys(tmp_path / "keys")
    if intruder_keys == "own-keys":
        intruder_env = {"DREAMGRAPH_KEYS": str(generate_keys(tmp_path / "intruder-keys"))}
        intruder_args: dict[str, str] = {}
        reasons = ["does not hold this graph's keys"]
    else:
        intruder_env = {}
        intruder_args = {"secure": "false"}
        # Which side notices the mismatch first varies; either way the peer is refused.
        reasons = ["does not use CurveZMQ encryption", "does not use CurveZMQ)"]
    net = Network()
    try:
        net.add("gpu")
        net.add("output")
        intruder_address = net.add("intruder")
        # The legitimate chat box is away; the intruder took its address.
        addresses = {"chat_addr": intruder_address}
        gpu = net.start("gpu", launch_args(net, launch_file, "gpu", **addresses), DREAMGRAPH_KEYS=str(keys))
        output = net.start("output", launch_args(net, launch_file, "output", **addresses), DREAMGRAPH_KEYS=str(keys))
        fake_chat = net.start(
            "intruder", launch_args(net, launch_file, "chat", **addresses, **intruder_args), role="chat", **intruder_env
        )
        fake_output = net.start(
            "intruder",
            launch_args(net, launch_file, "output", **addresses, **intruder_args),
            role="output",
            **intruder_env,
        )
        for proc in (gpu, output, fake_chat, fake_output):
            proc.wait_output("starting")

        # The legitimate output box gets frames while the intruder's copy of it gets none.
        legit = wait_report(client_of(net, "output"), "out_report", lambda r: r["frames"] >= 20)
        stolen = wait_report(client_of(net, "intruder", "output"), "out_report", lambda r: r["received"] > 0)
        assert legit["frames"] >= 20
        assert stolen["frames"] == 0

        # What the intruder publishes as "the chat box" never reaches the gpu box.
        pub = net.cli(
            "intruder",
            ["topic", "pub", "chat_ticks", json.dumps({"n": 666, "stamp": 0.0}), "--type", "dreamgraph/Counter"],
            role="chat",
            **intruder_env,
        )
        assert pub.returncode == 0, pub.stderr
        gpu_client = client_of(net, "gpu")
        reports = [env.msg.text for env in gpu_client.listen("gpu_report", 3.0)]
        assert reports, "the gpu box's counter reported nothing"
        assert all("received=0 " in text for text in reports), reports

        # The gpu box logged the refused subscriber by address, with the reason, and no key anywhere.
        line = gpu.wait_output(f"refused connection from {intruder_address}:", timeout=20)
        assert any(reason in line for reason in reasons), line
        logs = "\n".join(p.text() for p in (gpu, output, fake_chat, fake_output)) + pub.stdout + pub.stderr
        for secret in secret_keys(keys):
            assert secret not in logs
    finally:
        net.close()
