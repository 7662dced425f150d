"""The pure progress rules: trend, streaks in time zones, spaced repetition, level, milestones."""

from __future__ import annotations

import bisect
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rehearse.domain.config import Level
from rehearse.domain.progress import (
    DAY_US,
    LevelScore,
    MilestoneFacts,
    Period,
    QuestionHistory,
    day_number,
    due_reviews,
    estimate_level,
    improvement_rate,
    judge_milestones,
    local_day,
    offset_segments,
    parse_period,
    parse_time_zone,
    review_due,
    streaks,
    weeks_to_target,
)
from rehearse.domain.sessions import to_us
from rehearse.errors import ConfigurationError

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def weekly(scores: list[float]) -> list[tuple[datetime, float]]:
    return [(START + timedelta(weeks=i), score) for i, score in enumerate(scores)]


def test_rising_scores_give_a_positive_trend_in_points_per_week() -> None:
    assert improvement_rate(weekly([50, 60, 70])) == pytest.approx(10.0)


def test_falling_scores_give_a_negative_trend() -> None:
    # seed 004 reported this history as an improvement
    assert improvement_rate(weekly([80, 70, 55, 50])) == pytest.approx(-10.5)


def test_a_trend_needs_three_scored_sessions() -> None:
    assert improvement_rate([]) is None
    assert improvement_rate(weekly([40, 90])) is None
    same_instant = [(START, 10.0), (START, 50.0), (START, 90.0)]
    assert improvement_rate(same_instant) is None
    one_afternoon = [(START + timedelta(hours=h), s) for h, s in ((0, 10.0), (1, 50.0), (2, 90.0))]
    assert improvement_rate(one_afternoon) is None  # not a weekly rate of 3,000 points


@given(
    st.lists(st.floats(0, 100), min_size=3, max_size=20),
    st.floats(-50, 50),
)
def test_shifting_every_score_leaves_the_trend_alone(scores: list[float], shift: float) -> None:
    base = improvement_rate(weekly(scores))
    moved = improvement_rate(weekly([s + shift for s in scores]))
    assert base is not None and moved is not None
    assert moved == pytest.approx(base, abs=1e-6)


@given(st.lists(st.integers(0, 100), min_size=3, max_size=20, unique=True))
def test_strictly_rising_scores_always_trend_up(scores: list[int]) -> None:
    rate = improvement_rate(weekly([float(s) for s in sorted(scores)]))
    assert rate is not None and rate > 0
    falling = improvement_rate(weekly([float(s) for s in sorted(scores, reverse=True)]))
    assert falling is not None and falling == pytest.approx(-rate)


def test_streaks_run_across_a_month_boundary() -> None:
    days = [date(2026, 1, 30), date(2026, 1, 31), date(2026, 2, 1), date(2026, 1, 20)]
    assert streaks(days, today=date(2026, 2, 1)) == (3, 3)
    # not practised yet today: the streak is still alive
    assert streaks(days, today=date(2026, 2, 2)) == (3, 3)
    assert streaks(days, today=date(2026, 2, 3)) == (0, 3)


def test_no_history_has_no_streak() -> None:
    assert streaks([], today=date(2026, 2, 1)) == (0, 0)


@given(st.sets(st.integers(0, 60), max_size=40), st.integers(0, 70))
def test_streaks_are_bounded_by_the_practice_days(offsets: set[int], today_offset: int) -> None:
    base = date(2026, 3, 1)
    days = [base + timedelta(days=o) for o in offsets]
    current, longest = streaks(days, today=base + timedelta(days=today_offset))
    assert 0 <= current <= longest <= len(offsets)
    if offsets:
        assert longest >= 1


def sql_day(instant: datetime, segments: list[tuple[int, int]]) -> int:
    """What the SQL CASE expression computes for ``instant``."""
    us = to_us(instant)
    index = bisect.bisect_right([start for start, _ in segments], us) - 1
    return (us + segments[index][1]) // DAY_US


