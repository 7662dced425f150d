"""Relevance by contrast: does an answer fit its own question better than any other?

An answer is judged against the whole question bank (and the session's plan), not by an
absolute overlap threshold: every question is a tf-idf vector of its text, key points
and reference answer (sublinear term frequency, inverse document frequency over the
bank; Salton and Buckley 1988), and an answer is compared with each by cosine
similarity. An answer that matches another question clearly better than its own
(:data:`OFF_TOPIC_CONTRAST` times as well) answers that other question.

The same index says which words are specific to a question (rare across the bank) and
which words English answers use at all (its vocabulary), for the content-free and
not-an-answer findings. Pure: the caller loads the bank.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from rehearse.scoring.keypoints import canonical
from rehearse.scoring.text import content_terms

#: An answer is off-topic when another question matches it this many times better.
OFF_TOPIC_CONTRAST = 1.5
#: ... and that other question matches it at least this well (cosine, 0-1): two faint
#: matches say nothing.
OFF_TOPIC_MIN_SIMILARITY = 0.08
#: A word in more than this share of the bank's questions is generic, not specific.
GENERIC_DOCUMENT_SHARE = 0.08
#: Words in more than this share of the questions are left out of the contrast: their
#: inverse document frequency is near zero, and skipping them keeps it fast.
CONTRAST_MAX_DOCUMENT_SHARE = 0.1
#: Only an answer's most distinctive words (highest tf-idf) take part in the contrast.
CONTRAST_TERMS = 40


@dataclass(frozen=True, slots=True)
class TopicQuestion:
    """What the index needs of a question: an id and its texts."""

    id: str
    text: str
    reference_answer: str
    key_points: Sequence[str] = ()

    @property
    def document(self) -> str:
        """The text the question's vector is built from."""
        return "\n".join([self.text, *self.key_points, self.reference_answer])


@dataclass(frozen=True, slots=True)
class Relevance:
    """How an answer matches its own question against the best other one.

    Attributes:
        own: cosine similarity (0-1) with its own question.
        best_other: the highest cosine similarity with any other question.
        best_other_id: that question's id, ``None`` when the index is empty.
        best_other_text: that question's text, ``None`` when the index is empty.
    """

    own: float
    best_other: float
    best_other_id: str | None
    best_other_text: str | None

    @property
    def off_topic(self) -> bool:
        """Another question matches clearly better (see :data:`OFF_TOPIC_CONTRAST`)."""
        return (
            self.best_other >= OFF_TOPIC_MIN_SIMILARITY
            and self.best_other >= OFF_TOPIC_CONTRAST * self.own
        )


#: Questions whose contrast vector an index keeps (the bank's, and custom plans').
OWN_VECTORS_KEPT = 4096


def stems_of(text: str) -> Counter[str]:
    """Canonical stems of the content words of ``text``, with counts (a fresh Counter)."""
    return Counter(_stem_counts(text))


@lru_cache(maxsize=4096)
def _stem_counts(text: str) -> dict[str, int]:
    return dict(Counter(canonical(term.stem) for term in content_terms(text)))


