"""The interview inside a session: its question plan, answers, skips and follow-ups.

Seed ``004_*`` (submit_answer, skip_question, practice retries) and seed ``000_*``
(the interviewer asks, the evaluator scores) made into pure rules. The plan lives in
the session row (small: ids, texts, statuses, best scores); answer texts and
evaluations live in the event log (``answer_submitted``, ``answer_evaluated``), each
saved in the same transaction as the change it belongs to.

Rules: only an active session accepts answers, skips and follow-ups; a question is
answered once, except in practice mode where a retry is a new attempt and the best
attempt counts; a skipped question stays skipped. Evaluations and reports describe
what already happened, so they may be recorded after the session became final.
"""

from __future__ import annotations

from typing import Any

from rehearse.domain.config import InterviewMode
from rehearse.domain.events import EventType, NewEvent
from rehearse.domain.lifecycle import SessionStatus, guard_change
from rehearse.domain.plan import InterviewState, ItemStatus, PlanItem, ReportStatus, plan_items
from rehearse.domain.questions import Question, snapshot
from rehearse.domain.sessions import Change, Session
from rehearse.errors import (
    AnswerRefusedError,
    ConfigurationError,
    InvalidStateError,
    QuestionNotFoundError,
)

MAX_ANSWER_CHARS = 20_000
MAX_TIME_SPENT_SECONDS = 4 * 3600


def apply_plan(
    session: Session, questions: list[Question], seed: int, max_follow_ups: int, now: Any
) -> Change:
    """Give a session its question plan.

    Records ``questions_planned`` with a snapshot of every question (text, key points,
    reference answer), so the report can be rebuilt even if the bank changes later.
    """
    guard_change(session.id, session.status, "plan questions for")
    state = InterviewState(items=plan_items(questions), seed=seed, max_follow_ups=max_follow_ups)
    event = NewEvent(
        type=EventType.QUESTIONS_PLANNED,
        at=now,
        data={
            "seed": seed,
            "question_ids": [q.id for q in questions],
            "questions": [snapshot(q) for q in questions],
        },
    )
    return session.model_copy(update={"interview": state, "updated_at": now}), [event]


def _require_running(session: Session, action: str) -> InterviewState:
    guard_change(session.id, session.status, action)
    if session.status is not SessionStatus.ACTIVE:
        raise InvalidStateError(session.id, session.status.value, action, ("resume",))
    if session.interview is None:
        raise InvalidStateError(session.id, "without a question plan", action)
    return session.interview


def validate_answer(text: str, time_spent_seconds: float) -> str:
    """The answer text, stripped.

    Raises:
        ConfigurationError: blank or longer than 20,000 characters, or a time spent
            outside 0-14,400 seconds.
    """
    stripped = text.strip()
    if not stripped:
        raise ConfigurationError(
            "text='': an answer must not be blank; skip the question instead",
            [{"field": "text", "value": text, "message": "must not be blank"}],
        )
    if len(stripped) > MAX_ANSWER_CHARS:
        raise ConfigurationError(
            f"text: {len(stripped)} characters; an answer may have at most {MAX_ANSWER_CHARS}",
            [{"field": "text", "value": None, "message": f"at most {MAX_ANSWER_CHARS} characters"}],
        )
    if not 0 <= time_spent_seconds <= MAX_TIME_SPENT_SECONDS:
        raise ConfigurationError(
            f"time_spent_seconds={time_spent_seconds}: "
            f"must be between 0 and {MAX_TIME_SPENT_SECONDS}",
            [
                {
                    "field": "time_spent_seconds",
                    "value": time_spent_seconds,
                    "message": "out of range",
                }
            ],
        )
    return stripped


