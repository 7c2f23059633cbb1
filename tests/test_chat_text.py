"""What a chat line asks for as text (nodes/chat/text.py): Unicode folding and leading mentions."""

from hypothesis import given, settings
from hypothesis import strategies as st

from dreamgraph.nodes.chat.text import MAX_CHARS, fold, request_text, strip_mentions


def test_fullwidth_and_mathematical_letters_become_plain():
    assert fold("ｂｅｅ") == "bee"
    assert fold("\U0001d41b\U0001d41e\U0001d41e") == "bee"  # MATHEMATICAL BOLD SMALL B, E, E
    assert fold("\U0001d4cb\U0001d4b6\U0001d4cf") == "vaz"  # script letters
    assert fold("ＶＯＬＣＡＮＯ　＋　ｐｉｚｚａ") == "VOLCANO + pizza"  # fullwidth space and plus too


def test_zero_width_and_bidi_controls_are_removed():
    hidden = "v\u200bol\u200dca\u2060no\u00ad\ufeff"  # zero-width space and joiner, word joiner, soft hyphen, BOM
    assert fold(hidden) == "volcano"
    assert fold("\u202epizza\u202c \u2066bee\u2069 \u200e") == "pizza bee "  # bidi override, isolate, mark
    assert fold("volcano \U000e0000") == "volcano "  # what chat clients append to repeat a line


def test_homoglyphs_of_other_scripts_fold_to_latin():
    assert fold("\u0432\u0435\u0435") != "bee"  # Cyrillic "vee" is not drawn like "bee"
    assert fold("\u0412\u0415\u0415") == "BEE"  # Cyrillic capitals are
    assert fold("vol\u0441\u0430n\u043e") == "volcano"  # Cyrillic s, a, o inside a Latin word
    assert fold("\u03c1izza") == "pizza"  # Greek rho
    assert fold("b\u0435\u0435 + 0") == "bee + 0"  # digits stay digits
    assert fold("火山 日本語 café") == "火山 日本語 café"  # letters without a Latin lookalike stay


def test_leading_mentions_are_stripped():
    assert strip_mentions("@dreambot pizza") == "pizza"
    assert strip_mentions("  @DreamBot @viewer_one   kit fox ") == "kit fox"
    assert strip_mentions("dreambot: volcano") == "volcano"
    assert strip_mentions("@dreambot, dreambot: @x !dream bee") == "!dream bee"
    assert strip_mentions("pizza @dreambot") == "pizza @dreambot"  # only leading ones


def test_a_name_that_is_all_there_is_stays():
    assert strip_mentions("@volcano") == "@volcano"
    assert strip_mentions("@dreambot @volcano") == "@volcano"
    assert strip_mentions("volcano:") == "volcano:"


def test_request_text_folds_then_strips():
    assert request_text("＠ｄｒｅａｍｂｏｔ\u200b ｂｅｅ") == "bee"
    assert request_text("@dream\u0432\u043et pizza") == "pizza"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=2 * MAX_CHARS))
def test_any_text_is_folded_without_raising(text):
    folded = request_text(text)
    assert isinstance(folded, str) and len(folded) <= 18 * MAX_CHARS  # NFKC expands a character 18-fold at most
    assert "\u200b" not in folded and "\u202e" not in folded
