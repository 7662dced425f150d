"""Charts as server-side SVG: no script, no CDN, readable at 390 px (issue 12).

Each function returns markup safe to insert in a template: every label is escaped,
every figure is a number. Charts scale with their container (``viewBox`` and
``width: 100%``), carry a ``<title>`` and ``role="img"`` for screen readers, and
show the numbers as text too, so nothing depends on colour alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from html import escape

from markupsafe import Markup

WIDTH = 360
_NUMBER = "{:.1f}"


def _svg(title: str, height: int, body: list[str], css_class: str) -> Markup:
    label = escape(title)
    # every label in ``body`` went through html.escape and every figure is a number
    return Markup(  # noqa: S704
        f'<svg class="chart {css_class}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{label}" preserveAspectRatio="xMidYMid meet">'
        f"<title>{label}</title>{''.join(body)}</svg>"
    )


def trend_chart(
    points: Sequence[tuple[date, float]], slope_per_week: float | None, title: str = "Score trend"
) -> Markup:
    """Session scores (0-100) by date, with the least-squares line when there is a slope."""
    height, right, top, bottom = 180, 10, 10, 24
    left = 30.0
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    body = [
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{WIDTH - right}" '
        f'y2="{top + plot_h}"/>'
    ]
    for tick in (0, 50, 100):
        y = top + plot_h * (1 - tick / 100)
        body.append(
            f'<text class="tick" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>'
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}"/>'
        )
    if not points:
        body.append(
            f'<text class="empty" x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle">'
            "No scored sessions yet</text>"
        )
        return _svg(title, height, body, "chart--trend")
    first, last = points[0][0], points[-1][0]
    span = max((last - first).days, 1)

    def xy(day: date, value: float) -> tuple[float, float]:
        x = left + plot_w * ((day - first).days / span if len(points) > 1 else 0.5)
        return x, top + plot_h * (1 - max(0.0, min(value, 100.0)) / 100)

    coords = [xy(day, value) for day, value in points]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    body.append(f'<polyline class="series" points="{path}"/>')
    for (day, value), (x, y) in zip(points, coords, strict=True):
        body.append(
            f'<circle class="dot" cx="{x:.1f}" cy="{y:.1f}" r="3">'
            f"<title>{escape(day.isoformat())}: {_NUMBER.format(value)}</title></circle>"
        )
    if slope_per_week is not None and len(points) > 1:
        mean_day = sum((d - first).days for d, _ in points) / len(points)
        mean_value = sum(v for _, v in points) / len(points)
        per_day = slope_per_week / 7
        start = mean_value - per_day * mean_day
        end = mean_value + per_day * (span - mean_day)
        x1, y1 = xy(first, start)
        x2, y2 = xy(last, end)
        body.append(f'<line class="fit" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>')
    body.append(
        f'<text class="tick" x="{left}" y="{height - 6}">{escape(first.isoformat())}</text>'
        f'<text class="tick" x="{WIDTH - right}" y="{height - 6}" text-anchor="end">'
        f"{escape(last.isoformat())}</text>"
    )
    return _svg(title, height, body, "chart--trend")


def bar_chart(values: Mapping[str, float], title: str) -> Markup:
    """Horizontal bars of 0-100 values, labelled with name and number."""
    row, top = 26, 6
    height = max(row * len(values) + top * 2, 40)
    label_w, number_w = 130, 34
    plot_w = WIDTH - label_w - number_w
    body: list[str] = []
    if not values:
        body.append(
            f'<text class="empty" x="{WIDTH / 2}" y="24" text-anchor="middle">No answers yet</text>'
        )
    for index, (name, value) in enumerate(values.items()):
        y = top + index * row
        width = plot_w * max(0.0, min(value, 100.0)) / 100
        body.append(
            f'<text class="label" x="0" y="{y + 16}">{escape(name.replace("_", " "))}</text>'
            f'<rect class="track" x="{label_w}" y="{y + 5}" width="{plot_w}" height="14" rx="3"/>'
            f'<rect class="bar" x="{label_w}" y="{y + 5}" width="{width:.1f}" height="14" rx="3"/>'
            f'<text class="number" x="{WIDTH}" y="{y + 16}" text-anchor="end">{value:.0f}</text>'
        )
    return _svg(title, height, body, "chart--bars")


def activity_calendar(
    counts: Mapping[date, int], today: date, weeks: int = 12, title: str = "Activity"
) -> Markup:
    """A GitHub-style grid of the last ``weeks`` weeks: one square per day, darker = more."""
    cell, gap, top, left = 22, 4, 4, 30
    height = top + 7 * (cell + gap)
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    body: list[str] = []
    for index, name in enumerate(("Mon", "", "Wed", "", "Fri", "", "")):
        if name:
            body.append(
                f'<text class="tick" x="0" y="{top + index * (cell + gap) + 15}">{name}</text>'
            )
    peak = max(counts.values(), default=0)
    for week in range(weeks):
        for weekday in range(7):
            day = start + timedelta(days=week * 7 + weekday)
            if day > today:
                continue
            count = counts.get(day, 0)
            level = 0 if count == 0 or peak == 0 else min(4, 1 + (3 * count) // peak)
            x = left + week * (cell + gap)
            y = top + weekday * (cell + gap)
            body.append(
                f'<rect class="day day--{level}" x="{x}" y="{y}" width="{cell}" height="{cell}" '
                f'rx="3"><title>{escape(day.isoformat())}: {count} question(s)</title></rect>'
            )
    return _svg(title, height, body, "chart--calendar")
