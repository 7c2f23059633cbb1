"""Literals that several application modules share, defined once."""

NUM_CLASSES = 1000  # ImageNet-1k: class ids 0..999, the classifiers' outputs and the chat vocabulary
LAYOUTS = ("single", "top-bottom", "horizontal", "vertical", "grid")  # where each target goes in the picture