def test_a_daylight_saving_change_keeps_local_days() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 2026-03-29: clocks go from 02:00 to 03:00 in Berlin; 23:30 local is 21:30Z after it
    before = datetime(2026, 3, 28, 22, 30, tzinfo=UTC)  # 23:30 CET, the 28th
    after = datetime(2026, 3, 29, 21, 30, tzinfo=UTC)  # 23:30 CEST, the 29th
    late = datetime(2026, 3, 29, 22, 30, tzinfo=UTC)  # 00:30 CEST, the 30th
    segments = offset_segments(berlin, datetime(2026, 1, 1, tzinfo=UTC), late)
    assert len(segments) == 2
    days = [local_day(i, berlin) for i in (before, after, late)]
    assert days == [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    assert [sql_day(i, segments) for i in (before, after, late)] == [day_number(d) for d in days]
    assert streaks(days, today=date(2026, 3, 30)) == (3, 3)


def test_two_time_zones_see_different_days() -> None:
    instant = datetime(2026, 5, 1, 23, 30, tzinfo=UTC)
    assert local_day(instant, ZoneInfo("Asia/Tokyo")) == date(2026, 5, 2)
    assert local_day(instant, ZoneInfo("America/Los_Angeles")) == date(2026, 5, 1)
    # practising at 23:30Z two evenings running is one streak in both zones
    evenings = [instant, instant + timedelta(days=1)]
    for zone in ("Asia/Tokyo", "America/Los_Angeles"):
        tz = ZoneInfo(zone)
        days = [local_day(i, tz) for i in evenings]
        assert streaks(days, today=days[-1]) == (2, 2)


@given(
    st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]),
    st.lists(st.integers(0, 3 * 365 * 24 * 3600), min_size=1, max_size=30),
)
def test_sql_day_arithmetic_equals_local_dates(zone: str, seconds: list[int]) -> None:
    tz = ZoneInfo(zone)
    origin = datetime(2024, 1, 1, tzinfo=UTC)
    instants = [origin + timedelta(seconds=s) for s in seconds]
    segments = offset_segments(tz, min(instants), max(instants))
    for instant in instants:
        assert sql_day(instant, segments) == day_number(local_day(instant, tz))


def history(score: int, poor: int, days_ago: float, now: datetime) -> QuestionHistory:
    return QuestionHistory(
        question_id="q",
        answers=poor + 1,
        poor_answers=poor,
        last_score=score,
        last_at=now - timedelta(days=days_ago),
    )


@pytest.mark.parametrize(("poor", "interval"), [(1, 1), (2, 3), (3, 7), (4, 14), (9, 14)])
def test_a_poor_answer_comes_back_after_1_3_7_14_days(poor: int, interval: int) -> None:
    answered = history(40, poor, 0, START)
    due = review_due(answered)
    assert due == (START + timedelta(days=interval), interval)


def test_a_good_answer_moves_on() -> None:
    assert review_due(history(85, 3, 0, START)) is None


def test_due_reviews_are_most_overdue_first() -> None:
    now = START
    items = [
        history(40, 1, 0.5, now).model_copy(update={"question_id": "not-yet"}),
        history(40, 1, 5, now).model_copy(update={"question_id": "late"}),
        history(40, 2, 3.5, now).model_copy(update={"question_id": "just"}),
        history(95, 1, 30, now).model_copy(update={"question_id": "good"}),
    ]
    assert [h.question_id for h, _, _ in due_reviews(items, now)] == ["late", "just"]


def test_level_is_the_highest_level_mastered() -> None:
    level, evidence = estimate_level(
        [
            LevelScore(level=Level.JUNIOR, sessions=3, average_score=82),
            LevelScore(level=Level.MID, sessions=2, average_score=71),
            LevelScore(level=Level.SENIOR, sessions=1, average_score=90),
        ]
    )
    assert level is Level.MID
    assert any("mid" in line for line in evidence)
    assert estimate_level([])[0] is Level.JUNIOR
    weak = [LevelScore(level=Level.SENIOR, sessions=4, average_score=50)]
    assert estimate_level(weak)[0] is Level.SENIOR


def test_weeks_to_target() -> None:
    assert weeks_to_target(10, 2.5) == 4.0
    assert weeks_to_target(-3, None) == 0.0
    assert weeks_to_target(10, -1) is None
    assert weeks_to_target(10, None) is None


def test_milestones_show_progress_and_keep_recorded_dates() -> None:
    facts = MilestoneFacts(
        sessions_completed=4,
        questions_answered=30,
        recent_average=None,
        first_average=50,
        latest_average=65,
        longest_streak_days=7,
        best_answer=88,
        categories_tried=2,
    )
    when = START
    board = {m.id: m for m in judge_milestones(facts, {"first_session": (when, "s1")})}
    assert board["first_session"].achieved and board["first_session"].achieved_at == when
    assert board["ten_sessions"].progress_percent == 40.0 and not board["ten_sessions"].achieved
    assert board["improved_20"].current == 30.0 and board["improved_20"].achieved
    assert board["streak_7"].achieved and board["streak_7"].achieved_at is None
    assert not board["first_90_answer"].achieved
    assert board["every_category"].progress_percent == 50.0


def test_periods_and_time_zones_are_validated() -> None:
    assert parse_period("30D") is Period.MONTH
    assert Period.ALL.since(START) is None
    assert Period.WEEK.since(START) == START - timedelta(days=7)
    with pytest.raises(ConfigurationError, match=r"period='2w'.*7d, 30d, 90d, all"):
        parse_period("2w")
    assert parse_time_zone("Europe/Berlin").key == "Europe/Berlin"
    with pytest.raises(ConfigurationError, match="time_zone='Mars/Olympus'"):
        parse_time_zone("Mars/Olympus")
