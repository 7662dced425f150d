"""Progress across sessions (issue 12, seed ``004_*``): the five calls over SQL aggregates.

:class:`ProgressService` receives its collaborators (the store, a clock, the question
bank) and is what :class:`~rehearse.service.sessions.SessionManager`'s progress methods
delegate to. Figures come from :class:`~rehearse.storage.progress.ProgressQueries`
(indexed aggregates over summary rows); the rules from :mod:`rehearse.domain.progress`.

Who "a user" is: a candidate key (see :func:`rehearse.storage.projections.candidate_key`).
``resolve`` turns what a caller typed (an e-mail, a principal id, a name, ``me``) into
a :class:`~rehearse.storage.progress.Scope`, and applies the access rules of
:mod:`rehearse.domain.access`: admins see everyone, interviewers the sessions they
created, candidates only themselves.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from rehearse.bank import QuestionBank, load_bank
from rehearse.clock import Clock, SystemClock
from rehearse.domain.access import LOCAL_PRINCIPAL, Principal, PrincipalRole, candidate_identity
from rehearse.domain.config import Level
from rehearse.domain.events import EventType, NewEvent
from rehearse.domain.progress import (
    GOOD_SCORE,
    Breakdown,
    DateCount,
    FocusArea,
    LearningPath,
    LevelScore,
    Milestone,
    MilestoneFacts,
    PracticeItem,
    ProgressAnalytics,
    QuestionDelta,
    QuestionHistory,
    ScoreBin,
    ScoreDelta,
    SessionComparison,
    TopicScore,
    TrendPoint,
    UserProgress,
    day_from_number,
    day_number,
    due_reviews,
    estimate_level,
    judge_milestones,
    least_squares_slope,
    local_day,
    next_level,
    offset_segments,
    parse_period,
    parse_time_zone,
    population_std_dev,
    streaks,
    weekly_plan,
    weeks_to_target,
)
from rehearse.domain.sessions import Session, from_us
from rehearse.errors import (
    AccessDeniedError,
    ConcurrentUpdateError,
    ConfigurationError,
    DataStoreError,
    SessionNotFoundError,
)
from rehearse.service.writer import MAX_ATTEMPTS
from rehearse.storage import transactions
from rehearse.storage.progress import ProgressQueries, Scope
from rehearse.storage.projections import DIMENSIONS
from rehearse.storage.schema import users
from rehearse.storage.sql import SQLStore

#: Questions in the next practice set of a learning path.
PRACTICE_SET_SIZE = 6
#: Topics listed as strongest and weakest.
TOPICS_SHOWN = 3
EVERYONE = "*"


class Preferences(BaseModel):
    """Per-installation progress settings, kept in ``<data dir>/progress.json``.

    Attributes:
        as_user: who ``me`` is on a single-user install (``rehearse progress --as``).
        time_zone: IANA zone streaks and dates are counted in.
        target_level: the level a learning path aims at (default: the next one).
    """

    model_config = ConfigDict(frozen=True)

    as_user: str | None = None
    time_zone: str = "UTC"
    target_level: Level | None = None


def load_preferences(path: Path) -> Preferences:
    """The preferences stored at ``path`` (defaults when there is no file)."""
    try:
        return Preferences.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return Preferences()
    except (ValueError, OSError) as exc:
        raise ConfigurationError(
            f"{path}: unreadable progress settings ({exc}); delete it"
        ) from exc


def save_preferences(path: Path, preferences: Preferences) -> None:
    """Write ``preferences`` to ``path`` atomically."""
    from rehearse.storage.folders import write_atomic

    write_atomic(path, preferences.model_dump_json(indent=2).encode())


class CohortRow(BaseModel):
    """One candidate in a coach's cohort view."""

    model_config = ConfigDict(frozen=True)

    user: str
    name: str
    sessions: int
    scored_sessions: int
    average_score: float | None
    improvement_rate: float | None
    last_active_at: datetime | None
    weakest_area: str | None


