"""Progress across sessions (seed ``004_*``): the result models and the pure rules behind them.

Seed 004 names the five calls (``get_user_progress``, ``get_progress_analytics``,
``compare_sessions``, ``generate_learning_path``, ``get_milestones``) and their
models. The figures themselves come from SQL aggregates (:mod:`rehearse.storage.progress`);
this module holds what is left once the database has summed: the least-squares trend,
practice streaks in the user's time zone, milestone definitions, the spaced-repetition
schedule and the level estimate. No I/O, no clock: every instant is passed in.

Rules decided here (docs/decisions.md, "Progress across sessions"):

- a *scored session* is a completed or expired session whose report has an overall
  score; cancelled sessions count in the totals but never in scores;
- the improvement rate is the least-squares slope of session score (0-100) against
  the session's creation instant, in points per week; ``None`` under 3 scored sessions
  or when they all fall within about a day (seed 004's percentage change had the wrong
  sign on falling scores);
- a practice day is a local calendar day (in the user's time zone) on which a session
  was started; the current streak counts back from today, or from yesterday when the
  user has not practised yet today (the streak is still alive until the day ends);
- spaced repetition: a question answered poorly (best score under 70,
  :data:`rehearse.domain.reports.STRONG`) comes back 1, 3, 7, then every 14 days after
  its latest answer, by the number of poor answers so far; one answered well moves on.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict

from rehearse.domain.config import Level
from rehearse.domain.questions import QuestionCategory
from rehearse.domain.sessions import to_us
from rehearse.errors import ConfigurationError

#: Seconds in a week: the improvement rate is in points per week.
WEEK_SECONDS = 7 * 24 * 3600
#: Sessions needed before a trend is reported (a line through two points is no trend).
MIN_TREND_SESSIONS = 3
#: A score at or above this is a good answer (``rehearse.domain.reports.STRONG``).
GOOD_SCORE = 70
#: Days until a poorly answered question comes back, by how many times it was answered poorly.
REVIEW_INTERVALS_DAYS: tuple[int, ...] = (1, 3, 7, 14)
#: The allowed analytics periods and their length in days (``None``: all time).
PERIODS: dict[str, int | None] = {"7d": 7, "30d": 30, "90d": 90, "all": None}


class Period(StrEnum):
    """An analytics window, counted back from now."""

    WEEK = "7d"
    MONTH = "30d"
    QUARTER = "90d"
    ALL = "all"

    @property
    def days(self) -> int | None:
        """Length in days, ``None`` for all time."""
        return PERIODS[self.value]

    def since(self, now: datetime) -> datetime | None:
        """The first instant inside the period at ``now`` (``None`` for all time)."""
        days = self.days
        return None if days is None else now - timedelta(days=days)


def parse_period(value: str) -> Period:
    """The :class:`Period` named ``value``.

    Raises:
        ConfigurationError: not one of ``7d``, ``30d``, ``90d``, ``all``.
    """
    try:
        return Period(value.strip().lower())
    except ValueError:
        allowed = ", ".join(PERIODS)
        raise ConfigurationError(
            f"period={value!r}: not a period (allowed: {allowed})",
            [{"field": "period", "value": value, "message": f"allowed: {allowed}"}],
        ) from None


def parse_time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Berlin``, ``UTC``).

    Raises:
        ConfigurationError: no such time zone.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigurationError(
            f"time_zone={name!r}: not an IANA time zone "
            "(e.g. Europe/Berlin, America/New_York, UTC)",
            [{"field": "time_zone", "value": name, "message": "an IANA time zone name"}],
        ) from None


# -- result models ---------------------------------------------------------------------


class TopicScore(BaseModel):
    """How well one topic (a bank tag) is covered across answers.

    Attributes:
        topic: the bank's tag (``http``, ``caching``) or, for untagged questions, the category.
        answers: evaluated answers touching it.
        key_points_covered, key_points_missed: summed over those answers.
        coverage_percent: covered / (covered + missed), 0-100.
        average_score: mean answer score, 0-100.
    """

    model_config = ConfigDict(frozen=True)

    topic: str
    answers: int
    key_points_covered: int
    key_points_missed: int
    coverage_percent: float
    average_score: float


class UserProgress(BaseModel):
    """One candidate's progress over all their sessions, or over a period.

    Scores are 0-100, times seconds. Score fields are ``None`` without scored sessions.

    Attributes:
        user: the candidate key the figures are for (e-mail, principal id, ``name:<name>``,
            or ``*`` for every session on a single-user install).
        total_sessions: every session, whatever its state.
        completed_sessions, expired_sessions, cancelled_sessions: by final state.
        completion_rate: completed / total, 0-1 (0 without sessions).
        questions_answered, questions_skipped: main questions, over all sessions.
        practice_seconds: active interview time, paused time excluded.
        scored_sessions: completed or expired sessions with an overall score.
        average_score, median_score, best_score, worst_score, score_std_dev: of the
            scored sessions' overall scores (population standard deviation).
        category_averages: mean answer score per question category.
        dimension_averages: mean answer score per evaluation dimension.
        improvement_rate: least-squares slope, points per week; ``None`` under 3 scored sessions.
        current_streak_days, longest_streak_days: consecutive local days with practice.
        strongest_topics, weakest_topics: up to 3 topics each, by key-point coverage.
        time_zone: the IANA zone the streaks were counted in.
        last_active_at: when the newest session was created (UTC).
    """

    model_config = ConfigDict(frozen=True)

    user: str
    total_sessions: int
    completed_sessions: int
    expired_sessions: int
    cancelled_sessions: int
    completion_rate: float
    questions_answered: int
    questions_skipped: int
    practice_seconds: float
    scored_sessions: int
    average_score: float | None
    median_score: float | None
    best_score: int | None
    worst_score: int | None
    score_std_dev: float | None
    category_averages: dict[str, float]
    dimension_averages: dict[str, float]
    improvement_rate: float | None
    current_streak_days: int
    longest_streak_days: int
    strongest_topics: list[TopicScore]
    weakest_topics: list[TopicScore]
    time_zone: str
    last_active_at: datetime | None


class Breakdown(BaseModel):
    """Sessions grouped by one value (interview type, mode or role)."""

    model_config = ConfigDict(frozen=True)

    key: str
    sessions: int
    completed: int
    average_score: float | None


class ScoreBin(BaseModel):
    """One bar of the score histogram: scored sessions with ``low <= score <= high``."""

    model_config = ConfigDict(frozen=True)

    low: int
    high: int
    count: int


class TrendPoint(BaseModel):
    """The mean session score on one local date."""

    model_config = ConfigDict(frozen=True)

    date: date
    average_score: float
    sessions: int


class DateCount(BaseModel):
    """Questions answered on one local date."""

    model_config = ConfigDict(frozen=True)

    date: date
    questions: int


class FocusArea(BaseModel):
    """A weak area worth practising, with the evidence that makes it weak.

    Attributes:
        area: the topic, dimension or category name.
        kind: ``topic``, ``dimension`` or ``category``.
        score: its figure, 0-100 (coverage for topics, mean score otherwise).
        evidence: one sentence a candidate can check.
    """

    model_config = ConfigDict(frozen=True)

    area: str
    kind: str
    score: float
    evidence: str


class ProgressAnalytics(BaseModel):
    """Progress over one period, with breakdowns, distribution and trend (seed 004).

    Attributes:
        period: ``7d``, ``30d``, ``90d`` or ``all``.
        since: first instant of the period (``None`` for all time).
        sessions_completed: completed sessions created in the period.
        progress: every :class:`UserProgress` figure, for the period.
        by_type, by_mode, by_role: sessions per interview type, mode and role.
        score_distribution: 10 bins of 10 points (the last holds 90-100).
        score_trend: mean scored-session score per local date, oldest first.
        questions_per_date: answered questions per local date, oldest first.
        focus_recommendations: the weakest topics and dimensions, weakest first.
    """

    model_config = ConfigDict(frozen=True)

    user: str
    period: Period
    since: datetime | None
    sessions_completed: int
    progress: UserProgress
    by_type: list[Breakdown]
    by_mode: list[Breakdown]
    by_role: list[Breakdown]
    score_distribution: list[ScoreBin]
    score_trend: list[TrendPoint]
    questions_per_date: list[DateCount]
    focus_recommendations: list[FocusArea]


class ScoreDelta(BaseModel):
    """One figure in two sessions: ``delta = b - a`` (``None`` unless both exist)."""

    model_config = ConfigDict(frozen=True)

    a: float | None
    b: float | None
    delta: float | None


class QuestionDelta(BaseModel):
    """A question asked in both sessions and how its score moved."""

    model_config = ConfigDict(frozen=True)

    question_id: str
    score_a: int | None
    score_b: int | None
    delta: int | None


class SessionComparison(BaseModel):
    """Session ``b`` against session ``a`` (seed 004 ``compare_sessions``).

    Attributes:
        overall_delta: overall score of b minus a (``None`` unless both are scored).
        category_deltas, dimension_deltas, topic_deltas: only areas both sessions share.
        time_used_a_seconds, time_used_b_seconds, time_delta_seconds: active time.
        common_questions: questions asked in both.
        improved, regressed: area names whose delta is positive / negative.
    """

    model_config = ConfigDict(frozen=True)

    session_a: str
    session_b: str
    score_a: int | None
    score_b: int | None
    overall_delta: int | None
    category_deltas: dict[str, ScoreDelta]
    dimension_deltas: dict[str, ScoreDelta]
    topic_deltas: dict[str, ScoreDelta]
    time_used_a_seconds: float
    time_used_b_seconds: float
    time_delta_seconds: float
    common_questions: list[QuestionDelta]
    improved: list[str]
    regressed: list[str]


class PracticeItem(BaseModel):
    """One question of the next practice set.

    Attributes:
        question_id, text, category: the bank question.
        reason: ``review`` (spaced repetition, due) or ``new`` (a focus area, never asked).
        last_score: the best score of its latest answer (reviews only).
        due_at: when it was due (reviews only).
        interval_days: the spacing that made it due (reviews only).
    """

    model_config = ConfigDict(frozen=True)

    question_id: str
    text: str
    category: str
    reason: str
    last_score: int | None = None
    due_at: datetime | None = None
    interval_days: int | None = None


class PlanDay(BaseModel):
    """One practice session of the weekly plan."""

    model_config = ConfigDict(frozen=True)

    day: str
    focus: str
    question_ids: list[str]


class LearningPath(BaseModel):
    """What to practise next (seed 004 ``generate_learning_path``).

    Attributes:
        current_level: the estimated level (junior ... staff).
        level_evidence: sentences behind the estimate.
        target_level: the next level, or the one the user set.
        focus_areas: weakest first.
        next_practice_set: due reviews first, then new questions in the focus areas.
        weekly_plan: three sessions a week.
        improvement_rate: points per week (``None`` under 3 scored sessions).
        weeks_to_target: at the measured rate, ``None`` when not improving.
    """

    model_config = ConfigDict(frozen=True)

    user: str
    current_level: Level
    level_evidence: list[str]
    target_level: Level
    target_score: int
    focus_areas: list[FocusArea]
    next_practice_set: list[PracticeItem]
    weekly_plan: list[PlanDay]
    improvement_rate: float | None
    weeks_to_target: float | None


class Milestone(BaseModel):
    """An achievement and the progress toward it (seed 004 milestones).

    Attributes:
        id: stable name (``first_session``, ``ten_sessions``...).
        title, description: for people.
        current, target: progress figures in the milestone's unit.
        progress_percent: ``current / target``, 0-100.
        achieved: reached (it stays achieved once recorded).
        achieved_at: when, UTC (``None`` until achieved).
        session_id: the session it was recorded against.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    description: str
    current: float
    target: float
    progress_percent: float
    achieved: bool
    achieved_at: datetime | None = None
    session_id: str | None = None


