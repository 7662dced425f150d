"""Reports as Markdown (terminal, files) and HTML (a standalone, print-friendly page).

HTML is rendered by Jinja2 with autoescaping on: every piece of candidate text is
escaped (README standard 9). No external asset: the page carries its own CSS.
"""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from rehearse.domain.reports import DIMENSION_LABELS, Report
from rehearse.scoring.bands import score_band_class


def _minutes(seconds: float | int | None) -> str:
    if seconds is None:
        return "-"
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


def _label(name: str) -> str:
    return DIMENSION_LABELS.get(name, name.replace("_", " ").capitalize())


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("rehearse", "templates"),
        autoescape=select_autoescape(["html", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["minutes"] = _minutes
    environment.filters["label"] = _label
    environment.filters["band"] = score_band_class
    return environment


def render_html(report: Report) -> str:
    """A complete HTML page of the report (escaped, self-contained, print-friendly)."""
    return _environment().get_template("report.html").render(report=report)


def _score(value: int | None) -> str:
    return "-" if value is None else str(value)


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.strip().splitlines())


def render_markdown(report: Report) -> str:
    """The report as Markdown."""
    lines = [
        f"# Interview report: {report.candidate_name}",
        "",
        f"{report.role.replace('_', ' ')} · {report.level} · "
        f"{report.interview_type.replace('_', ' ')} · {report.mode} · "
        f"session `{report.session_id}`",
        "",
        f"**Overall score: {_score(report.overall_score)}/100** "
        f"on {report.scored} of {report.total} questions "
        f"· {report.answered} answered, {report.skipped} skipped, {report.unanswered} not reached "
        f"of {report.total} · time used {_minutes(report.time_used_seconds)} of "
        f"{_minutes(report.time_limit_seconds)}",
        "",
        report.summary,
        "",
    ]
    if report.category_scores or report.dimension_scores:
        lines += ["## Scores", "", "| Area | Score |", "| --- | --- |"]
        lines += [f"| {k.replace('_', ' ')} | {v} |" for k, v in report.category_scores.items()]
        lines += [f"| {_label(k)} | {v} |" for k, v in report.dimension_scores.items()]
        lines.append("")
    for title, items in (
        ("Strengths", report.strengths),
        ("To work on", report.weaknesses),
        ("Recommended topics", report.recommended_topics),
    ):
        if items:
            lines += [f"## {title}", "", *[f"- {item}" for item in items], ""]
    lines += ["## Questions", ""]
    for number, question in enumerate(report.questions, 1):
        score = f"{question.score}/100" if question.score is not None else question.status
        lines += [
            f"### {number}. {question.text}",
            "",
            f"*{question.category.replace('_', ' ')} · {score}*",
            "",
        ]
        if question.answer:
            lines += [_quote(question.answer), ""]
        if question.key_points_hit:
            lines += ["Covered: " + "; ".join(question.key_points_hit), ""]
        if question.key_points_missed:
            lines += ["Missed: " + "; ".join(question.key_points_missed), ""]
        lines += [f"- {sentence}" for sentence in question.feedback]
        for follow in question.follow_ups:
            lines += ["", f"**Follow-up:** {follow.text}", ""]
            if follow.answer:
                lines += [_quote(follow.answer)]
        lines.append("")
    lines.append(f"*Generated {report.generated_at:%Y-%m-%d %H:%M} UTC by {report.evaluator}.*")
    return "\n".join(lines).rstrip() + "\n"
