"""The offline answer evaluator: one answer in, scores, dimensions and feedback out.

Pure and deterministic: no I/O, no network, no model files. The content score is
calibrated against human grades of short answers (Mohler, Bunescu and Mihalcea, ACL 2011),
see :mod:`rehearse.scoring.content`; the other dimensions follow interview coaching
practice, and the STAR method for behavioural answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from rehearse.domain.questions import QuestionCategory
from rehearse.scoring.content import (
    TermMatcher,
    content_features,
    content_score,
    off_topic_cap,
    question_stems,
    weighted_recall,
)
from rehearse.scoring.dimensions import (
    communication_score,
    depth_score,
    depth_signals,
    structure_score,
    words_per_minute,
)
from rehearse.scoring.feedback import Findings, compose_feedback
from rehearse.scoring.keypoints import key_point_coverage, key_points_from_reference
from rehearse.scoring.star import StarAnalysis, analyse_star
from rehearse.scoring.text import content_terms, filler_words, words

#: Version of the scoring rules; stored with every evaluation so old scores stay explainable.
RUBRIC_VERSION = "offline-1"

# The two adjustments below were sized with tools/calibrate_evaluator.py: at 5 points each
# they move the leave-question-out figures on the Mohler et al. (2011) dev data by at most
# 0.002 (r 0.656 -> 0.655, RMSE 0.789 -> 0.790); at 10 they start to cost.
#: Points (of 100) a fully specific answer gains over its content score; see evaluate_answer.
DEPTH_BONUS = 5.0
#: Points an answer with the worst communication score loses; see evaluate_answer.
COMMUNICATION_PENALTY = 5.0
#: Share of the overall score a behavioural answer gets from its STAR structure.
STAR_WEIGHT = 0.5
#: Share of the key-point coverage in the base score when the question has a rubric of
#: key points (every bank question does). The ASAG calibration data has none, so the
#: benchmark measures the content score alone; interview answers must also cover the
#: rubric: an eloquent answer that misses every key point cannot score well.
KEY_POINT_WEIGHT = 0.4
#: Fewest words an answer is expected to have, however short the reference.
MIN_EXPECTED_WORDS = 5


class Dimension(StrEnum):
    """The aspects of an answer scored separately, each 0-100."""

    KEY_POINTS = "key_point_coverage"
    CORRECTNESS = "correctness"
    DEPTH = "depth"
    STRUCTURE = "structure"
    COMMUNICATION = "communication"


class AnswerEvaluation(BaseModel):
    """The evaluation of one answer.

    Attributes:
        score: overall, 0-100; 100 is fully correct and ``score / 20`` approximates a 0-5
            human grade.
        dimensions: every :class:`Dimension`, each 0-100.
        key_points_hit: the key points the answer covers, as given (or, without key
            points, the reference answer's sentences it covers).
        key_points_missed: the key points it does not cover.
        feedback: 2-5 sentences of concrete advice, most important first.
        strengths: what the answer did well, 0-4 sentences.
        star: the STAR analysis for behavioural questions, else ``None``.
        word_count: words in the answer.
        filler_words: filler counts by word, e.g. ``{"um": 3, "like": 1}``.
        words_per_minute: pace when a positive duration was given, else ``None``.
        rubric_version: :data:`RUBRIC_VERSION`.
    """

    model_config = ConfigDict(frozen=True)

    score: int = Field(ge=0, le=100)
    dimensions: dict[Dimension, int]
    key_points_hit: list[str]
    key_points_missed: list[str]
    feedback: list[str]
    strengths: list[str]
    star: StarAnalysis | None
    word_count: int = Field(ge=0)
    filler_words: dict[str, int]
    words_per_minute: float | None
    rubric_version: str


def evaluate_answer(
    *,
    question: str,
    reference_answer: str,
    answer: str,
    key_points: Sequence[str] = (),
    category: QuestionCategory = QuestionCategory.TECHNICAL,
    time_spent_seconds: float | None = None,
) -> AnswerEvaluation:
    """Score ``answer`` to ``question`` against ``reference_answer``.

    The overall score is built from the content score ``C`` (0-100, calibrated on human
    grades of short answers, Mohler et al. 2011; see :mod:`rehearse.scoring.content`):

    - technical, system_design and coding: ``C + DEPTH_BONUS * depth/100 * C/100 -
      COMMUNICATION_PENALTY * (1 - communication/100)``, clamped to 0-100. Both
      adjustments are kept at the size that does not lower the calibration
      (tools/calibrate_evaluator.py);
    - behavioral: ``(1 - STAR_WEIGHT) * C + STAR_WEIGHT * star.score`` (STAR method).

    When ``key_points`` are given (the question bank's rubric), ``C`` is first blended
    with the key-point coverage ``K``: ``(1 - KEY_POINT_WEIGHT) * C + KEY_POINT_WEIGHT * K``.

    A blank answer, or one that only declines ("I don't know"), scores 0 on everything.
    Never raises for any text; scores and dimensions are always integers from 0 to 100.

    Args:
        question: the question as asked.
        reference_answer: a model answer; scored against itself it gets at least 95
            (for behavioral questions, when it is itself a complete STAR story).
        answer: the candidate's answer, typed or transcribed.
        key_points: 3-6 short statements a complete answer covers; when empty, the
            reference answer's sentences stand in for them.
        category: the kind of question; behavioral answers are also scored for STAR.
        time_spent_seconds: how long the answer took, for words per minute.

    Returns:
        The frozen :class:`AnswerEvaluation`.
    """
    demoted = question_stems(question)
    answer_terms = content_terms(answer)
    matcher = TermMatcher(answer_terms)
    features = content_features(question, reference_answer, answer)
    content = content_score(features)
    off_topic = features is not None and off_topic_cap(features) < 100.0

    given = [point for point in key_points if point.strip()]
    points = given or key_points_from_reference(reference_answer)
    coverage = key_point_coverage(points, matcher, demoted)
    _, missed = weighted_recall(content_terms(reference_answer), matcher, demoted)
    missed_terms = [term.word for term in missed if term.stem not in demoted]

    word_count = len(words(answer))
    fillers = filler_words(answer)
    expected_words = max(len(words(reference_answer)), MIN_EXPECTED_WORDS)
    signals = depth_signals(answer)
    star = analyse_star(answer) if category is QuestionCategory.BEHAVIORAL else None
    topic = demoted | {term.stem for term in content_terms(reference_answer)}

    empty = features is None
    if empty:
        dimensions = dict.fromkeys(Dimension, 0)
    else:
        structure = star.score if star is not None else structure_score(answer, topic)
        dimensions = {
            Dimension.KEY_POINTS: coverage.score,
            Dimension.CORRECTNESS: round(content),
            Dimension.DEPTH: depth_score(signals),
            Dimension.STRUCTURE: structure,
            Dimension.COMMUNICATION: communication_score(
                answer, expected_words, sum(fillers.values())
            ),
        }
    base = content
    if given and not empty:
        base = (1.0 - KEY_POINT_WEIGHT) * content + KEY_POINT_WEIGHT * coverage.score
    score = 0 if empty else _overall(base, dimensions, star)
    pace = words_per_minute(word_count, time_spent_seconds)
    feedback, strengths = compose_feedback(
        Findings(
            category=category,
            empty=empty,
            off_topic=off_topic,
            content=content,
            word_count=word_count,
            expected_words=expected_words,
            key_points_given=bool(given),
            coverage=coverage,
            missed_terms=missed_terms,
            depth=signals,
            depth_score=dimensions[Dimension.DEPTH],
            structure_score=dimensions[Dimension.STRUCTURE],
            filler_words=fillers,
            star=star,
            words_per_minute=pace,
        )
    )
    return AnswerEvaluation(
        score=score,
        dimensions=dimensions,
        key_points_hit=coverage.hit,
        key_points_missed=coverage.missed,
        feedback=feedback,
        strengths=strengths,
        star=star,
        word_count=word_count,
        filler_words=fillers,
        words_per_minute=pace,
        rubric_version=RUBRIC_VERSION,
    )


def _overall(content: float, dimensions: dict[Dimension, int], star: StarAnalysis | None) -> int:
    if star is not None:
        blended = (1.0 - STAR_WEIGHT) * content + STAR_WEIGHT * star.score
        return _clamp(blended)
    depth = dimensions[Dimension.DEPTH] / 100.0
    communication = dimensions[Dimension.COMMUNICATION] / 100.0
    adjusted = (
        content
        + DEPTH_BONUS * depth * content / 100.0
        - COMMUNICATION_PENALTY * (1.0 - communication)
    )
    return _clamp(adjusted)


def _clamp(score: float) -> int:
    return min(max(round(score), 0), 100)