# -- statistics ------------------------------------------------------------------------


#: Spread (standard deviation) of the sessions' instants, in weeks, below which no trend is
#: reported: three sessions in one afternoon say nothing about a weekly rate.
MIN_TREND_SPREAD_WEEKS = 0.5 / 7


def least_squares_slope(n: int, sx: float, sy: float, sxy: float, sxx: float) -> float | None:
    """The slope of the least-squares line from the sums of x (weeks), y, x*y and x*x.

    ``None`` when ``n < 3``, or the instants spread less than half a day
    (:data:`MIN_TREND_SPREAD_WEEKS`, standard deviation): no weekly trend can be fitted.
    """
    if n < MIN_TREND_SESSIONS:
        return None
    denominator = n * sxx - sx * sx
    if denominator / (n * n) < MIN_TREND_SPREAD_WEEKS**2:
        return None
    return (n * sxy - sx * sy) / denominator


def improvement_rate(points: Iterable[tuple[datetime, float]]) -> float | None:
    """Least-squares slope of score against time, in points per week (plain Python).

    Args:
        points: (instant, score 0-100) of each scored session.

    Returns:
        Positive when scores rise; ``None`` under 3 points or all at one instant.
    """
    pairs = list(points)
    if not pairs:
        return None
    origin = min(at for at, _ in pairs)
    xs = [(at - origin).total_seconds() / WEEK_SECONDS for at, _ in pairs]
    ys = [score for _, score in pairs]
    return least_squares_slope(
        len(pairs),
        sum(xs),
        sum(ys),
        sum(x * y for x, y in zip(xs, ys, strict=True)),
        sum(x * x for x in xs),
    )


