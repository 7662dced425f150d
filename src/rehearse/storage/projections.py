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
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Float,
    Table,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    type_coerce,
    update,
)

from rehearse.domain.access import candidate_key
from rehearse.domain.events import Event
from rehearse.domain.progress import GOOD_SCORE
from rehearse.domain.sessions import Session, from_us, to_us
from rehearse.storage.prepared import Prepared, PreparedInsert
from rehearse.storage.schema import (
    Instant,
    answer_scores,
    answer_topics,
    candidate_areas,
    candidate_questions,
    candidate_totals,
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
).where(sessions.c.id == bindparam("session_id"))
_SCORES_COLUMNS = tuple(column.name for column in session_scores.c)
_INSTANTS = frozenset(c.name for c in session_scores.c if isinstance(c.type, Instant))
_SCORES_ROW = Prepared(
    select(session_scores).where(session_scores.c.session_id == bindparam("session_id"))
)
_INSERT_SCORES = Prepared(
    insert(session_scores).values({name: bindparam(name) for name in _SCORES_COLUMNS})
)
_ACCOUNT_EMAIL = Prepared(select(users.c.email).where(users.c.id == bindparam("user_id")))


@lru_cache(maxsize=64)
def _scores_update(columns: frozenset[str]) -> Prepared:
    """An UPDATE of these ``session_scores`` columns of one session, built once."""
    return Prepared(
        update(session_scores)
        .where(session_scores.c.session_id == bindparam("match_session_id"))
        .values({name: bindparam(name) for name in sorted(columns)})
    )


#: "the caller did not read the summary row" (:func:`project_change` reads it).
UNREAD: Any = object()


def project(connection: Connection, events: Sequence[Event]) -> None:
    """Bring the progress tables up to date with ``events``, just appended on ``connection``.

    Reads each session's row as stored (for batches and the backfill); the store's own
    writes call :func:`project_change`, which knows the row already.

    Raises:
        sqlalchemy.exc.IntegrityError: a milestone was already recorded for that
            candidate (the transaction must roll back, so its event is not stored twice).
    """
    _project(connection, events, {})


def project_change(
    connection: Connection,
    before: Session | None,
    after: Session,
    events: Sequence[Event],
    scores: Sequence[Any] | object | None = UNREAD,
) -> None:
    """Like :func:`project` for the events of one change of one session, stored as ``after``.

    ``before`` is the session as it was (``None`` for a new one); ``scores`` its summary
    row as read in this transaction (driver values in ``session_scores`` column order,
    ``None`` when there is none, :data:`UNREAD` to read it here). Nothing is read that
    the caller holds: a lifecycle change costs at most two writes (the summary row, the
    candidate's totals), each a prebuilt statement; one whose summary is unchanged
    writes nothing.

    Raises:
        sqlalchemy.exc.IntegrityError: as :func:`project`.
    """
    known = {after.id: SessionRow.of(after)}
    summaries = {} if scores is UNREAD else {after.id: _decode_scores(scores)}
    _project(connection, events, known, summaries, new=before is None)


def _project(
    connection: Connection,
    events: Sequence[Event],
    known: dict[str, SessionRow],
    summaries: dict[str, dict[str, Any] | None] | None = None,
    *,
    new: bool = False,
) -> None:
    refresh: dict[str, object] = {}
    for event in events:
        kind = event.type
        if kind == "questions_planned":
            _plan(connection, event, new)
        elif kind == "answer_evaluated":
            _evaluation(connection, event, known.get(event.session_id))
        elif kind == "milestone_achieved":
            _milestone(connection, event)
        if kind in SESSION_EVENTS:
            marker = refresh.get(event.session_id, _KEEP)
            if kind == "report_generated":
                report = event.data.get("report")
                marker = report.get("overall_score") if isinstance(report, Mapping) else None
            refresh[event.session_id] = marker
    for session_id, marker in refresh.items():
        row = known.get(session_id) or _read_row(connection, session_id)
        if row is None:
            continue
        if summaries is not None and session_id in summaries:
            old = summaries[session_id]
        else:
            old = _scores_row(connection, session_id)
        _session(connection, row, marker, old)


