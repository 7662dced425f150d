"""Progress aggregates: SQL over the summary tables of :mod:`rehearse.storage.projections`.

Every figure is one indexed aggregate query (``ix_session_scores_candidate``,
``ix_answer_scores_candidate``, ``ix_answer_topics_candidate``): the database sums,
counts and groups; no session is decoded and no event log replayed. Results are
plain numbers and small rows for :mod:`rehearse.service.progress` to shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Engine,
    Float,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    type_coerce,
)

from rehearse.domain.progress import DAY_US, WEEK_SECONDS
from rehearse.domain.sessions import to_us
from rehearse.storage import transactions
from rehearse.storage.projections import DIMENSIONS
from rehearse.storage.schema import (
    answer_scores,
    answer_topics,
    candidate_areas,
    candidate_questions,
    candidate_totals,
    progress_milestones,
    session_scores,
)

WEEK_US = WEEK_SECONDS * 1_000_000
SCORED_STATUSES = ("completed", "expired")


@dataclass(frozen=True)
class Scope:
    """Which rows a progress query reads.

    Attributes:
        key: one candidate key (``None``: every candidate, or see ``name``).
        name: a lower-cased candidate name instead of a key (single-user installs).
        created_by: only sessions this interviewer created (their view of a candidate).
        since: only sessions created (answers evaluated) at or after this instant.
    """

    key: str | None = None
    name: str | None = None
    created_by: str | None = None
    since: datetime | None = None

    @property
    def totals(self) -> bool:
        """True when the running totals answer this scope (all time, by key or everyone)."""
        return self.since is None and self.name is None

    def where(self, table: Table, instant: str) -> list[ColumnElement[bool]]:
        """The WHERE conditions of this scope on ``table`` (``instant``: its time column)."""
        conditions: list[ColumnElement[bool]] = []
        if self.key is not None:
            conditions.append(table.c.candidate_key == self.key)
        elif self.name is not None:
            conditions.append(table.c.candidate_name == self.name)
        if self.created_by is not None:
            conditions.append(table.c.created_by == self.created_by)
        if self.since is not None:
            conditions.append(table.c[instant] >= self.since)
        return conditions


@dataclass(frozen=True)
class _Totals:
    total: int
    completed: int
    expired: int
    cancelled: int
    answered: int
    skipped: int
    active_us: int
    last_created_us: int | None
    n: int
    mean: float | None
    worst: int | None
    best: int | None
    squares: float
    sx: float
    sy: float
    sxy: float
    sxx: float


@dataclass(frozen=True)
class _TopicRow:
    topic: str
    answers: int
    hit: int
    missed: int
    mean: float


def _raw(column: Any) -> ColumnElement[int]:
    """An Instant column as its stored microseconds."""
    return type_coerce(column, BigInteger)


def local_day_expression(column: Any, segments: Sequence[tuple[int, int]]) -> ColumnElement[int]:
    """Days since 1970-01-01 in the user's zone, from (start microsecond, offset) segments."""
    raw = _raw(column)
    if len(segments) == 1:
        shifted: ColumnElement[int] = raw + segments[0][1]
    else:
        whens = [(raw < segments[i + 1][0], raw + segments[i][1]) for i in range(len(segments) - 1)]
        shifted = case(*whens, else_=raw + segments[-1][1])
    return shifted // DAY_US


def _scored() -> ColumnElement[bool]:
    return and_(
        session_scores.c.status.in_(SCORED_STATUSES), session_scores.c.overall_score.is_not(None)
    )