class ProgressService:
    """The progress calls over one SQL store.

    Args:
        store: the SQL store (its engine is read directly for aggregates).
        clock: the time source.
        preferences: where ``me``, the time zone and the target level come from.
        bank: the question bank for learning paths (default: loaded on first use).
    """

    def __init__(
        self,
        store: Any,
        clock: Clock | None = None,
        *,
        preferences: Callable[[], Preferences] | None = None,
        bank: QuestionBank | None = None,
    ) -> None:
        if not isinstance(store, SQLStore):
            raise ConfigurationError("progress needs a SQL store (sqlite:// or postgresql://)")
        self.store = store
        self.queries = ProgressQueries(store.engine)
        self.clock: Clock = clock or SystemClock()
        self._preferences = preferences or Preferences
        self._bank = bank

    @property
    def bank(self) -> QuestionBank:
        """The question bank (loaded once)."""
        if self._bank is None:
            self._bank = load_bank()
        return self._bank

    # -- who -------------------------------------------------------------------------

    def resolve(self, user: str | None, principal: Principal | None = None) -> tuple[str, Scope]:
        """The candidate key and query scope for ``user`` as ``principal`` may see it.

        Args:
            user: an e-mail, a principal id, ``name:<name>``, a candidate name, ``me``
                or ``None`` (the principal themself; on a single-user install the
                ``--as`` setting, else every session), or ``*`` (everyone, admins only).
            principal: the caller (default: the local user, an admin).

        Raises:
            AccessDeniedError: a candidate asking for someone else, or a non-admin for ``*``.
        """
        who = principal or LOCAL_PRINCIPAL
        text = (user or "").strip()
        if text.lower() in ("", "me"):
            if who.role is PrincipalRole.CANDIDATE:
                text = candidate_identity(who).key
            else:
                text = self._preferences().as_user or EVERYONE
        if text == EVERYONE:
            if who.role is not PrincipalRole.ADMIN:
                raise AccessDeniedError(
                    f"{who.role.value} {who.id!r} may not read everyone's progress; name a user"
                )
            scope = Scope()
            key = EVERYONE
        else:
            key, scope = self._identify(text)
        if who.role is PrincipalRole.CANDIDATE:
            if key not in candidate_identity(who).keys:
                raise AccessDeniedError(
                    f"candidate {who.id!r} may see only their own progress, not {text!r}"
                )
        elif who.role is PrincipalRole.INTERVIEWER:
            scope = replace(scope, created_by=who.id)
        return key, scope

    def _identify(self, text: str) -> tuple[str, Scope]:
        if "@" in text:
            key = text.lower()
            return key, Scope(key=key)
        if text.lower().startswith("name:"):
            return text.lower(), Scope(key=text.lower())
        with transactions.read(self.store.engine, "look up a user") as connection:
            email = connection.execute(
                select(users.c.email).where(users.c.id == text)
            ).scalar_one_or_none()
        if email:
            return email.lower(), Scope(key=email.lower())
        if self.queries.known_key(text):
            return text, Scope(key=text)
        named = f"name:{text.lower()}"
        if self.queries.known_key(named):
            return named, Scope(key=named)
        return named, Scope(name=text.lower())

    def _zone(self, time_zone: str | None) -> ZoneInfo:
        return parse_time_zone(time_zone or self._preferences().time_zone)

    # -- progress --------------------------------------------------------------------

    def get_user_progress(
        self,
        user: str | None = None,
        *,
        principal: Principal | None = None,
        time_zone: str | None = None,
    ) -> UserProgress:
        """Progress over all the user's sessions (see :class:`UserProgress` for the figures).

        Raises:
            AccessDeniedError: the principal may not see this user's progress.
            ConfigurationError: an unknown time zone.
        """
        key, scope = self.resolve(user, principal)
        return self._progress(key, scope, self._zone(time_zone))

    def _progress(self, key: str, scope: Scope, zone: ZoneInfo) -> UserProgress:
        return self._progress_and_topics(key, scope, zone)[0]

    def _progress_and_topics(
        self, key: str, scope: Scope, zone: ZoneInfo
    ) -> tuple[UserProgress, list[TopicScore]]:
        now = self.clock.now()
        totals = self.queries.session_totals(scope, now)
        n = int(totals.n)
        slope = least_squares_slope(
            n, totals.sx or 0.0, totals.sy or 0.0, totals.sxy or 0.0, totals.sxx or 0.0
        )
        current, longest = self._streaks(scope, zone, now)
        topics = [_topic(row) for row in self.queries.topics(scope)]
        weakest = sorted(topics, key=lambda t: (t.coverage_percent, t.average_score, t.topic))
        strongest = sorted(topics, key=lambda t: (-t.coverage_percent, -t.average_score, t.topic))
        total = int(totals.total)
        progress = UserProgress(
            user=key,
            total_sessions=total,
            completed_sessions=int(totals.completed),
            expired_sessions=int(totals.expired),
            cancelled_sessions=int(totals.cancelled),
            completion_rate=round(int(totals.completed) / total, 4) if total else 0.0,
            questions_answered=int(totals.answered),
            questions_skipped=int(totals.skipped),
            practice_seconds=round(int(totals.active_us) / 1_000_000, 3),
            scored_sessions=n,
            average_score=_round(totals.mean),
            median_score=self.queries.median(scope, n),
            best_score=None if totals.best is None else int(totals.best),
            worst_score=None if totals.worst is None else int(totals.worst),
            score_std_dev=_round(population_std_dev(n, totals.sy or 0.0, totals.squares or 0.0)),
            category_averages=_rounded(self.queries.category_averages(scope)),
            dimension_averages=_rounded(self.queries.dimension_averages(scope)),
            improvement_rate=_round(slope, 3),
            current_streak_days=current,
            longest_streak_days=longest,
            strongest_topics=strongest[:TOPICS_SHOWN],
            weakest_topics=weakest[:TOPICS_SHOWN],
            time_zone=zone.key,
            last_active_at=None
            if totals.last_created_us is None
            else from_us(int(totals.last_created_us)),
        )
        return progress, topics

    def _segments(self, scope: Scope, zone: ZoneInfo, now: datetime) -> list[tuple[int, int]]:
        first = self.queries.first_started(scope)
        start = from_us(first) if first is not None else now
        return _segments_between(zone.key, local_day(min(start, now), zone), local_day(now, zone))

    def _streaks(self, scope: Scope, zone: ZoneInfo, now: datetime) -> tuple[int, int]:
        days = self.queries.practice_days(
            replace(scope, since=None), self._segments(scope, zone, now)
        )
        return streaks((day_from_number(d) for d in days), today=local_day(now, zone))

    # -- analytics -------------------------------------------------------------------

    def get_progress_analytics(
        self,
        user: str | None = None,
        period: str = "30d",
        *,
        principal: Principal | None = None,
        time_zone: str | None = None,
    ) -> ProgressAnalytics:
        """Progress over ``period`` (``7d``, ``30d``, ``90d``, ``all``) with breakdowns.

        Raises:
            ConfigurationError: an unknown period or time zone.
            AccessDeniedError: the principal may not see this user's progress.
        """
        chosen = parse_period(period)
        key, scope = self.resolve(user, principal)
        zone = self._zone(time_zone)
        now = self.clock.now()
        since = chosen.since(now)
        scoped = replace(scope, since=since)
        progress, topics = self._progress_and_topics(key, scoped, zone)
        segments = self._segments(scope, zone, now)
        bins = self.queries.histogram(scoped)
        return ProgressAnalytics(
            user=key,
            period=chosen,
            since=since,
            sessions_completed=progress.completed_sessions,
            progress=progress,
            by_type=self._breakdown(scoped, "interview_type"),
            by_mode=self._breakdown(scoped, "mode"),
            by_role=self._breakdown(scoped, "role"),
            score_distribution=[
                ScoreBin(low=b * 10, high=100 if b == 9 else b * 10 + 9, count=bins.get(b, 0))
                for b in range(10)
            ],
            score_trend=[
                TrendPoint(
                    date=day_from_number(int(day)),
                    average_score=round(float(mean), 2),
                    sessions=int(count),
                )
                for day, mean, count in self.queries.trend(scoped, segments)
            ],
            questions_per_date=[
                DateCount(date=day_from_number(int(day)), questions=int(count))
                for day, count in self.queries.questions_per_day(scoped, segments)
            ],
            focus_recommendations=self._focus(topics, progress),
        )

    def _breakdown(self, scope: Scope, column: str) -> list[Breakdown]:
        return [
            Breakdown(
                key=row.key,
                sessions=int(row.sessions),
                completed=int(row.completed),
                average_score=_round(row.mean),
            )
            for row in self.queries.breakdown(scope, column)
        ]

    def _focus(
        self, topics: list[TopicScore], progress: UserProgress, limit: int = 5
    ) -> list[FocusArea]:
        areas: list[FocusArea] = []
        for topic in sorted(topics, key=lambda t: t.coverage_percent):
            if topic.coverage_percent < GOOD_SCORE:
                total = topic.key_points_covered + topic.key_points_missed
                areas.append(
                    FocusArea(
                        area=topic.topic,
                        kind="topic",
                        score=topic.coverage_percent,
                        evidence=f"{topic.key_points_covered} of {total} key points covered "
                        f"over {topic.answers} answer(s)",
                    )
                )
        for name, value in progress.dimension_averages.items():
            if value < GOOD_SCORE:
                areas.append(
                    FocusArea(
                        area=name,
                        kind="dimension",
                        score=value,
                        evidence=f"{name.replace('_', ' ')} averages {value:.0f} of 100",
                    )
                )
        for name, value in progress.category_averages.items():
            if value < GOOD_SCORE:
                areas.append(
                    FocusArea(
                        area=name,
                        kind="category",
                        score=value,
                        evidence=f"{name.replace('_', ' ')} answers average {value:.0f} of 100",
                    )
                )
        areas.sort(key=lambda a: (a.score, a.kind, a.area))
        return areas[:limit]

    # -- comparison ------------------------------------------------------------------

    def compare_sessions(
        self, a: str, b: str, *, principal: Principal | None = None
    ) -> SessionComparison:
        """Session ``b`` against session ``a``: deltas are ``b - a``.

        Raises:
            SessionNotFoundError: either session does not exist.
            AccessDeniedError: the caller may not see one of them (sessions of two
                candidates need a caller who may see both).
        """
        from rehearse.domain.access import can_access

        who = principal or LOCAL_PRINCIPAL
        if who.role is not PrincipalRole.ADMIN:  # admins see every session: no need to read them
            for session_id in (a, b):
                session: Session | None = self.store.get(session_id)
                if session is None:
                    raise SessionNotFoundError(session_id)
                if not can_access(who, session):
                    raise AccessDeniedError(
                        f"{who.role.value} {who.id!r} may not compare session {session_id}: "
                        "it belongs to a candidate they may not see"
                    )
        found, answers, topic_rows = self.queries.comparison_rows(a, b)
        for session_id in (a, b):
            if session_id not in found:
                raise SessionNotFoundError(session_id)
        first, second = found[a], found[b]
        answers_a = {r.item_id: r for r in answers if r.session_id == a}
        answers_b = {r.item_id: r for r in answers if r.session_id == b}
        categories = _deltas(
            _means(answers_a.values(), "category"), _means(answers_b.values(), "category")
        )
        dimensions = _deltas(
            {d: v for d in DIMENSIONS if (v := _column_mean(answers_a.values(), d)) is not None},
            {d: v for d in DIMENSIONS if (v := _column_mean(answers_b.values(), d)) is not None},
        )
        topics = _deltas(
            {r[1]: float(r[2]) for r in topic_rows if r[0] == a},
            {r[1]: float(r[2]) for r in topic_rows if r[0] == b},
        )
        by_question_a = _best_by_question(answers_a.values())
        by_question_b = _best_by_question(answers_b.values())
        common = [
            QuestionDelta(
                question_id=q,
                score_a=by_question_a[q],
                score_b=by_question_b[q],
                delta=by_question_b[q] - by_question_a[q],
            )
            for q in sorted(set(by_question_a) & set(by_question_b))
        ]
        overall = (
            None
            if first.overall_score is None or second.overall_score is None
            else int(second.overall_score) - int(first.overall_score)
        )
        areas = {**categories, **dimensions, **{f"topic:{k}": v for k, v in topics.items()}}
        if overall is not None:
            areas = {
                "overall": ScoreDelta(a=first.overall_score, b=second.overall_score, delta=overall),
                **areas,
            }
        time_a = int(first.active_us) / 1_000_000
        time_b = int(second.active_us) / 1_000_000
        return SessionComparison(
            session_a=a,
            session_b=b,
            score_a=first.overall_score,
            score_b=second.overall_score,
            overall_delta=overall,
            category_deltas=categories,
            dimension_deltas=dimensions,
            topic_deltas=topics,
            time_used_a_seconds=round(time_a, 3),
            time_used_b_seconds=round(time_b, 3),
            time_delta_seconds=round(time_b - time_a, 3),
            common_questions=common,
            improved=[k for k, v in areas.items() if v.delta is not None and v.delta > 0],
            regressed=[k for k, v in areas.items() if v.delta is not None and v.delta < 0],
        )

    # -- learning path ---------------------------------------------------------------

    def generate_learning_path(
        self,
        user: str | None = None,
        *,
        principal: Principal | None = None,
        target_level: Level | str | None = None,
    ) -> LearningPath:
        """The level estimate, focus areas, next practice set and weekly plan.

        Raises:
            ConfigurationError: an unknown target level.
            AccessDeniedError: the principal may not see this user's progress.
        """
        key, scope = self.resolve(user, principal)
        now = self.clock.now()
        progress, topics = self._progress_and_topics(key, scope, self._zone(None))
        by_level = [
            LevelScore(level=Level(level), sessions=int(count), average_score=float(mean))
            for level, count, mean in self.queries.level_scores(scope)
        ]
        current, evidence = estimate_level(by_level)
        wanted = target_level or self._preferences().target_level
        if wanted is not None:
            try:
                target = Level(wanted)
            except ValueError:
                allowed = ", ".join(level.value for level in Level)
                raise ConfigurationError(
                    f"target_level={wanted!r}: not a level (allowed: {allowed})",
                    [{"field": "target_level", "value": wanted, "message": f"allowed: {allowed}"}],
                ) from None
        else:
            target = next_level(current)
        focus = self._focus(topics, progress)
        practice = self._practice_set(scope, focus, target, now)
        at_target = next((e for e in by_level if e.level is target), None)
        reference = at_target.average_score if at_target else progress.average_score
        gap = GOOD_SCORE - (reference if reference is not None else 0.0)
        return LearningPath(
            user=key,
            current_level=current,
            level_evidence=evidence,
            target_level=target,
            target_score=GOOD_SCORE,
            focus_areas=focus,
            next_practice_set=practice,
            weekly_plan=weekly_plan(focus, practice),
            improvement_rate=progress.improvement_rate,
            weeks_to_target=weeks_to_target(gap, progress.improvement_rate),
        )

    def _practice_set(
        self, scope: Scope, focus: list[FocusArea], level: Level, now: datetime
    ) -> list[PracticeItem]:
        histories = [
            QuestionHistory(
                question_id=row.question_id,
                answers=int(row.answers),
                poor_answers=int(row.poor or 0),
                last_score=int(row.score),
                last_at=from_us(int(row.last_us)),
            )
            for row in self.queries.question_histories(scope)
        ]
        chosen: list[PracticeItem] = []
        for history, due_at, interval in due_reviews(histories, now):
            question = self.bank.get(history.question_id)
            if question is None:
                continue
            chosen.append(
                PracticeItem(
                    question_id=question.id,
                    text=question.text,
                    category=question.category.value,
                    reason="review",
                    last_score=history.last_score,
                    due_at=due_at,
                    interval_days=interval,
                )
            )
            if len(chosen) >= PRACTICE_SET_SIZE:
                return chosen
        asked = {h.question_id for h in histories}
        wanted_topics = [a.area for a in focus if a.kind == "topic"]
        wanted_categories = [a.area for a in focus if a.kind == "category"]
        candidates = [q for q in self.bank if q.id not in asked and level in q.levels]

        def rank(question: Any) -> tuple[int, str]:
            tags = {t.lower() for t in question.tags}
            hits = [i for i, t in enumerate(wanted_topics) if t in tags]
            if hits:
                return hits[0], question.id
            if question.category.value in wanted_categories:
                return len(wanted_topics) + wanted_categories.index(
                    question.category.value
                ), question.id
            return len(wanted_topics) + len(wanted_categories) + 1, question.id

        for question in sorted(candidates, key=rank)[: PRACTICE_SET_SIZE - len(chosen)]:
            chosen.append(
                PracticeItem(
                    question_id=question.id,
                    text=question.text,
                    category=question.category.value,
                    reason="new",
                )
            )
        return chosen

    # -- milestones ------------------------------------------------------------------

    def get_milestones(
        self, user: str | None = None, *, principal: Principal | None = None
    ) -> list[Milestone]:
        """Every milestone with its progress and, once recorded, the date it was achieved.

        A read records nothing: milestones are recorded when they are achieved, by
        :meth:`record_milestones` after a session's report is stored. A milestone the
        figures show reached but not yet recorded (history from before that rule) reads
        as achieved without a date until the candidate's next session ends.

        Raises:
            AccessDeniedError: the principal may not see this user's progress.
        """
        key, scope = self.resolve(user, principal)
        facts = self._facts(scope, self._zone(None), self.clock.now())
        return judge_milestones(facts, self.queries.milestones(key))

    def record_milestones(self, session_id: str) -> list[str]:
        """Record the milestones newly achieved by the candidate of ``session_id``; their ids.

        Called by the system after a session's report is stored (see
        :class:`~rehearse.service.composition.Services`), so no access check. Each new
        milestone is appended as one ``milestone_achieved`` event to the session that
        achieved it; the primary key ``(candidate_key, milestone)`` of
        ``progress_milestones``, written in that event's transaction, refuses a second
        one, so concurrent callers and repeated calls (a restart) record it exactly once.
        The streak milestone counts days in the installation's time zone setting.

        Returns:
            The ids recorded by this call (``[]`` when nothing was new, or the session
            has no progress row).

        Raises:
            DataStoreError: the database failed.
        """
        row = self.queries.session_row(session_id)
        if row is None:
            return []
        key = str(row.candidate_key)
        scope = Scope(key=key)
        recorded = self.queries.milestones(key)
        facts = self._facts(scope, self._zone(None), self.clock.now())
        fresh = [
            m for m in judge_milestones(facts, recorded) if m.achieved and m.id not in recorded
        ]
        written = []
        for milestone in fresh:
            found = self._achiever(scope, milestone.id)
            if found is not None and self._record(key, milestone, found[0], found[1]):
                written.append(milestone.id)
        return written

    def _facts(self, scope: Scope, zone: ZoneInfo, now: datetime) -> MilestoneFacts:
        totals = self.queries.session_totals(scope, now)
        answers, best, categories = self.queries.answer_facts(scope)
        recent_n, recent = self.queries.edge_averages(scope, 5, newest=True)
        first_n, first = self.queries.edge_averages(scope, 3, newest=False)
        _, latest = self.queries.edge_averages(scope, 3, newest=True)
        enough = int(totals.n) >= 6  # first and latest three never overlap
        return MilestoneFacts(
            sessions_completed=int(totals.completed),
            questions_answered=int(answers),
            recent_average=recent if recent_n >= 5 else None,
            first_average=first if enough and first_n == 3 else None,
            latest_average=latest if enough else None,
            longest_streak_days=self._streaks(scope, zone, now)[1],
            best_answer=None if best is None else int(best),
            categories_tried=int(categories),
        )

    def _achiever(self, scope: Scope, milestone: str) -> tuple[str, datetime] | None:
        row: Any
        if milestone == "first_session":
            row = self.queries.nth_completed(scope, 1)
        elif milestone == "ten_sessions":
            row = self.queries.nth_completed(scope, 10)
        elif milestone == "hundred_questions":
            row = self.queries.nth_answer(scope, 100)
        elif milestone == "first_90_answer":
            row = self.queries.nth_answer(scope, 1, at_least=90)
        else:
            latest = self.queries.latest_session(scope)
            row = (
                None
                if latest is None
                else (latest.session_id, latest.ended_at or latest.created_at)
            )
        if row is None:
            return None
        return str(row[0]), row[1]

    def _record(self, key: str, milestone: Milestone, session_id: str, at: datetime) -> bool:
        """Append the ``milestone_achieved`` event; False when another writer recorded it."""
        event = NewEvent(
            type=EventType.MILESTONE_ACHIEVED,
            at=at,
            data={
                "candidate_key": key,
                "milestone": milestone.id,
                "title": milestone.title,
                "value": milestone.current,
            },
        )
        retrying = Retrying(
            retry=retry_if_exception_type(ConcurrentUpdateError),
            stop=stop_after_attempt(MAX_ATTEMPTS),
            wait=wait_random_exponential(multiplier=0.002, max=0.05),
            reraise=True,
        )
        try:
            retrying(self.store.mutate, session_id, lambda s: (s, [event]), "system")
        except DataStoreError:
            # another caller recorded it first (the primary key refused a second row)
            if milestone.id not in self.queries.milestones(key):
                raise
            return False
        return True

    # -- cohort ----------------------------------------------------------------------

    def cohort(self, principal: Principal | None = None) -> list[CohortRow]:
        """Every candidate the caller may see: sessions, average, trend, last active, weakest.

        Raises:
            AccessDeniedError: a candidate (the cohort view is for interviewers and admins).
        """
        who = principal or LOCAL_PRINCIPAL
        if who.role is PrincipalRole.CANDIDATE:
            raise AccessDeniedError(
                f"candidate {who.id!r} may not see a cohort; it is for interviewers and admins"
            )
        created_by = who.id if who.role is PrincipalRole.INTERVIEWER else None
        now = self.clock.now()
        weakest: dict[str, tuple[float, str]] = {}
        for key, category, answers, total in self.queries.cohort_categories(created_by):
            if not answers:
                continue
            mean = float(total) / int(answers)
            if key not in weakest or mean < weakest[key][0]:
                weakest[key] = (mean, category)
        rows = []
        for row in self.queries.cohort(created_by):
            n = int(row.n or 0)
            slope = least_squares_slope(
                n, row.sx or 0.0, row.sy or 0.0, row.sxy or 0.0, row.sxx or 0.0
            )
            rows.append(
                CohortRow(
                    user=row.candidate_key,
                    name=row.name,
                    sessions=int(row.sessions),
                    scored_sessions=n,
                    average_score=round(float(row.sy) / n, 2) if n else None,
                    improvement_rate=_round(slope, 3),
                    last_active_at=None if row.last_us is None else from_us(int(row.last_us)),
                    weakest_area=weakest[row.candidate_key][1]
                    if row.candidate_key in weakest
                    else None,
                )
            )
        rows.sort(
            key=lambda r: r.last_active_at or datetime.min.replace(tzinfo=now.tzinfo), reverse=True
        )
        return rows


