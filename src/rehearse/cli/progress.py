"""``rehearse progress``: a candidate's progress across sessions (issue 12).

``rehearse progress [USER] [--period 7d|30d|90d|all] [--json]`` shows the summary;
``compare A B``, ``path [USER]``, ``milestones [USER]`` and ``cohort`` the rest.
``--as EMAIL`` (and ``--time-zone``) are remembered in ``<data dir>/progress.json``,
so on a single-user install ``me`` means that candidate from then on.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from rehearse.cli.context import manager
from rehearse.cli.render import console, emit_json
from rehearse.domain.progress import ProgressAnalytics, TopicScore, parse_time_zone
from rehearse.service.progress import (
    cohort_csv,
    load_preferences,
    preferences_path,
    save_preferences,
)


class _DefaultToShow(TyperGroup):
    """A group whose first argument is a user unless it names a subcommand."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h")):
            args = ["show", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultToShow,
    help="Progress across sessions: summary, comparison, learning path, milestones, cohort.",
)

JSON = typer.Option(False, "--json", help="Print JSON (the service's models) for scripts.")
USER = typer.Argument(
    None, help="E-mail, user id or name (default: you, or the --as candidate).", show_default=False
)
SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    """A one-line chart of 0-100 values."""
    return "".join(SPARKS[min(int(v / 100 * len(SPARKS)), len(SPARKS) - 1)] for v in values)


def _fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


@app.command("show", hidden=True)
def show(
    ctx: typer.Context,
    user: str | None = USER,
    period: str = typer.Option("all", "--period", help="7d, 30d, 90d or all."),
    as_user: str | None = typer.Option(
        None, "--as", help="Remember who 'me' is on this machine (e-mail or name).", metavar="EMAIL"
    ),
    time_zone: str | None = typer.Option(
        None, "--time-zone", help="Remember the IANA time zone streaks are counted in."
    ),
    as_json: bool = JSON,
) -> None:
    """Progress summary of USER over a period, with a sparkline of the score trend."""
    _remember(as_user, time_zone)
    analytics = manager(ctx).get_progress_analytics(user, period)
    if as_json:
        emit_json(analytics.model_dump(mode="json"))
        return
    _render(analytics)


def _remember(as_user: str | None, time_zone: str | None) -> None:
    if as_user is None and time_zone is None:
        return
    path = preferences_path()
    current = load_preferences(path)
    update: dict[str, Any] = {}
    if as_user is not None:
        update["as_user"] = as_user.strip() or None
    if time_zone is not None:
        update["time_zone"] = parse_time_zone(time_zone).key
    save_preferences(path, current.model_copy(update=update))


def _rate(rate: float | None) -> str:
    return (
        "needs 3 scored sessions over more than a day"
        if rate is None
        else f"{rate:+.2f} points/week"
    )


def _topics(topics: list[TopicScore]) -> str:
    return ", ".join(f"{t.topic} {t.coverage_percent:.0f}%" for t in topics) or "-"