class TopicIndex:
    """The bank's questions as tf-idf vectors, with an inverted index for fast contrast.

    Args:
        questions: the questions to contrast with, e.g. the shipped bank and the plan.
    """

    def __init__(self, questions: Iterable[TopicQuestion]) -> None:
        self._questions: list[TopicQuestion] = []
        counts: list[Counter[str]] = []
        seen: set[str] = set()
        for question in questions:
            if question.id in seen:
                continue
            seen.add(question.id)
            self._questions.append(question)
            counts.append(stems_of(question.document))
        self._size = len(self._questions)
        #: each question's stripped text, compared with the answered one's for every answer
        self._stripped = [question.text.strip() for question in self._questions]
        df: Counter[str] = Counter()
        for bag in counts:
            df.update(bag.keys())
        self._df = df
        self._vocabulary = frozenset(df)
        self._postings: dict[str, list[tuple[int, float]]] = {}
        #: contrast vectors of the questions answered, by document (pure, so kept)
        self._own_vectors: dict[str, dict[str, float]] = {}
        limit = CONTRAST_MAX_DOCUMENT_SHARE * self._size
        for number, bag in enumerate(counts):
            kept = Counter({word: n for word, n in bag.items() if df[word] <= limit})
            for word, weight in self._vector(kept).items():
                self._postings.setdefault(word, []).append((number, weight))

    def __len__(self) -> int:
        return self._size

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every canonical stem the bank uses."""
        return self._vocabulary

    def document_share(self, word: str) -> float:
        """Share (0-1) of the bank's questions whose text uses the canonical stem ``word``."""
        return self._df.get(word, 0) / self._size if self._size else 0.0

    def is_generic(self, word: str) -> bool:
        """Whether ``word`` is common across the bank (see :data:`GENERIC_DOCUMENT_SHARE`)."""
        return self.document_share(word) > GENERIC_DOCUMENT_SHARE

    def subject(self, question: str, generic: frozenset[str] = frozenset()) -> frozenset[str]:
        """The canonical stems that name what ``question`` is about.

        The content words of the question's text that are specific to it: not generic
        across the bank (:meth:`is_generic`) and not in ``generic`` (interview language).
        "Design a URL shortening service like bit.ly" is about "url", "shorten", "bit.ly",
        not "like", "design" or "service". A number or a lone letter ("90 days", the "B"
        of "A/B") names no subject.
        """
        return frozenset(
            word
            for word in _stem_counts(question)
            if len(word) > 1
            and not word.isdigit()
            and word not in generic
            and not self.is_generic(word)
        )

    def names_subject(
        self,
        answer: str,
        question: str,
        rival: str | None,
        generic: frozenset[str] = frozenset(),
    ) -> bool:
        """Whether ``answer`` is about ``question`` rather than about its ``rival``.

        The answer names the question's subject (:meth:`subject`) when it uses two of
        its words (every one when it has fewer), or one of the question's two-word
        phrases that holds one ("load average"); and it must name a larger share of the
        question's subject than of the rival question's (the one the contrast prefers):
        an answer to the rival that touches this question's terms stays the rival's.

        Args:
            answer: the answer's text.
            question: the text of the question it was given for.
            rival: the text of the question that matches the answer best, ``None`` for none.
            generic: canonical stems that never name a subject (interview language).
        """
        own = self.subject(question, generic)
        if not own:
            return False
        stems = _stem_counts(answer).keys()
        named = stems & own
        phrase = any(
            first in own or second in own for first, second in _phrases(question) & _phrases(answer)
        )
        if len(named) < min(2, len(own)) and not phrase:
            return False
        other = self.subject(rival, generic) if rival else frozenset()
        rival_share = len(stems & other) / len(other) if other else 0.0
        return len(named) / len(own) > rival_share

    def relevance(self, question: TopicQuestion, answer: str) -> Relevance:
        """Compare ``answer`` with ``question`` and with every other question of the index.

        Questions with the same id or the same text as ``question`` are not "other".
        """
        vector = self._contrast_vector(answer)
        if len(vector) > CONTRAST_TERMS:
            top = sorted(vector.items(), key=lambda item: -item[1])[:CONTRAST_TERMS]
            vector = dict(top)
        own_vector = self._own_vectors.get(question.document)
        if own_vector is None:  # a question's own vector is the same for every answer
            if len(self._own_vectors) >= OWN_VECTORS_KEPT:
                self._own_vectors.clear()
            own_vector = self._own_vectors[question.document] = self._contrast_vector(
                question.document
            )
        own = _dot(vector, own_vector)
        scores: dict[int, float] = {}
        get = scores.get
        postings = self._postings
        for word, weight in vector.items():
            for number, doc_weight in postings.get(word, ()):
                scores[number] = get(number, 0.0) + weight * doc_weight
        best, best_score = None, 0.0
        text = question.text.strip()
        questions, stripped = self._questions, self._stripped
        for number, score in scores.items():
            if not score > best_score:
                continue  # cannot be the best: the comparisons below are not needed
            other = questions[number]
            if other.id == question.id or stripped[number] == text:
                continue
            best, best_score = other, score
        return Relevance(
            own=own,
            best_other=best_score,
            best_other_id=best.id if best else None,
            best_other_text=best.text if best else None,
        )

    def _contrast_vector(self, text: str) -> dict[str, float]:
        limit = CONTRAST_MAX_DOCUMENT_SHARE * self._size
        bag = Counter(
            {word: n for word, n in _stem_counts(text).items() if self._df.get(word, 0) <= limit}
        )
        return self._vector(bag)

    def _vector(self, bag: Counter[str]) -> dict[str, float]:
        size = max(self._size, 1)
        weights = {
            word: (1.0 + math.log(count)) * math.log((size + 1) / (self._df.get(word, 0) + 1) + 1)
            for word, count in bag.items()
        }
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {word: w / norm for word, w in weights.items()} if norm else {}


