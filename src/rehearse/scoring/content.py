"""How much of the reference answer an answer says: lexical features and the calibrated map.

The content score is the evaluator's estimate of the grade a human would give, on a 0-100
scale (score / 20 is a 0-5 grade). It follows the lexical recipe that works for short-answer
grading (Mohler, Bunescu and Mihalcea, ACL 2011; Sultan, Salazar and Sumner, NAACL 2016):

1. Content words of the reference, the question and the answer, stemmed (Snowball).
2. Each reference word the answer contains counts as covered; a word of the same family
   the stemmer splits ("disagreed", "disagreement") earns 0.9, and a misspelt word earns
   its spelling ratio when that is close enough (rapidfuzz ratio >= 85).
3. Words that already appear in the question carry little credit ("question demoting",
   Mohler 2011 and Sultan 2016): restating the question is not answering it.
4. Recall of the reference, precision of the answer, the share of the answer taken from
   the question and the size of the reference are combined linearly and mapped through a
   logistic curve onto 0-5, fitted to human grades (see :data:`CALIBRATION`).

Everything here is deterministic and pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from itertools import pairwise

from rapidfuzz import fuzz, process

from rehearse.scoring.text import Term, content_terms, stem, word_set, words

#: Weight of a word that also appears in the question (1.0 for any other word).
QUESTION_WORD_WEIGHT = 0.2
#: Minimum rapidfuzz ratio (0-100) for two different words to count as a misspelling.
FUZZY_MIN_RATIO = 85.0
#: Words shorter than this only match exactly (by stem): "log" is not a typo of "lag".
FUZZY_MIN_LENGTH = 4
#: A stem at least this long that begins another stem counts as the same word family
#: ("disagr" of "disagreement", "disagre" of "disagreed"), which the stemmer splits.
PREFIX_MIN_LENGTH = 6
#: Credit for a word-family match by prefix.
PREFIX_CREDIT = 0.9
#: Reference sizes (distinct content words of reference and question) above this count as
#: this: it is the largest in the calibration data, and the fit must not be extrapolated to
#: the paragraph-long references of interview questions.
REFERENCE_SIZE_CAP = 16


@dataclass(frozen=True, slots=True)
class Calibration:
    """The map from features to a 0-5 grade: ``5 * sigmoid(intercept + sum(w * feature))``.

    Attributes:
        intercept: the constant term.
        weights: one weight per :class:`ContentFeatures` attribute used.
    """

    intercept: float
    weights: Mapping[str, float]

    def grade(self, features: ContentFeatures) -> float:
        """The estimated human grade, 0-5, for ``features``."""
        z = self.intercept + sum(
            weight * getattr(features, name) for name, weight in self.weights.items()
        )
        return 5.0 / (1.0 + math.exp(-z))


# Fitted by tools/calibrate_evaluator.py on the dev half of the Mohler et al. (2011) short-answer
# data (1,149 answers, 41 questions): least squares of 5 * sigmoid(intercept + w . features)
# against the mean human grade, L2 penalty 1e-3. The features, QUESTION_WORD_WEIGHT and
# FUZZY_MIN_RATIO were chosen by leave-question-out cross-validation (grouped by
# question_id): r 0.655, RMSE 0.791 on questions the fit never saw. Fitted 2026-11-21.
# Signs: covering the reference (recall) and staying on it (precision) raise the grade;
# restating the question (question_share) and a longer reference (reference_size) lower it.
CALIBRATION = Calibration(
    intercept=3.07,
    weights={
        "recall": 3.276,
        "precision": 1.23,
        "question_share": -0.858,
        "reference_size": -0.998,
    },
)

# A correct short answer to a one-line reference often shares no word with it ("log n" for
# "the height of the tree"), so sharing nothing only marks an answer off-topic when both
# texts are long enough that an on-topic answer would almost surely share a word: the
# product of their content-word counts. Below the first number there is no cap; from the
# second on, the score is capped at OFF_TOPIC_CAP.
OFF_TOPIC_PRODUCT_RANGE = (100, 200)
OFF_TOPIC_CAP = 10.0

# An answer made only of these words says that the candidate did not answer.
_NON_ANSWER_WORDS = word_set(
    "i no not don't dont do know idea sure answer answered unanswered skip skipped pass sorry idk"
)


@dataclass(frozen=True, slots=True)
class ContentFeatures:
    """Lexical features of one answer against its reference answer and question.

    :data:`CALIBRATION` uses recall, precision, question_share and reference_size; the
    other ratios are candidates that tools/calibrate_evaluator.py can try, and the counts
    decide the off-topic cap.

    Attributes:
        recall: weighted share (0-1) of the reference's content words the answer covers.
        precision: weighted share (0-1) of the answer's content words found in the
            reference.
        length_ratio: ``log((answer words + 1) / (reference words + 1))`` over content
            words; 0 when the lengths match.
        bigram_recall: share (0-1) of the reference's adjacent content-word pairs the
            answer repeats.
        question_share: share (0-1) of the answer's content words taken from the question.
        topic_share: share (0-1) of the answer's content words found in the question or
            the reference.
        reference_size: ``log`` of the distinct content words of the reference and the
            question, capped at :data:`REFERENCE_SIZE_CAP`; graders give lower grades when
            a reference has more to cover.
        answer_terms: distinct content words of the answer.
        reference_terms: distinct content words of the reference and the question.
        shared_terms: distinct answer content words matching the reference or question.
    """

    recall: float
    precision: float
    length_ratio: float
    bigram_recall: float
    question_share: float
    topic_share: float
    reference_size: float
    answer_terms: int
    reference_terms: int
    shared_terms: int

    def vector(self, names: Iterable[str]) -> list[float]:
        """The named features in the order given (names are attribute names)."""
        return [float(getattr(self, name)) for name in names]


#: Names of the features a calibration may use, in declaration order.
FEATURE_NAMES: tuple[str, ...] = tuple(field.name for field in fields(ContentFeatures))


def is_non_answer(answer: str) -> bool:
    """Whether ``answer`` is blank or only declines ("I don't know", "no answer", "pass")."""
    return all(word in _NON_ANSWER_WORDS for word in words(answer.lower().replace("n/a", "")))


class TermMatcher:
    """Finds which words of a text another text covers, by stem or by close spelling.

    Build one per answer and ask it about every reference or key-point word: exact stems
    are a set lookup; misspellings go through rapidfuzz in C.
    """

    def __init__(self, terms: Iterable[Term]) -> None:
        terms = list(terms)
        self._stems = {term.stem for term in terms}
        self._prefixes: set[str] = set()
        for term in terms:
            self._prefixes.update(_family_prefixes(term.stem))
        self._long_words = sorted(
            {term.word for term in terms if len(term.word) >= FUZZY_MIN_LENGTH}
        )
        self._memo: dict[Term, float] = {}

    def credit(self, term: Term) -> float:
        """Credit (0-1) the text earns for ``term``.

        1.0 for the same stem, :data:`PREFIX_CREDIT` for a stem of the same word family,
        the spelling ratio (0.85-1.0) for a close misspelling, else 0.0.
        """
        if term.stem in self._stems:
            return 1.0
        known = self._memo.get(term)
        if known is None:
            known = self._memo[term] = self._inexact(term)
        return known

    def prime(self, terms: Iterable[Term]) -> None:
        """Work out the credit of every one of ``terms`` now, the misspellings in one call.

        The same credits as :meth:`credit` gives one by one; asking rapidfuzz about all
        of a text's misspelling candidates in one ``cdist`` costs about a third of one
        ``extractOne`` per word (issue 16's profile: a new answer's matcher meets every
        reference and key-point word for the first time). Only the best score of each
        word is used, which does not depend on the order of the choices or on ties.
        """
        memo = self._memo
        fuzzy: dict[str, list[Term]] = {}
        for term in terms:
            if term.stem in self._stems or term in memo:
                continue
            if self._family(term):
                memo[term] = PREFIX_CREDIT
            elif len(term.word) < FUZZY_MIN_LENGTH or not self._long_words:
                memo[term] = 0.0
            else:
                fuzzy.setdefault(term.word, []).append(term)
        if len(fuzzy) < 2:
            return  # one word: extractOne, when it is asked, is as cheap
        import numpy as np  # imported once a matcher has several words to look up

        scores = process.cdist(
            list(fuzzy),
            self._long_words,
            scorer=fuzz.ratio,
            score_cutoff=FUZZY_MIN_RATIO,
            dtype=np.float64,
        ).max(axis=1)
        for same_word, best in zip(fuzzy.values(), scores.tolist(), strict=True):
            credit = best / 100.0 if best >= FUZZY_MIN_RATIO else 0.0
            for term in same_word:
                memo[term] = credit

    def _family(self, term: Term) -> bool:
        return term.stem in self._prefixes or not self._stems.isdisjoint(
            _family_prefixes(term.stem)
        )

    def _inexact(self, term: Term) -> float:
        if self._family(term):
            return PREFIX_CREDIT
        if len(term.word) < FUZZY_MIN_LENGTH or not self._long_words:
            return 0.0
        best = process.extractOne(
            term.word, self._long_words, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN_RATIO
        )
        return 0.0 if best is None else float(best[1]) / 100.0


@lru_cache(maxsize=16384)
def _family_prefixes(stemmed: str) -> frozenset[str]:
    """The proper prefixes of ``stemmed`` at least :data:`PREFIX_MIN_LENGTH` long."""
    return frozenset(stemmed[:end] for end in range(PREFIX_MIN_LENGTH, len(stemmed)))


@lru_cache(maxsize=1024)
def matcher_for(text: str) -> TermMatcher:
    """A shared :class:`TermMatcher` of the content words of ``text``.

    Cached, so the misspelling look-ups of one reference are done once across answers,
    and those of one answer once across the evaluator's measures.
    """
    return TermMatcher(content_terms(text))


@lru_cache(maxsize=1024)
def question_stems(question: str) -> frozenset[str]:
    """Stems of every word of the question, stop words included (they never carry credit)."""
    return frozenset(stem(word) for word in words(question))


def weighted_recall(
    terms: Iterable[Term], matcher: TermMatcher, demoted: frozenset[str]
) -> tuple[float, list[Term]]:
    """Weighted share (0-1) of distinct ``terms`` that ``matcher`` covers, and the missed terms.

    Terms whose stem is in ``demoted`` (the question's words) weigh
    :data:`QUESTION_WORD_WEIGHT`; returns ``(1.0, [])`` when there are no terms.
    """
    unique = _distinct(terms)
    matcher.prime(unique)
    total = covered = 0.0
    missed: list[Term] = []
    for term in unique:
        weight = QUESTION_WORD_WEIGHT if term.stem in demoted else 1.0
        credit = matcher.credit(term)
        total += weight
        covered += weight * credit
        if credit == 0.0:
            missed.append(term)
    return (covered / total if total else 1.0), missed


def content_features(question: str, reference: str, answer: str) -> ContentFeatures | None:
    """Measure ``answer`` against ``reference``; ``None`` when the answer has no content.

    An answer has no content when it is blank, has only stop words, or only declines to
    answer (:func:`is_non_answer`).
    """
    answer_terms = content_terms(answer)
    if not answer_terms or is_non_answer(answer):
        return None
    reference_terms = content_terms(reference)
    demoted = question_stems(question)
    answer_matcher = matcher_for(answer)
    recall, _ = weighted_recall(reference_terms, answer_matcher, demoted)
    precision, _ = weighted_recall(answer_terms, matcher_for(reference), demoted)

    topic_terms = [*reference_terms, *content_terms(question)]
    topic_matcher = matcher_for(f"{reference}\n{question}")
    distinct_answer = _distinct(answer_terms)
    topic_matcher.prime(distinct_answer)
    shared = sum(1 for term in distinct_answer if topic_matcher.credit(term) > 0.0)
    from_question = sum(1 for term in distinct_answer if term.stem in demoted)

    reference_pairs = _pairs(reference_terms)
    answer_pairs = _pairs(answer_terms)
    topic_size = len(_distinct(topic_terms))
    bigram_recall = (
        len(reference_pairs & answer_pairs) / len(reference_pairs) if reference_pairs else recall
    )
    return ContentFeatures(
        recall=recall,
        precision=precision,
        length_ratio=math.log((len(answer_terms) + 1) / (len(reference_terms) + 1)),
        bigram_recall=bigram_recall,
        question_share=from_question / len(distinct_answer),
        topic_share=shared / len(distinct_answer),
        reference_size=math.log(min(max(topic_size, 1), REFERENCE_SIZE_CAP)),
        answer_terms=len(distinct_answer),
        reference_terms=topic_size,
        shared_terms=shared,
    )


def off_topic_cap(features: ContentFeatures) -> float:
    """The highest content score (0-100) an answer may get given how much it shares.

    100 unless the answer shares no content word with the reference or the question and
    both are long enough that an on-topic answer would share one; then it falls linearly
    to :data:`OFF_TOPIC_CAP`.
    """
    if features.shared_terms > 0:
        return 100.0
    low, high = OFF_TOPIC_PRODUCT_RANGE
    product = features.answer_terms * features.reference_terms
    fraction = min(max((product - low) / (high - low), 0.0), 1.0)
    return 100.0 - fraction * (100.0 - OFF_TOPIC_CAP)


def content_score(
    features: ContentFeatures | None, calibration: Calibration | None = None
) -> float:
    """The calibrated content score, 0-100, of an answer with these features.

    0 for an answer without content (``features is None``); otherwise 20 x the estimated
    0-5 human grade under ``calibration`` (default :data:`CALIBRATION`), capped for
    off-topic answers (:func:`off_topic_cap`). Not rounded.
    """
    if features is None:
        return 0.0
    grade = (calibration or CALIBRATION).grade(features)
    return min(20.0 * grade, off_topic_cap(features))


def _distinct(terms: Iterable[Term]) -> list[Term]:
    """First occurrence of each stem, in order."""
    seen: dict[str, Term] = {}
    for term in terms:
        seen.setdefault(term.stem, term)
    return list(seen.values())


def _pairs(terms: list[Term]) -> set[tuple[str, str]]:
    return {(first.stem, second.stem) for first, second in pairwise(terms)}