class ProgressQueries:
    """The aggregate queries, on one engine (read transactions)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _all(self, statement: Any, what: str) -> list[Any]:
        with transactions.read(self.engine, what) as connection:
            return list(connection.execute(statement).all())

    def session_totals(self, scope: Scope, origin: datetime) -> Any:
        """Counts, score moments and least-squares sums of the scope's sessions.

        ``x`` is weeks since ``origin`` (float), ``y`` the overall score.
        """
        if scope.totals:
            return self._running_totals(scope)
        t = session_scores.c
        scored = _scored()
        score = cast(t.overall_score, Float)
        x = cast(_raw(t.created_at) - to_us(origin), Float) / WEEK_US
        on_scored = case((scored, 1), else_=0)
        statement = select(
            func.count().label("total"),
            func.coalesce(func.sum(case((t.status == "completed", 1), else_=0)), 0).label(
                "completed"
            ),
            func.coalesce(func.sum(case((t.status == "expired", 1), else_=0)), 0).label("expired"),
            func.coalesce(func.sum(case((t.status == "cancelled", 1), else_=0)), 0).label(
                "cancelled"
            ),
            func.coalesce(func.sum(t.answered), 0).label("answered"),
            func.coalesce(func.sum(t.skipped), 0).label("skipped"),
            func.coalesce(func.sum(t.active_us), 0).label("active_us"),
            func.max(_raw(t.created_at)).label("last_created_us"),
            func.coalesce(func.sum(on_scored), 0).label("n"),
            func.avg(case((scored, score))).label("mean"),
            func.min(case((scored, t.overall_score))).label("worst"),
            func.max(case((scored, t.overall_score))).label("best"),
            func.sum(case((scored, score * score))).label("squares"),
            func.sum(case((scored, x))).label("sx"),
            func.sum(case((scored, score))).label("sy"),
            func.sum(case((scored, x * score))).label("sxy"),
            func.sum(case((scored, x * x))).label("sxx"),
        ).where(*scope.where(session_scores, "created_at"))
        return self._all(statement, "sum up sessions")[0]

    def _running_totals(self, scope: Scope) -> Any:
        """The same figures as :meth:`session_totals`, from ``candidate_totals`` rows."""
        c = candidate_totals.c

        def total(column: Any) -> Any:
            return func.coalesce(func.sum(column), 0)

        row = self._all(
            select(
                total(c.sessions).label("total"),
                total(c.completed).label("completed"),
                total(c.expired).label("expired"),
                total(c.cancelled).label("cancelled"),
                total(c.answered).label("answered"),
                total(c.skipped).label("skipped"),
                total(c.active_us).label("active_us"),
                func.max(_raw(c.last_created_at)).label("last_created_us"),
                total(c.scored).label("n"),
                total(c.score_sum).label("sy"),
                total(c.score_squares).label("squares"),
                total(c.t_sum).label("sx"),
                total(c.ty_sum).label("sxy"),
                total(c.t_squares).label("sxx"),
            ).where(*scope.where(candidate_totals, "")),
            "read the running totals",
        )[0]
        t = session_scores.c
        extremes = self._all(
            select(func.min(t.scored_score), func.max(t.scored_score)).where(
                *scope.where(session_scores, "created_at")
            ),
            "find the best and worst scores",
        )[0]
        n = int(row.n)
        return _Totals(
            total=row.total,
            completed=row.completed,
            expired=row.expired,
            cancelled=row.cancelled,
            answered=row.answered,
            skipped=row.skipped,
            active_us=row.active_us,
            last_created_us=row.last_created_us,
            n=n,
            mean=float(row.sy) / n if n else None,
            worst=extremes[0],
            best=extremes[1],
            squares=float(row.squares),
            sx=float(row.sx),
            sy=float(row.sy),
            sxy=float(row.sxy),
            sxx=float(row.sxx),
        )

    def median(self, scope: Scope, n: int) -> float | None:
        """The median overall score of ``n`` scored sessions (mean of the middle two if even)."""
        if n == 0:
            return None
        t = session_scores.c
        statement = (
            select(t.scored_score)
            .where(*scope.where(session_scores, "created_at"), t.scored_score.is_not(None))
            # in a period the creation index finds the rows; "+ 0" keeps the planner from
            # walking the whole score index instead
            .order_by(t.scored_score if scope.since is None else t.scored_score + 0)
            .limit(1 if n % 2 else 2)
            .offset((n - 1) // 2)
        )
        values = [row[0] for row in self._all(statement, "find the median score")]
        return sum(values) / len(values) if values else None

    def category_averages(self, scope: Scope) -> dict[str, float]:
        """Mean answer score per question category."""
        if scope.totals:
            return {row[0]: row[2] / row[1] for row in self._areas(scope, "category") if row[1]}
        t = answer_scores.c
        statement = (
            select(t.category, func.avg(cast(t.score, Float)))
            .where(*scope.where(answer_scores, "at"))
            .group_by(t.category)
        )
        return {row[0]: float(row[1]) for row in self._all(statement, "average categories")}

    def dimension_averages(self, scope: Scope) -> dict[str, float]:
        """Mean answer score per evaluation dimension (dimensions never scored left out)."""
        if scope.totals:
            found = {row[0]: row[2] / row[1] for row in self._areas(scope, "dimension") if row[1]}
            return {name: found[name] for name in DIMENSIONS if name in found}
        columns = [func.avg(cast(answer_scores.c[name], Float)) for name in DIMENSIONS]
        row = self._all(
            select(*columns).where(*scope.where(answer_scores, "at")), "average dimensions"
        )[0]
        return {
            name: float(value)
            for name, value in zip(DIMENSIONS, row, strict=True)
            if value is not None
        }

    def topics(self, scope: Scope) -> list[Any]:
        """Per topic: answers, key points hit and missed, mean score."""
        if scope.totals:
            return [
                _TopicRow(topic=r[0], answers=r[1], hit=r[3], missed=r[4], mean=r[2] / r[1])
                for r in self._areas(scope, "topic")
                if r[1]
            ]
        t = answer_topics.c
        statement = (
            select(
                t.topic,
                func.count().label("answers"),
                func.sum(t.key_points_hit).label("hit"),
                func.sum(t.key_points_missed).label("missed"),
                func.avg(cast(t.score, Float)).label("mean"),
            )
            .where(*scope.where(answer_topics, "at"))
            .group_by(t.topic)
        )
        return self._all(statement, "sum up topics")

    def _areas(self, scope: Scope, kind: str) -> list[Any]:
        """(area, answers, score sum, key points hit, missed) from ``candidate_areas``."""
        a = candidate_areas.c
        statement = (
            select(
                a.area,
                func.sum(a.answers),
                func.sum(a.score_sum),
                func.sum(a.key_points_hit),
                func.sum(a.key_points_missed),
            )
            .where(*scope.where(candidate_areas, ""), a.kind == kind)
            .group_by(a.area)
        )
        return [
            (r[0], int(r[1] or 0), float(r[2] or 0), int(r[3] or 0), int(r[4] or 0))
            for r in self._all(statement, f"read the {kind} totals")
        ]

    def practice_days(self, scope: Scope, segments: Sequence[tuple[int, int]]) -> list[int]:
        """Distinct local day numbers on which a session was started."""
        day = local_day_expression(session_scores.c.started_at, segments)
        statement = (
            select(day)
            .where(
                *scope.where(session_scores, "created_at"), session_scores.c.started_at.is_not(None)
            )
            .distinct()
        )
        return [int(row[0]) for row in self._all(statement, "find practice days")]

    def first_started(self, scope: Scope) -> int | None:
        """The earliest ``started_at`` in microseconds (one index probe)."""
        raw = _raw(session_scores.c.started_at)
        row = self._all(
            select(func.min(raw)).where(*scope.where(session_scores, "created_at")),
            "find the first practice",
        )[0]
        return None if row[0] is None else int(row[0])

    def breakdown(self, scope: Scope, column: str) -> list[Any]:
        """Sessions, completed sessions and mean score per value of ``column``."""
        t = session_scores.c
        statement = (
            select(
                t[column].label("key"),
                func.count().label("sessions"),
                func.coalesce(func.sum(case((t.status == "completed", 1), else_=0)), 0).label(
                    "completed"
                ),
                func.avg(case((_scored(), cast(t.overall_score, Float)))).label("mean"),
            )
            .where(*scope.where(session_scores, "created_at"))
            .group_by(t[column])
            .order_by(t[column])
        )
        return self._all(statement, f"group sessions by {column}")

    def histogram(self, scope: Scope) -> dict[int, int]:
        """Scored sessions per 10-point bin (0-9; 100 falls in bin 9)."""
        t = session_scores.c
        bin_ = case((t.overall_score >= 90, 9), else_=t.overall_score // 10)
        statement = (
            select(bin_, func.count())
            .where(*scope.where(session_scores, "created_at"), _scored())
            .group_by(bin_)
        )
        return {int(row[0]): int(row[1]) for row in self._all(statement, "bin scores")}

    def trend(self, scope: Scope, segments: Sequence[tuple[int, int]]) -> list[Any]:
        """Per local day of creation: mean overall score and scored sessions, oldest first."""
        t = session_scores.c
        day = local_day_expression(t.created_at, segments).label("day")
        statement = (
            select(day, func.avg(cast(t.overall_score, Float)), func.count())
            .where(*scope.where(session_scores, "created_at"), _scored())
            .group_by(day)
            .order_by(day)
        )
        return self._all(statement, "find the score trend")

    def questions_per_day(self, scope: Scope, segments: Sequence[tuple[int, int]]) -> list[Any]:
        """Per local day: evaluated main questions, oldest first."""
        t = answer_scores.c
        day = local_day_expression(t.at, segments).label("day")
        statement = (
            select(day, func.count())
            .where(*scope.where(answer_scores, "at"), t.kind == "question")
            .group_by(day)
            .order_by(day)
        )
        return self._all(statement, "count questions per day")

    def level_scores(self, scope: Scope) -> list[Any]:
        """Per interview level: scored sessions and their mean score."""
        t = session_scores.c
        statement = (
            select(t.level, func.count(), func.avg(cast(t.overall_score, Float)))
            .where(*scope.where(session_scores, "created_at"), _scored())
            .group_by(t.level)
        )
        return self._all(statement, "group scores by level")

    def question_histories(self, scope: Scope) -> list[Any]:
        """Per main question answered (all time): answers, poor answers, latest score, instant."""
        q = candidate_questions.c
        conditions = []
        if scope.key is not None:
            conditions.append(q.candidate_key == scope.key)
        if scope.created_by is not None:
            conditions.append(q.created_by == scope.created_by)
        statement = (
            select(
                q.question_id,
                func.sum(q.answers).label("answers"),
                func.sum(q.poor_answers).label("poor"),
                func.max(_raw(q.last_at)).label("last_us"),
                func.max(q.last_score).label("score"),
            )
            .where(*conditions, q.answers > 0)
            .group_by(q.question_id)
        )
        return self._all(statement, "find question histories")

    def answer_facts(self, scope: Scope) -> Any:
        """Evaluated answers, the best answer score and distinct categories answered."""
        t = answer_scores.c
        if scope.totals:
            c = candidate_totals.c
            count = self._all(
                select(func.coalesce(func.sum(c.answers), 0)).where(
                    *scope.where(candidate_totals, "")
                ),
                "count answers",
            )[0][0]
            best = self._all(
                select(func.max(t.score)).where(*scope.where(answer_scores, "at")), "best answer"
            )[0][0]
            tried = sum(1 for row in self._areas(scope, "category") if row[1])
            return int(count), best, tried
        statement = select(
            func.count(), func.max(t.score), func.count(func.distinct(t.category))
        ).where(*scope.where(answer_scores, "at"))
        return self._all(statement, "sum up answers")[0]

    def edge_averages(self, scope: Scope, count: int, newest: bool) -> tuple[int, float | None]:
        """(how many, mean score) of the first or newest ``count`` scored sessions."""
        t = session_scores.c
        order: list[Any] = [t.created_at, t.session_id]
        if newest:
            order = [t.created_at.desc(), t.session_id.desc()]
        inner = (
            select(t.overall_score)
            .where(*scope.where(session_scores, "created_at"), _scored())
            .order_by(*order)
            .limit(count)
            .subquery()
        )
        mean: Any = func.avg(cast(inner.c.overall_score, Float))
        row = self._all(select(func.count(), mean), "average sessions")[0]
        return int(row[0]), None if row[1] is None else float(row[1])

    def nth_completed(self, scope: Scope, n: int) -> Any:
        """The ``n``-th completed session (1-based) by end time: its id and ended_at."""
        t = session_scores.c
        statement = (
            select(t.session_id, t.ended_at)
            .where(*scope.where(session_scores, "created_at"), t.status == "completed")
            .order_by(t.ended_at, t.session_id)
            .limit(1)
            .offset(n - 1)
        )
        rows = self._all(statement, "find a completed session")
        return rows[0] if rows else None

    def nth_answer(self, scope: Scope, n: int, at_least: int | None = None) -> Any:
        """The ``n``-th evaluated answer (scoring ``at_least``, if given): session id and at."""
        t = answer_scores.c
        conditions = scope.where(answer_scores, "at")
        if at_least is not None:
            conditions.append(t.score >= at_least)
        statement = (
            select(t.session_id, t.at).where(*conditions).order_by(t.at, t.session_id).limit(1)
        ).offset(n - 1)
        rows = self._all(statement, "find an answer")
        return rows[0] if rows else None

    def latest_session(self, scope: Scope) -> Any:
        """The newest session of the scope: id and created_at."""
        t = session_scores.c
        statement = (
            select(t.session_id, t.created_at, t.ended_at)
            .where(*scope.where(session_scores, "created_at"))
            .order_by(t.created_at.desc(), t.session_id.desc())
            .limit(1)
        )
        rows = self._all(statement, "find the latest session")
        return rows[0] if rows else None

    def milestones(self, key: str) -> dict[str, tuple[datetime, str]]:
        """Milestones recorded for ``key``: id to (achieved_at, session id)."""
        t = progress_milestones.c
        rows = self._all(
            select(t.milestone, t.achieved_at, t.session_id).where(t.candidate_key == key),
            "read milestones",
        )
        return {row[0]: (row[1], row[2]) for row in rows}

    def comparison_rows(self, a: str, b: str) -> tuple[dict[str, Any], list[Any], list[Any]]:
        """For two sessions, in one read: their score rows by id, their answers, topic means."""
        ids = [a, b]
        t = answer_topics.c
        with transactions.read(self.engine, f"read sessions {a} and {b}") as connection:
            rows = connection.execute(
                select(session_scores).where(session_scores.c.session_id.in_(ids))
            ).all()
            answers = connection.execute(
                select(answer_scores).where(answer_scores.c.session_id.in_(ids))
            ).all()
            topics = connection.execute(
                select(t.session_id, t.topic, func.avg(cast(t.score, Float)))
                .where(t.session_id.in_(ids))
                .group_by(t.session_id, t.topic)
            ).all()
        return {row.session_id: row for row in rows}, list(answers), list(topics)

    def session_row(self, session_id: str) -> Any:
        """The ``session_scores`` row of one session, or ``None``."""
        rows = self._all(
            select(session_scores).where(session_scores.c.session_id == session_id),
            f"read the scores of session {session_id}",
        )
        return rows[0] if rows else None

    def session_answers(self, session_id: str) -> list[Any]:
        """The ``answer_scores`` rows of one session."""
        return self._all(
            select(answer_scores).where(answer_scores.c.session_id == session_id),
            f"read the answers of session {session_id}",
        )

    def session_topics(self, session_id: str) -> list[Any]:
        """Per topic of one session: mean score."""
        t = answer_topics.c
        return self._all(
            select(t.topic, func.avg(cast(t.score, Float)))
            .where(t.session_id == session_id)
            .group_by(t.topic),
            f"read the topics of session {session_id}",
        )

    def cohort(self, created_by: str | None) -> list[Any]:
        """Per candidate, from the running totals: sessions, scored sessions, sums, last activity.

        ``created_by`` limits it to one interviewer's sessions (``None``: everyone's).
        """
        c = candidate_totals.c
        statement = (
            select(
                c.candidate_key,
                func.max(c.candidate_name).label("name"),
                func.sum(c.sessions).label("sessions"),
                func.sum(c.scored).label("n"),
                func.sum(c.score_sum).label("sy"),
                func.sum(c.t_sum).label("sx"),
                func.sum(c.ty_sum).label("sxy"),
                func.sum(c.t_squares).label("sxx"),
                func.max(_raw(c.last_created_at)).label("last_us"),
            )
            .group_by(c.candidate_key)
            .having(func.sum(c.sessions) > 0)
        )
        if created_by is not None:
            statement = statement.where(c.created_by == created_by)
        return self._all(statement, "sum up the cohort")

    def cohort_categories(self, created_by: str | None) -> list[Any]:
        """Per candidate and category: answers and score sum (for each one's weakest area)."""
        a = candidate_areas.c
        statement = (
            select(a.candidate_key, a.area, func.sum(a.answers), func.sum(a.score_sum))
            .where(a.kind == "category")
            .group_by(a.candidate_key, a.area)
        )
        if created_by is not None:
            statement = statement.where(a.created_by == created_by)
        return self._all(statement, "sum up the cohort's categories")

    def known_key(self, key: str) -> bool:
        """True when some session is counted under candidate key ``key``."""
        rows = self._all(
            select(literal(1)).where(session_scores.c.candidate_key == key).limit(1),
            "look up a candidate",
        )
        return bool(rows)
