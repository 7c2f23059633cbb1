"""Running graphs: launch files, the supervisor behind `dreamgraph launch`, the node process entry point and
the start of remote machines. Built on graph.core."""
