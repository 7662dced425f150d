"""The transcription worker: real speech end to end, retries, leases, takeover, recovery."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rehearse.clock import FakeClock
from rehearse.domain.voice import TranscriptionStatus, VoiceSessionState
from rehearse.errors import TranscriptionError
from rehearse.service.voice import VoiceSessionManager
from rehearse.service.voice_worker import TranscriptionWorker
from rehearse.storage import open_store
from rehearse.storage.voice import VoiceStore
from rehearse.storage.voice_folders import VoiceFolders
from rehearse.voice.transcribers import FasterWhisperTranscriber, ScriptedTranscriber

from .conftest import FORMATS

pytestmark = pytest.mark.slow  # real processes: scheduled first (tests/conftest.py)

S = VoiceSessionState


@pytest.fixture
def sqlite_voice(tmp_path: Path, clock: FakeClock) -> Iterator[VoiceSessionManager]:
    store = open_store(f"sqlite:///{tmp_path / 'voice.db'}")
    yield VoiceSessionManager(VoiceStore(store.engine), VoiceFolders(tmp_path / "sessions"), clock)
    store.close()


def test_real_speech_in_every_format_through_to_the_report(
    sqlite_voice: VoiceSessionManager, clips: dict[str, bytes]
) -> None:
    voice = sqlite_voice
    session = voice.create_session(1)
    for fmt in FORMATS:
        voice.add_audio(session.id, clips[fmt], filename=f"answer.{fmt}")
    worker = TranscriptionWorker(voice, FasterWhisperTranscriber("tiny.en"))
    assert worker.drain() == len(FORMATS)
    assert voice.require(session.id).state is S.COLLECTING  # still collecting: no finalize yet
    done = voice.finalize_session(session.id)
    assert done.state is S.PROCESSED
    assert all(e.transcription_status is TranscriptionStatus.DONE for e in done.audio_entries)
    folder = voice.get_session_path(session.id)
    paragraphs = (folder / "process" / "input.txt").read_text().strip().split("\n\n")
    assert len(paragraphs) == len(FORMATS)
    for number, paragraph in enumerate(paragraphs, start=1):
        assert paragraph == (folder / "transcripts" / f"{number:03d}_audio.txt").read_text().strip()
        lowered = paragraph.lower()
        # tiny.en hears "cache" as "cash" now and then; these words it always gets
        assert "queue" in lowered and "database" in lowered and "slow" in lowered
    report = json.loads((folder / "process" / "output" / "speech_metrics.json").read_text())
    for entry in report["entries"]:
        metrics = entry["metrics"]
        assert entry["quality_flag"] is None
        assert metrics["filler_count"] >= 1  # the prompt keeps "um"/"uh"
        assert metrics["long_pause_count"] == 1  # the 2 s break
        assert 1.6 <= metrics["longest_pause_seconds"] <= 2.6
        assert 100 <= metrics["words_per_minute"] <= 260
    assert report["totals"]["word_count"] > 5 * 15
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["state"] == "processed"
    assert [e["transcript_filename"] for e in metadata["audio_entries"]] == [
        f"{n:03d}_audio.txt" for n in range(1, 6)
    ]


def test_transient_failures_are_retried_with_backoff(
    voice: VoiceSessionManager, short_clip: bytes
) -> None:
    waits: list[float] = []
    flaky = ScriptedTranscriber(
        script=[
            TranscriptionError("HTTP 503", transient=True),
            TranscriptionError("timeout", transient=True),
            "hello this is my answer",
        ]
    )
    worker = TranscriptionWorker(
        voice, flaky, max_attempts=3, retry_base_seconds=2.0, sleep=waits.append
    )
    session = voice.create_session(2)
    voice.add_audio(session.id, short_clip)
    assert worker.drain() == 1
    assert waits == [2.0, 4.0] and flaky.calls == 3
    entry = voice.require(session.id).audio_entries[0]
    assert entry.transcription_status is TranscriptionStatus.DONE
    assert voice.folders.read_transcript(session.id, "001_audio.txt") == "hello this is my answer"


def test_a_permanent_failure_fails_the_entry_and_is_recorded(
    voice: VoiceSessionManager, short_clip: bytes
) -> None:
    script: list[str | Exception] = [
        "first answer",
        TranscriptionError("HTTP 401: bad key", transient=False),
    ]
    worker = TranscriptionWorker(voice, ScriptedTranscriber(script=script), sleep=lambda _: None)
    session = voice.create_session(3)
    voice.add_audio(session.id, short_clip)
    voice.add_audio(session.id, short_clip)
    assert worker.drain() == 2
    finished = voice.finalize_session(session.id)
    assert [e.transcription_status for e in finished.audio_entries] == [
        TranscriptionStatus.DONE,
        TranscriptionStatus.FAILED,
    ]
    assert finished.audio_entries[1].error == "HTTP 401: bad key"
    assert finished.state is S.PROCESSED
    assert [(e.stage, e.sequence) for e in finished.errors] == [("transcription", 2)]
    text = (voice.get_session_path(session.id) / "process" / "input.txt").read_text()
    assert text == "first answer\n"


def test_every_entry_failing_puts_the_session_in_error(
    voice: VoiceSessionManager, short_clip: bytes
) -> None:
    broken = ScriptedTranscriber(script=[TranscriptionError("model missing", transient=False)])
    worker = TranscriptionWorker(voice, broken)
    session = voice.create_session(4)
    voice.add_audio(session.id, short_clip)
    voice.finalize_session(session.id)  # transcribing: the worker finishes the pipeline
    assert voice.require(session.id).state is S.TRANSCRIBING
    worker.drain()
    final = voice.require(session.id)
    assert final.state is S.ERROR and final.errors[-1].stage == "pipeline"


def test_a_job_of_a_dead_worker_is_taken_over_once(
    voice: VoiceSessionManager, clock: FakeClock, short_clip: bytes
) -> None:
    session = voice.create_session(5)
    voice.add_audio(session.id, short_clip)
    dead = voice.store.claim("dead-worker", clock.now(), clock.now().replace(microsecond=0))
    assert dead is not None
    assert voice.require(session.id).audio_entries[0].transcription_status is (
        TranscriptionStatus.PROCESSING
    )
    live = TranscriptionWorker(voice, ScriptedTranscriber(script=["taken over"]), lease_seconds=30)
    clock.advance(1)  # the dead worker's lease has run out
    assert live.run_once() is True
    assert voice.store.job_attempts(session.id, 1) == ("done", 2)
    # the dead worker wakes up and tries to write its result: refused
    assert not voice.store.complete(dead, clock.now(), TranscriptionStatus.DONE, "x.txt", None)
    entry = voice.require(session.id).audio_entries[0]
    assert entry.transcript_filename == "001_audio.txt"
    assert live.run_once() is False  # nothing left


def test_a_live_lease_is_not_taken(
    voice: VoiceSessionManager, clock: FakeClock, short_clip: bytes
) -> None:
    session = voice.create_session(6)
    voice.add_audio(session.id, short_clip)
    from datetime import timedelta

    held = voice.store.claim("busy", clock.now(), clock.now() + timedelta(seconds=60))
    assert held is not None
    other = TranscriptionWorker(voice, ScriptedTranscriber())
    assert other.run_once() is False
    clock.advance(30)
    assert voice.store.renew(held, clock.now(), clock.now() + timedelta(seconds=60))
    clock.advance(45)
    assert other.run_once() is False  # renewed: still held
    clock.advance(20)
    assert other.run_once() is True
    assert not voice.store.renew(held, clock.now(), clock.now() + timedelta(seconds=60))


def test_a_recording_that_keeps_killing_workers_is_failed(
    voice: VoiceSessionManager, clock: FakeClock, short_clip: bytes
) -> None:
    session = voice.create_session(7)
    voice.add_audio(session.id, short_clip)
    for _ in range(3):  # three workers die holding it
        assert voice.store.claim("doomed", clock.now(), clock.now()) is not None
        clock.advance(1)
    worker = TranscriptionWorker(voice, ScriptedTranscriber(), max_attempts=3)
    assert worker.run_once() is True
    entry = voice.require(session.id).audio_entries[0]
    assert entry.transcription_status is TranscriptionStatus.FAILED
    assert entry.error is not None and "gave up after 3" in entry.error


def test_recover_finishes_a_pipeline_a_crash_left(
    voice: VoiceSessionManager, short_clip: bytes
) -> None:
    session = voice.create_session(8)
    voice.add_audio(session.id, short_clip)
    worker = TranscriptionWorker(voice, ScriptedTranscriber(script=["an answer"]))
    worker.drain()
    # the process died right after transcribing -> transcribed -> processing
    voice.transition_state(session.id, S.TRANSCRIBING)
    voice.transition_state(session.id, S.TRANSCRIBED)
    voice.transition_state(session.id, S.PROCESSING)
    assert worker.recover() == 1
    assert voice.require(session.id).state is S.PROCESSED
    assert (voice.get_session_path(session.id) / "process/output/speech_metrics.json").exists()


def test_parallel_threads_drain_the_queue(voice: VoiceSessionManager, short_clip: bytes) -> None:
    voice.clock = _RealClock()
    session = voice.create_session(9)
    for _ in range(6):
        voice.add_audio(session.id, short_clip)
    seen: set[str] = set()
    lock = threading.Lock()

    def text_of(_audio: object) -> str:
        with lock:
            seen.add(threading.current_thread().name)
        time.sleep(0.05)
        return "parallel answer"

    worker = TranscriptionWorker(voice, ScriptedTranscriber(function=text_of), parallelism=2)
    stop = threading.Event()
    runner = threading.Thread(target=worker.run, args=(stop, 0.05))
    runner.start()
    deadline = time.monotonic() + 30
    while voice.store.pending_jobs() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    runner.join()
    entries = voice.require(session.id).audio_entries
    assert all(e.transcription_status is TranscriptionStatus.DONE for e in entries)
    assert seen <= {"voice-worker-0", "voice-worker-1"} and len(seen) >= 1


class _RealClock:
    def now(self):  # type: ignore[no-untyped-def]
        from datetime import UTC, datetime

        return datetime.now(UTC)


def _until(done: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)
    return done()


@pytest.fixture
def serve_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from rehearse.settings import get_settings

    monkeypatch.setenv("REHEARSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("REHEARSE_VOICE_TRANSCRIBER", "test:from the background")
    get_settings.cache_clear()
    yield f"sqlite:///{tmp_path / 'serve.db'}"
    get_settings.cache_clear()


def test_the_background_owner_runs_the_worker_for_both_queues(
    serve_env: str, short_clip: bytes
) -> None:
    """``rehearse serve``'s worker starts and stops with ``Background`` (voice_worker=True)."""
    from rehearse.domain.config import SessionConfig
    from rehearse.service.background import Background
    from rehearse.service.composition import Services
    from rehearse.service.spoken_answers import SpokenAnswers

    services = Services.from_url(serve_env)
    try:
        voice = VoiceSessionManager(
            VoiceStore(services.store.engine),  # type: ignore[attr-defined]
            VoiceFolders(tmp_sessions(services)),
            services.clock,
        )
        chat = voice.create_session(1)
        voice.add_audio(chat.id, short_clip)
        manager = services.manager
        interview = manager.create_session(SessionConfig(candidate_name="Ada"))
        manager.start_session(interview.id)
        spoken = SpokenAnswers(manager, ScriptedTranscriber())
        spoken.receive(interview.id, short_clip)
        background = Background(services, sweep_seconds=0, voice_worker=True)

        async def run() -> None:
            await background.start()
            try:
                await asyncio.to_thread(
                    _until,
                    lambda: not voice.store.pending_jobs() and not spoken.store.waiting(),
                )
            finally:
                await background.stop()

        asyncio.run(run())
        entry = voice.require(chat.id).audio_entries[0]
        assert entry.transcription_status is TranscriptionStatus.DONE
        record = spoken.get(interview.id, 1).record
        assert record.transcript == "from the background"
        assert not any(t.name == "voice-worker" for t in threading.enumerate())  # stopped
    finally:
        services.close()


