"""``python -m dreamgraph.graph.cli``: the same as the ``dreamgraph`` command."""

from . import main

main()