def population_std_dev(n: int, total: float, squares: float) -> float | None:
    """Standard deviation from a count, a sum and a sum of squares (``None`` when n == 0)."""
    if n == 0:
        return None
    mean = total / n
    return math.sqrt(max(squares / n - mean * mean, 0.0))


# -- time zones and streaks ------------------------------------------------------------

DAY_US = 86_400_000_000


def offset_segments(zone: ZoneInfo, start: datetime, end: datetime) -> list[tuple[int, int]]:
    """The UTC offsets of ``zone`` between ``start`` and ``end``, as (from microsecond, offset).

    Each entry says: from this instant (microseconds since the epoch) on, local time is
    UTC plus ``offset`` microseconds, until the next entry. The first entry starts at
    the epoch, so any instant up to ``end`` finds its offset. SQL adds the offset to an
    instant before dividing by a day, which gives local calendar days exactly, across
    daylight-saving changes, on any database.
    """

    def offset_at(instant: datetime) -> int:
        delta = instant.astimezone(zone).utcoffset() or timedelta(0)
        return delta // timedelta(microseconds=1)

    segments = [(0, offset_at(start))]
    step = timedelta(days=7)
    cursor = start
    while cursor < end:
        following = min(cursor + step, end)
        if offset_at(following) != segments[-1][1]:
            low, high = cursor, following  # the change lies in (low, high]: bisect to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if offset_at(middle) == segments[-1][1]:
                    low = middle
                else:
                    high = middle
            segments.append((to_us(high.replace(microsecond=0)), offset_at(high)))
        cursor = following
    return segments


