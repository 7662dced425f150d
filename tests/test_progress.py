"""Progress across sessions on real storage: projections, SQL aggregates, access, milestones."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select

from progress_history import ScriptedEvaluator, run_session
from rehearse.clock import FakeClock
from rehearse.domain.access import Principal, PrincipalRole
from rehearse.domain.progress import improvement_rate
from rehearse.errors import AccessDeniedError, ConfigurationError
from rehearse.scoring.evaluator import Dimension
from rehearse.service.progress import ProgressService
from rehearse.service.sessions import SessionManager
from rehearse.storage import SQLStore
from rehearse.storage.projections import rebuild, refresh_totals
from rehearse.storage.schema import (
    answer_scores,
    answer_topics,
    candidate_areas,
    candidate_questions,
    candidate_totals,
    progress_milestones,
    session_events,
    session_questions,
    session_scores,
)

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PROGRESS_TABLES = (
    candidate_questions,
    candidate_totals,
    candidate_areas,
    session_scores,
    answer_scores,
    answer_topics,
    session_questions,
    progress_milestones,
)


@pytest.fixture
def scripted(store: SQLStore, clock: FakeClock) -> SessionManager:
    return SessionManager(store, clock, evaluator=ScriptedEvaluator())


def test_progress_follows_the_reports_of_real_sessions(
    scripted: SessionManager, clock: FakeClock
) -> None:
    ids = []
    for week, scores in enumerate([[40, 50], [60, 60], [70, 90]]):
        if week:
            clock.advance(7 * 24 * 3600)
        ids.append(run_session(scripted, clock, scores, seed=week))
    progress = scripted.get_user_progress("ada@example.com")
    reports = [scripted.get_report(i).overall_score for i in ids]
    assert reports == [45, 60, 80]
    assert progress.total_sessions == progress.completed_sessions == 3
    assert progress.questions_answered == 6 and progress.questions_skipped == 0
    assert progress.average_score == pytest.approx(statistics.mean([45, 60, 80]), abs=0.01)
    assert progress.median_score == 60 and progress.best_score == 80 and progress.worst_score == 45
    assert progress.improvement_rate is not None and progress.improvement_rate > 0
    assert progress.improvement_rate == pytest.approx(17.5, abs=0.05)
    assert progress.practice_seconds == pytest.approx(3 * 120, abs=1)
    assert set(progress.dimension_averages) == {d.value for d in Dimension}
    assert progress.weakest_topics and progress.strongest_topics
    assert progress.longest_streak_days == 1  # a week apart: no streak of two days

    comparison = scripted.compare_sessions(ids[0], ids[2])
    assert comparison.overall_delta == 35
    assert "overall" in comparison.improved and not comparison.regressed

    analytics = scripted.get_progress_analytics("ada@example.com", "all")
    assert analytics.sessions_completed == 3
    assert sum(b.count for b in analytics.score_distribution) == 3
    assert [p.average_score for p in analytics.score_trend] == [45, 60, 80]
    assert sum(d.questions for d in analytics.questions_per_date) == 6
    last_week = scripted.get_progress_analytics("ada@example.com", "7d")
    assert last_week.sessions_completed == 1 and last_week.progress.improvement_rate is None
    assert sum(d.questions for d in last_week.questions_per_date) == 2


def test_falling_scores_trend_down_and_skips_count_zero(
    scripted: SessionManager, clock: FakeClock
) -> None:
    histories: list[list[int | None]] = [[90, 90], [70, None], [50, None]]
    for seed, scores in enumerate(histories):
        run_session(scripted, clock, scores, seed=seed)
        clock.advance(24 * 3600)
    progress = scripted.get_user_progress("ada@example.com")
    assert progress.questions_skipped == 2
    assert progress.worst_score == 25  # (50 + 0) / 2: a skipped question counts 0
    assert progress.improvement_rate is not None and progress.improvement_rate < 0
    assert progress.current_streak_days == 3 and progress.longest_streak_days == 3


def test_an_empty_history(scripted: SessionManager) -> None:
    progress = scripted.get_user_progress("nobody@example.com")
    assert progress.total_sessions == 0 and progress.completion_rate == 0
    assert progress.average_score is None and progress.improvement_rate is None
    assert progress.current_streak_days == progress.longest_streak_days == 0
    path = scripted.generate_learning_path("nobody@example.com")
    assert path.current_level.value == "junior" and path.weeks_to_target is None
    assert len(path.next_practice_set) == 6 and all(
        p.reason == "new" for p in path.next_practice_set
    )
    assert not any(m.achieved for m in scripted.get_milestones("nobody@example.com"))


def test_only_skipped_or_cancelled_sessions_have_no_scores(
    scripted: SessionManager, clock: FakeClock
) -> None:
    run_session(scripted, clock, [None, None], seed=1)
    run_session(scripted, clock, [80], seed=2, end="cancel")
    progress = scripted.get_user_progress("ada@example.com")
    assert progress.total_sessions == 2 and progress.cancelled_sessions == 1
    assert progress.completed_sessions == 1 and progress.scored_sessions == 1
    assert progress.average_score == 0  # two skips: the report scores 0
    assert progress.questions_skipped == 2
    cancelled_only = scripted.get_user_progress("ada@example.com")
    assert cancelled_only.best_score == 0


def test_milestones_are_recorded_once(scripted: SessionManager, clock: FakeClock) -> None:
    session_id = run_session(scripted, clock, [95, 60], seed=3)
    first = {m.id: m for m in scripted.get_milestones("ada@example.com")}
    again = {m.id: m for m in scripted.get_milestones("ada@example.com")}
    assert first["first_session"].achieved and first["first_90_answer"].achieved
    assert first["first_session"].session_id == session_id
    assert first["first_session"].achieved_at == again["first_session"].achieved_at
    assert not first["ten_sessions"].achieved and first["ten_sessions"].progress_percent == 10
    with scripted.store.engine.connect() as connection:  # type: ignore[attr-defined]
        count = connection.execute(
            select(func.count())
            .select_from(session_events)
            .where(session_events.c.type == "milestone_achieved")
        ).scalar_one()
    assert count == 2


def test_access_rules(scripted: SessionManager, clock: FakeClock) -> None:
    ada = run_session(scripted, clock, [70], email="ada@example.com", seed=1)
    bob = run_session(scripted, clock, [50], email="bob@example.com", seed=2)
    candidate = Principal(id="u-ada", role=PrincipalRole.CANDIDATE, email="Ada@example.com")
    assert scripted.get_user_progress(principal=candidate).total_sessions == 1
    assert (
        scripted.get_user_progress("ada@example.com", principal=candidate).user == "ada@example.com"
    )
    with pytest.raises(AccessDeniedError, match="only their own"):
        scripted.get_user_progress("bob@example.com", principal=candidate)
    with pytest.raises(AccessDeniedError, match="may not compare"):
        scripted.compare_sessions(ada, bob, principal=candidate)
    stranger = Principal(id="coach-2", role=PrincipalRole.INTERVIEWER)
    assert scripted.get_user_progress("ada@example.com", principal=stranger).total_sessions == 0
    with pytest.raises(AccessDeniedError):
        scripted.get_user_progress("*", principal=stranger)
    assert scripted.compare_sessions(ada, bob).overall_delta == -20  # the local admin sees both
    with pytest.raises(ConfigurationError, match="period='1y'"):
        scripted.get_progress_analytics("ada@example.com", "1y")


def test_rebuild_from_the_log_gives_the_same_figures(
    scripted: SessionManager, clock: FakeClock, store: SQLStore
) -> None:
    histories: list[list[int | None]] = [[40, 80], [60, None], [75, 85]]
    for seed, scores in enumerate(histories):
        run_session(scripted, clock, scores, seed=seed)
        clock.advance(2 * 24 * 3600)
    before = scripted.get_user_progress("ada@example.com")
    with store.engine.begin() as connection:
        for table in PROGRESS_TABLES:
            connection.execute(delete(table))
        rebuild(connection)
    assert scripted.get_user_progress("ada@example.com") == before


def totals_snapshot(store: SQLStore) -> dict[str, list[tuple[Any, ...]]]:
    with store.engine.connect() as connection:
        return {
            table.name: sorted(
                tuple(round(v, 6) if isinstance(v, float) else v for v in row)
                for row in connection.execute(select(table).where(table.c.answers != 0))
                if table is not candidate_totals or row.sessions or row.answers
            )
            for table in (candidate_totals, candidate_areas, candidate_questions)
        }


def test_running_totals_equal_a_recount(
    scripted: SessionManager, clock: FakeClock, store: SQLStore
) -> None:
    """Kept event by event (retries, skips, a rename, a cancel), they equal a fresh recount."""
    practice = scripted.create_session(
        {
            "candidate_name": "Ada",
            "candidate_email": "ada@example.com",
            "plan_seed": 5,
            "question_count": 2,
            "max_follow_ups": 0,
            "mode": "practice",
        }
    )
    scripted.start_session(practice.id)
    item = scripted.next_question(practice.id)
    assert item is not None
    for score in (40, 75, 60):  # practice retries: the best attempt counts
        scripted.submit_answer(practice.id, item.id, f"{score} words", 30)
    scripted.update_session(practice.id, candidate_email="ada.l@example.com")
    scripted.end_session(practice.id)
    run_session(scripted, clock, [90, None], seed=2)
    run_session(scripted, clock, [50], seed=3, end="cancel")
    kept = totals_snapshot(store)
    with store.engine.begin() as connection:
        refresh_totals(connection)
    assert totals_snapshot(store) == kept
    moved = scripted.get_user_progress("ada.l@example.com")
    assert moved.total_sessions == 1 and moved.category_averages
    assert scripted.get_user_progress("ada@example.com").total_sessions == 2


# -- SQL aggregates against plain Python, on random histories ---------------------------

history = st.lists(
    st.tuples(
        st.integers(0, 120 * 24),  # hours after START
        st.sampled_from(["completed", "expired", "cancelled", "active"]),
        st.one_of(st.none(), st.integers(0, 100)),
        st.lists(st.integers(0, 100), max_size=4),
    ),
    max_size=25,
)


def seed_history(store: SQLStore, rows: list[tuple[int, str, int | None, list[int]]]) -> None:
    with store.engine.begin() as connection:
        for table in PROGRESS_TABLES:
            connection.execute(delete(table))
        for index, (hours, status, score, answers) in enumerate(rows):
            created = START + timedelta(hours=hours)
            connection.execute(
                insert(session_scores).values(
                    session_id=f"s{index}",
                    candidate_key="ada@example.com",
                    candidate_name="ada",
                    created_by="local",
                    status=status,
                    role="backend",
                    level="mid",
                    interview_type="mixed",
                    mode="mock",
                    overall_score=score,
                    answered=len(answers),
                    skipped=1,
                    questions=len(answers) + 1,
                    active_us=600_000_000,
                    created_at=created,
                    started_at=created,
                    ended_at=created + timedelta(minutes=10),
                )
            )
            for number, answer in enumerate(answers):
                values: dict[str, Any] = {
                    "session_id": f"s{index}",
                    "item_id": f"q{number}",
                    "candidate_key": "ada@example.com",
                    "candidate_name": "ada",
                    "created_by": "local",
                    "score": answer,
                    "key_points_hit": answer // 25,
                    "key_points_missed": 4 - answer // 25,
                    "at": created + timedelta(minutes=number),
                }
                connection.execute(
                    insert(answer_scores).values(
                        **values,
                        question_id=f"q{number}",
                        kind="question",
                        category=["technical", "behavioral"][number % 2],
                        correctness=answer,
                    )
                )
                connection.execute(insert(answer_topics).values(**values, topic=f"t{number % 3}"))
        refresh_totals(connection)  # what the projections keep current, made from the bulk load


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=history)
def test_sql_aggregates_equal_plain_python(
    store: SQLStore, rows: list[tuple[int, str, int | None, list[int]]]
) -> None:
    seed_history(store, rows)
    now = START + timedelta(days=130)
    service = ProgressService(store, FakeClock(now))
    got = service.get_user_progress("ada@example.com")
    scored = [
        (START + timedelta(hours=h), s)
        for h, st_, s, _ in rows
        if st_ in ("completed", "expired") and s is not None
    ]
    scores = [s for _, s in scored]
    answers = [a for *_, ans in rows for a in ans]
    assert got.total_sessions == len(rows)
    assert got.completed_sessions == sum(1 for r in rows if r[1] == "completed")
    assert got.cancelled_sessions == sum(1 for r in rows if r[1] == "cancelled")
    assert got.questions_answered == len(answers)
    assert got.scored_sessions == len(scores)
    if scores:
        assert got.average_score == pytest.approx(statistics.mean(scores), abs=0.01)
        assert got.median_score == pytest.approx(statistics.median(scores))
        assert got.best_score == max(scores) and got.worst_score == min(scores)
        assert got.score_std_dev == pytest.approx(statistics.pstdev(scores), abs=0.01)
    else:
        assert got.average_score is got.median_score is got.best_score is None
    expected_rate = improvement_rate([(at, float(s)) for at, s in scored])
    if expected_rate is None:
        assert got.improvement_rate is None
    else:
        assert got.improvement_rate == pytest.approx(expected_rate, abs=1e-3)
    if answers:
        assert got.dimension_averages["correctness"] == pytest.approx(
            statistics.mean(answers), abs=0.01
        )
    days = sorted({(START + timedelta(hours=h)).date() for h, *_ in rows})
    longest = run = 0
    for i, day in enumerate(days):
        run = run + 1 if i and (day - days[i - 1]).days == 1 else 1
        longest = max(longest, run)
    assert got.longest_streak_days == longest
    analytics = service.get_progress_analytics("ada@example.com", "all")
    bins = [min(s // 10, 9) for s in scores]
    assert [b.count for b in analytics.score_distribution] == [bins.count(i) for i in range(10)]
    by_day: dict[Any, list[int]] = {}
    for at, s in scored:
        by_day.setdefault(at.date(), []).append(s)
    assert [(p.date, p.sessions) for p in analytics.score_trend] == [
        (d, len(v)) for d, v in sorted(by_day.items())
    ]
    assert all(
        math.isclose(p.average_score, statistics.mean(by_day[p.date]), abs_tol=0.01)
        for p in analytics.score_trend
    )


def test_migration_0005_backfills_from_the_event_log(
    scripted: SessionManager, clock: FakeClock, store: SQLStore
) -> None:
    from alembic import command

    from rehearse.storage import migrate

    histories: list[list[int | None]] = [[40, 80], [60, None], [75, 85]]
    for seed, scores in enumerate(histories):
        run_session(scripted, clock, scores, seed=seed)
        clock.advance(2 * 24 * 3600)
    scripted.get_milestones("ada@example.com")
    before = scripted.get_user_progress("ada@example.com")
    config = migrate._config()
    with store.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")  # as if the sessions were recorded before 0005
        connection.commit()
    assert migrate.current_revision(store.engine) == "0004"
    from rehearse.storage.migrate import HEAD_REVISION

    assert store.upgrade() == ("0004", HEAD_REVISION)
    assert scripted.get_user_progress("ada@example.com") == before
    board = {m.id: m for m in scripted.get_milestones("ada@example.com")}
    assert board["first_session"].achieved and board["first_session"].achieved_at is not None
