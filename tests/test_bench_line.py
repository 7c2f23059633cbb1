"""The one writer of benchmark figures: the keys every bench line has, and one rounding rule."""

import json

from dreamgraph.graph.bench import bench_line, emit

KEYS = ["bench", "case", "metric", "value", "unit", "device", "baseline", "ratio"]


def test_a_figure_has_the_common_keys_then_its_context_rounded_alike():
    line = bench_line("demo", "case-1", "ms_per_step", 243.99561, "ms", "cpu", 177.39687, frames=300, fps=24.987)
    assert list(line)[: len(KEYS)] == KEYS
    assert (line["value"], line["baseline"], line["ratio"]) == (244.0, 177.4, 1.375)
    assert line["frames"] == 300 and line["fps"] == 24.99


def test_no_baseline_or_no_value_means_no_ratio():
    assert bench_line("demo", "c", "m", 1.5, "s", "cuda")["ratio"] is None
    assert bench_line("demo", "c", "m", None, "s", "cuda", 7.5)["ratio"] is None
    assert bench_line("demo", "c", "m", 3, "kills", "cpu", 0)["ratio"] is None


def test_emit_prints_one_json_line_and_returns_it(capsys):
    line = emit(bench_line("demo", "c", "m", 0.000123456, "s", "cpu"))
    assert capsys.readouterr().out == line + "\n"
    assert json.loads(line)["value"] == 0.0001235
