"""Key-point coverage: which of the statements a complete answer makes the answer makes.

A key point is covered when the answer contains enough of its distinctive words: its
content words, stemmed, with words from the question weighted down (they say what the
question is about, not what the answer must add) and misspellings matched by spelling
ratio. Exact wording is never required.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rehearse.scoring.content import TermMatcher, weighted_recall
from rehearse.scoring.text import content_terms, sentences

#: Weighted share (0-1) of a key point's distinctive words an answer must contain to hit it.
KEY_POINT_HIT = 0.5


@dataclass(frozen=True, slots=True)
class KeyPointCoverage:
    """How an answer covers a list of key points.

    Attributes:
        hit: the key points covered, in the given order, as given.
        missed: the key points not covered, in the given order.
        coverage: per key point, the weighted share (0-1) of its words the answer has.
        score: 0-100, the mean over key points of ``min(coverage / KEY_POINT_HIT, 1)``;
            100 when there are no key points.
    """

    hit: list[str]
    missed: list[str]
    coverage: list[float]
    score: int


def key_points_from_reference(reference: str) -> list[str]:
    """Split a reference answer into key points: its sentences and semicolon clauses."""
    points = [
        clause.strip(" .;")
        for sentence in sentences(reference)
        for clause in re.split(r";\s*", sentence)
    ]
    return [point for point in points if content_terms(point)]


def key_point_coverage(
    key_points: Sequence[str], answer: TermMatcher, question: frozenset[str]
) -> KeyPointCoverage:
    """Measure which ``key_points`` the answer covers.

    Args:
        key_points: short statements a complete answer makes.
        answer: a matcher built from the answer's content words.
        question: stems of the question's words, weighted down in every key point.

    Returns:
        The hit and missed key points and the 0-100 coverage score.
    """
    hit: list[str] = []
    missed: list[str] = []
    coverage: list[float] = []
    for point in key_points:
        share, _ = weighted_recall(content_terms(point), answer, question)
        coverage.append(share)
        (hit if share >= KEY_POINT_HIT else missed).append(point)
    if not key_points:
        return KeyPointCoverage(hit=[], missed=[], coverage=[], score=100)
    credit = sum(min(share / KEY_POINT_HIT, 1.0) for share in coverage) / len(coverage)
    return KeyPointCoverage(hit=hit, missed=missed, coverage=coverage, score=round(100 * credit))