@dataclass(frozen=True, slots=True)
class SessionRow:
    """What the projections need of a ``sessions`` row, from the row or from a session."""

    id: str
    status: str
    candidate_name: str
    candidate_email: str | None
    candidate_id: str | None
    created_by: str | None
    role: str
    level: str
    interview_type: str
    mode: str
    active_us: int
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    #: (answered, skipped, questions) of the main questions
    counts: tuple[int, int, int]
    #: item id -> (question_id, category, kind)
    items: Mapping[str, tuple[str, str, str]]

    @classmethod
    def of(cls, session: Session) -> SessionRow:
        """The row of a session held in memory (no JSON encoding)."""
        config = session.config
        plan = session.interview.items if session.interview else ()
        main = [item for item in plan if item.kind == "question"]
        counts = (
            sum(1 for item in main if item.status.value == "answered"),
            sum(1 for item in main if item.status.value == "skipped"),
            len(main),
        )
        return cls(
            id=session.id,
            status=session.status.value,
            candidate_name=config.candidate_name,
            candidate_email=config.candidate_email,
            candidate_id=session.candidate_id,
            created_by=session.created_by,
            role=config.role.value,
            level=config.level.value,
            interview_type=config.interview_type.value,
            mode=config.mode.value,
            active_us=session.active_us,
            created_at=session.created_at,
            started_at=session.started_at,
            ended_at=session.ended_at,
            counts=counts,
            items={i.id: (i.question_id, i.category.value, i.kind) for i in plan},
        )

    @classmethod
    def read(cls, row: Any) -> SessionRow:
        """The row as read by ``_SESSION_ROW``."""
        interview = row.interview or {}
        items = {
            str(item.get("id")): (
                str(item.get("question_id") or str(item.get("id")).split("/", 1)[0]),
                str(item.get("category") or ""),
                str(item.get("kind", "question")),
            )
            for item in interview.get("items", ())
        }
        return cls(
            id=row.id,
            status=row.status,
            candidate_name=row.candidate_name,
            candidate_email=row.candidate_email,
            candidate_id=row.candidate_id,
            created_by=row.created_by,
            role=row.role,
            level=row.level,
            interview_type=row.interview_type,
            mode=row.mode,
            active_us=row.active_us,
            created_at=row.created_at,
            started_at=row.started_at,
            ended_at=row.ended_at,
            counts=_counts(row.interview),
            items=items,
        )


def _read_row(connection: Connection, session_id: str) -> SessionRow | None:
    row = connection.execute(_SESSION_ROW, {"session_id": session_id}).one_or_none()
    return None if row is None else SessionRow.read(row)


def _identity(connection: Connection, row: Any) -> tuple[str, str]:
    account = None
    if not row.candidate_email and row.candidate_id:
        found = _ACCOUNT_EMAIL.first(connection, {"user_id": row.candidate_id})
        account = None if found is None else found[0]
    key = candidate_key(row.candidate_email, row.candidate_id, row.candidate_name, account)
    return key, row.candidate_name.strip().lower()


def _counts(interview: Mapping[str, Any] | None) -> tuple[int, int, int]:
    if not interview:
        return 0, 0, 0
    main = [i for i in interview.get("items", ()) if i.get("kind", "question") == "question"]
    answered = sum(1 for i in main if i.get("status") == "answered")
    skipped = sum(1 for i in main if i.get("status") == "skipped")
    return answered, skipped, len(main)


