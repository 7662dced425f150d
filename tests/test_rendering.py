"""Reports rendered as Markdown and HTML: complete, and every piece of user text escaped."""

from __future__ import annotations

from pathlib import Path

from rehearse.rendering import render_html, render_markdown
from rehearse.service.sessions import SessionManager

EVIL = '<script>alert("x")</script> & <b>bold</b>'


def _ended_report(manager: SessionManager) -> str:
    session_id = manager.create_session(
        {
            "candidate_name": f"Ada {EVIL}",
            "question_count": 2,
            "max_follow_ups": 0,
            "mode": "mock",
            "plan_seed": 1,
        }
    ).id
    manager.start_session(session_id)
    item = manager.next_question(session_id)
    assert item is not None
    manager.submit_answer(session_id, item.id, f"My answer mentions {EVIL}\nover two lines.", 30)
    manager.end_session(session_id)
    return session_id


def test_html_escapes_user_text_and_needs_no_network(
    manager: SessionManager, tmp_path: Path
) -> None:
    report = manager.get_report(_ended_report(manager))
    html = render_html(report)
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "http://" not in html and "https://" not in html  # no CDN, no external asset
    assert "@media print" in html
    assert f"{report.overall_score}" in html
    for question in report.questions:
        assert question.text.replace("'", "&#39;").replace('"', "&#34;") in html


def test_markdown_quotes_answers_and_lists_everything(manager: SessionManager) -> None:
    report = manager.get_report(_ended_report(manager))
    text = render_markdown(report)
    assert text.startswith(f"# Interview report: Ada {EVIL}")
    assert f"> My answer mentions {EVIL}\n> over two lines." in text
    assert f"**Overall score: {report.overall_score}/100**" in text
    assert "## Questions" in text and report.summary in text
