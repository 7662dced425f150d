"""The offline answer evaluator: one answer in, scores, dimensions and feedback out.

Pure and deterministic: no I/O, no network, no model files. The content score is
calibrated against human grades of short answers (Mohler, Bunescu and Mihalcea, ACL 2011),
see :mod:`rehearse.scoring.content`; the other dimensions follow interview coaching
practice, and the STAR method for behavioural answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, computed_field

from rehearse.domain.questions import QuestionCategory
from rehearse.scoring.bands import key_point_cap, score_band_class
from rehearse.scoring.content import (
    content_features,
    content_score,
    is_non_answer,
    matcher_for,
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
from rehearse.scoring.feedback import Measured, compose_feedback
from rehearse.scoring.findings import (
    GENERIC_WORDS,
    Finding,
    FindingCode,
    asks_for_code,
    content_free,
    copies_question,
    finding,
    has_code,
    is_term_list,
    not_an_answer_reason,
    repeats_itself,
    without_repeats,
    without_term_lists,
)
from rehearse.scoring.keypoints import (
    AnswerMeaning,
    KeyPointCoverage,
    canonical,
    key_point_coverage,
    key_points_from_reference,
    question_canonical_stems,
)
from rehearse.scoring.star import StarAnalysis, analyse_star
from rehearse.scoring.text import content_terms, filler_words, stem, words
from rehearse.scoring.topics import (
    TopicIndex,
    TopicQuestion,
    on_topic_text,
    stems_of,
    without_restatements,
)

#: Version of the scoring rules; stored with every evaluation so old scores stay explainable.
RUBRIC_VERSION = "offline-2"

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
#: Content score (0-100) below which an answer that states no key point is wrong: above
#: it, the answer says much of what the model answer says, in other words.
WRONG_BELOW = 60
#: Fewest words before an answer that states no key point is called wrong, not thin.
WRONG_MIN_WORDS = 12
#: A word in more than this share of the bank's questions is too common to be specific
#: to one question ("use", "data").
COMMON_DOCUMENT_SHARE = 0.3


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
        findings: answer-quality findings (:mod:`rehearse.scoring.findings`), each with a
            stable code and the cap it puts on ``score``; empty for a sound answer.
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
    findings: list[Finding] = Field(default_factory=list)

    def has(self, code: FindingCode) -> bool:
        """Whether the evaluation has the finding ``code``."""
        return any(item.code is code for item in self.findings)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def band_class(self) -> str:
        """The CSS class of the score's band (README "Score bands").

        Pages and the room's script colour a score by it instead of deriving the band.
        """
        return score_band_class(self.score)


def evaluate_answer(
    *,
    question: str,
    reference_answer: str,
    answer: str,
    key_points: Sequence[str] = (),
    category: QuestionCategory = QuestionCategory.TECHNICAL,
    time_spent_seconds: float | None = None,
    contrast: TopicIndex | None = None,
    question_id: str = "",
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
    with the key-point coverage ``K``: ``(1 - KEY_POINT_WEIGHT) * C + KEY_POINT_WEIGHT * K``,
    and the score follows the score bands: stating ``h`` of ``n`` key points caps it at
    ``20 + 80 h / n`` (:func:`rehearse.scoring.bands.key_point_cap`). Every finding
    (:mod:`rehearse.scoring.findings`) then caps it further, and the feedback says so.

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
        contrast: the other questions (the bank, the plan) to judge relevance against;
            without it an answer is off-topic only when it shares no word with the
            question and the reference, and nothing is known about the bank's words.
        question_id: the question's id in ``contrast``, so it is not its own rival.

    Returns:
        The frozen :class:`AnswerEvaluation`.
    """
    if is_non_answer(answer) or not content_terms(answer):
        declined = bool(words(answer))
        unstated = [point for point in key_points if point.strip()]
        unstated = unstated or key_points_from_reference(reference_answer)
        return _empty(answer, category, time_spent_seconds, unstated, declined=declined)
    topic = TopicQuestion(question_id, question, reference_answer, tuple(key_points))
    findings: list[Finding] = []
    # A behavioural story is the candidate's own: its sentences need not share words with
    # the model story, so only other answers drop their unrelated sentences.
    relevant, unrelated = (
        (answer, 0) if category is QuestionCategory.BEHAVIORAL else on_topic_text(answer, topic)
    )
    repeated = repeats_itself(relevant)
    scored = without_repeats(relevant) if repeated else relevant
    # Restating the question says nothing about it: it earns no key point and does not
    # make an answer to another question this one's.
    # A term list inside prose states nothing: the prose is judged, the list earns nothing.
    scored, listed = without_term_lists(scored, question)
    scored, _ = without_restatements(
        scored, question, lambda word: word in _generic_stems() or _bank_generic(word, contrast)
    )

    demoted = question_stems(question)
    features = content_features(question, reference_answer, scored)
    content = content_score(features)
    given = [point for point in key_points if point.strip()]
    points = given or key_points_from_reference(reference_answer)
    coverage = key_point_coverage(points, AnswerMeaning(scored), question_canonical_stems(question))
    matcher = matcher_for(scored)
    _, missed_reference = weighted_recall(content_terms(reference_answer), matcher, demoted)
    missed_terms = [term.word for term in missed_reference if term.stem not in demoted]

    answer_counts = stems_of(scored)
    question_counts = stems_of(question)
    given_counts = stems_of(relevant)
    known = _known_stems(contrast, topic.document) if contrast is not None else None
    reason = not_an_answer_reason(
        relevant, known, prose_expected=category is not QuestionCategory.CODING
    )
    relevance = (
        contrast.relevance(topic, scored) if contrast is not None and len(contrast) else None
    )
    if reason is not None:
        findings.append(finding(FindingCode.NOT_AN_ANSWER, _NOT_AN_ANSWER[reason]))
    elif copies_question(given_counts, question_counts):
        findings.append(
            finding(
                FindingCode.COPIES_QUESTION,
                "The answer repeats the question instead of answering it.",
            )
        )
    elif content_free(
        answer_counts,
        _specific_stems(topic, frozenset(question_counts), contrast),
        lambda word: _is_generic(word, contrast),
    ):
        findings.append(
            finding(
                FindingCode.CONTENT_FREE,
                "The answer is general interview language: it names nothing specific to "
                "this question.",
            )
        )
    elif (
        relevance is not None
        and contrast is not None
        and relevance.off_topic
        and not (
            given
            and contrast.names_subject(
                scored, question, relevance.best_other_text, _generic_stems()
            )
        )
    ):
        # An answer that names the question's subject (its specific words, more than it
        # names the rival question's) is about this question: it is partial when it
        # states a key point, and wrong (below) when it states none. Shared generic words
        # ("user", "design", "team") do not make an answer to another question this one's.
        other = (relevance.best_other_text or "").strip()
        findings.append(
            finding(
                FindingCode.OFF_TOPIC,
                "The answer fits another question better than this one"
                + (f' ("{_shorten(other)}")' if other else "")
                + ", so it does not answer what was asked.",
            )
        )
    elif relevance is None and features is not None and off_topic_cap(features) < 100.0:
        findings.append(
            finding(
                FindingCode.OFF_TOPIC,
                "The answer does not address the question: it shares no terms with what "
                "was asked or with the expected answer.",
            )
        )
    if reason is None and is_term_list(relevant, question):
        findings.append(
            finding(
                FindingCode.TERM_LIST,
                "The answer lists terms without sentences that explain how they connect.",
            )
        )
    if repeated:
        findings.append(
            finding(
                FindingCode.REPEATS_ITSELF,
                "The answer repeats itself; each point was credited once.",
            )
        )
    if (
        category is QuestionCategory.CODING
        and asks_for_code(question, reference_answer)
        and not has_code(relevant)
    ):
        findings.append(
            finding(
                FindingCode.NO_CODE,
                "The question asks for code and the answer has none; an explanation alone "
                "earns part of the credit.",
            )
        )
    capped = any(item.cap is not None and item.cap <= 20 for item in findings)
    if given and coverage.contradicted and not capped:
        findings.append(
            finding(
                FindingCode.CONTRADICTS_KEY_POINT,
                "The answer says the opposite of a key point: "
                f'"{_shorten(coverage.contradicted[0])}".',
            )
        )
    word_count = len(words(answer))
    if (
        given
        and not coverage.hit
        and not capped
        and (coverage.contradicted or (content < WRONG_BELOW and word_count >= WRONG_MIN_WORDS))
    ):
        findings.append(
            finding(
                FindingCode.WRONG,
                "The answer is wrong: it states none of the key points; a correct answer "
                f'says that "{_shorten(given[0])}".',
            )
        )

    fillers = filler_words(answer)
    expected_words = max(len(words(reference_answer)), MIN_EXPECTED_WORDS)
    # The form of the answer is read on what it says about the question, so an unrelated
    # paragraph (numbers, names, length) cannot buy depth or communication points.
    signals = depth_signals(scored)
    star = analyse_star(scored) if category is QuestionCategory.BEHAVIORAL else None
    topic_stems = _topic_stems(question, reference_answer)
    structure = star.score if star is not None else structure_score(scored, topic_stems)
    dimensions = {
        Dimension.KEY_POINTS: coverage.score,
        Dimension.CORRECTNESS: round(content),
        Dimension.DEPTH: depth_score(signals),
        Dimension.STRUCTURE: structure,
        Dimension.COMMUNICATION: communication_score(
            scored,
            expected_words,
            sum((fillers if scored == answer else filler_words(scored)).values()),
        ),
    }
    base = content
    if given:
        base = (1.0 - KEY_POINT_WEIGHT) * content + KEY_POINT_WEIGHT * coverage.score
    raw = _overall(base, dimensions, star)
    caps = [item.cap for item in findings if item.cap is not None]
    band_cap = key_point_cap(len(coverage.hit), coverage.total) if given else 100
    score = min([raw, band_cap, *caps])
    if any(cap <= 20 for cap in caps):
        # An answer that does not answer earns no credit for its form either.
        dimensions = {
            name: min(value, score) if name is not Dimension.COMMUNICATION else value
            for name, value in dimensions.items()
        }
    pace = words_per_minute(word_count, time_spent_seconds)
    feedback, strengths = compose_feedback(
        Measured(
            category=category,
            empty=False,
            score=score,
            raw_score=raw,
            band_cap=band_cap,
            findings=findings,
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
            unrelated_sentences=unrelated,
            listed_fragments=listed,
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
        findings=findings,
    )


_NOT_AN_ANSWER = {
    "gibberish": "The answer is not readable English text (gibberish or another language), "
    "so there is nothing to credit.",
    "language": "The answer is not in English, which this evaluator scores.",
    "code": "The question asks for an explanation and the answer is only code; say in "
    "words what it does and why.",
}


@lru_cache(maxsize=1024)
def _specific_stems(
    topic: TopicQuestion, question: frozenset[str], contrast: TopicIndex | None
) -> frozenset[str]:
    """Canonical stems the reference and key points add to the question, minus generic ones."""
    document = stems_of("\n".join([*topic.key_points, topic.reference_answer]))
    return frozenset(
        word for word in document if word not in question and not _is_generic(word, contrast)
    )


@lru_cache(maxsize=1024)
def _known_stems(contrast: TopicIndex, document: str) -> frozenset[str]:
    """The bank's vocabulary and the question's own stems (built once per question)."""
    return contrast.vocabulary | frozenset(stems_of(document))


@lru_cache(maxsize=1024)
def _topic_stems(question: str, reference: str) -> frozenset[str]:
    """Stems of the question's words and of the reference's content words."""
    return question_stems(question) | {term.stem for term in content_terms(reference)}


def _bank_generic(word: str, contrast: TopicIndex | None) -> bool:
    """A word too common across the bank to name a subject (:meth:`TopicIndex.is_generic`)."""
    return contrast is not None and len(contrast) > 0 and contrast.is_generic(word)


def _is_generic(word: str, contrast: TopicIndex | None) -> bool:
    """Interview language (:data:`GENERIC_WORDS`), or a word most of the bank uses."""
    return word in _generic_stems() or (
        contrast is not None and contrast.document_share(word) > COMMON_DOCUMENT_SHARE
    )


@lru_cache(maxsize=1)
def _generic_stems() -> frozenset[str]:
    return frozenset(canonical(stem(word)) for word in GENERIC_WORDS)


def _empty(
    answer: str,
    category: QuestionCategory,
    seconds: float | None,
    missed: list[str],
    *,
    declined: bool,
) -> AnswerEvaluation:
    word_count = len(words(answer))
    coverage = KeyPointCoverage(hit=[], missed=[], contradicted=[], coverage=[], score=0)
    findings = (
        [finding(FindingCode.DECLINES, "The answer declines to answer, so it scores 0.")]
        if declined
        else []
    )
    feedback, _ = compose_feedback(
        Measured(
            category=category,
            empty=True,
            score=0,
            raw_score=0,
            band_cap=0,
            findings=findings,
            content=0.0,
            word_count=word_count,
            expected_words=MIN_EXPECTED_WORDS,
            key_points_given=False,
            coverage=coverage,
            missed_terms=[],
            depth=depth_signals(""),
            depth_score=0,
            structure_score=0,
            filler_words={},
            star=None,
            words_per_minute=None,
        )
    )
    return AnswerEvaluation(
        score=0,
        dimensions=dict.fromkeys(Dimension, 0),
        key_points_hit=[],
        key_points_missed=missed,
        feedback=feedback,
        strengths=[],
        star=analyse_star(answer) if category is QuestionCategory.BEHAVIORAL else None,
        word_count=word_count,
        filler_words=filler_words(answer),
        words_per_minute=words_per_minute(word_count, seconds),
        rubric_version=RUBRIC_VERSION,
        findings=findings,
    )


def _shorten(text: str, limit: int = 90) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + "..."


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