def _session(
    connection: Connection, row: SessionRow, score: object, old: dict[str, Any] | None
) -> None:
    session_id = row.id
    key, name = _identity(connection, row)
    answered, skipped, total = row.counts
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
    if old is None:
        values["overall_score"] = values.get("overall_score")
    else:
        values.setdefault("overall_score", old["overall_score"])
    scored = values["status"] in SCORED_STATUSES and values["overall_score"] is not None
    values["scored_score"] = values["overall_score"] if scored else None
    if old is None:
        _INSERT_SCORES.run(connection, dict(values, session_id=session_id))
    else:
        changed = {name: value for name, value in values.items() if old[name] != value}
        if not changed:
            return  # nothing the summary shows moved: no write at all
        statement = _scores_update(frozenset(changed))
        statement.run(connection, dict(changed, match_session_id=session_id))
    new = dict(values, session_id=session_id)
    if old is not None and (old["candidate_key"], old["created_by"]) == (key, row.created_by):
        _bump_session(connection, new, _session_delta(new, old))
        if old["candidate_name"] != name:
            for table in (answer_scores, answer_topics):
                connection.execute(
                    update(table)
                    .where(table.c.session_id == session_id)
                    .values(candidate_name=name)
                )
        return
    if old is not None:
        _bump_session(connection, old, _session_delta(None, old))
    _bump_session(connection, new, _session_delta(new, None))
    if old is not None:
        # the candidate changed (renamed, another e-mail): the answers move with the session
        _move_answers(connection, session_id, key, name)


def _scores_row(connection: Connection, session_id: str) -> dict[str, Any] | None:
    """The session's summary row, column name to value (instants as datetimes)."""
    return _decode_scores(_SCORES_ROW.first(connection, {"session_id": session_id}))


def _decode_scores(found: Any) -> dict[str, Any] | None:
    """A ``session_scores`` row as the driver returned it, column name to value."""
    if found is None:
        return None
    row = dict(zip(_SCORES_COLUMNS, found, strict=True))
    for name in _INSTANTS:
        if row[name] is not None:
            row[name] = from_us(int(row[name]))
    return row


_DELETE_PLANNED = Prepared(
    delete(session_questions).where(session_questions.c.session_id == bindparam("session_id"))
)
_INSERT_PLANNED = PreparedInsert(
    session_questions, ("session_id", "question_id", "category", "tags")
)


def _plan(connection: Connection, event: Event, new: bool) -> None:
    data: Mapping[str, Any] = event.data
    if "questions" not in data and "snapshots" in data:  # stored compactly (a replay)
        from rehearse.storage.snapshots import Snapshots

        data = Snapshots().expanded(connection, data)
    if not new:  # a new session has no planned rows to replace
        _DELETE_PLANNED.run(connection, {"session_id": event.session_id})
    rows = [
        {
            "session_id": event.session_id,
            "question_id": question["id"],
            "category": question.get("category", "technical"),
            "tags": list(question.get("tags") or []),
        }
        for question in data.get("questions", ())
    ]
    unique = list({row["question_id"]: row for row in rows}.values())
    _INSERT_PLANNED.run(connection, unique)


def _key_of(table: Table) -> Any:
    return and_(
        table.c.session_id == bindparam("session_id"), table.c.item_id == bindparam("item_id")
    )


_ANSWER_OF = Prepared(select(answer_scores).where(_key_of(answer_scores)))
_TOPICS_OF = Prepared(select(answer_topics.c.topic).where(_key_of(answer_topics)))
_PLANNED = Prepared(
    select(session_questions.c.category, session_questions.c.tags).where(
        session_questions.c.session_id == bindparam("session_id"),
        session_questions.c.question_id == bindparam("question_id"),
    )
)
_DELETE_ANSWER = Prepared(delete(answer_scores).where(_key_of(answer_scores)))
_DELETE_TOPICS = Prepared(delete(answer_topics).where(_key_of(answer_topics)))
_ANSWER_COLUMNS = tuple(column.name for column in answer_scores.c)
_TOPIC_COLUMNS = tuple(column.name for column in answer_topics.c)
_INSERT_ANSWER = PreparedInsert(answer_scores, _ANSWER_COLUMNS)
_INSERT_TOPICS = PreparedInsert(answer_topics, _TOPIC_COLUMNS)