def tmp_sessions(services: object) -> Path:
    from rehearse.settings import get_settings

    return get_settings().resolved_sessions_dir()


def test_processes_of_one_machine_share_one_worker(
    serve_env: str, short_clip: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker runs where the file lock is held; another process waits, then takes over."""
    from filelock import FileLock

    from rehearse.service import voice_worker
    from rehearse.service.composition import Services
    from rehearse.settings import get_settings

    monkeypatch.setattr(voice_worker, "LOCK_RETRY_SECONDS", 0.1)
    services = Services.from_url(serve_env)
    held = FileLock(str(get_settings().data_dir / "voice-worker.lock"))
    try:
        voice = VoiceSessionManager(
            VoiceStore(services.store.engine),  # type: ignore[attr-defined]
            VoiceFolders(tmp_sessions(services)),
            services.clock,
        )
        session = voice.create_session(2)
        voice.add_audio(session.id, short_clip)
        held.acquire()  # another serving process has the worker
        stop = voice_worker.start_for(services)
        try:
            assert not _until(lambda: not voice.store.pending_jobs(), seconds=1.5)
            held.release()  # ... and stops: this one takes over
            assert _until(lambda: not voice.store.pending_jobs())
        finally:
            stop()
    finally:
        if held.is_locked:
            held.release()
        services.close()


def test_a_bad_transcriber_setting_does_not_stop_the_server(
    serve_env: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from rehearse.service.composition import Services
    from rehearse.service.voice_worker import start_for
    from rehearse.settings import get_settings

    monkeypatch.setenv("REHEARSE_VOICE_TRANSCRIBER", "nonsense:model")
    get_settings.cache_clear()
    services = Services.from_url(serve_env)
    try:
        stop = start_for(services)
        stop()
    finally:
        services.close()
    assert "voice worker not started" in caplog.text and "voice_transcriber" in caplog.text
