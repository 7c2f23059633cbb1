"""Application benchmarks (`dreamgraph bench e2e|interpolator`) and the prepared GPU check. Each writes its
figures with the framework's one JSON line helper (dreamgraph.graph.bench.bench_line); the dream engine's benches
live beside the engine in nodes/dream."""
