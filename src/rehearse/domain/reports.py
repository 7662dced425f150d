"""The report of a session: what a human interviewer would write after the interview.

Seed ``000_*`` ends a session with an evaluation; seed ``004_*`` completes it with a
summary, strengths, weaknesses and recommendations. Scoring rules:

- a question's score is its best evaluated attempt, or the evaluation of the answer
  together with its follow-up answers when that is higher (a good follow-up repairs a
  thin first answer);
- the overall score is the mean over questions answered or skipped, a skipped
  question counting 0; questions never reached (time ran out, ended early) are listed
  but not counted, and the figure says so: "85 on 1 of 5 questions"
  (:attr:`Report.overall_label`), never a bare "85";
- category and dimension scores are means over the answered questions;
- a spoken answer (issue 13) carries its speech metrics (:class:`SpeechReport`), and
  its communication dimension is the mean of the words' communication score and the
  delivery score (pace, fillers, long pauses); its question score stays the
  evaluator's. Typed answers get no speech metrics (typing speed is not speaking pace).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from statistics import mean
from typing import Any

from pydantic import BaseModel, ConfigDict

from rehearse.domain.plan import ItemStatus, PlanItem
from rehearse.domain.questions import Question
from rehearse.domain.sessions import Session

#: Dimension names as a reader sees them.
DIMENSION_LABELS = {
    "key_point_coverage": "Key-point coverage",
    "correctness": "Correctness",
    "depth": "Depth and specifics",
    "structure": "Structure",
    "communication": "Communication",
}
STRONG = 70
WEAK = 50
#: Dimensions about how an answer is said, not what it says.
FORM_DIMENSIONS = frozenset({"structure", "communication"})
#: The overall score from which form counts as a strength: the "good" band (README).
FORM_PRAISE_MIN = 60


class Attempt(BaseModel):
    """One submitted answer and its evaluation (from the event log)."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    attempt: int
    text: str
    time_spent_seconds: float
    evaluation: dict[str, Any] | None = None
    submitted_at: datetime | None = None


class FollowUpReport(BaseModel):
    """A follow-up question and its answer."""

    text: str
    answer: str | None
    score: int | None


class TimelineEntry(BaseModel):
    """One stretch of a spoken answer: ``speech``, ``pause`` or ``filler``, in seconds."""

    kind: str
    start: float
    end: float
    text: str = ""
    words_per_minute: float | None = None


class SpeechReport(BaseModel):
    """How one answer was spoken (issue 13); see :mod:`rehearse.scoring.speech`.

    Attributes:
        item_id: the plan item (question or follow-up) it answered.
        words_per_minute: over speaking time (long pauses left out).
        in_target_band: within 130-160 words a minute.
        word_count: words heard, fillers included.
        duration_seconds / speaking_seconds: the recording and its speaking time.
        filler_count / fillers_per_minute / filler_share: fillers, a minute, of all
            words (0-1); ``fillers``: each phrase and how often.
        long_pause_count / long_pause_seconds / longest_pause_seconds: pauses of at
            least the threshold (seconds), and the longest.
        delivery_score: pace, fillers and pauses as one 0-100 score.
        transcript_corrected: the candidate changed the transcript before it was scored.
        timeline: speech stretches, long pauses and fillers in time order.
    """

    item_id: str
    words_per_minute: float
    in_target_band: bool
    word_count: int
    duration_seconds: float
    speaking_seconds: float
    filler_count: int
    fillers_per_minute: float
    filler_share: float
    fillers: dict[str, int]
    long_pause_count: int
    long_pause_seconds: float
    longest_pause_seconds: float
    delivery_score: int
    transcript_corrected: bool
    timeline: list[TimelineEntry]


class SpeechTotals(BaseModel):
    """Speech over every spoken answer of the session (means weighted by speaking time).

    Attributes:
        spoken_answers: how many answers were spoken.
        words_per_minute: all words over all speaking time; ``in_target_band`` 130-160.
        filler_count / fillers_per_minute / filler_share: over all of them.
        long_pause_count: long pauses in all of them.
        delivery_score: the mean delivery score, 0-100.
    """

    spoken_answers: int
    word_count: int
    speaking_seconds: float
    words_per_minute: float
    in_target_band: bool
    filler_count: int
    fillers_per_minute: float
    filler_share: float
    long_pause_count: int
    delivery_score: int


