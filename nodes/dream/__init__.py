"""The dream engine: a classifier's spatial logit map, a natural-image prior and the zoom, stepped on the device.

Modules, one idea each: models (spatial classifiers), objective (class targets and regions), prior (Student-t
patch prior), transform (zoom, rotation, jitter), update (sign / Adam steps and the basis they step in), settings
(DreamSettings), render (Dreamer and dream()), cli and the benches. Nothing is imported here so that loading
the CLI entry points stays cheap: `from dreamgraph.nodes.dream.render import Dreamer, dream`.
"""