def local_day(instant: datetime, zone: ZoneInfo) -> date:
    """The calendar date of ``instant`` in ``zone``."""
    return instant.astimezone(zone).date()


def day_number(day: date) -> int:
    """Days since 1970-01-01 (the number SQL computes for a local day)."""
    return (day - date(1970, 1, 1)).days


def day_from_number(number: int) -> date:
    """The date ``number`` days after 1970-01-01."""
    return date(1970, 1, 1) + timedelta(days=number)


def streaks(days: Iterable[date], today: date) -> tuple[int, int]:
    """(current, longest) runs of consecutive practice days.

    The current streak ends today, or yesterday if today has no practice yet; it is 0
    when the last practice was before yesterday.
    """
    ordered = sorted(set(days))
    longest = run = 0
    previous: date | None = None
    for day in ordered:
        run = run + 1 if previous is not None and (day - previous).days == 1 else 1
        longest = max(longest, run)
        previous = day
    if previous is None or (today - previous).days > 1:
        return 0, longest
    return run, longest


# -- spaced repetition -----------------------------------------------------------------


class QuestionHistory(BaseModel):
    """One question's answers by one candidate, as the SQL aggregate returns them.

    Attributes:
        question_id: the bank question.
        answers: how many times it was answered and scored.
        poor_answers: how many of those scored under :data:`GOOD_SCORE`.
        last_score: the score of the latest answer, 0-100.
        last_at: when the latest answer was evaluated (UTC).
    """

    model_config = ConfigDict(frozen=True)

    question_id: str
    answers: int
    poor_answers: int
    last_score: int
    last_at: datetime