def _evaluation(connection: Connection, event: Event, known: SessionRow | None) -> None:
    evaluation = event.data.get("evaluation") or {}
    item_id = str(event.data.get("item_id"))
    if "score" not in evaluation:
        return
    score = int(evaluation["score"])
    key_match = {"session_id": event.session_id, "item_id": item_id}
    found = _ANSWER_OF.rows(connection, key_match)
    old = found[0] if found else None
    if old is not None and old["score"] > score:
        return  # an earlier attempt scored better: the item keeps its best
    row = known or _read_row(connection, event.session_id)
    if row is None:
        return
    question_id, item_category, item_kind = row.items.get(
        item_id, (item_id.split("/", 1)[0], "", "question")
    )
    plans = _PLANNED.rows(connection, {"session_id": event.session_id, "question_id": question_id})
    planned = plans[0] if plans else None
    category = item_category or (planned["category"] if planned else "technical")
    tags = list(planned["tags"]) if planned and planned["tags"] else [category]
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
    if old is not None:
        old_topics = [topic["topic"] for topic in _TOPICS_OF.rows(connection, key_match)]
        _bump_answer(connection, old, old_topics, -1)
        _DELETE_ANSWER.run(connection, key_match)
        _DELETE_TOPICS.run(connection, key_match)
    answer = common | {
        "question_id": question_id,
        "kind": item_kind,
        "category": category,
        **{name: _dimension(dimensions.get(name)) for name in DIMENSIONS},
    }
    _INSERT_ANSWER.run(connection, [answer])
    topics = sorted({str(tag).strip().lower()[:80] for tag in tags if str(tag).strip()})
    _INSERT_TOPICS.run(connection, [common | {"topic": t} for t in topics])
    _bump_answer(connection, answer, topics, 1)


# -- running totals (candidate_totals, candidate_areas) ------------------------------------

SCORED_STATUSES = ("completed", "expired")
WEEK_US = 7 * 24 * 3600 * 1_000_000
_TOTALS = (
    "sessions",
    "completed",
    "expired",
    "cancelled",
    "answered",
    "skipped",
    "active_us",
    "scored",
    "score_sum",
    "score_squares",
    "t_sum",
    "t_squares",
    "ty_sum",
    "answers",
)


def _contribution(row: Mapping[str, Any] | None) -> dict[str, float]:
    if row is None:
        return dict.fromkeys(_TOTALS[:-1], 0.0)
    y = row["scored_score"]
    t = to_us(row["created_at"]) / WEEK_US
    scored = y is not None
    return {
        "sessions": 1,
        "completed": int(row["status"] == "completed"),
        "expired": int(row["status"] == "expired"),
        "cancelled": int(row["status"] == "cancelled"),
        "answered": int(row["answered"]),
        "skipped": int(row["skipped"]),
        "active_us": int(row["active_us"]),
        "scored": int(scored),
        "score_sum": float(y) if scored else 0.0,
        "score_squares": float(y) ** 2 if scored else 0.0,
        "t_sum": t if scored else 0.0,
        "t_squares": t * t if scored else 0.0,
        "ty_sum": t * float(y) if scored else 0.0,
    }


def _session_delta(
    new: Mapping[str, Any] | None, old: Mapping[str, Any] | None
) -> dict[str, float]:
    after, before = _contribution(new), _contribution(old)
    return {name: after[name] - before[name] for name in after}


def _insert_for(dialect: str) -> Any:
    """The dialect's ``INSERT ... ON CONFLICT`` builder, imported for that dialect only.

    A SQLite process never loads the PostgreSQL dialect (issue 8 item 5: CLI start-up).
    """
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    from sqlalchemy.dialects.postgresql import insert as postgres_insert

    return postgres_insert


def _upsert(
    connection: Connection,
    table: Table,
    keys: dict[str, Any],
    deltas: dict[str, Any],
    extra: dict[str, Any],
) -> None:
    """Add ``deltas`` to the row of ``keys`` (inserting it), atomically on both backends."""
    statement = _upsert_statement(
        connection.dialect.name, table, tuple(keys), tuple(deltas), tuple(extra)
    )
    statement.run(connection, keys | deltas | extra)


