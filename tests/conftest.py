"""Fixtures shared by several test modules."""

import random

import pytest

from dreamgraph.nodes.chat.vocab import Vocabulary


@pytest.fixture(scope="module")
def vocab():
    """The chat vocabulary with a fixed choice among classes that share a name."""
    return Vocabulary(rng=random.Random(0))