def review_due(history: QuestionHistory) -> tuple[datetime, int] | None:
    """When a question comes back, and the interval in days; ``None`` once answered well.

    Intervals are :data:`REVIEW_INTERVALS_DAYS` (1, 3, 7, 14) by the number of poor
    answers so far, after the latest answer; beyond the fourth, every 14 days.
    """
    if history.last_score >= GOOD_SCORE:
        return None
    index = min(max(history.poor_answers, 1), len(REVIEW_INTERVALS_DAYS)) - 1
    interval = REVIEW_INTERVALS_DAYS[index]
    return history.last_at + timedelta(days=interval), interval


def due_reviews(
    histories: Iterable[QuestionHistory], now: datetime
) -> list[tuple[QuestionHistory, datetime, int]]:
    """Questions due for review at ``now``, most overdue first."""
    due: list[tuple[QuestionHistory, datetime, int]] = []
    for history in histories:
        when = review_due(history)
        if when is not None and when[0] <= now:
            due.append((history, when[0], when[1]))
    due.sort(key=lambda entry: (entry[1], entry[0].question_id))
    return due


# -- level estimate --------------------------------------------------------------------


class LevelScore(BaseModel):
    """Scored sessions at one interview level and their mean score."""

    model_config = ConfigDict(frozen=True)

    level: Level
    sessions: int
    average_score: float


#: Scored sessions at a level needed before it can count as mastered.
MIN_LEVEL_SESSIONS = 2


def estimate_level(by_level: Sequence[LevelScore]) -> tuple[Level, list[str]]:
    """The level a candidate works at, with the evidence.

    Rule: the highest level with at least 2 scored sessions averaging 70 or more
    (:data:`GOOD_SCORE`); without one, the lowest level practised (or junior).
    """
    mastered = [
        entry
        for entry in by_level
        if entry.sessions >= MIN_LEVEL_SESSIONS and entry.average_score >= GOOD_SCORE
    ]
    evidence = [
        f"{entry.level.value}: {entry.sessions} scored session(s), "
        f"average {entry.average_score:.0f}"
        for entry in sorted(by_level, key=lambda e: e.level.rank)
    ]
    if mastered:
        best = max(mastered, key=lambda e: e.level.rank)
        evidence.append(
            f"{best.level.value} is the highest level with {MIN_LEVEL_SESSIONS}+ sessions "
            f"averaging {GOOD_SCORE} or more"
        )
        return best.level, evidence
    if not by_level:
        return Level.JUNIOR, ["no scored sessions yet: starting at junior"]
    lowest = min(by_level, key=lambda e: e.level.rank).level
    evidence.append(f"no level averages {GOOD_SCORE}+ over {MIN_LEVEL_SESSIONS}+ sessions yet")
    return lowest, evidence


def next_level(level: Level) -> Level:
    """The level above ``level`` (staff stays staff)."""
    ladder = list(Level)
    return ladder[min(level.rank + 1, len(ladder) - 1)]


def weeks_to_target(gap: float, rate: float | None) -> float | None:
    """Weeks to close ``gap`` points at ``rate`` points/week (0 when already there).

    ``None`` when the gap is open and the rate is unknown, zero or negative.
    """
    if gap <= 0:
        return 0.0
    if rate is None or rate <= 0:
        return None
    return round(gap / rate, 1)


WEEKDAYS = ("Monday", "Wednesday", "Friday")


def weekly_plan(focus: Sequence[FocusArea], practice: Sequence[PracticeItem]) -> list[PlanDay]:
    """Three sessions a week: each takes the next focus area and a share of the practice set."""
    if not practice and not focus:
        return []
    days: list[PlanDay] = []
    share = max(1, math.ceil(len(practice) / len(WEEKDAYS))) if practice else 0
    for index, day in enumerate(WEEKDAYS):
        area = focus[index % len(focus)].area if focus else "mixed practice"
        chunk = practice[index * share : (index + 1) * share] if share else []
        days.append(PlanDay(day=day, focus=area, question_ids=[p.question_id for p in chunk]))
    return days