@lru_cache(maxsize=64)
def _upsert_statement(
    dialect: str,
    table: Table,
    keys: tuple[str, ...],
    deltas: tuple[str, ...],
    extra: tuple[str, ...],
) -> Prepared:
    """The upsert of :func:`_upsert` for these columns, built once per shape."""
    build = _insert_for(dialect)
    columns = (*keys, *deltas, *extra)
    statement = build(table).values(
        {name: bindparam(name, type_=table.c[name].type) for name in columns}
    )
    excluded = statement.excluded
    changes: dict[str, Any] = {name: table.c[name] + excluded[name] for name in deltas}
    for name in extra:
        if name == "last_created_at":
            changes[name] = case(
                (table.c[name].is_(None), excluded[name]),
                (excluded[name] > table.c[name], excluded[name]),
                else_=table.c[name],
            )
        else:
            changes[name] = excluded[name]
    return Prepared(statement.on_conflict_do_update(index_elements=list(keys), set_=changes))


def _bump_session(connection: Connection, row: Mapping[str, Any], delta: dict[str, float]) -> None:
    if not any(delta.values()):
        return
    deltas: dict[str, Any] = {name: delta.get(name, 0) for name in _TOTALS}
    for name in ("sessions", "completed", "expired", "cancelled", "answered", "skipped", "scored"):
        deltas[name] = int(deltas[name])
    deltas["active_us"] = int(deltas["active_us"])
    _upsert(
        connection,
        candidate_totals,
        {"candidate_key": row["candidate_key"], "created_by": row["created_by"] or ""},
        deltas,
        {"candidate_name": row["candidate_name"], "last_created_at": row["created_at"]},
    )


def _bump_answer(
    connection: Connection, row: Mapping[str, Any], topics: Sequence[str], sign: int
) -> None:
    keys = {"candidate_key": row["candidate_key"], "created_by": row["created_by"] or ""}
    zero = dict.fromkeys(_TOTALS, 0)
    _upsert(
        connection,
        candidate_totals,
        keys,
        zero | {"answers": sign, "score_sum": 0.0},
        {"candidate_name": row["candidate_name"]},
    )
    score = float(row["score"]) * sign
    areas = [("category", str(row["category"]), score, 0, 0)]
    areas += [
        ("dimension", name, float(row[name]) * sign, 0, 0)
        for name in DIMENSIONS
        if row.get(name) is not None
    ]
    hit, missed = int(row["key_points_hit"]) * sign, int(row["key_points_missed"]) * sign
    areas += [("topic", topic, score, hit, missed) for topic in topics]
    if row["kind"] == "question":
        poor = int(int(row["score"]) < GOOD_SCORE) * sign
        _upsert_question(connection, keys | {"question_id": row["question_id"]}, sign, poor, row)
    rows = [
        keys
        | {
            "kind": kind,
            "area": area,
            "answers": sign,
            "score_sum": total,
            "key_points_hit": area_hit,
            "key_points_missed": area_missed,
        }
        for kind, area, total, area_hit, area_missed in areas
    ]
    statement = _areas_upsert(connection.dialect.name, len(rows))
    statement.run(
        connection, {f"{name}_{i}": value for i, r in enumerate(rows) for name, value in r.items()}
    )


_AREA_KEYS = ("candidate_key", "created_by", "kind", "area")
_AREA_SUMS = ("answers", "score_sum", "key_points_hit", "key_points_missed")


@lru_cache(maxsize=64)
def _areas_upsert(dialect: str, count: int) -> Prepared:
    """Add ``count`` rows of sums to ``candidate_areas`` in one statement (keys distinct)."""
    build = _insert_for(dialect)
    a = candidate_areas.c
    statement = build(candidate_areas).values(
        [
            {name: bindparam(f"{name}_{i}", type_=a[name].type) for name in _AREA_KEYS + _AREA_SUMS}
            for i in range(count)
        ]
    )
    excluded = statement.excluded
    changes = {name: a[name] + excluded[name] for name in _AREA_SUMS}
    return Prepared(statement.on_conflict_do_update(index_elements=list(_AREA_KEYS), set_=changes))