@lru_cache(maxsize=4096)
def _phrases(text: str) -> frozenset[tuple[str, str]]:
    """Adjacent pairs of canonical content stems of ``text`` ("load average")."""
    return frozenset(pairwise(canonical(term.stem) for term in content_terms(text)))


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(weight * b.get(word, 0.0) for word, weight in a.items())


#: A sentence with at least this many content words and none shared with the question,
#: its key points or its reference is not about the question (shorter ones are kept:
#: "That's it.", a closing brace).
UNRELATED_MIN_WORDS = 3
_PIECE = re.compile(r"(?<=[.!?])\s+|\n+")


def on_topic_text(answer: str, question: TopicQuestion) -> tuple[str, int]:
    """``answer`` without its sentences that share no content word with ``question``.

    Padding an answer with an unrelated paragraph must never raise its score, so the
    evaluator reads only the sentences about the question. When no sentence is about it,
    the whole answer is kept (it is then judged off-topic or content-free).

    Returns:
        ``(text, dropped)``: the on-topic text and how many sentences were left out.
    """
    document = _stem_counts(question.document)
    pieces = [piece for piece in _PIECE.split(answer) if piece.strip()]
    kept: list[str] = []
    dropped = 0
    for piece in pieces:
        stems = _stem_counts(piece)
        if sum(stems.values()) >= UNRELATED_MIN_WORDS and not stems.keys() & document.keys():
            dropped += 1
        else:
            kept.append(piece)
    if not kept or not dropped:
        return answer, 0
    return "\n".join(kept), dropped


def without_restatements(
    answer: str, question: str, generic: Callable[[str], bool]
) -> tuple[str, int]:
    """``answer`` without its sentences that only restate ``question``.

    A sentence restates the question when it repeats at least
    :data:`rehearse.scoring.findings.COPY_MIN_SHARE` of the question's content words and
    adds no word of its own but generic ones ("You asked me to design a URL shortening
    service like bit.ly."). Such a sentence names the subject without saying anything
    about it, so it can neither make an answer to another question this one's nor state
    a key point by the question's own words. "The F1 score is the harmonic mean of
    precision and recall" adds "harmonic" and is kept. When every sentence restates the
    question, the whole answer is kept (it is then judged a copy of the question).

    Args:
        answer: the answer's text.
        question: the question's text.
        generic: whether a canonical stem is generic (interview language, or common
            across the bank); such words add nothing to a restatement.

    Returns:
        ``(text, dropped)``: the answer without restatements and how many were left out.
    """
    from rehearse.scoring.findings import COPY_MIN_SHARE

    asked = _stem_counts(question).keys()
    if not asked:
        return answer, 0
    pieces = [piece for piece in _PIECE.split(answer) if piece.strip()]
    kept: list[str] = []
    for piece in pieces:
        said = _stem_counts(piece).keys()
        repeated = said & asked
        if (
            repeated
            and len(repeated) >= COPY_MIN_SHARE * len(asked)
            and all(generic(word) for word in said - asked)
        ):
            continue
        kept.append(piece)
    dropped = len(pieces) - len(kept)
    if not kept or not dropped:
        return answer, 0
    return "\n".join(kept), dropped