# -- milestones ------------------------------------------------------------------------


class MilestoneFacts(BaseModel):
    """The figures milestones are judged on (from SQL aggregates).

    Attributes:
        sessions_completed: completed sessions.
        questions_answered: evaluated answers (main questions and follow-ups).
        recent_average: mean overall score of the last 5 scored sessions (``None`` under 5).
        first_average, latest_average: mean of the first and the latest 3 scored
            sessions (``None`` under 6 scored sessions, so the two never overlap).
        longest_streak_days: the longest run of practice days.
        best_answer: the best answer score.
        categories_tried: distinct question categories answered.
    """

    model_config = ConfigDict(frozen=True)

    sessions_completed: int = 0
    questions_answered: int = 0
    recent_average: float | None = None
    first_average: float | None = None
    latest_average: float | None = None
    longest_streak_days: int = 0
    best_answer: int | None = None
    categories_tried: int = 0


class MilestoneDefinition(BaseModel):
    """A milestone's name, words and target."""

    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    description: str
    target: float


#: Seed 004's milestones, plus the issue's streak, first 90+ answer and every category.
MILESTONES: tuple[MilestoneDefinition, ...] = (
    MilestoneDefinition(
        id="first_session", title="First session", description="Complete a session.", target=1
    ),
    MilestoneDefinition(
        id="ten_sessions", title="10 sessions", description="Complete ten sessions.", target=10
    ),
    MilestoneDefinition(
        id="hundred_questions",
        title="100 questions",
        description="Answer a hundred questions.",
        target=100,
    ),
    MilestoneDefinition(
        id="average_80",
        title="Average 80+",
        description="Average 80 or more over your last 5 scored sessions.",
        target=80,
    ),
    MilestoneDefinition(
        id="improved_20",
        title="20% better",
        description="Your latest 3 sessions average 20% more than your first 3.",
        target=20,
    ),
    MilestoneDefinition(
        id="streak_7",
        title="7-day streak",
        description="Practise seven days in a row.",
        target=7,
    ),
    MilestoneDefinition(
        id="first_90_answer",
        title="First 90+ answer",
        description="Score 90 or more on one answer.",
        target=90,
    ),
    MilestoneDefinition(
        id="every_category",
        title="Every category",
        description="Answer a technical, behavioural, system design and coding question.",
        target=len(QuestionCategory),
    ),
)


def milestone_values(facts: MilestoneFacts) -> dict[str, float]:
    """Each milestone's current figure, in the unit of its target."""
    improvement = 0.0
    if facts.first_average and facts.latest_average is not None:
        improvement = (facts.latest_average - facts.first_average) / facts.first_average * 100
    return {
        "first_session": facts.sessions_completed,
        "ten_sessions": facts.sessions_completed,
        "hundred_questions": facts.questions_answered,
        "average_80": facts.recent_average or 0.0,
        "improved_20": round(improvement, 1),
        "streak_7": facts.longest_streak_days,
        "first_90_answer": facts.best_answer or 0,
        "every_category": facts.categories_tried,
    }


def judge_milestones(
    facts: MilestoneFacts, recorded: Mapping[str, tuple[datetime, str | None]]
) -> list[Milestone]:
    """Every milestone with its progress; one recorded earlier stays achieved at its date.

    Args:
        facts: the current figures.
        recorded: milestone id to (achieved_at, session id) of those already recorded.
    """
    values = milestone_values(facts)
    result: list[Milestone] = []
    for definition in MILESTONES:
        current = float(values[definition.id])
        reached = current >= definition.target
        stored = recorded.get(definition.id)
        percent = 100.0 if stored else min(max(current / definition.target, 0.0), 1.0) * 100
        result.append(
            Milestone(
                id=definition.id,
                title=definition.title,
                description=definition.description,
                current=current,
                target=definition.target,
                progress_percent=round(percent, 1),
                achieved=bool(stored) or reached,
                achieved_at=stored[0] if stored else None,
                session_id=stored[1] if stored else None,
            )
        )
    return result
