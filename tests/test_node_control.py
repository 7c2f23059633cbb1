"""A busy node still serves its control plane: parameters are answered within one step of a long computation, its
status keeps coming, and a timer slower than its period cannot starve the node's inputs."""

import pytest
from test_graph_helpers import HELPERS_ENV

from dreamgraph.graph.core.message import Counter
from dreamgraph.graph.core.node import Node, NodeConfig, Param
from dreamgraph.graph.testing.harness import GraphHarness


def long_compute_graph():
    return GraphHarness(
        {
            "nodes": [
                {"name": "long", "node": "test_graph_helpers:LongCompute", "params": {"step_s": 0.2, "steps": 1000}}
            ]
        },
        env=HELPERS_ENV,
    )


def test_parameters_are_answered_between_the_steps_of_a_long_computation():
    with long_compute_graph() as h:
        h.wait_for("_status", lambda s: s.node == "long")
        applied = h.listener("long_param_applied")
        result = h.cli("param", "set", "long", "level", "0.3")
        assert result.returncode == 0 and "long.level = 0.3 (applied)" in result.stdout, result
        steps_done = applied.wait().msg.n
        assert 0 < steps_done < 1000, "applied in the middle of a 1000-step result, between two steps"

        refused = h.cli("param", "set", "long", "level", "0.8")
        assert refused.returncode == 1 and "the computation cannot run above 0.5" in refused.stderr
        statuses = [env.msg for env in h.collect("_status", 3.5) if env.msg.node == "long"]
        assert len(statuses) >= 3, "a status a second while computing"
        assert statuses[-1].params["level"] == 0.3, "a refused value is never stored"
        assert statuses[-1].errors.get("loop", 0) == 0

        results = h.listener("long_results")
        assert h.cli("param", "set", "long", "steps", "3").returncode == 0
        cut_short = results.wait().msg.n
        assert 3 <= cut_short < 1000, "the running result ends at the next step once it has enough steps"
        assert h.wait_for("long_results").msg.n == 3


def test_a_timer_slower_than_its_period_drops_ticks_and_the_node_stays_reachable():
    launch = {
        "nodes": [
            {"name": "slow", "node": "test_graph_helpers:SlowTimer", "params": {"period_s": 0.05, "work_s": 0.12}}
        ]
    }
    with GraphHarness(launch, env=HELPERS_ENV) as h:
        status = h.wait_for("_status", lambda s: s.node == "slow" and s.dropped_ticks > 0).msg
        assert status.params["work_s"] == 0.12
        pongs = h.listener("slow_pongs")
        h.publish("slow_pings", Counter(n=7))
        assert pongs.wait(lambda m: m.n == 7).msg.n == 7, "inputs are handled between the slow callbacks"
        result = h.cli("param", "set", "slow", "work_s", "0")
        assert result.returncode == 0 and "(applied)" in result.stdout, result
        status = h.wait_for("_status", lambda s: s.node == "slow" and s.params["work_s"] == 0).msg
        ticks = h.collect("slow_ticks", 2.0)
        assert len(ticks) >= 20, "back to its 20 Hz schedule once the callback is fast"


class Fragile(Node):
    """Applies `level` with work that can fail half-way (like loading a model)."""

    level = Param(float, 0.1)

    def on_param(self, name, value):
        if value > 0.5:
            raise RuntimeError("out of memory")


def test_a_change_that_fails_with_any_exception_is_refused_and_not_stored():
    node = Fragile(NodeConfig(name="fragile", node="test_node_control:Fragile"))
    try:
        node.set_param("level", 0.3)
        with pytest.raises(ValueError, match="not applied: RuntimeError: out of memory"):
            node.set_param("level", 0.9)
        assert node.level == 0.3
    finally:
        node.close()


@pytest.mark.parametrize("value", [float("inf"), "-inf", "nan", "1e400"])
def test_non_finite_numbers_are_refused_whatever_the_range(value):
    node = Fragile(NodeConfig(name="fragile", node="test_node_control:Fragile"))
    try:
        with pytest.raises(ValueError, match="level must be a finite number"):
            node.set_param("level", value)
        assert node.level == 0.1
    finally:
        node.close()
