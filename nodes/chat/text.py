"""What a chat line asks for, as plain text: Unicode folded to the letters it looks like, leading mentions gone.

Viewers write "@dreambot ｖｏｌｃａｎｏ", "𝐛𝐞𝐞", "pizza" with a Cyrillic "і" and a zero-width space inside, or reply
to the bot with Twitch's reply button (which puts "@parent " in front of the text). `request_text` turns all of
these into what the vocabulary matches. It is for matching only: names and replies keep what the viewer typed.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from confusable_homoglyphs import categories, confusables

MAX_CHARS = 500  # Twitch's longest chat message; anything beyond is never looked at

# "@name " or "name: " at the start, followed by more text (a lone "@volcano" may be the request itself)
_LEADING_MENTION = re.compile(r"(?:@\S+|\w{1,25}:)\s+(?=\S)")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_KEPT_SCRIPTS = ("LATIN", "COMMON")  # COMMON: digits and punctuation, which must not turn into letters ("0" -> "O")
# Format (zero-width, bidi controls, soft hyphen), unassigned (U+E0000, which chat clients append to repeat a
# message), private-use and surrogate code points: invisible or meaningless, so never part of a word.
_INVISIBLE = frozenset({"Cf", "Cn", "Co", "Cs"})


@functools.lru_cache(maxsize=4096)
def _latin_lookalike(char: str) -> str:
    """The ASCII letter a letter of another script is drawn like (Cyrillic "а" -> "a"), else the letter itself.
    Unicode's confusables table, via confusable_homoglyphs."""
    if categories.alias(char) in _KEPT_SCRIPTS:
        return char
    for found in confusables.is_confusable(char, preferred_aliases=["latin"], greedy=True) or ():
        for homoglyph in found["homoglyphs"]:
            if _ASCII_LETTER.fullmatch(homoglyph["c"]):
                return homoglyph["c"]
    return char


def fold(text: str) -> str:
    """NFKC (fullwidth and mathematical letters -> plain ones), without invisible characters, with other scripts'
    lookalikes as ASCII letters."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    return "".join(_latin_lookalike(char) for char in text if unicodedata.category(char) not in _INVISIBLE)


def strip_mentions(text: str) -> str:
    """Without leading "@name" (any number of them) and "name:", as long as something else is left."""
    text = text.strip()
    while mention := _LEADING_MENTION.match(text):
        text = text[mention.end() :]
    return text


def request_text(text: str) -> str:
    """The text of a chat line as the vocabulary should read it."""
    return strip_mentions(fold(text))
