"""Optional dependencies: the packages of an extra (``pip install 'dreamgraph[prior]'``) are imported only where
they are used, so a lean install runs everything else, and a missing one says which extra brings it."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtra(ImportError):
    """A package of an extra is not installed; the message names the install command."""


def import_extra(module: str, extra: str) -> ModuleType:
    """``module``, or MissingExtra naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtra(f"{module} is not installed; it comes with pip install 'dreamgraph[{extra}]'") from err


def photo(name: str):
    """One of scikit-image's bundled photographs ("astronaut", "chelsea", ...; no download): natural pictures for
    the benches, the tests and fitting the prior."""
    return getattr(import_extra("skimage.data", "prior"), name)()
