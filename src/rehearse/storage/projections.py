"""Progress projections: summary rows kept current in the transaction of each event.

:func:`project` is called by the store right after it appends events (in the same
transaction, so a summary row can never disagree with the log it summarises). It keeps:

- ``session_scores``: one row per session (candidate, status, counts, active time,
  the report's overall score), refreshed from the ``sessions`` row on lifecycle,
  plan, answer, skip and report events;
- ``answer_scores``: one row per evaluated plan item, its best attempt (the rule of
  :func:`rehearse.domain.interviews.apply_evaluation`), with dimensions and key-point
  counts; ``answer_topics``: the same per bank tag, for topic strengths;
- ``session_questions``: each planned question's category and tags (from
  ``questions_planned``), so an evaluation finds its topics by primary key;
- ``progress_milestones``: one row per (candidate, milestone) from
  ``milestone_achieved``; its primary key makes a second recording fail the
  transaction, so the event is stored exactly once.

:func:`rebuild` replays the log into empty tables once (migration 0005's backfill).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from rehearse.domain.events import Event
from rehearse.domain.sessions import from_us
from rehearse.storage.schema import (
    answer_scores,
    answer_topics,
    progress_milestones,
    session_events,
    session_questions,
    session_scores,
    sessions,
    users,
)

#: Events that change a session's summary row.
SESSION_EVENTS = frozenset(
    {
        "session_created",
        "session_updated",
        "session_started",
        "session_paused",
        "session_resumed",
        "session_completed",
        "session_expired",
        "session_cancelled",
        "questions_planned",
        "answer_submitted",
        "question_skipped",
        "report_generated",
    }
)
#: The dimension columns of ``answer_scores`` (rehearse.scoring.evaluator.Dimension values).
DIMENSIONS = ("key_point_coverage", "correctness", "depth", "structure", "communication")

#: "leave the overall score as it is" (only a report sets it).
_KEEP = object()

_SESSION_ROW = select(
    sessions.c.id,
    sessions.c.status,
    sessions.c.candidate_name,
    sessions.c.candidate_email,
    sessions.c.candidate_id,
    sessions.c.created_by,
    sessions.c.role,
    sessions.c.level,
    sessions.c.interview_type,
    sessions.c.mode,
    sessions.c.active_us,
    sessions.c.created_at,
    sessions.c.started_at,
    sessions.c.ended_at,
    sessions.c.interview,
)


def project(connection: Connection, events: Sequence[Event]) -> None:
    """Bring the progress tables up to date with ``events``, just appended on ``connection``.

    Raises:
        sqlalchemy.exc.IntegrityError: a milestone was already recorded for that
            candidate (the transaction must roll back, so its event is not stored twice).
    """
    refresh: dict[str, object] = {}
    for event in events:
        kind = event.type
        if kind == "questions_planned":
            _plan(connection, event)
        elif kind == "answer_evaluated":
            _evaluation(connection, event)
        elif kind == "milestone_achieved":
            _milestone(connection, event)
        if kind in SESSION_EVENTS:
            marker = refresh.get(event.session_id, _KEEP)
            if kind == "report_generated":
                report = event.data.get("report")
                marker = report.get("overall_score") if isinstance(report, Mapping) else None
            refresh[event.session_id] = marker
    for session_id, marker in refresh.items():
        _session(connection, session_id, marker)


def candidate_key(
    email: str | None, candidate_id: str | None, name: str, account_email: str | None = None
) -> str:
    """The identity progress is counted under (the same the access rules match on).

    The candidate's e-mail (lower case), else the e-mail of the account ``candidate_id``
    names, else that principal id, else ``name:<lower-cased name>``.
    """
    if email:
        return email.lower()
    if account_email:
        return account_email.lower()
    if candidate_id:
        return candidate_id
    return f"name:{name.strip().lower()}"


def _identity(connection: Connection, row: Any) -> tuple[str, str]:
    account = None
    if not row.candidate_email and row.candidate_id:
        account = connection.execute(
            select(users.c.email).where(users.c.id == row.candidate_id)
        ).scalar_one_or_none()
    key = candidate_key(row.candidate_email, row.candidate_id, row.candidate_name, account)
    return key, row.candidate_name.strip().lower()


def _counts(interview: Mapping[str, Any] | None) -> tuple[int, int, int]:
    if not interview:
        return 0, 0, 0
    main = [i for i in interview.get("items", ()) if i.get("kind", "question") == "question"]
    answered = sum(1 for i in main if i.get("status") == "answered")
    skipped = sum(1 for i in main if i.get("status") == "skipped")
    return answered, skipped, len(main)


def _session(connection: Connection, session_id: str, score: object) -> None:
    row = connection.execute(_SESSION_ROW.where(sessions.c.id == session_id)).one_or_none()
    if row is None:
        return
    key, name = _identity(connection, row)
    answered, skipped, total = _counts(row.interview)
    values: dict[str, Any] = {
        "candidate_key": key,
        "candidate_name": name,
        "created_by": row.created_by,
        "status": row.status,
        "role": row.role,
        "level": row.level,
        "interview_type": row.interview_type,
        "mode": row.mode,
        "answered": answered,
        "skipped": skipped,
        "questions": total,
        "active_us": row.active_us,
        "created_at": row.created_at,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
    }
    if score is not _KEEP:
        values["overall_score"] = None if score is None else int(str(score))
    existing = connection.execute(
        select(session_scores.c.candidate_key, session_scores.c.candidate_name).where(
            session_scores.c.session_id == session_id
        )
    ).one_or_none()
    if existing is None:
        connection.execute(insert(session_scores).values(session_id=session_id, **values))
        return
    connection.execute(
        update(session_scores).where(session_scores.c.session_id == session_id).values(values)
    )
    if (existing.candidate_key, existing.candidate_name) != (key, name):
        # the candidate was renamed: their answers move with the session
        for table in (answer_scores, answer_topics):
            connection.execute(
                update(table)
                .where(table.c.session_id == session_id)
                .values(candidate_key=key, candidate_name=name)
            )


def _plan(connection: Connection, event: Event) -> None:
    connection.execute(
        delete(session_questions).where(session_questions.c.session_id == event.session_id)
    )
    rows = [
        {
            "session_id": event.session_id,
            "question_id": question["id"],
            "category": question.get("category", "technical"),
            "tags": list(question.get("tags") or []),
        }
        for question in event.data.get("questions", ())
    ]
    unique = list({row["question_id"]: row for row in rows}.values())
    if unique:
        connection.execute(insert(session_questions), unique)


def _item(interview: Mapping[str, Any] | None, item_id: str) -> Mapping[str, Any] | None:
    for item in (interview or {}).get("items", ()):
        if item.get("id") == item_id:
            return item  # type: ignore[no-any-return]
    return None


def _evaluation(connection: Connection, event: Event) -> None:
    evaluation = event.data.get("evaluation") or {}
    item_id = str(event.data.get("item_id"))
    if "score" not in evaluation:
        return
    score = int(evaluation["score"])
    key_match = and_(
        answer_scores.c.session_id == event.session_id, answer_scores.c.item_id == item_id
    )
    best = connection.execute(select(answer_scores.c.score).where(key_match)).scalar_one_or_none()
    if best is not None and best > score:
        return  # an earlier attempt scored better: the item keeps its best
    row = connection.execute(_SESSION_ROW.where(sessions.c.id == event.session_id)).one_or_none()
    if row is None:
        return
    item = _item(row.interview, item_id) or {}
    question_id = str(item.get("question_id") or item_id.split("/", 1)[0])
    planned = connection.execute(
        select(session_questions.c.category, session_questions.c.tags).where(
            session_questions.c.session_id == event.session_id,
            session_questions.c.question_id == question_id,
        )
    ).one_or_none()
    category = str(item.get("category") or (planned.category if planned else "technical"))
    tags = list(planned.tags) if planned and planned.tags else [category]
    key, name = _identity(connection, row)
    hit = len(evaluation.get("key_points_hit") or ())
    missed = len(evaluation.get("key_points_missed") or ())
    dimensions = evaluation.get("dimensions") or {}
    common = {
        "session_id": event.session_id,
        "item_id": item_id,
        "candidate_key": key,
        "candidate_name": name,
        "created_by": row.created_by,
        "score": score,
        "key_points_hit": hit,
        "key_points_missed": missed,
        "at": event.at,
    }
    connection.execute(delete(answer_scores).where(key_match))
    connection.execute(
        insert(answer_scores).values(
            **common,
            question_id=question_id,
            kind=str(item.get("kind", "question")),
            category=category,
            **{name: _dimension(dimensions.get(name)) for name in DIMENSIONS},
        )
    )
    connection.execute(
        delete(answer_topics).where(
            answer_topics.c.session_id == event.session_id, answer_topics.c.item_id == item_id
        )
    )
    topics = sorted({str(tag).strip().lower()[:80] for tag in tags if str(tag).strip()})
    if topics:
        connection.execute(insert(answer_topics), [common | {"topic": t} for t in topics])


def _dimension(value: Any) -> int | None:
    return None if value is None else int(value)


def _milestone(connection: Connection, event: Event) -> None:
    connection.execute(
        insert(progress_milestones).values(
            candidate_key=str(event.data["candidate_key"]),
            milestone=str(event.data["milestone"]),
            session_id=event.session_id,
            achieved_at=event.at,
        )
    )


def rebuild(connection: Connection, batch: int = 2000) -> int:
    """Fill the progress tables from the whole event log, oldest first; returns events read.

    For migration 0005 (a one-off backfill); day to day :func:`project` keeps them current.
    """
    wanted = sorted(SESSION_EVENTS | {"answer_evaluated", "milestone_achieved"})
    last = 0
    seen = 0
    while True:
        rows = connection.execute(
            select(session_events)
            .where(session_events.c.id > last, session_events.c.type.in_(wanted))
            .order_by(session_events.c.id)
            .limit(batch)
        ).all()
        if not rows:
            return seen
        project(connection, list(_events(rows)))
        last = rows[-1].id
        seen += len(rows)


def _events(rows: Iterable[Any]) -> Iterable[Event]:
    for row in rows:
        at = row.at if not isinstance(row.at, int) else from_us(row.at)
        yield Event(
            session_id=row.session_id,
            seq=row.seq,
            type=row.type,
            at=at,
            actor=row.actor,
            data=row.data,
            position=row.id,
        )
