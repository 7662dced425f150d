"""The text layer: tokens, stems, content words, filler words, non-answers."""

from __future__ import annotations

import re

import pytest

from rehearse.bank import load_bank
from rehearse.scoring.content import TermMatcher, is_non_answer
from rehearse.scoring.dimensions import phrase_pattern
from rehearse.scoring.text import content_terms, filler_words, sentences, stem, words


def test_words_split_identifiers_and_keep_apostrophes() -> None:
    assert words("StackPush() isn't O(log n)") == ["stack", "push", "isn't", "o", "log", "n"]


def test_content_terms_drop_stop_words_and_keep_code_keywords() -> None:
    terms = content_terms("The block of a do...while loop always runs at least once.")
    assert [term.word for term in terms] == [
        "block",
        "dowhile",
        "loop",
        "always",
        "runs",
        "least",
        "once",
    ]
    assert [term.stem for term in terms][-1] == "1"


def test_stems_unify_inflections_and_number_words() -> None:
    assert stem("pointers") == stem("pointer")
    assert stem("simulates") == stem("simulation")
    assert stem("two") == "2"


def test_matcher_credits_word_families_and_misspellings() -> None:
    matcher = TermMatcher(content_terms("They disagreed about the definition."))
    [family] = content_terms("disagreements")
    [typo] = content_terms("defintion")
    [other] = content_terms("agreement")
    assert 0.85 <= matcher.credit(family) < 1.0
    assert 0.85 <= matcher.credit(typo) < 1.0
    assert matcher.credit(other) == 0.0


def test_primed_matcher_gives_the_credits_of_one_word_at_a_time() -> None:
    text = "Retries with exponential backoff and jitter keep the idempotency keys consistent."
    asked = content_terms("jiter bakoff retrys exponentially jittery sharding keys ok jitter")
    one_by_one = [TermMatcher(content_terms(text)).credit(term) for term in asked]
    primed = TermMatcher(content_terms(text))
    primed.prime(asked)
    assert [primed.credit(term) for term in asked] == one_by_one
    # misspellings (jiter, bakoff), a word family (jittery), misses and exact stems
    assert sorted(set(one_by_one)) == [0.0, 0.9, 0.9090909090909091, 0.923076923076923, 1.0]


def test_sentences_split_on_end_marks_and_lines() -> None:
    assert sentences("One. Two? Three!\nFour") == ["One.", "Two?", "Three!", "Four"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Um, I mean, it was, like, slow.", {"i mean": 1, "like": 1, "um": 1}),
        ("Uh, so like the cache was basically full.", {"basically": 1, "like": 1, "uh": 1}),
        ("It works like a queue and I like it.", {}),
        ("What kind of index? It is kind of slow.", {"kind of": 1}),
        ("A sort of tree. It sort of works.", {"sort of": 1}),
        ("Do you know how it works? It is, you know, fast.", {"you know": 1}),
        ("I actually measured it, and it actually helped.", {"actually": 2}),
        ("", {}),
    ],
)
def test_filler_words_count_only_fillers(text: str, expected: dict[str, int]) -> None:
    assert filler_words(text) == expected


@pytest.mark.parametrize(
    ("answer", "declined"),
    [
        ("", True),
        ("I don't know", True),
        ("no idea, sorry", True),
        ("N/A", True),
        ("n", False),
        ("No, it is not thread-safe.", False),
    ],
)
def test_non_answers_are_recognised(answer: str, declined: bool) -> None:
    assert is_non_answer(answer) is declined


def test_phrase_pattern_matches_what_the_plain_pattern_matches() -> None:
    alternatives = r"for example|e\.g\.|trade-?offs?|to (?:start|sum up)|since|why"
    plain = re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)
    fast = phrase_pattern(alternatives)
    long_s = "\u017f"  # folds to "s" under IGNORECASE, as a look-ahead must too
    tricky = f"Since, SINCE, {long_s}ince and sincere; WHY-why, e.g. E.G. eg, trade-off TRADEOFFS"
    texts = [
        *(question.reference_answer + " " + question.text for question in load_bank()),
        tricky,
        "To start: to  sum up, tO StArT, for-example, For Example!",
        "",
    ]
    assert [fast.findall(text) for text in texts] == [plain.findall(text) for text in texts]
    # "e.g." before a space has no word boundary after its full stop, in both patterns
    found = ["Since", "SINCE", f"{long_s}ince", "WHY", "why", "trade-off", "TRADEOFFS"]
    assert fast.findall(tricky) == found
    with pytest.raises(ValueError, match="begin with a letter"):
        phrase_pattern(r"(?:a|b)c|d")
