"""dreamgraph's application: the node modules (one Node class each) at this level, and the libraries they
are built from in packages: common (message types, constants, ImageNet labels, the start picture), chat, dream,
video, and bench (application benchmarks)."""
