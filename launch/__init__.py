"""The launch files shipped with dreamgraph: package data, found by name (`dreamgraph launch stream`)."""