def apply_answer(
    session: Session, item_id: str, text: str, time_spent_seconds: float, now: Any
) -> Change:
    """Record an answer; the answer text is in the ``answer_submitted`` event.

    Raises:
        ConfigurationError: blank or too long text, or a bad time.
        InvalidStateError: the session is not active; the item was skipped; or it was
            answered already and the session is not in practice mode.
        SessionImmutableError: the session is final.
        QuestionNotFoundError: no such item in the plan.
    """
    state = _require_running(session, "answer")
    item = state.item(session.id, item_id)
    answer = validate_answer(text, time_spent_seconds)
    if item.status is ItemStatus.SKIPPED:
        raise AnswerRefusedError(session.id, item.id, "it was skipped")
    if item.status is ItemStatus.ANSWERED and session.config.mode is not InterviewMode.PRACTICE:
        raise AnswerRefusedError(
            session.id,
            item.id,
            "it was answered already (retries are allowed in practice mode; "
            f"this is {session.config.mode.value})",
        )
    attempt = item.attempts + 1
    updated = item.model_copy(update={"status": ItemStatus.ANSWERED, "attempts": attempt})
    event = NewEvent(
        type=EventType.ANSWER_SUBMITTED,
        at=now,
        data={
            "item_id": item.id,
            "question_id": item.question_id,
            "attempt": attempt,
            "text": answer,
            "time_spent_seconds": time_spent_seconds,
        },
    )
    return session.model_copy(update={"interview": state.replace(updated), "updated_at": now}), [
        event
    ]


def apply_evaluation(
    session: Session,
    item_id: str,
    attempt: int,
    evaluation: dict[str, Any],
    now: Any,
    *,
    provisional: bool = False,
) -> Change:
    """Record the evaluation of one attempt; the item keeps its best score.

    ``evaluation`` is the JSON of the evaluator's result and must hold ``score`` (0-100).
    Allowed on final sessions: it describes an answer given while the session ran. A
    report already stored (or failed) goes back to pending, to be rebuilt with this
    score. An attempt already settled is left alone (no events): two evaluators racing
    for one answer (a recovery and the original) store one evaluation; except that a
    ``provisional`` evaluation (the offline one given while the session's model was
    still thinking, issue 15) is replaced by the next one, and the item's best score is
    recomputed from every attempt's score.

    Raises:
        QuestionNotFoundError: no such item.
    """
    if session.interview is None:
        raise QuestionNotFoundError(session.id, item_id)
    item = session.interview.item(session.id, item_id)
    replacing = attempt in item.provisional_attempts and not provisional
    if attempt in item.settled_attempts and not replacing:
        return session, []
    score = int(evaluation["score"])
    scores = (*((n, s) for n, s in item.attempt_scores if n != attempt), (attempt, score))
    best = max(s for _, s in scores)
    if not replacing and item.score is not None and not item.attempt_scores:
        best = max(best, item.score)  # an item stored before attempt_scores existed
    provisional_attempts = tuple(n for n in item.provisional_attempts if n != attempt)
    if provisional:
        provisional_attempts = (*provisional_attempts, attempt)
    settled = item.settled_attempts if replacing else (*item.settled_attempts, attempt)
    updated = item.model_copy(
        update={
            "score": best,
            "settled_attempts": settled,
            "attempt_scores": scores,
            "provisional_attempts": provisional_attempts,
        }
    )
    event = NewEvent(
        type=EventType.ANSWER_EVALUATED,
        at=now,
        data={
            "item_id": item.id,
            "attempt": attempt,
            "evaluation": evaluation,
            **({"provisional": True} if provisional else {}),
            **({"replaces_provisional": True} if replacing else {}),
        },
    )
    return _settled(session, updated, now), [event]


def apply_evaluation_failed(
    session: Session, item_id: str, attempt: int, data: dict[str, Any], now: Any
) -> Change:
    """Record that the evaluator failed on one attempt (``provider_failed``): it is settled.

    The answer is kept; the report counts it as answered without a score.

    Raises:
        QuestionNotFoundError: no such item.
    """
    if session.interview is None:
        raise QuestionNotFoundError(session.id, item_id)
    item = session.interview.item(session.id, item_id)
    if attempt in item.settled_attempts:
        return session, []
    updated = item.model_copy(update={"settled_attempts": (*item.settled_attempts, attempt)})
    event = NewEvent(
        type=EventType.PROVIDER_FAILED,
        at=now,
        data={**data, "item_id": item.id, "attempt": attempt},
    )
    return _settled(session, updated, now), [event]


