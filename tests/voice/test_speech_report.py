"""Speech metrics in the report: per spoken answer, totals, the communication dimension."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from rehearse.domain.config import SessionConfig
from rehearse.domain.reports import SpeechReport, build_report
from rehearse.rendering import render_html, render_markdown
from rehearse.scoring.speech import SpeechMetrics, delivery_score
from rehearse.service.sessions import SessionManager
from rehearse.service.spoken_answers import SpokenAnswers
from rehearse.voice.transcribers import FasterWhisperTranscriber
from rehearse.web import create_app


def metrics(
    wpm: float, fillers_per_minute: float = 0.0, pauses: int = 0, seconds: float = 60.0
) -> SpeechMetrics:
    words = round(wpm * seconds / 60)
    return SpeechMetrics(
        word_count=words,
        duration_seconds=seconds,
        speaking_seconds=seconds,
        words_per_minute=wpm,
        in_target_band=130 <= wpm <= 160,
        filler_count=round(fillers_per_minute * seconds / 60),
        fillers_per_minute=fillers_per_minute,
        filler_share=min(1.0, fillers_per_minute / wpm) if wpm else 0.0,
        fillers={},
        long_pause_count=pauses,
        long_pause_seconds=1.2,
        longest_pause_seconds=2.0 if pauses else 0.0,
        timeline=(),
    )


def test_delivery_rewards_the_band_and_punishes_fillers_and_pauses() -> None:
    assert delivery_score(metrics(145)) == 100
    assert delivery_score(metrics(145, fillers_per_minute=2)) == 100  # two a minute are free
    assert delivery_score(metrics(145, fillers_per_minute=6)) < 90
    assert delivery_score(metrics(145, fillers_per_minute=12, pauses=6)) < 60
    assert delivery_score(metrics(200)) < delivery_score(metrics(165)) < 100
    assert delivery_score(metrics(0)) == 0


@given(
    st.floats(0, 400, allow_nan=False),
    st.floats(0, 60, allow_nan=False),
    st.integers(0, 30),
    st.floats(1, 600, allow_nan=False),
)
def test_delivery_is_a_0_to_100_score_and_fillers_never_help(
    wpm: float, fillers: float, pauses: int, seconds: float
) -> None:
    score = delivery_score(metrics(wpm, fillers, pauses, seconds))
    assert 0 <= score <= 100
    assert delivery_score(metrics(wpm, fillers + 1, pauses, seconds)) <= score
    assert delivery_score(metrics(wpm, fillers, pauses + 1, seconds)) <= score


def speech_for(item_id: str, delivery: int, corrected: bool = False) -> SpeechReport:
    return SpeechReport(
        item_id=item_id,
        words_per_minute=150.0,
        in_target_band=True,
        word_count=50,
        duration_seconds=22.0,
        speaking_seconds=20.0,
        filler_count=2,
        fillers_per_minute=6.0,
        filler_share=0.04,
        fillers={"um": 2},
        long_pause_count=1,
        long_pause_seconds=1.2,
        longest_pause_seconds=2.4,
        delivery_score=delivery,
        transcript_corrected=corrected,
        timeline=[],
    )


def test_a_spoken_answer_carries_its_speech_and_its_delivery_enters_communication(
    manager: SessionManager,
) -> None:
    session = manager.create_session(SessionConfig(candidate_name="Ada", question_count=2))
    manager.start_session(session.id)
    first = manager.next_question(session.id)
    assert first is not None
    manager.submit_answer(session.id, first.id, "I would add a cache and measure it first.")
    second = manager.next_question(session.id)
    assert second is not None
    manager.submit_answer(session.id, second.id, "um I would use a queue for slow writes.")
    stored = manager.get_session(session.id)
    attempts = manager.get_answers(session.id)
    questions = manager.services.interviews.questions(session.id)
    plain = build_report(stored, questions, attempts, now=manager.clock.now(), evaluator="x")
    spoken_text = attempts[0].text  # the first answer was spoken, the second typed
    report = build_report(
        stored,
        questions,
        attempts,
        now=manager.clock.now(),
        evaluator="x",
        speech=[(spoken_text, speech_for(first.id, delivery=0))],
    )
    spoken_q = report.questions[0]
    assert all(q.speech is None for q in report.questions[1:])  # typed: no words per minute
    assert spoken_q.speech is not None and spoken_q.speech.words_per_minute == 150.0
    words_only = plain.questions[0].dimensions["communication"]
    assert spoken_q.dimensions["communication"] == round(words_only / 2)  # delivery 0
    assert spoken_q.score == plain.questions[0].score  # the evaluator's score stays
    assert [q.dimensions for q in report.questions[1:]] == [
        q.dimensions for q in plain.questions[1:]
    ]
    assert report.speech is not None and report.speech.spoken_answers == 1
    assert report.speech.words_per_minute == 150.0 and report.speech.delivery_score == 0
    assert plain.speech is None
    # another text under the same question is not that spoken answer
    other = build_report(
        stored,
        questions,
        [a.model_copy(update={"text": "typed"}) if a.item_id == first.id else a for a in attempts],
        now=manager.clock.now(),
        evaluator="x",
        speech=[(spoken_text, speech_for(first.id, delivery=0))],
    )
    assert other.questions[0].speech is None


def test_real_speech_into_the_report_in_json_markdown_html_and_the_page(
    manager: SessionManager, clips: dict[str, bytes], tmp_path: Path
) -> None:
    session = manager.create_session(
        SessionConfig(candidate_name="Ada", question_count=2, enabled_modes=["text", "voice"])
    )
    manager.start_session(session.id)
    spoken = SpokenAnswers(manager, FasterWhisperTranscriber("tiny.en"))
    first = manager.next_question(session.id)
    assert first is not None
    heard = spoken.answer(session.id, clips["mp3"])
    assert heard.record.transcript
    corrected = heard.record.transcript + " That is all."
    spoken.submit(session.id, heard.record.sequence, corrected)
    second = manager.next_question(session.id)
    assert second is not None
    manager.submit_answer(session.id, second.id, "A typed answer about queues and caches.")
    manager.end_session(session.id)
    report = manager.get_report(session.id)
    q1, q2 = report.questions
    assert q2.speech is None
    assert q1.speech is not None and q1.answer == corrected
    speech = q1.speech
    assert speech.transcript_corrected is True
    assert speech.long_pause_count == 1 and 1.8 < speech.longest_pause_seconds < 2.6
    assert speech.filler_count >= 1 and 0 < speech.filler_share < 0.2
    assert 120 < speech.words_per_minute < 260 and 0 <= speech.delivery_score <= 100
    kinds = [t.kind for t in speech.timeline]
    assert "pause" in kinds and "speech" in kinds and "filler" in kinds
    assert report.speech is not None and report.speech.spoken_answers == 1
    markdown = render_markdown(report)
    assert "## Speech" in markdown and "words per minute (" in markdown
    assert "transcript corrected by the candidate" in markdown and "pause of" in markdown
    html = render_html(report)
    assert "Timeline" in html and "long pause" in html
    with TestClient(create_app(lambda: manager, sweep_seconds=0)) as client:
        page = client.get(f"/sessions/{session.id}/report")
        assert page.status_code == 200 and 'id="speech-summary"' in page.text
        assert "Timeline of the answer" in page.text
        api = client.get(f"/api/v1/sessions/{session.id}/report").json()
        assert api["speech"]["spoken_answers"] == 1
        assert api["questions"][0]["speech"]["timeline"] and api["questions"][1]["speech"] is None
        md = client.get(f"/api/v1/sessions/{session.id}/report", params={"format": "md"})
        assert "Spoken:" in md.text
