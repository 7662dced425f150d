"""Reports as Markdown (terminal, files) and HTML (a standalone, print-friendly page).

HTML is rendered by Jinja2 with autoescaping on: every piece of candidate text is
escaped (README standard 9). No external asset: the page carries its own CSS, and
saved whiteboards are embedded as ``data:`` images. Code answers (a fenced block, as
the room's code editor sends them) are highlighted server-side by Pygments (issue 11,
item 1); labels and durations read as everywhere else (:mod:`rehearse.domain.wording`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from rehearse.domain.reports import Report, SpeechReport, SpeechTotals
from rehearse.domain.voice import TARGET_WPM
from rehearse.domain.wording import format_duration, label, plural
from rehearse.scoring.bands import score_band_class

#: Pygments styles of code in the light and dark themes: the two shipped styles whose
#: every token colour passes WCAG AA (4.5:1) on their own background.
CODE_STYLES = {"light": "xcode", "dark": "lightbulb"}
#: A fenced code block as the room's code editor sends it: ```language ... ```.
#: The fence is three backticks or more, longer than any run of backticks in the code.
_FENCE = re.compile(
    r"^(?P<fence>`{3,})(?P<language>[\w+#.-]*)[ \t]*\n(?P<code>.*?)\n?^(?P=fence)[ \t]*$",
    re.DOTALL | re.MULTILINE,
)


@dataclass(frozen=True)
class AnswerPart:
    """One piece of an answer: prose, or code in a language (``""`` when not named)."""

    kind: str  # "text" or "code"
    content: str
    language: str = ""


def answer_parts(text: str | None) -> list[AnswerPart]:
    """Split an answer into prose and fenced code blocks, keeping the code verbatim."""
    if not text:
        return []
    parts: list[AnswerPart] = []
    position = 0
    for match in _FENCE.finditer(text):
        before = text[position : match.start()].strip("\n")
        if before.strip():
            parts.append(AnswerPart("text", before))
        parts.append(AnswerPart("code", match["code"], match["language"].lower()))
        position = match.end()
    rest = text[position:].strip("\n")
    if rest.strip():
        parts.append(AnswerPart("text", rest))
    return parts


def highlight_code(code: str, language: str) -> Markup:
    """``code`` as highlighted HTML (``<div class="code"><pre>…``), escaped by Pygments.

    An unknown or empty ``language`` is shown as plain, still monospaced, text.
    """
    try:
        lexer = get_lexer_by_name(language) if language else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    formatter = HtmlFormatter(cssclass="code", linenos="table" if code.count("\n") else False)
    return Markup(highlight(code, lexer, formatter))  # noqa: S704 - Pygments escapes the code


@cache
def code_css(*, dark: bool = True) -> str:
    """CSS for highlighted code: light by default, dark with the page's dark theme.

    ``dark=False`` gives the light rules only (the standalone export is a light page).
    """

    def rules(style: str, scope: str) -> str:
        defs: str = HtmlFormatter(style=style).get_style_defs(scope)  # type: ignore[no-untyped-call]
        return defs

    light = rules(CODE_STYLES["light"], ".code")
    if not dark:
        return light
    pinned = rules(CODE_STYLES["dark"], ":root[data-theme='dark'] .code")
    auto = rules(CODE_STYLES["dark"], ":root:not([data-theme='light']) .code")
    return f"{light}\n{pinned}\n@media (prefers-color-scheme: dark) {{\n{auto}\n}}\n"


def answer_html(text: str | None) -> Markup:
    """An answer as HTML: prose quoted, fenced code highlighted (everything escaped)."""
    pieces: list[str] = []
    for part in answer_parts(text):
        if part.kind == "code":
            pieces.append(highlight_code(part.content, part.language))
        else:
            pieces.append(str(Markup("<blockquote>{}</blockquote>").format(part.content)))
    return Markup("".join(pieces))  # noqa: S704 - every piece is escaped above


def _per_cent(share: float) -> str:
    return f"{share * 100:.0f}%"


def speech_summary(speech: SpeechReport | SpeechTotals) -> str:
    """One line on how an answer (or the whole session) was spoken (issue 13).

    ``"142 words per minute (target 130-160) · 3 fillers, 1.2 a minute, 2% of words ·
    1 long pause · delivery 85/100"``; a single answer adds its length and longest
    pause, and whether the candidate corrected the transcript.
    """
    low, high = TARGET_WPM
    band = "in the target band" if speech.in_target_band else "target"
    parts = [
        f"{speech.words_per_minute:.0f} words per minute ({band} {low:.0f}-{high:.0f})",
        f"{plural(speech.filler_count, 'filler')}, {speech.fillers_per_minute:.1f} a minute, "
        f"{_per_cent(speech.filler_share)} of words",
        plural(speech.long_pause_count, "long pause"),
    ]
    if isinstance(speech, SpeechReport):
        if speech.long_pause_count:
            parts[-1] += f" (longest {speech.longest_pause_seconds:.1f} s)"
        parts.insert(
            0,
            f"{format_duration(round(speech.duration_seconds))} long, "
            f"{plural(speech.word_count, 'word')}",
        )
    parts.append(f"delivery {speech.delivery_score}/100")
    if isinstance(speech, SpeechReport) and speech.transcript_corrected:
        parts.append("transcript corrected by the candidate")
    return " · ".join(parts)


def speech_timeline(speech: SpeechReport) -> list[str]:
    """The answer's timeline, one line per stretch: ``"0:00-0:12 speech, 150 words/min"``."""
    lines = []
    for entry in speech.timeline:
        span = f"{_clock(entry.start)}-{_clock(entry.end)}"
        if entry.kind == "speech":
            pace = f", {entry.words_per_minute:.0f} words/min" if entry.words_per_minute else ""
            lines.append(f"{span} speech{pace}")
        elif entry.kind == "pause":
            lines.append(f"{span} pause of {entry.end - entry.start:.1f} s")
        else:
            lines.append(f"{_clock(entry.start)} filler \u201c{entry.text}\u201d")
    return lines


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}.{int((seconds - whole) * 10)}"


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("rehearse", "templates"),
        autoescape=select_autoescape(["html", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    install_helpers(environment)
    return environment


def install_helpers(environment: Environment) -> None:
    """The filters and globals every report template uses, in any Jinja environment.

    The export templates (here) and the web pages (``rehearse.web.pages``) both render
    reports, so they share one set: ``duration``, ``label``, ``answer``, ``band``,
    ``plural``, ``code_css``, ``speech_summary`` and ``speech_timeline``.
    """
    environment.filters["duration"] = format_duration
    environment.filters["label"] = label
    environment.filters["answer"] = answer_html
    environment.filters["band"] = score_band_class
    environment.globals["plural"] = plural
    environment.globals["code_css"] = code_css
    environment.globals["speech_summary"] = speech_summary
    environment.globals["speech_timeline"] = speech_timeline


def render_html(report: Report, whiteboards: Mapping[str, Path] | None = None) -> str:
    """A complete HTML page of the report (escaped, self-contained, print-friendly).

    Args:
        report: the report.
        whiteboards: ``{question id: PNG file}``; each drawing is embedded in the page.
    """
    images = {item: _data_uri(path) for item, path in (whiteboards or {}).items()}
    return _environment().get_template("report.html").render(report=report, whiteboards=images)


def _score(value: int | None) -> str:
    return "-" if value is None else str(value)


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.strip().splitlines())


def _fence_for(code: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    return "`" * max(3, longest + 1)


def _answer_markdown(text: str) -> list[str]:
    lines: list[str] = []
    for part in answer_parts(text):
        if part.kind == "code":
            fence = _fence_for(part.content)
            lines += [f"{fence}{part.language}", part.content, fence, ""]
        else:
            lines += [_quote(part.content), ""]
    return lines


def render_markdown(report: Report, whiteboards: Mapping[str, str] | None = None) -> str:
    """The report as Markdown.

    Args:
        report: the report.
        whiteboards: ``{question id: link}`` to each saved drawing (a file beside the
            Markdown file, or a URL); each question links its own.
    """
    links = whiteboards or {}
    limit = report.time_limit_seconds
    lines = [
        f"# Interview report: {report.candidate_name}",
        "",
        f"{label(report.role)} · {label(report.level)} · "
        f"{label(report.interview_type)} · {label(report.mode)} mode · "
        f"session `{report.session_id}`",
        "",
        f"**Overall score: {_score(report.overall_score)}/100** "
        f"on {report.scored} of {report.total} questions "
        f"· {report.answered} answered, {report.skipped} skipped, {report.unanswered} not reached "
        f"of {plural(report.total, 'question')} · time used "
        f"{format_duration(report.time_used_seconds, like=limit)} of {format_duration(limit)}",
        "",
        report.summary,
        "",
    ]
    if report.speech is not None:
        lines += [
            "## Speech",
            "",
            f"{plural(report.speech.spoken_answers, 'spoken answer')}: "
            f"{speech_summary(report.speech)}",
            "",
        ]
    if report.category_scores or report.dimension_scores:
        lines += ["## Scores", "", "| Area | Score |", "| --- | --- |"]
        lines += [f"| {label(k)} | {v} |" for k, v in report.category_scores.items()]
        lines += [f"| {label(k)} | {v} |" for k, v in report.dimension_scores.items()]
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
        score = f"{question.score}/100" if question.score is not None else label(question.status)
        attempts = f" · {plural(question.attempts, 'attempt')}" if question.attempts > 1 else ""
        lines += [
            f"### {number}. {question.text}",
            "",
            f"*{label(question.category)} · {score}{attempts}*",
            "",
        ]
        if question.answer:
            lines += _answer_markdown(question.answer)
        if question.speech is not None:
            lines += [f"Spoken: {speech_summary(question.speech)}", ""]
            lines += ["Timeline:", "", *[f"- {t}" for t in speech_timeline(question.speech)], ""]
        if question.id in links:
            lines += [f"![Whiteboard for question {number}]({links[question.id]})", ""]
        if question.key_points_hit:
            lines += ["Covered: " + "; ".join(question.key_points_hit), ""]
        if question.key_points_missed:
            lines += ["Missed: " + "; ".join(question.key_points_missed), ""]
        lines += [f"- {sentence}" for sentence in question.feedback]
        for follow in question.follow_ups:
            lines += ["", f"**Follow-up:** {follow.text}", ""]
            if follow.answer:
                lines += _answer_markdown(follow.answer)
        lines.append("")
    lines.append(f"*Generated {report.generated_at:%Y-%m-%d %H:%M} UTC by {report.evaluator}.*")
    return "\n".join(lines).rstrip() + "\n"
