"""Labels, plurals, durations (one wording everywhere) and code answers in reports (issue 11)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from rehearse.domain.config import AI_PROVIDERS, InterviewType, Role
from rehearse.domain.wording import format_duration, label, plural
from rehearse.rendering import answer_parts, highlight_code, render_markdown
from rehearse.service.sessions import SessionManager


def test_labels_from_the_table() -> None:
    assert label(Role.ML_ENGINEERING) == "ML engineering"
    assert label("devops_sre") == "DevOps / SRE"
    assert label("openai") == "OpenAI"
    assert label("key_point_coverage") == "Key-point coverage"
    assert label("system_design") == "System design"
    assert label("some_new_thing") == "Some new thing"
    assert label(None) == "-"
    for value in [*Role, *InterviewType, *AI_PROVIDERS]:
        text = label(value)
        assert text[:1].isupper() and "_" not in text


def test_plurals() -> None:
    assert plural(1, "question") == "1 question"
    assert plural(4, "question") == "4 questions"
    assert plural(0, "attempt") == "0 attempts"
    assert plural(1200, "token") == "1,200 tokens"
    assert plural(2, "key point was", "key points were") == "2 key points were"


def test_durations() -> None:
    assert format_duration(100) == "1:40"
    assert format_duration(180 * 60) == "3:00:00"
    assert format_duration(100, like=180 * 60) == "0:01:40"
    assert format_duration(176 * 60 + 1, like=180 * 60) == "2:56:01"
    assert format_duration(45 * 60) == "45:00"
    assert format_duration(-5) == "0:00"
    assert format_duration(None) == "-"


@given(st.floats(min_value=0, max_value=10 * 3600), st.one_of(st.none(), st.integers(0, 36000)))
def test_a_duration_reads_back_as_its_rounded_seconds(seconds: float, like: int | None) -> None:
    text = format_duration(seconds, like=like)
    assert re.fullmatch(r"\d+:\d\d(:\d\d)?", text)
    total = 0
    for part in text.split(":"):
        total = total * 60 + int(part)
    assert total == round(seconds)
    assert (text.count(":") == 2) == (round(seconds) >= 3600 or (like is not None and like >= 3600))


CODE_LINE = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_characters="\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
    ),
    max_size=30,
)


@given(st.lists(CODE_LINE, min_size=1, max_size=6), st.sampled_from(["python", "sql", ""]))
def test_fenced_code_is_kept_verbatim(lines: list[str], language: str) -> None:
    code = "\n".join(lines)
    if not code.strip():
        return
    runs = [len(r) for r in re.findall(r"`+", code)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    answer = f"My approach.\n\n{fence}{language}\n{code}\n{fence}"
    parts = answer_parts(answer)
    assert parts[0].kind == "text" and parts[0].content == "My approach."
    assert parts[1].kind == "code" and parts[1].content == code and parts[1].language == language


def test_code_is_highlighted_and_escaped() -> None:
    html = highlight_code('def f():\n    return "<b>"', "python")
    assert '<span class="k">def</span>' in html and "&lt;b&gt;" in html and "<b>" not in html
    assert 'class="linenos"' in html  # several lines: numbered
    plain = highlight_code("<script>", "no-such-language")
    assert "&lt;script&gt;" in plain


def test_markdown_report_keeps_code_fenced_and_links_whiteboards(manager: SessionManager) -> None:
    session = manager.start_session(
        manager.create_session(
            {
                "candidate_name": "Ada",
                "interview_type": "coding",
                "enabled_modes": ["text", "code"],
                "question_count": 1,
                "max_follow_ups": 0,
                "mode": "mock",
            }
        ).id
    )
    item = manager.next_question(session.id)
    assert item is not None
    answer = (
        "Walk once.\n\n```python\ndef f(xs):\n\n    return {x: i for i, x in enumerate(xs)}\n```"
    )
    manager.submit_answer(session.id, item.id, answer, 60)
    manager.end_session(session.id)
    report = manager.get_report(session.id)
    text = render_markdown(report, {item.id: "whiteboard/q1.png"})
    assert "```python\ndef f(xs):\n\n    return {x: i for i, x in enumerate(xs)}\n```" in text
    assert "> Walk once." in text
    assert "![Whiteboard for question 1](whiteboard/q1.png)" in text
    assert "of 1 question " in text and "Coding" in text
