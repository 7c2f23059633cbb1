"""Benchmarks: the framework's own (transport, chaos, soak) and the one way every benchmark writes its figures.

A figure is one JSON line with at least ``bench, case, metric, value, unit, device, baseline, ratio``, where
``device`` is where the measured work ran (``cpu`` or ``cuda``), ``ratio`` is ``value / baseline`` and numbers are
rounded to four significant digits. Application benchmarks plug in through the entry-point group
``dreamgraph.bench`` and write their figures with :func:`bench_line` and :func:`emit` too.
"""

from __future__ import annotations

import json
from typing import Any

SIGNIFICANT_DIGITS = 4


def rounded(value: Any) -> Any:
    """A float to four significant digits; integers, None and anything else unchanged."""
    if isinstance(value, float):
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    return value


def bench_line(
    bench: str,
    case: str,
    metric: str,
    value: float | None,
    unit: str,
    device: str,
    baseline: float | None = None,
    **extra,
) -> dict:
    """One figure as a JSON-able dict; ``extra`` adds context (floats rounded like the figure)."""
    ratio = value / baseline if value is not None and baseline not in (None, 0) else None
    return {
        "bench": bench,
        "case": case,
        "metric": metric,
        "value": rounded(value),
        "unit": unit,
        "device": device,
        "baseline": rounded(baseline),
        "ratio": rounded(ratio),
        **{k: rounded(v) for k, v in extra.items()},
    }


def emit(figure: dict) -> str:
    """Print a figure as one JSON line on stdout (flushed: benches run for minutes) and return the line."""
    line = json.dumps(figure)
    print(line, flush=True)
    return line
