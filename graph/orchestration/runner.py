"""The entry point of a node process: ``python -m dreamgraph.graph.orchestration.runner CONFIG.json``.

The launcher writes each node's configuration to a private file instead of the command line, so parameters
(which may hold secrets) never show up in process listings.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from ..core.contract import load_node_class
from ..core.logformat import LineFormatter
from ..core.node import NodeConfig
from ..core.process import die_with_parent


def configure_logging(level: str):
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LineFormatter())
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), handlers=[handler])


def run_node(config: NodeConfig) -> int:
    # Nodes share the machine's cores: OpenMP worker threads (torch, OpenCV) must sleep when idle instead of
    # spinning, or one node's spinning threads starve the others (measured: 40x slower steps on 2 cores).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    configure_logging(config.log_level)
    try:
        import setproctitle

        setproctitle.setproctitle(f"dreamgraph node {config.name}")
    except ImportError:
        pass
    try:
        cls = load_node_class(config.node)
        node = cls(config)
    except (ValueError, TypeError) as err:
        logging.getLogger(config.name).error("cannot start: %s", err)
        return 2
    try:
        node.run()
    except Exception as err:  # setup refused to start (no display, bad device, ...): say why, briefly
        logging.getLogger(config.name).error(
            "stopped: %s", err, exc_info=logging.getLogger().isEnabledFor(logging.DEBUG)
        )
        return 3
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m dreamgraph.graph.orchestration.runner CONFIG.json", file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        config = NodeConfig(**json.load(f))
    if os.environ.get("DREAMGRAPH_DIE_WITH_PARENT") == "1":
        die_with_parent()
    return run_node(config)


if __name__ == "__main__":
    sys.exit(main())