class QuestionReport(BaseModel):
    """Feedback on one question.

    Attributes:
        score: the question's score, 0-100 (``None`` if not answered).
        answer: the answer that earned it, quoted.
        dimensions: dimension scores of that evaluation, 0-100.
    """

    id: str
    text: str
    category: str
    status: str
    answer: str | None
    attempts: int
    score: int | None
    dimensions: dict[str, int]
    key_points_hit: list[str]
    key_points_missed: list[str]
    feedback: list[str]
    strengths: list[str]
    follow_ups: list[FollowUpReport]
    time_spent_seconds: float | None
    suggested_time_seconds: int
    tags: list[str]
    speech: SpeechReport | None = None


class Report(BaseModel):
    """The session report (stored with the session as a ``report_generated`` event).

    Scores are 0-100; times are seconds; ``overall_score`` is ``None`` when nothing was
    answered or skipped. ``scored`` is how many questions the overall score is the mean
    of (answered plus skipped), and ``overall_label`` the figure as shown:
    ``"85 on 1 of 5 questions"``, ``"72 on 5 of 5 questions"`` or ``"not scored (0 of 5
    questions)"``.
    """

    session_id: str
    candidate_name: str
    role: str
    level: str
    interview_type: str
    mode: str
    status: str
    generated_at: datetime
    evaluator: str
    overall_score: int | None
    category_scores: dict[str, int]
    dimension_scores: dict[str, int]
    questions: list[QuestionReport]
    strengths: list[str]
    weaknesses: list[str]
    recommended_topics: list[str]
    summary: str
    answered: int
    skipped: int
    unanswered: int
    total: int
    scored: int = 0
    overall_label: str = ""
    time_used_seconds: int
    time_limit_seconds: int
    tokens_used: int
    token_budget: int
    speech: SpeechTotals | None = None


def build_report(
    session: Session,
    questions: Mapping[str, Question],
    attempts: Sequence[Attempt],
    *,
    now: datetime,
    evaluator: str,
    speech: Sequence[tuple[str, SpeechReport]] = (),
) -> Report:
    """Assemble the report from the plan, the question snapshots and the attempts.

    Args:
        session: the (usually final) session with its plan.
        questions: bank questions by id, as planned.
        attempts: every answer submitted, with evaluations where they exist.
        now: the report's timestamp.
        evaluator: name of the evaluator that scored the answers.
        speech: ``(answer text, metrics)`` of each spoken answer submitted; an attempt
            of the same item with the same text is that spoken answer.
    """
    plan = session.interview.items if session.interview else ()
    spoken = {(m.item_id, text): m for text, m in speech}
    attempts = [_with_delivery(a, spoken.get((a.item_id, a.text))) for a in attempts]
    by_item: dict[str, list[Attempt]] = {}
    for attempt in attempts:
        by_item.setdefault(attempt.item_id, []).append(attempt)
    reports = [
        _question_report(item, plan, questions, by_item, spoken)
        for item in plan
        if item.kind == "question"
    ]
    counted = [q for q in reports if q.status != ItemStatus.PENDING.value]
    answered = [q for q in reports if q.score is not None and q.status == ItemStatus.ANSWERED.value]
    overall = round(mean((q.score or 0) for q in counted)) if counted else None
    categories: dict[str, list[int]] = {}
    for q in counted:
        categories.setdefault(q.category, []).append(q.score or 0)
    dimensions: dict[str, list[int]] = {}
    for q in answered:
        for name, value in q.dimensions.items():
            dimensions.setdefault(name, []).append(value)
    category_scores = {name: round(mean(values)) for name, values in categories.items()}
    dimension_scores = {name: round(mean(values)) for name, values in dimensions.items()}
    strengths, weaknesses = _strengths_and_weaknesses(reports, dimension_scores, overall)
    config = session.config
    report = Report(
        session_id=session.id,
        candidate_name=config.candidate_name,
        role=config.role.value,
        level=config.level.value,
        interview_type=config.interview_type.value,
        mode=config.mode.value,
        status=session.status.value,
        generated_at=now,
        evaluator=evaluator,
        overall_score=overall,
        category_scores=category_scores,
        dimension_scores=dimension_scores,
        questions=reports,
        strengths=strengths,
        weaknesses=weaknesses,
        recommended_topics=_topics(reports, questions),
        summary="",
        answered=len(answered),
        skipped=sum(1 for q in reports if q.status == ItemStatus.SKIPPED.value),
        unanswered=sum(1 for q in reports if q.status == ItemStatus.PENDING.value),
        total=len(reports),
        scored=len(counted),
        overall_label=overall_label(overall, len(counted), len(reports)),
        time_used_seconds=round(session.active_us_at(now) / 1_000_000),
        time_limit_seconds=config.time_limit_seconds,
        tokens_used=session.tokens_used,
        token_budget=config.token_budget,
        speech=_speech_totals(list(spoken.values())),
    )
    return report.model_copy(update={"summary": _summary(report)})


