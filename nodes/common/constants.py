"""Literals that several application modules share, defined once."""

NUM_CLASSES = 1000  # ImageNet-1k: class ids 0..999, the classifiers' outputs and the chat vocabulary
NUM_ANIMALS = 398  # ImageNet-1k's animal classes are ids 0..397 (tench to puffer)
LAYOUTS = ("single", "top-bottom", "horizontal", "vertical", "grid")  # where each target goes in the picture
# Two subjects as in 2015, the first at the bottom; side by side read no better at 16:9 (docs/BENCHMARKS.md)
DEFAULT_LAYOUT = "top-bottom"
