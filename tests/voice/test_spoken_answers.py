"""Spoken interview answers: ``SpokenAnswers`` on real storage and ``rehearse sessions add-audio``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rehearse.cli import main
from rehearse.clock import FakeClock
from rehearse.domain.config import SessionConfig
from rehearse.errors import AudioRejectedError, InvalidStateError
from rehearse.service.sessions import SessionManager
from rehearse.service.spoken_answers import SpokenAnswers
from rehearse.settings import get_settings
from rehearse.storage import SQLStore
from rehearse.voice.transcribers import ScriptedTranscriber
from rehearse.web import create_app

ANSWER = (
    "um I would put an index on the column we filter by so the database can find the rows "
    "without reading the whole table and then measure the query again"
)


def active_session(manager: SessionManager) -> str:
    session = manager.create_session(SessionConfig(candidate_name="Ada", role="backend"))
    manager.start_session(session.id)
    return session.id


def test_a_spoken_answer_is_stored_transcribed_and_scored(
    manager: SessionManager, short_clip: bytes
) -> None:
    session_id = active_session(manager)
    question = manager.next_question(session_id)
    assert question is not None
    spoken = SpokenAnswers(manager, ScriptedTranscriber(script=[ANSWER]))
    result = spoken.answer(session_id, short_clip, filename="answer.ogg")
    assert result.question_id == question.id and result.sequence == 1
    assert result.outcome is not None and result.outcome.evaluation is not None
    assert result.analysis.metrics.filler_count == 1
    folder = manager.folders.folder(session_id)
    assert (folder / "audio" / "001_audio.ogg").read_bytes() == short_clip
    assert (folder / "transcripts" / "001_audio.txt").read_text().strip() == ANSWER
    details = json.loads((folder / "transcripts" / "001_audio.json").read_text())
    assert details["metrics"]["word_count"] == len(ANSWER.split())
    plan = manager.get_plan(session_id)
    answered = plan.item(session_id, question.id)
    assert answered.status == "answered" and answered.attempts == 1 and answered.score is not None
    submitted = [e for e in manager.get_events(session_id) if e.type == "answer_submitted"]
    assert submitted and submitted[-1].data["text"] == ANSWER


def test_a_flagged_transcript_is_not_scored(
    manager: SessionManager, clips: dict[str, bytes]
) -> None:
    session_id = active_session(manager)
    spoken = SpokenAnswers(manager, ScriptedTranscriber(script=["hmm"]))
    result = spoken.answer(session_id, clips["ogg"])  # 10 s of speech, one word heard
    assert result.outcome is None and result.analysis.quality_flag is not None
    assert manager.next_question(session_id) is not None  # still waiting for an answer


def test_refusals_store_nothing(manager: SessionManager, short_clip: bytes) -> None:
    session_id = active_session(manager)
    spoken = SpokenAnswers(manager, ScriptedTranscriber())
    with pytest.raises(AudioRejectedError):
        spoken.answer(session_id, b"not audio" * 100)
    manager.pause_session(session_id)
    with pytest.raises(InvalidStateError):
        spoken.answer(session_id, short_clip)
    assert not (manager.folders.folder(session_id) / "audio").exists()


def test_sessions_add_audio_command(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    short_clip: bytes,
) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    with SessionManager.from_url(db) as manager:
        session_id = active_session(manager)
    clip = tmp_path / "answer.ogg"
    clip.write_bytes(short_clip)
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "rehearse",
            "--db",
            db,
            "sessions",
            "add-audio",
            session_id,
            str(clip),
            "--wait",
            "--json",
            "--transcriber",
            f"test:{ANSWER}",
        ],
    )
    with pytest.raises(SystemExit) as exited:
        main()
    out = capsys.readouterr().out
    assert exited.value.code in (0, None)
    printed = json.loads(out)
    assert printed["stored_filename"] == "001_audio.ogg" and printed["transcript"] == ANSWER
    assert printed["scored"] is True and printed["metrics"]["filler_count"] == 1


def test_post_audio_answers_the_current_question(
    store: SQLStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, short_clip: bytes
) -> None:
    monkeypatch.setenv("REHEARSE_VOICE_TRANSCRIBER", f"test:{ANSWER}")
    monkeypatch.setenv("REHEARSE_MAX_AUDIO_BYTES", "100000")
    get_settings.cache_clear()
    manager = SessionManager(store, clock)
    session_id = active_session(manager)
    app = create_app(lambda: manager, sweep_seconds=0)
    with TestClient(app) as client:
        url = f"/api/v1/sessions/{session_id}/audio"
        response = client.post(url, files={"file": ("a.ogg", short_clip, "audio/ogg")})
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["transcript"] == ANSWER and body["scored"] is True
        assert body["next_question"] is not None
        bad = client.post(url, files={"file": ("a.ogg", b"nope" * 100, "audio/ogg")})
        assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "audio"
        big = client.post(url, files={"file": ("a.ogg", bytes(200_000), "audio/ogg")})
        assert big.status_code == 413
        missing = client.post("/api/v1/sessions/nope/audio", files={"file": ("a", short_clip)})
        assert missing.status_code == 404


def test_terminal_audio_command(
    manager: SessionManager,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    short_clip: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rehearse.cli import interview as terminal

    monkeypatch.setenv("REHEARSE_VOICE_TRANSCRIBER", f"test:{ANSWER}")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    clip = tmp_path / "My Answer.ogg"
    clip.write_bytes(short_clip)
    session_id = active_session(manager)
    first = manager.next_question(session_id)
    assert first is not None
    typed = iter(["/audio /no/such/file.ogg", f"/audio {clip}", "/end"])
    monkeypatch.setattr("builtins.input", lambda _prompt="": next(typed))
    terminal._run(manager, session_id)
    out = capsys.readouterr().out
    assert "cannot read /no/such/file.ogg" in out
    assert f"Transcript: {ANSWER}" in out
    answered = manager.get_plan(session_id).item(session_id, first.id)
    assert answered.status == "answered"