def _with_delivery(attempt: Attempt, speech: SpeechReport | None) -> Attempt:
    """A spoken attempt's communication: the mean of the words' score and the delivery."""
    if speech is None or not attempt.evaluation:
        return attempt
    dimensions = dict(attempt.evaluation.get("dimensions", {}))
    if "communication" not in dimensions:
        return attempt
    dimensions["communication"] = round(
        (int(dimensions["communication"]) + speech.delivery_score) / 2
    )
    return attempt.model_copy(
        update={"evaluation": {**attempt.evaluation, "dimensions": dimensions}}
    )


def _speech_totals(spoken: Sequence[SpeechReport]) -> SpeechTotals | None:
    if not spoken:
        return None
    # the voice domain loads with the first spoken answer, not with every report import
    from rehearse.domain.voice import TARGET_WPM

    words = sum(s.word_count for s in spoken)
    seconds = sum(s.speaking_seconds for s in spoken)
    fillers = sum(s.filler_count for s in spoken)
    filler_words = sum(s.filler_share * s.word_count for s in spoken)
    minutes = seconds / 60
    wpm = round(words / minutes, 1) if minutes else 0.0
    return SpeechTotals(
        spoken_answers=len(spoken),
        word_count=words,
        speaking_seconds=round(seconds, 3),
        words_per_minute=wpm,
        in_target_band=TARGET_WPM[0] <= wpm <= TARGET_WPM[1],
        filler_count=fillers,
        fillers_per_minute=round(fillers / minutes, 2) if minutes else 0.0,
        filler_share=round(filler_words / words, 4) if words else 0.0,
        long_pause_count=sum(s.long_pause_count for s in spoken),
        delivery_score=round(mean(s.delivery_score for s in spoken)),
    )


def overall_label(score: int | None, scored: int, total: int) -> str:
    """The overall figure with how much of the interview it covers.

    Args:
        score: the mean score (0-100) of the scored questions, ``None`` if none.
        scored: questions answered or skipped.
        total: questions in the plan.

    Returns:
        ``"85 on 1 of 5 questions"``; ``"not scored (0 of 5 questions)"`` without a score.
    """
    noun = "question" if total == 1 else "questions"
    if score is None:
        return f"not scored (0 of {total} {noun})"
    return f"{score} on {scored} of {total} {noun}"


def _question_report(
    item: PlanItem,
    plan: Sequence[PlanItem],
    questions: Mapping[str, Question],
    by_item: Mapping[str, list[Attempt]],
    spoken: Mapping[tuple[str, str], SpeechReport],
) -> QuestionReport:
    own = by_item.get(item.id, [])
    follow_items = [f for f in plan if f.parent_id == item.id]
    candidates = [a for a in own if a.evaluation]
    for follow in follow_items:
        candidates += [a for a in by_item.get(follow.id, []) if a.evaluation]
    best = max(candidates, key=_score, default=None)
    best_own = max((a for a in own if a.evaluation), key=_score, default=own[-1] if own else None)
    evaluation = best.evaluation if best and best.evaluation else {}
    question = questions.get(item.question_id)
    follow_ups = []
    for follow in follow_items:
        answers = by_item.get(follow.id, [])
        follow_ups.append(
            FollowUpReport(
                text=follow.text,
                answer=answers[-1].text if answers else None,
                score=follow.score,
            )
        )
    return QuestionReport(
        id=item.id,
        text=item.text,
        category=item.category.value,
        status=item.status.value,
        answer=best_own.text if best_own else None,
        attempts=item.attempts,
        score=int(evaluation["score"]) if evaluation else None,
        dimensions={str(k): int(v) for k, v in evaluation.get("dimensions", {}).items()},
        key_points_hit=list(evaluation.get("key_points_hit", [])),
        key_points_missed=list(evaluation.get("key_points_missed", [])),
        feedback=list(evaluation.get("feedback", [])),
        strengths=list(evaluation.get("strengths", [])),
        follow_ups=follow_ups,
        time_spent_seconds=sum(a.time_spent_seconds for a in own) if own else None,
        suggested_time_seconds=item.answer_time_seconds,
        tags=list(question.tags) if question else [],
        speech=spoken.get((item.id, best_own.text)) if best_own else None,
    )