def _settled(session: Session, item: PlanItem, now: Any) -> Session:
    assert session.interview is not None
    update: dict[str, Any] = {"interview": session.interview.replace(item), "updated_at": now}
    if session.report_status in (ReportStatus.READY, ReportStatus.FAILED):
        # the session ended while this answer was being scored: its report is out of date
        update["report_status"] = ReportStatus.PENDING
    return session.model_copy(update=update)


def apply_report_release(session: Session, actor: str, now: Any) -> Change:
    """Release an assessment's report to its candidate (issue 10, item 1).

    Raises:
        InvalidStateError: the session is not final yet, or has no plan.
    """
    if session.interview is None:
        raise InvalidStateError(session.id, "without a question plan", "release the report of")
    if not session.status.is_final:
        raise InvalidStateError(session.id, session.status.value, "release the report of")
    if session.interview.report_released:
        return session, []
    interview = session.interview.model_copy(update={"report_released": True})
    event = NewEvent(type=EventType.REPORT_RELEASED, at=now, data={"released_by": actor})
    return session.model_copy(update={"interview": interview, "updated_at": now}), [event]


def apply_skip(session: Session, item_id: str, now: Any) -> Change:
    """Skip a pending item (and any pending follow-ups of it).

    Raises:
        InvalidStateError: the session is not active, or the item is not pending.
        SessionImmutableError: the session is final.
        QuestionNotFoundError: no such item.
    """
    state = _require_running(session, "skip a question of")
    item = state.item(session.id, item_id)
    if item.status is not ItemStatus.PENDING:
        raise AnswerRefusedError(session.id, item.id, f"it is {item.status.value}", action="skip")
    state = state.replace(item.model_copy(update={"status": ItemStatus.SKIPPED}))
    event = NewEvent(
        type=EventType.QUESTION_SKIPPED,
        at=now,
        data={"item_id": item.id, "question_id": item.question_id},
    )
    return session.model_copy(update={"interview": state, "updated_at": now}), [event]


def apply_follow_up(session: Session, parent_id: str, text: str, now: Any) -> Change:
    """Insert a follow-up right after ``parent_id`` (and its earlier follow-ups).

    Does nothing (no events) when the question already has ``max_follow_ups``
    follow-ups, or the session is no longer active.
    """
    if session.status is not SessionStatus.ACTIVE or session.interview is None:
        return session, []
    state = session.interview
    parent = state.item(session.id, parent_id)
    earlier = state.follow_ups_of(parent.id)
    if len(earlier) >= state.max_follow_ups or not text.strip():
        return session, []
    follow_up = PlanItem(
        id=f"{parent.id}/follow-up-{len(earlier) + 1}",
        question_id=parent.question_id,
        kind="follow_up",
        text=text.strip(),
        category=parent.category,
        parent_id=parent.id,
        answer_time_seconds=max(60, parent.answer_time_seconds // 2),
    )
    anchor = (earlier[-1] if earlier else parent).id
    items: list[PlanItem] = []
    for item in state.items:
        items.append(item)
        if item.id == anchor:
            items.append(follow_up)
    event = NewEvent(
        type=EventType.FOLLOW_UP_ASKED,
        at=now,
        data={"item_id": follow_up.id, "parent_id": parent.id, "text": follow_up.text},
    )
    interview = state.model_copy(update={"items": tuple(items)})
    return session.model_copy(update={"interview": interview, "updated_at": now}), [event]


def apply_report(
    session: Session, report: dict[str, Any] | None, error: str | None, now: Any
) -> Change:
    """Record a generated report, or a failed attempt (``report_status`` ready or failed).

    Allowed on final sessions: the report describes the session that happened.
    """
    if report is not None:
        event = NewEvent(type=EventType.REPORT_GENERATED, at=now, data={"report": report})
        status = ReportStatus.READY
    else:
        event = NewEvent(type=EventType.REPORT_FAILED, at=now, data={"error": error or "unknown"})
        status = ReportStatus.FAILED
    return session.model_copy(update={"report_status": status, "updated_at": now}), [event]