def _upsert_question(
    connection: Connection, keys: dict[str, Any], sign: int, poor: int, row: Mapping[str, Any]
) -> None:
    """Count an answer in (or out of) a question's row; the latest answer's score is kept."""
    statement = _question_upsert(connection.dialect.name, tuple(keys), sign > 0)
    statement.run(
        connection,
        keys
        | {"answers": sign, "poor_answers": poor, "last_score": int(row["score"])}
        | {"last_at": row["at"]},
    )


@lru_cache(maxsize=8)
def _question_upsert(dialect: str, keys: tuple[str, ...], adding: bool) -> Prepared:
    build = _insert_for(dialect)
    q = candidate_questions.c
    columns = (*keys, "answers", "poor_answers", "last_score", "last_at")
    statement = build(candidate_questions).values(
        {name: bindparam(name, type_=q[name].type) for name in columns}
    )
    x = statement.excluded
    changes: dict[str, Any] = {
        "answers": q.answers + x.answers,
        "poor_answers": q.poor_answers + x.poor_answers,
    }
    if adding:
        newer = x.last_at >= q.last_at
        changes["last_score"] = case((newer, x.last_score), else_=q.last_score)
        changes["last_at"] = case((newer, x.last_at), else_=q.last_at)
    return Prepared(statement.on_conflict_do_update(index_elements=list(keys), set_=changes))


def _move_answers(connection: Connection, session_id: str, key: str, name: str) -> None:
    answers = connection.execute(
        select(answer_scores).where(answer_scores.c.session_id == session_id)
    ).all()
    topics: dict[str, list[str]] = {}
    for topic_row in connection.execute(
        select(answer_topics.c.item_id, answer_topics.c.topic).where(
            answer_topics.c.session_id == session_id
        )
    ):
        topics.setdefault(topic_row.item_id, []).append(topic_row.topic)
    for answer in answers:
        moved = dict(answer._mapping, candidate_key=key, candidate_name=name)
        _bump_answer(connection, dict(answer._mapping), topics.get(answer.item_id, []), -1)
        _bump_answer(connection, moved, topics.get(answer.item_id, []), 1)
    for table in (answer_scores, answer_topics):
        connection.execute(
            update(table)
            .where(table.c.session_id == session_id)
            .values(candidate_key=key, candidate_name=name)
        )