COHORT_COLUMNS = (
    "user",
    "name",
    "sessions",
    "scored_sessions",
    "average_score",
    "improvement_rate",
    "last_active_at",
    "weakest_area",
)


def cohort_csv(rows: list[CohortRow]) -> str:
    """The cohort as CSV text: a header, then one candidate a line (empty cell for none)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COHORT_COLUMNS)
    for row in rows:
        data = row.model_dump(mode="json")
        writer.writerow(["" if data[c] is None else data[c] for c in COHORT_COLUMNS])
    return out.getvalue()


def preferences_path() -> Path:
    """Where progress preferences live: ``<data dir>/progress.json``."""
    from rehearse.settings import get_settings

    return get_settings().data_dir / "progress.json"


@functools.lru_cache(maxsize=256)
def _segments_between(zone: str, first: date, last: date) -> list[tuple[int, int]]:
    """The zone's UTC offsets from the day before ``first`` to the day after ``last`` (cached)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(first - timedelta(days=1), time(), tz)
    end = datetime.combine(last + timedelta(days=2), time(), tz)
    return offset_segments(tz, start, end)


# -- shaping -------------------------------------------------------------------------


def _round(value: Any, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in sorted(values.items())}


def _topic(row: Any) -> TopicScore:
    hit, missed = int(row.hit or 0), int(row.missed or 0)
    coverage = 100.0 * hit / (hit + missed) if hit + missed else float(row.mean or 0)
    return TopicScore(
        topic=row.topic,
        answers=int(row.answers),
        key_points_covered=hit,
        key_points_missed=missed,
        coverage_percent=round(coverage, 1),
        average_score=round(float(row.mean or 0), 1),
    )


def _means(rows: Any, column: str) -> dict[str, float]:
    groups: dict[str, list[int]] = {}
    for row in rows:
        groups.setdefault(getattr(row, column), []).append(int(row.score))
    return {k: sum(v) / len(v) for k, v in groups.items()}


def _column_mean(rows: Any, column: str) -> float | None:
    values = [int(v) for row in rows if (v := getattr(row, column)) is not None]
    return sum(values) / len(values) if values else None


def _best_by_question(rows: Any) -> dict[str, int]:
    best: dict[str, int] = {}
    for row in rows:
        if row.kind == "question":
            best[row.question_id] = max(best.get(row.question_id, 0), int(row.score))
    return best


def _deltas(a: dict[str, float], b: dict[str, float]) -> dict[str, ScoreDelta]:
    return {
        k: ScoreDelta(a=round(a[k], 2), b=round(b[k], 2), delta=round(b[k] - a[k], 2))
        for k in sorted(set(a) & set(b))
    }


__all__ = [
    "CohortRow",
    "Preferences",
    "ProgressService",
    "cohort_csv",
    "day_number",
    "load_preferences",
    "preferences_path",
    "save_preferences",
]
