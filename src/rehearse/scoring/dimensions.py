"""The form of an answer: depth, structure and communication, each scored 0-100.

These read only the answer (and the expected length); how much of the reference the
answer covers is :mod:`rehearse.scoring.content`. The rules are the ones interview
coaches give: be specific (numbers, named tools, an example, the reasoning), signpost
the answer, keep to a sensible length and drop the filler words.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rehearse.scoring.text import content_terms, sentences, words


def phrase_pattern(alternatives: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    r"""``\b(?:alternatives)\b``, matching exactly what it matches, about twice as fast.

    A look-ahead on the alternatives' first letters goes first, so the engine tries the
    word boundary and the alternatives only where one of them can begin (issue 16's
    profile: these scans were a tenth of an evaluation). Every top-level alternative must
    begin with a letter.

    Raises:
        ValueError: an alternative does not begin with a letter.
    """
    starts: set[str] = set()
    depth, begin, escaped = 0, True, False
    for char in alternatives:
        if escaped:
            escaped = False
            continue
        if begin:
            if not char.isalpha():
                raise ValueError(f"phrase alternatives must begin with a letter: {alternatives!r}")
            starts.add(char.lower() if flags & re.IGNORECASE else char)
            begin = False
        if char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            begin = True
    return re.compile(rf"(?=[{''.join(sorted(starts))}])\b(?:{alternatives})\b", flags)


# -- depth ------------------------------------------------------------------------------

_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)?\b|\bO\([^)]{1,20}\)")
# Acronyms (SQL, HTTP), mixed-case names (PostgreSQL, gRPC) and names with digits (S3,
# HTTP/2); plain capitalised words only count mid-sentence (Redis, Kafka).
_ACRONYM_OR_MIXED = re.compile(
    r"\b(?:[A-Z]{2,6}s?|[A-Z]?[a-z]+[A-Z][A-Za-z]*|[A-Za-z]+\d[A-Za-z\d]*)\b"
)
_MID_SENTENCE_NAME = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]{2,}\b")
_EXAMPLE = phrase_pattern(
    r"for example|for instance|e\.g\.|such as|say we|imagine|consider|in my last|"
    r"at my|we once|i once|a case where|like when"
)
_REASONING = phrase_pattern(
    r"because|since|so that|therefore|hence|which means|this means|that means|"
    r"trade-?offs?|trade offs?|however|whereas|instead of|rather than|in order to|"
    r"the downside|the upside|the cost|at the expense|depends on|unless|otherwise|"
    r"on the other hand|compared to|compared with|the reason|why"
)
_NOT_NAMES = frozenset({"I", "OK", "AM", "PM", "IT", "US", "A"})


@dataclass(frozen=True, slots=True)
class DepthSignals:
    """Counts of the specifics an answer gives.

    Attributes:
        numbers: figures and complexity expressions ("200 ms", "O(log n)").
        named_terms: named technologies and acronyms ("PostgreSQL", "TCP").
        examples: example markers ("for example", "such as").
        reasoning: reasoning words ("because", "trade-off", "rather than").
    """

    numbers: int
    named_terms: int
    examples: int
    reasoning: int


def depth_signals(answer: str) -> DepthSignals:
    """Count the specifics in ``answer`` (see :class:`DepthSignals`)."""
    names = {
        match
        for match in _ACRONYM_OR_MIXED.findall(answer) + _MID_SENTENCE_NAME.findall(answer)
        if match not in _NOT_NAMES and not match.isdigit()
    }
    return DepthSignals(
        numbers=len(_NUMBER.findall(answer)),
        named_terms=len(names),
        examples=len(_EXAMPLE.findall(answer)),
        reasoning=len(_REASONING.findall(answer)),
    )


def depth_score(signals: DepthSignals) -> int:
    """Depth, 0-100: up to 25 points for each kind of specific.

    Two numbers, two named terms, one example and two reasoning words each earn the full
    25; fewer earn a proportional share.
    """
    parts = (
        min(signals.numbers / 2, 1.0),
        min(signals.named_terms / 2, 1.0),
        min(signals.examples / 1, 1.0),
        min(signals.reasoning / 2, 1.0),
    )
    return round(25 * sum(parts))


# -- structure --------------------------------------------------------------------------

_SIGNPOST = phrase_pattern(
    r"first(?:ly)?|second(?:ly)?|third(?:ly)?|then|next|after that|finally|lastly|"
    r"to (?:start|begin|summari[sz]e|sum up)|in (?:summary|short|conclusion)|overall|"
    r"on the other hand|the (?:first|second|main|key) (?:thing|point|reason|step)"
)
_LIST_ITEM = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+", re.MULTILINE)
#: Answers shorter than this many words need no signposting or layout to be organised.
SHORT_ANSWER_WORDS = 40
#: Mean words per sentence above which sentences read as run-ons.
LONG_SENTENCE_WORDS = 30


def structure_score(answer: str, topic_stems: frozenset[str]) -> int:
    """Structure, 0-100, of a non-behavioural answer.

    Four parts of 25 points: readable sentences (mean length at most
    :data:`LONG_SENTENCE_WORDS` words); the opening sentence addresses the topic (shares a
    stem with ``topic_stems``, the question and reference); signposting words ("first",
    "then", "finally"; two for full points); and layout (two or more paragraphs or list
    items). Answers under :data:`SHORT_ANSWER_WORDS` words score the first two parts
    double, since a short answer needs no signposts. Returns 0 for an empty answer.
    """
    parts = sentences(answer)
    if not parts:
        return 0
    mean_length = sum(len(words(part)) for part in parts) / len(parts)
    readable = 1.0 if mean_length <= LONG_SENTENCE_WORDS else LONG_SENTENCE_WORDS / mean_length
    on_point = 1.0 if {term.stem for term in content_terms(parts[0])} & topic_stems else 0.0
    if len(words(answer)) < SHORT_ANSWER_WORDS:
        return round(50 * readable + 50 * on_point)
    signposts = min(len(_SIGNPOST.findall(answer)) / 2, 1.0)
    paragraphs = [block for block in re.split(r"\n\s*\n", answer) if block.strip()]
    laid_out = 1.0 if len(paragraphs) >= 2 or len(_LIST_ITEM.findall(answer)) >= 2 else 0.0
    return round(25 * (readable + on_point + signposts + laid_out))


# -- communication ----------------------------------------------------------------------

#: Answers between these multiples of the expected length count as the right length.
LENGTH_WINDOW = (0.5, 2.5)
#: Filler words per word below which fillers do not hurt, and the rate that costs all.
FILLER_RATE_RANGE = (0.01, 0.10)
#: Weights of length, filler rate and sentence length in the communication score.
COMMUNICATION_WEIGHTS = (0.4, 0.35, 0.25)


def length_fit(word_count: int, expected_words: int) -> float:
    """How well the length suits the question, 0-1: 1 inside :data:`LENGTH_WINDOW`.

    Shorter answers fall linearly to 0; longer ones decay towards 0.4, since rambling
    costs less than leaving things out.
    """
    if word_count == 0:
        return 0.0
    ratio = word_count / max(expected_words, 1)
    low, high = LENGTH_WINDOW
    if ratio < low:
        return ratio / low
    if ratio > high:
        return max(0.4, high / ratio)
    return 1.0


def filler_rate(filler_count: int, word_count: int) -> float:
    """Filler words per word, 0 when there are no words."""
    return filler_count / word_count if word_count else 0.0


def communication_score(answer: str, expected_words: int, filler_count: int) -> int:
    """Communication, 0-100: length against ``expected_words``, filler rate, sentence length.

    Weighted by :data:`COMMUNICATION_WEIGHTS`: the length fit (:func:`length_fit`); the
    filler fit, 1 up to 1 filler per 100 words falling to 0 at 10 per 100; and the
    sentence fit, 1 up to 25 words per sentence falling to 0.4 at 50. Returns 0 for an
    empty answer.
    """
    word_count = len(words(answer))
    if word_count == 0:
        return 0
    low, high = FILLER_RATE_RANGE
    rate = filler_rate(filler_count, word_count)
    filler_fit = 1.0 - min(max(rate - low, 0.0) / (high - low), 1.0)
    parts = sentences(answer)
    mean_length = word_count / max(len(parts), 1)
    sentence_fit = 1.0 if mean_length <= 25 else max(0.4, 1.0 - 0.6 * (mean_length - 25) / 25)
    length_weight, filler_weight, sentence_weight = COMMUNICATION_WEIGHTS
    score = (
        length_weight * length_fit(word_count, expected_words)
        + filler_weight * filler_fit
        + sentence_weight * sentence_fit
    )
    return round(100 * score)


def words_per_minute(word_count: int, seconds: float | None) -> float | None:
    """Speaking or typing pace; ``None`` when no positive, finite duration was given."""
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        return None
    return round(word_count * 60.0 / seconds, 1)