def refresh_totals(connection: Connection) -> None:
    """Recompute the running totals from the summary rows (after a bulk load or a backfill)."""
    t = session_scores.c
    connection.execute(
        update(session_scores).values(
            scored_score=case(
                (
                    and_(t.status.in_(SCORED_STATUSES), t.overall_score.is_not(None)),
                    t.overall_score,
                ),
                else_=None,
            )
        )
    )
    connection.execute(delete(candidate_totals))
    connection.execute(delete(candidate_areas))
    connection.execute(delete(candidate_questions))
    cb = func.coalesce(t.created_by, "")
    weeks = cast(type_coerce(t.created_at, BigInteger), Float) / WEEK_US
    y = cast(t.scored_score, Float)
    on = t.scored_score.is_not(None)

    def total(expression: Any) -> Any:
        return func.coalesce(func.sum(expression), 0)

    rows = connection.execute(
        select(
            t.candidate_key,
            cb.label("created_by"),
            func.max(t.candidate_name).label("candidate_name"),
            func.count().label("sessions"),
            total(case((t.status == "completed", 1), else_=0)).label("completed"),
            total(case((t.status == "expired", 1), else_=0)).label("expired"),
            total(case((t.status == "cancelled", 1), else_=0)).label("cancelled"),
            total(t.answered).label("answered"),
            total(t.skipped).label("skipped"),
            total(t.active_us).label("active_us"),
            total(case((on, 1), else_=0)).label("scored"),
            total(case((on, y), else_=0.0)).label("score_sum"),
            total(case((on, y * y), else_=0.0)).label("score_squares"),
            total(case((on, weeks), else_=0.0)).label("t_sum"),
            total(case((on, weeks * weeks), else_=0.0)).label("t_squares"),
            total(case((on, weeks * y), else_=0.0)).label("ty_sum"),
            func.max(t.created_at).label("last_created_at"),
        ).group_by(t.candidate_key, cb)
    ).all()
    a = answer_scores.c
    answer_cb = func.coalesce(a.created_by, "")
    answers = {
        (r[0], r[1]): int(r[2])
        for r in connection.execute(
            select(a.candidate_key, answer_cb, func.count()).group_by(a.candidate_key, answer_cb)
        )
    }
    totals = [dict(r._mapping, answers=answers.pop((r[0], r[1]), 0)) for r in rows]
    if totals:
        connection.execute(insert(candidate_totals), totals)
    areas: list[dict[str, Any]] = []
    for kind, column in [("category", a.category)]:
        for r in connection.execute(
            select(a.candidate_key, answer_cb, column, func.count(), func.sum(a.score)).group_by(
                a.candidate_key, answer_cb, column
            )
        ):
            areas.append(_area(r, kind))
    for name in DIMENSIONS:
        for r in connection.execute(
            select(
                a.candidate_key, answer_cb, literal(name), func.count(a[name]), func.sum(a[name])
            )
            .where(a[name].is_not(None))
            .group_by(a.candidate_key, answer_cb)
        ):
            areas.append(_area(r, "dimension"))
    o = answer_topics.c
    topic_cb = func.coalesce(o.created_by, "")
    for r in connection.execute(
        select(
            o.candidate_key,
            topic_cb,
            o.topic,
            func.count(),
            func.sum(o.score),
            func.sum(o.key_points_hit),
            func.sum(o.key_points_missed),
        ).group_by(o.candidate_key, topic_cb, o.topic)
    ):
        areas.append(_area(r, "topic"))
    if areas:
        connection.execute(insert(candidate_areas), areas)
    latest = (
        select(
            a.candidate_key,
            answer_cb.label("created_by"),
            a.question_id,
            a.score,
            a.at,
            func.row_number()
            .over(
                partition_by=(a.candidate_key, answer_cb, a.question_id),
                order_by=(a.at.desc(), a.score.desc()),
            )
            .label("rank"),
        )
        .where(a.kind == "question")
        .subquery()
    )
    counts = (
        select(
            a.candidate_key,
            answer_cb.label("created_by"),
            a.question_id,
            func.count().label("answers"),
            func.sum(case((a.score < GOOD_SCORE, 1), else_=0)).label("poor_answers"),
        )
        .where(a.kind == "question")
        .group_by(a.candidate_key, answer_cb, a.question_id)
        .subquery()
    )
    questions = [
        dict(r._mapping)
        for r in connection.execute(
            select(
                counts.c.candidate_key,
                counts.c.created_by,
                counts.c.question_id,
                counts.c.answers,
                counts.c.poor_answers,
                latest.c.score.label("last_score"),
                latest.c.at.label("last_at"),
            ).join_from(
                counts,
                latest,
                and_(
                    latest.c.candidate_key == counts.c.candidate_key,
                    latest.c.created_by == counts.c.created_by,
                    latest.c.question_id == counts.c.question_id,
                    latest.c.rank == 1,
                ),
            )
        )
    ]
    if questions:
        connection.execute(insert(candidate_questions), questions)


def _area(row: Any, kind: str) -> dict[str, Any]:
    return {
        "candidate_key": row[0],
        "created_by": row[1],
        "kind": kind,
        "area": str(row[2]),
        "answers": int(row[3]),
        "score_sum": float(row[4] or 0),
        "key_points_hit": int(row[5] or 0) if len(row) > 5 else 0,
        "key_points_missed": int(row[6] or 0) if len(row) > 6 else 0,
    }


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
            refresh_totals(connection)  # exact sums, whatever order the replay took
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
