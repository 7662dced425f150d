"""Score bands: what a 0-100 answer score means, decided once for every edge.

The README's "Score bands" table documents them; the evaluator follows them (an answer
covering a fifth of the key points cannot pass the "weak" band) and the pages colour a
score by its band with the CSS class :attr:`ScoreBand.css_class`.
"""

from __future__ import annotations

from enum import StrEnum


class ScoreBand(StrEnum):
    """The five bands of an answer score, lowest first."""

    NO_ANSWER = "no-answer"
    WEAK = "weak"
    PARTIAL = "partial"
    GOOD = "good"
    EXCELLENT = "excellent"

    @property
    def low(self) -> int:
        """Lowest score (0-100) in the band."""
        return _LOWS[self]

    @property
    def high(self) -> int:
        """Highest score (0-100) in the band."""
        order = list(ScoreBand)
        index = order.index(self)
        return 100 if index == len(order) - 1 else _LOWS[order[index + 1]] - 1

    @property
    def label(self) -> str:
        """The band as a reader sees it: ``"partial (40-59)"``."""
        return f"{_LABELS[self]} ({self.low}-{self.high})"

    @property
    def meaning(self) -> str:
        """What a score in the band says about an interview answer."""
        return _MEANINGS[self]

    @property
    def css_class(self) -> str:
        """The CSS class the pages give a score in this band: ``"score--partial"``."""
        return f"score--{self.value}"


# The lowest band holds 20: the caps of the findings that mean "this does not answer the
# question" (off-topic, content-free, wrong) and of stating no key point are 20, "the top
# of the lowest band" (docs/decisions.md), so such an answer is never called "weak".
_LOWS = {
    ScoreBand.NO_ANSWER: 0,
    ScoreBand.WEAK: 21,
    ScoreBand.PARTIAL: 40,
    ScoreBand.GOOD: 60,
    ScoreBand.EXCELLENT: 80,
}
_LABELS = {
    ScoreBand.NO_ANSWER: "not an answer",
    ScoreBand.WEAK: "weak",
    ScoreBand.PARTIAL: "partial",
    ScoreBand.GOOD: "good",
    ScoreBand.EXCELLENT: "excellent",
}
_MEANINGS = {
    ScoreBand.NO_ANSWER: (
        "no answer to this question: blank, declined, wrong, off-topic, content-free, no "
        "key point stated, or not an answer at all"
    ),
    ScoreBand.WEAK: (
        "touches the topic but states few of the key points (about one in five), or only "
        "lists terms"
    ),
    ScoreBand.PARTIAL: "states about half of the key points, or all of them without explaining",
    ScoreBand.GOOD: "states most key points correctly, with some explanation",
    ScoreBand.EXCELLENT: (
        "states (nearly) every key point correctly and explains them, as the model answer does"
    ),
}


def score_band(score: int) -> ScoreBand:
    """The band of a 0-100 score; scores outside 0-100 are clamped first."""
    for band in reversed(ScoreBand):
        if score >= band.low:
            return band
    return ScoreBand.NO_ANSWER


def score_band_class(score: int | None) -> str:
    """The CSS class of a score's band, ``"score--none"`` when there is no score."""
    return "score--none" if score is None else score_band(score).css_class


def key_point_cap(hit: int, total: int) -> int:
    """The highest score an answer that states ``hit`` of ``total`` key points can get.

    ``20 + 80 * hit / total``: each fifth of the key points opens one band, so none stays
    in "not an answer" (20), 1 of 5 in "weak" (36) and all of them allow 100. 100 when
    there are no key points.
    """
    if total <= 0:
        return 100
    return round(20 + 80 * min(max(hit, 0), total) / total)
