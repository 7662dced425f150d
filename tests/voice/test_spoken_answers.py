"""Spoken interview answers: saved first, transcribed by the queue, corrected, then scored."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from rehearse.cli import main
from rehearse.clock import FakeClock
from rehearse.domain.config import SessionConfig
from rehearse.domain.spoken import SPOKEN_TRANSITIONS, SpokenAnswerStatus, check_spoken_transition
from rehearse.errors import (
    AudioRejectedError,
    InvalidStateError,
    SpokenAnswerNotFoundError,
    SpokenAnswerRefusedError,
)
from rehearse.service.sessions import SessionManager
from rehearse.service.spoken_answers import SpokenAnswers
from rehearse.service.voice import VoiceSessionManager
from rehearse.service.voice_worker import TranscriptionWorker
from rehearse.settings import get_settings
from rehearse.storage import SQLStore
from rehearse.storage.voice import VoiceStore
from rehearse.storage.voice_folders import VoiceFolders
from rehearse.voice.transcribers import FasterWhisperTranscriber, ScriptedTranscriber
from rehearse.web import create_app

pytestmark = pytest.mark.slow  # real processes: scheduled first (tests/conftest.py)

A = SpokenAnswerStatus
ANSWER = (
    "um I would put an index on the column we filter by so the database can find the rows "
    "without reading the whole table and then measure the query again"
)
CORRECTED = ANSWER.replace("measure the query again", "measure the query plan again")


def active_session(manager: SessionManager, mode: str = "practice") -> str:
    config = SessionConfig(candidate_name="Ada", role="backend", mode=mode)
    session = manager.create_session(config)
    manager.start_session(session.id)
    return session.id


def worker_for(
    manager: SessionManager, spoken: SpokenAnswers, tmp_path: Path
) -> TranscriptionWorker:
    voice = VoiceSessionManager(
        VoiceStore(manager.store.engine),  # type: ignore[attr-defined]
        VoiceFolders(tmp_path / "voice"),
        manager.clock,
    )
    return TranscriptionWorker(voice, spoken.transcriber, spoken=spoken, lease_seconds=30)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("REHEARSE_VOICE_TRANSCRIBER", f"test:{ANSWER}")
    monkeypatch.setenv("REHEARSE_MAX_AUDIO_BYTES", "100000")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_real_speech_is_saved_first_then_transcribed_by_the_worker_then_corrected_and_scored(
    manager: SessionManager, clips: dict[str, bytes], tmp_path: Path
) -> None:
    session_id = active_session(manager)
    question = manager.next_question(session_id)
    assert question is not None
    spoken = SpokenAnswers(manager, FasterWhisperTranscriber("tiny.en"))
    pending = spoken.receive(session_id, clips["webm"], filename="answer.webm")
    record = pending.record
    assert record.status is A.PENDING and record.sequence == 1
    assert record.question_id == question.id and record.transcript is None
    folder = manager.folders.folder(session_id)
    assert (folder / "audio" / "001_audio.webm").read_bytes() == clips["webm"]
    assert manager.get_answers(session_id) == []  # nothing scored before the candidate says so
    with pytest.raises(SpokenAnswerRefusedError, match="not ready yet"):
        spoken.submit(session_id, 1)
    worker = worker_for(manager, spoken, tmp_path)
    assert worker.run_once() is True and worker.run_once() is False
    done = spoken.get(session_id, 1).record
    assert done.status is A.TRANSCRIBED and done.quality_flag is None
    heard = (done.transcript or "").lower()
    assert "queue" in heard and "database" in heard
    assert (folder / "transcripts" / "001_audio.txt").read_text().strip() == done.transcript
    details = json.loads((folder / "transcripts" / "001_audio.json").read_text())
    metrics = details["metrics"]
    assert metrics["filler_count"] >= 1 and metrics["long_pause_count"] == 1  # the 2 s break
    # espeak-ng's "-s 150" speaks these short words faster than 150 a minute (about 200)
    assert 150 < metrics["words_per_minute"] < 260
    assert manager.get_answers(session_id) == []
    corrected = (
        "So, um, I would start with a cache in front of the database. "
        "Then, uh, I would add a queue for the slow writes."
    )
    submitted = spoken.submit(session_id, 1, corrected)
    assert submitted.record.status is A.SUBMITTED and submitted.record.submitted_text == corrected
    assert submitted.outcome is not None and submitted.outcome.evaluation is not None
    sent = [e for e in manager.get_events(session_id) if e.type == "answer_submitted"]
    assert sent[-1].data["text"] == corrected
    plan = manager.get_plan(session_id)
    assert plan.item(session_id, question.id).status == "answered"
    with pytest.raises(SpokenAnswerRefusedError, match="submitted already"):
        spoken.submit(session_id, 1)


def test_a_transcript_as_heard_is_submitted_unchanged(
    manager: SessionManager, short_clip: bytes
) -> None:
    session_id = active_session(manager)
    spoken = SpokenAnswers(manager, ScriptedTranscriber(script=[ANSWER]))
    received = spoken.receive(session_id, short_clip)
    assert spoken.transcribe_now(session_id, received.record.sequence).record.status is (
        A.TRANSCRIBED
    )
    result = spoken.submit(session_id, 1)
    assert result.record.submitted_text == ANSWER
    assert manager.get_answers(session_id)[0].text == ANSWER


@pytest.mark.parametrize("mode", ["practice", "mock"])
def test_a_submit_cut_between_its_two_commits_is_finished_by_sending_it_again(
    manager: SessionManager, short_clip: bytes, mode: str
) -> None:
    """A crash after the answer's commit and before the recording's: sending it again
    marks it submitted without a second answer (practice) or a refusal (mock)."""
    session_id = active_session(manager, mode)
    spoken = SpokenAnswers(manager, ScriptedTranscriber(script=[ANSWER]))
    received = spoken.receive(session_id, short_clip)
    record = spoken.transcribe_now(session_id, received.record.sequence).record
    # the first half of a submit, as if the process died right after it
    manager.submit_answer(session_id, record.question_id, ANSWER)
    assert spoken.get(session_id, 1).record.status is A.TRANSCRIBED
    result = spoken.submit(session_id, 1)
    assert result.record.status is A.SUBMITTED and result.record.submitted_text == ANSWER
    assert [a.text for a in manager.get_answers(session_id)] == [ANSWER]
    with pytest.raises(SpokenAnswerRefusedError, match="submitted already"):
        spoken.submit(session_id, 1)


def test_a_flagged_transcript_is_told_not_scored_unless_corrected(
    manager: SessionManager, clips: dict[str, bytes]
) -> None:
    session_id = active_session(manager)
    spoken = SpokenAnswers(manager, ScriptedTranscriber(script=["hmm"]))
    result = spoken.answer(session_id, clips["ogg"], submit=True)  # 10 s of speech, one word
    assert result.record.status is A.FLAGGED and result.record.quality_flag
    assert result.outcome is None and manager.get_answers(session_id) == []
    with pytest.raises(SpokenAnswerRefusedError, match="too poor to score"):
        spoken.submit(session_id, 1)
    with pytest.raises(SpokenAnswerRefusedError, match="too poor to score"):
        spoken.submit(session_id, 1, "hmm")
    typed = spoken.submit(session_id, 1, "I would add a cache and a queue for slow writes.")
    assert typed.record.status is A.SUBMITTED and typed.outcome is not None


def test_a_recording_the_transcriber_cannot_read_fails_and_cannot_be_submitted(
    manager: SessionManager, short_clip: bytes
) -> None:
    from rehearse.errors import TranscriptionError

    def broken(_audio: object) -> str:
        raise TranscriptionError("the model refused it", transient=False)

    session_id = active_session(manager)
    spoken = SpokenAnswers(manager, ScriptedTranscriber(function=broken))
    result = spoken.answer(session_id, short_clip)
    assert result.record.status is A.FAILED and "refused" in (result.record.error or "")
    with pytest.raises(SpokenAnswerRefusedError, match="could not be transcribed"):
        spoken.submit(session_id, 1, "typed instead")


def test_refusals_store_nothing(manager: SessionManager, short_clip: bytes) -> None:
    session_id = active_session(manager)
    spoken = SpokenAnswers(manager, ScriptedTranscriber())
    with pytest.raises(AudioRejectedError):
        spoken.receive(session_id, b"not audio" * 100)
    from rehearse.errors import QuestionNotFoundError

    with pytest.raises(QuestionNotFoundError):
        spoken.receive(session_id, short_clip, question_id="q-nope")
    manager.pause_session(session_id)
    with pytest.raises(InvalidStateError):
        spoken.receive(session_id, short_clip)
    assert not (manager.folders.folder(session_id) / "audio").exists()
    assert spoken.list(session_id) == []
    with pytest.raises(SpokenAnswerNotFoundError):
        spoken.get(session_id, 1)


def test_a_failed_insert_leaves_no_file_and_no_number_used(
    manager: SessionManager, short_clip: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = active_session(manager)
    spoken = SpokenAnswers(manager, ScriptedTranscriber())
    real_add_file = manager.folders.add_file

    def failing(*args: object, **kwargs: object) -> Path:
        real_add_file(*args, **kwargs)  # type: ignore[arg-type]
        raise OSError("disk full")

    monkeypatch.setattr(manager.folders, "add_file", failing)
    with pytest.raises(OSError, match="disk full"):
        spoken.receive(session_id, short_clip)
    monkeypatch.undo()
    assert not list((manager.folders.folder(session_id) / "audio").glob("*"))
    assert spoken.receive(session_id, short_clip).record.sequence == 1


def test_sequences_are_gap_free_under_concurrent_uploads(
    manager_on_each_backend: SessionManager, short_clip: bytes
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    manager = manager_on_each_backend
    session_id = active_session(manager)
    spoken = SpokenAnswers(manager, ScriptedTranscriber())
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: spoken.receive(session_id, short_clip), range(6)))
    assert sorted(r.record.sequence for r in results) == [1, 2, 3, 4, 5, 6]
    audio = manager.folders.folder(session_id) / "audio"
    assert sorted(p.name for p in audio.iterdir()) == [f"{n:03d}_audio.ogg" for n in range(1, 7)]


def test_a_recording_of_a_dead_worker_is_taken_over_and_written_once(
    manager_on_each_backend: SessionManager, clock: FakeClock, short_clip: bytes, tmp_path: Path
) -> None:
    manager = manager_on_each_backend
    session_id = active_session(manager)
    spoken = SpokenAnswers(manager, ScriptedTranscriber(script=["taken over"]))
    spoken.receive(session_id, short_clip)
    dead = spoken.claim("dead-worker", 0.5)
    assert dead is not None and dead.status is A.PROCESSING
    worker = worker_for(manager, spoken, tmp_path)
    assert worker.run_once() is False  # the lease is live
    clock.advance(1)
    assert worker.run_once() is True
    record = spoken.get(session_id, 1).record
    assert record.status is A.TRANSCRIBED and record.attempts == 2
    assert record.transcript == "taken over"
    # the dead worker wakes up and writes its result: refused, nothing changes
    assert not spoken.store.settle(dead, A.TRANSCRIBED, clock.now(), transcript="stale")
    assert not spoken.store.renew(dead, clock.now(), clock.now() + timedelta(seconds=5))
    assert spoken.get(session_id, 1).record.transcript == "taken over"


def test_a_recording_that_keeps_killing_workers_is_failed(
    manager: SessionManager, clock: FakeClock, short_clip: bytes, tmp_path: Path
) -> None:
    session_id = active_session(manager)
    spoken = SpokenAnswers(manager, ScriptedTranscriber())
    spoken.receive(session_id, short_clip)
    for _ in range(3):
        assert spoken.claim("doomed", 0.5) is not None
        clock.advance(1)
    worker = worker_for(manager, spoken, tmp_path)
    worker.max_attempts = 3
    assert worker.run_once() is True
    record = spoken.get(session_id, 1).record
    assert record.status is A.FAILED and "gave up after 3" in (record.error or "")


@given(st.sampled_from(list(A)), st.sampled_from(list(A)))
def test_the_transition_table_is_the_guard(current: A, target: A) -> None:
    if target in SPOKEN_TRANSITIONS[current]:
        assert check_spoken_transition("s", 1, current, target) is target
    else:
        with pytest.raises(SpokenAnswerRefusedError, match=f"it is {current.value}"):
            check_spoken_transition("s", 1, current, target)


def test_final_statuses_move_nowhere() -> None:
    assert not SPOKEN_TRANSITIONS[A.SUBMITTED] and not SPOKEN_TRANSITIONS[A.FAILED]


def _run_cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int | None:
    monkeypatch.setattr(sys, "argv", ["rehearse", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    code = exited.value.code
    return code if isinstance(code, int) or code is None else 1


def test_cli_add_audio_then_submit_transcript(
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
    common = ["--db", db, "sessions"]
    code = _run_cli(monkeypatch, *common, "add-audio", session_id, str(clip), "--json")
    assert code in (0, None)
    printed = json.loads(capsys.readouterr().out)
    assert printed["status"] == "pending" and printed["stored_filename"] == "001_audio.ogg"
    code = _run_cli(
        monkeypatch,
        *common,
        "add-audio",
        session_id,
        str(clip),
        "--wait",
        "--json",
        "--transcriber",
        f"test:{ANSWER}",
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["status"] == "transcribed" and printed["transcript"] == ANSWER
    assert printed["sequence"] == 2 and printed["metrics"]["filler_count"] == 1
    code = _run_cli(
        monkeypatch, *common, "submit-transcript", session_id, "2", "--text", CORRECTED, "--json"
    )
    assert code in (0, None)
    printed = json.loads(capsys.readouterr().out)
    assert printed["status"] == "submitted" and printed["submitted_text"] == CORRECTED
    assert printed["scored"] is True and printed["score"]["score"] >= 0
    # the first is still pending: refused with one line, exit 4
    code = _run_cli(monkeypatch, *common, "submit-transcript", session_id, "1")
    err = capsys.readouterr().err
    assert code == 4 and "not ready yet" in err and "Traceback" not in err
    code = _run_cli(monkeypatch, *common, "submit-transcript", session_id, "9")
    assert code == 3 and "no spoken answer 9" in capsys.readouterr().err
    code = _run_cli(monkeypatch, *common, "add-audio", session_id, str(clip), "--submit")
    assert code == 2 and "--submit needs --wait" in capsys.readouterr().err


def test_cli_add_audio_wait_submit_scores_as_heard(
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
    monkeypatch.setenv("COLUMNS", "300")
    args = ["--db", db, "sessions", "add-audio", session_id, str(clip), "--wait", "--submit"]
    code = _run_cli(monkeypatch, *args, "--transcriber", f"test:{ANSWER}")
    out = " ".join(capsys.readouterr().out.split())  # Rich wraps at its console's width
    assert code in (0, None) and f"transcript: {ANSWER}" in out and "score:" in out


def test_the_api_saves_first_then_the_candidate_submits(
    store: SQLStore, clock: FakeClock, env: None, short_clip: bytes, tmp_path: Path
) -> None:
    manager = SessionManager(store, clock)
    session_id = active_session(manager)
    app = create_app(lambda: manager, sweep_seconds=0)
    with TestClient(app) as client:
        base = f"/api/v1/sessions/{session_id}"
        response = client.post(f"{base}/audio", files={"file": ("a.ogg", short_clip, "audio/ogg")})
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["status"] == "pending" and body["sequence"] == 1 and body["transcript"] is None
        early = client.post(f"{base}/spoken/1/submit", json={})
        assert early.status_code == 409 and "not ready yet" in early.json()["message"]
        spoken = app.state.spoken
        assert worker_for(manager, spoken, tmp_path).drain() == 1
        polled = client.get(f"{base}/spoken/1").json()
        assert polled["status"] == "transcribed" and polled["transcript"] == ANSWER
        assert polled["metrics"]["filler_count"] == 1
        assert [a["sequence"] for a in client.get(f"{base}/spoken").json()] == [1]
        extra = client.post(f"{base}/spoken/1/submit", json={"transcript": "x", "more": 1})
        assert extra.status_code == 422
        sent = client.post(f"{base}/spoken/1/submit", json={"transcript": CORRECTED})
        assert sent.status_code == 200, sent.text
        sent_body = sent.json()
        assert sent_body["status"] == "submitted" and sent_body["submitted_text"] == CORRECTED
        assert sent_body["score"] is not None and sent_body["next_question"] is not None
        answers = client.get(f"{base}/answers").json()
        assert answers[0]["text"] == CORRECTED
        again = client.post(f"{base}/spoken/1/submit", json={})
        assert again.status_code == 409
        assert client.get(f"{base}/spoken/7").status_code == 404
        bad = client.post(f"{base}/audio", files={"file": ("a.ogg", b"nope" * 100, "audio/ogg")})
        assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "audio"
        big = client.post(f"{base}/audio", files={"file": ("a.ogg", bytes(200_000), "audio/ogg")})
        assert big.status_code == 413
        missing = client.post("/api/v1/sessions/nope/audio", files={"file": ("a", short_clip)})
        assert missing.status_code == 404


def test_mock_mode_keeps_the_score_back(
    store: SQLStore, clock: FakeClock, env: None, short_clip: bytes, tmp_path: Path
) -> None:
    manager = SessionManager(store, clock)
    session_id = active_session(manager, mode="mock")
    app = create_app(lambda: manager, sweep_seconds=0)
    with TestClient(app) as client:
        base = f"/api/v1/sessions/{session_id}"
        client.post(f"{base}/audio", files={"file": ("a.ogg", short_clip, "audio/ogg")})
        worker_for(manager, app.state.spoken, tmp_path).drain()
        sent = client.post(f"{base}/spoken/1/submit", json={})
        assert sent.status_code == 200 and sent.json()["score"] is None


def test_terminal_audio_command_shows_the_transcript_and_takes_a_correction(
    manager: SessionManager,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    short_clip: bytes,
    capsys: pytest.CaptureFixture[str],
    env: None,
) -> None:
    from rehearse.cli import interview as terminal

    monkeypatch.setenv("COLUMNS", "200")
    clip = tmp_path / "My Answer.ogg"
    clip.write_bytes(short_clip)
    session_id = active_session(manager)
    first = manager.next_question(session_id)
    assert first is not None
    typed = iter(["/audio /no/such/file.ogg", f"/audio {clip}", CORRECTED, "/end"])
    monkeypatch.setattr("builtins.input", lambda _prompt="": next(typed))
    terminal._run(manager, session_id)
    out = " ".join(capsys.readouterr().out.split())  # Rich wraps at its console's width
    assert "cannot read it" in out and "/no/such/file.ogg" in out
    assert f"Transcript: {ANSWER}" in out
    answered = manager.get_plan(session_id).item(session_id, first.id)
    assert answered.status == "answered"
    assert manager.get_answers(session_id)[0].text == CORRECTED


def test_deleting_a_session_or_its_user_leaves_no_spoken_answer(
    manager: SessionManager, short_clip: bytes
) -> None:
    from sqlalchemy import func, select

    from rehearse.domain.access import LOCAL_PRINCIPAL
    from rehearse.service.userdata import UserData
    from rehearse.storage.schema import spoken_answers

    def rows(session_id: str) -> int:
        with manager.store.engine.connect() as connection:  # type: ignore[attr-defined]
            query = select(func.count()).where(spoken_answers.c.session_id == session_id)
            return int(connection.execute(query).scalar_one())

    spoken = SpokenAnswers(manager, ScriptedTranscriber(script=[ANSWER, ANSWER]))
    deleted, kept = active_session(manager), active_session(manager)
    spoken.receive(deleted, short_clip)
    spoken.receive(kept, short_clip)
    assert rows(deleted) == 1 and rows(kept) == 1
    manager.delete_session(deleted, LOCAL_PRINCIPAL)
    assert rows(deleted) == 0 and rows(kept) == 1
    UserData(manager).delete_user("name:ada")
    assert rows(kept) == 0