def _render(analytics: ProgressAnalytics) -> None:
    p = analytics.progress
    who = "everyone" if p.user == "*" else p.user
    console.print(f"[bold]Progress of {who}[/bold] · period {analytics.period.value}")
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    trend = [t.average_score for t in analytics.score_trend]
    rate = p.improvement_rate
    rows = [
        (
            "sessions",
            f"{p.total_sessions} ({p.completed_sessions} completed, {p.expired_sessions} expired, "
            f"{p.cancelled_sessions} cancelled)",
        ),
        ("completion", f"{p.completion_rate * 100:.0f}%"),
        ("questions", f"{p.questions_answered} answered, {p.questions_skipped} skipped"),
        ("practice", f"{p.practice_seconds / 60:.0f} min"),
        (
            "score",
            f"avg {_fmt(p.average_score)} · median {_fmt(p.median_score)} · best "
            f"{_fmt(p.best_score)} · worst {_fmt(p.worst_score)} · sd {_fmt(p.score_std_dev)}",
        ),
        (
            "trend",
            (
                "not enough scored sessions (3 needed)"
                if rate is None
                else f"{rate:+.2f} points/week"
            )
            + (f"  {sparkline(trend)}" if trend else ""),
        ),
        (
            "streak",
            f"{p.current_streak_days} day(s) now, longest {p.longest_streak_days} ({p.time_zone})",
        ),
        ("strongest", _topics(p.strongest_topics)),
        ("weakest", _topics(p.weakest_topics)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    if p.category_averages or p.dimension_averages:
        areas = Table("area", "average", title="Categories and dimensions", title_justify="left")
        for area_name, mean in {**p.category_averages, **p.dimension_averages}.items():
            areas.add_row(area_name.replace("_", " "), f"{mean:.0f}")
        console.print(areas)
    if analytics.focus_recommendations:
        focus = Table("focus on", "kind", "evidence", title="Focus", title_justify="left")
        for area in analytics.focus_recommendations:
            focus.add_row(area.area, area.kind, area.evidence)
        console.print(focus)


@app.command()
def compare(
    ctx: typer.Context,
    a: str = typer.Argument(..., help="The earlier session id."),
    b: str = typer.Argument(..., help="The later session id."),
    as_json: bool = JSON,
) -> None:
    """How session B moved against session A (deltas are B - A)."""
    result = manager(ctx).compare_sessions(a, b)
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    delta = result.overall_delta
    console.print(
        f"[bold]overall[/bold] {_fmt(result.score_a)} -> {_fmt(result.score_b)}"
        + ("" if delta is None else f" ({delta:+d})")
        + f" · time {result.time_used_a_seconds / 60:.0f} -> "
        f"{result.time_used_b_seconds / 60:.0f} min"
    )
    table = Table("area", "a", "b", "delta")
    groups = (result.category_deltas, result.dimension_deltas, result.topic_deltas)
    for group in groups:
        for name, value in group.items():
            table.add_row(name, _fmt(value.a), _fmt(value.b), _fmt(value.delta))
    console.print(table)
    if result.common_questions:
        common = Table("question in both", "a", "b", "delta")
        for q in result.common_questions:
            common.add_row(q.question_id, _fmt(q.score_a), _fmt(q.score_b), _fmt(q.delta))
        console.print(common)
    console.print(f"improved: {', '.join(result.improved) or '-'}")
    console.print(f"regressed: {', '.join(result.regressed) or '-'}")


@app.command()
def path(
    ctx: typer.Context,
    user: str | None = USER,
    target: str | None = typer.Option(None, "--target", help="Target level (default: the next)."),
    as_json: bool = JSON,
) -> None:
    """The learning path: level, focus areas, next practice set (spaced repetition), weekly plan."""
    mgr = manager(ctx)
    result = mgr.services.progress.generate_learning_path(user, target_level=target)
    if as_json:
        emit_json(result.model_dump(mode="json"))
        return
    weeks = _fmt(result.weeks_to_target)
    console.print(
        f"[bold]level[/bold] {result.current_level.value} -> {result.target_level.value} "
        f"(weeks to target at the current rate: {weeks})"
    )
    for line in result.level_evidence:
        console.print(f"  · {line}")
    if result.focus_areas:
        focus = Table("focus on", "kind", "evidence", title="Focus areas", title_justify="left")
        for area in result.focus_areas:
            focus.add_row(area.area, area.kind, area.evidence)
        console.print(focus)
    practice = Table("question", "category", "why", title="Next practice set", title_justify="left")
    for item in result.next_practice_set:
        why = (
            f"review (scored {item.last_score}, every {item.interval_days} d)"
            if item.reason == "review"
            else "new"
        )
        practice.add_row(item.question_id, item.category, why)
    console.print(practice)
    for day in result.weekly_plan:
        console.print(f"{day.day}: {day.focus} · {', '.join(day.question_ids) or 'free practice'}")


@app.command()
def milestones(ctx: typer.Context, user: str | None = USER, as_json: bool = JSON) -> None:
    """Milestones with progress toward each and the date achieved."""
    board = manager(ctx).get_milestones(user)
    if as_json:
        emit_json([m.model_dump(mode="json") for m in board])
        return
    table = Table("", "milestone", "progress", "achieved")
    for m in board:
        table.add_row(
            "✔" if m.achieved else "·",
            m.title,
            f"{m.current:g} / {m.target:g} ({m.progress_percent:.0f}%)",
            m.achieved_at.date().isoformat() if m.achieved_at else "",
        )
    console.print(table)


@app.command()
def cohort(
    ctx: typer.Context,
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV for a spreadsheet."),
    as_json: bool = JSON,
) -> None:
    """Every candidate you may see: sessions, average, trend, last active, weakest area."""
    rows = manager(ctx).services.progress.cohort()
    if as_json:
        emit_json([r.model_dump(mode="json") for r in rows])
        return
    if as_csv:
        sys.stdout.write(cohort_csv(rows))
        return
    table = Table("candidate", "sessions", "average", "trend/wk", "last active", "weakest")
    for r in rows:
        table.add_row(
            r.user,
            str(r.sessions),
            _fmt(r.average_score),
            _fmt(r.improvement_rate),
            r.last_active_at.date().isoformat() if r.last_active_at else "-",
            r.weakest_area or "-",
        )
    console.print(table)