def _score(attempt: Attempt) -> int:
    return int(attempt.evaluation["score"]) if attempt.evaluation else -1


def _strengths_and_weaknesses(
    reports: Sequence[QuestionReport], dimension_scores: Mapping[str, int], overall: int | None
) -> tuple[list[str], list[str]]:
    """Strengths only where they are ones (issue 9): form is no strength of weak answers.

    Structure and communication are named as strengths only when the interview's overall
    score reaches :data:`FORM_PRAISE_MIN` (the "good" band): fluent words around wrong or
    off-topic content are not what a candidate should keep doing.
    """
    strengths: list[str] = []
    weaknesses: list[str] = []
    for name, value in sorted(dimension_scores.items(), key=lambda kv: -kv[1]):
        label = DIMENSION_LABELS.get(name, name)
        form_only = name in FORM_DIMENSIONS and (overall is None or overall < FORM_PRAISE_MIN)
        if value >= STRONG and form_only:
            continue
        if value >= STRONG:
            strengths.append(f"{label} is a strength ({value}/100 on average).")
        elif value < WEAK:
            weaknesses.append(f"{label} needs work ({value}/100 on average).")
    for q in sorted(reports, key=lambda q: -(q.score or 0)):
        if q.score is not None and q.score >= 80 and len(strengths) < 5:
            strengths.append(f"Strong answer ({q.score}/100) to: {q.text}")
    for q in sorted(reports, key=lambda q: q.score if q.score is not None else -1):
        if len(weaknesses) >= 5:
            break
        if q.status == ItemStatus.SKIPPED.value:
            weaknesses.append(f"Skipped: {q.text}")
        elif q.score is not None and q.score < WEAK:
            missed = f" Missed: {q.key_points_missed[0]}." if q.key_points_missed else ""
            weaknesses.append(f"Weak answer ({q.score}/100) to: {q.text}{missed}")
    return strengths, weaknesses


def _topics(reports: Sequence[QuestionReport], questions: Mapping[str, Question]) -> list[str]:
    """Tags of the weakest questions, most frequent first, then their categories."""
    weak = [
        q
        for q in reports
        if q.status == ItemStatus.SKIPPED.value or (q.score is not None and q.score < 60)
    ]
    tags: Counter[str] = Counter()
    for q in weak:
        tags.update(q.tags)
    topics = [tag.replace("-", " ") for tag, _ in tags.most_common(6)]
    for q in weak:
        label = q.category.replace("_", " ")
        if label not in topics and len(topics) < 8:
            topics.append(label)
    return topics


def _summary(report: Report) -> str:
    if report.overall_score is None:
        return (
            f"No question was answered in this {report.interview_type.replace('_', ' ')} "
            f"interview, so there is nothing to score yet."
        )
    parts = [
        f"{report.candidate_name} answered {report.answered} of {report.total} questions"
        f"{f' and skipped {report.skipped}' if report.skipped else ''}, "
        f"with an overall score of {report.overall_label}."
    ]
    if len(report.category_scores) > 1:
        best = max(report.category_scores.items(), key=lambda kv: kv[1])
        worst = min(report.category_scores.items(), key=lambda kv: kv[1])
        parts.append(
            f"The strongest area was {best[0].replace('_', ' ')} ({best[1]}); "
            f"the one to work on is {worst[0].replace('_', ' ')} ({worst[1]})."
        )
    if report.dimension_scores:
        low = min(report.dimension_scores.items(), key=lambda kv: kv[1])
        parts.append(
            "Across answers, the lowest dimension was "
            f"{DIMENSION_LABELS.get(low[0], low[0]).lower()} ({low[1]})."
        )
    if report.unanswered:
        were = "question was" if report.unanswered == 1 else "questions were"
        parts.append(f"{report.unanswered} {were} not reached.")
    return " ".join(parts)
