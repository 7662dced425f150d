"""The seed-003 voice session manager on SQLite and PostgreSQL: sessions, audio, folders."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rehearse.clock import FakeClock
from rehearse.domain.voice import (
    ErrorEntry,
    TranscriptionStatus,
    VoiceEventType,
    VoiceSessionState,
)
from rehearse.errors import (
    AudioRejectedError,
    ConfigurationError,
    InvalidStateError,
    SessionImmutableError,
    SessionNotFoundError,
)
from rehearse.service.voice import VoiceSessionManager
from rehearse.storage.voice import VoiceStore
from rehearse.storage.voice_folders import VoiceFolders

S = VoiceSessionState


def test_create_lays_out_the_seed_folder(voice: VoiceSessionManager) -> None:
    session = voice.create_session(100)
    assert session.state is S.COLLECTING and session.chat_id == 100
    path = voice.get_session_path(session.id)
    assert path == voice.folders.root.resolve() / session.id
    assert {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_dir()} == {
        "audio",
        "transcripts",
        "process",
        "process/output",
    }
    metadata = json.loads((path / "metadata.json").read_text())
    assert metadata["id"] == session.id and metadata["state"] == "collecting"
    assert [e.event_type for e in voice.events(session.id)] == [VoiceEventType.CREATED]


def test_create_auto_finalizes_the_chats_collecting_session(
    voice: VoiceSessionManager, clock: FakeClock, short_clip: bytes
) -> None:
    first = voice.create_session(7)
    other_chat = voice.create_session(8)
    voice.add_audio(first.id, short_clip)
    clock.advance(5)
    second = voice.create_session(7)
    assert voice.get_active_session(7) == second
    old = voice.require(first.id)
    assert old.state is S.TRANSCRIBING and old.finalized_at == clock.now()
    finalized = [e for e in voice.events(first.id) if e.event_type is VoiceEventType.FINALIZED]
    assert finalized and finalized[0].details == {"audio_entries": 1, "auto": True}
    assert voice.require(other_chat.id).state is S.COLLECTING  # other chats untouched


def test_an_empty_session_is_auto_finalized_through_to_processed(
    voice: VoiceSessionManager,
) -> None:
    first = voice.create_session(1)
    voice.create_session(1)
    assert voice.require(first.id).state is S.PROCESSED
    assert voice.folders.path(first.id).joinpath("process", "input.txt").read_text() == ""


def test_concurrent_creates_leave_one_collecting_session(voice: VoiceSessionManager) -> None:
    with ThreadPoolExecutor(4) as pool:
        created = list(pool.map(lambda _: voice.create_session(55), range(6)))
    collecting = [s for s in voice.list_sessions(20) if s.state is S.COLLECTING]
    assert len(collecting) == 1 and len({s.id for s in created}) == 6


def test_get_active_session_and_list_newest_first(
    voice: VoiceSessionManager, clock: FakeClock
) -> None:
    assert voice.get_active_session() is None
    ids = []
    for chat in range(4):
        ids.append(voice.create_session(chat).id)
        clock.advance(1)
    assert [s.id for s in voice.list_sessions(3)] == ids[::-1][:3]
    assert voice.get_active_session() is not None
    assert voice.get_active_session(2) is not None and voice.get_active_session(2).id == ids[2]  # type: ignore[union-attr]
    assert voice.get_active_session(99) is None
    with pytest.raises(ConfigurationError):
        voice.list_sessions(0)


def test_add_audio_stores_the_entry(voice: VoiceSessionManager, clips: dict[str, bytes]) -> None:
    session = voice.create_session(3)
    for number, fmt in enumerate(("ogg", "webm", "wav", "mp3", "m4a"), start=1):
        session, entry = voice.add_audio(session.id, clips[fmt], filename=f"../../{fmt}.{fmt}")
        assert entry.sequence == number
        assert entry.stored_filename == f"{number:03d}_audio.{fmt}"
        assert entry.original_filename == f"{fmt}.{fmt}"
        assert entry.size_bytes == len(clips[fmt]) and entry.duration_seconds > 9
        assert entry.transcription_status is TranscriptionStatus.PENDING
        stored = voice.folders.audio_path(session.id, entry.stored_filename)
        assert stored.read_bytes() == clips[fmt]
    metadata = voice.folders.read_metadata(session.id)
    assert metadata is not None and [e["sequence"] for e in metadata["audio_entries"]] == [
        1,
        2,
        3,
        4,
        5,
    ]
    added = [e for e in voice.events(session.id) if e.event_type is VoiceEventType.AUDIO_ADDED]
    assert [e.details["sequence"] for e in added] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("bad", ["garbage", "truncated", "too_long", "too_large", "empty"], ids=str)
def test_refused_audio_stores_nothing(
    voice: VoiceSessionManager, clips: dict[str, bytes], tmp_path: Path, bad: str
) -> None:
    manager = voice
    if bad in ("too_long", "too_large"):
        manager = VoiceSessionManager(
            voice.store,
            voice.folders,
            voice.clock,
            max_audio_duration_seconds=3 if bad == "too_long" else 1200,
            max_audio_bytes=1000 if bad == "too_large" else 50_000_000,
        )
    data = {
        "garbage": b"not audio at all" * 50,
        "truncated": clips["ogg"][: len(clips["ogg"]) // 2],
        "too_long": clips["ogg"],
        "too_large": clips["ogg"],
        "empty": b"",
    }[bad]
    session = manager.create_session(9)
    with pytest.raises(AudioRejectedError):
        manager.add_audio(session.id, data)
    assert manager.require(session.id).audio_entries == ()
    assert list((manager.get_session_path(session.id) / "audio").iterdir()) == []
    # and the next good one is still number 1: no gap
    _, entry = voice.add_audio(session.id, clips["mp3"])
    assert entry.sequence == 1


def test_audio_refused_unless_collecting(voice: VoiceSessionManager, short_clip: bytes) -> None:
    session = voice.create_session(4)
    voice.add_audio(session.id, short_clip)
    voice.finalize_session(session.id)
    with pytest.raises(InvalidStateError) as raised:
        voice.add_audio(session.id, short_clip)
    assert "transcribing" in str(raised.value)
    voice.transition_state(session.id, S.ERROR)
    with pytest.raises(SessionImmutableError):
        voice.add_audio(session.id, short_clip)
    assert len(voice.require(session.id).audio_entries) == 1
    assert len(list((voice.get_session_path(session.id) / "audio").iterdir())) == 1


def test_unknown_session(voice: VoiceSessionManager, short_clip: bytes) -> None:
    for call in (
        lambda: voice.add_audio("2026-01-01_00-00-00_abcdef", short_clip),
        lambda: voice.finalize_session("nope"),
        lambda: voice.get_session_path("nope"),
        lambda: voice.transition_state("nope", S.ERROR),
    ):
        with pytest.raises(SessionNotFoundError):
            call()
    assert voice.get_session("nope") is None


TRAVERSALS = ["../../etc", "..", "a/../../b", "/tmp/x", "x\\..\\y", ".metadata.lock", "%2e%2e"]


def test_path_traversal_is_refused(
    voice: VoiceSessionManager, short_clip: bytes, tmp_path: Path
) -> None:
    for session_id in TRAVERSALS:
        for call in (
            lambda bad=session_id: voice.get_session_path(bad),
            lambda bad=session_id: voice.add_audio(bad, short_clip),
            lambda bad=session_id: voice.folders.create(bad),
        ):
            with pytest.raises(ConfigurationError):
                call()
    session = voice.create_session(5)
    with pytest.raises(ConfigurationError):
        voice.folders.audio_path(session.id, "../../../evil.ogg")
    with pytest.raises(ConfigurationError):
        voice.folders.write_output(session.id, "../x.json", b"{}")
    assert not (tmp_path / "evil.ogg").exists()


def test_a_symlinked_session_folder_cannot_lead_out(
    voice: VoiceSessionManager, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    voice.folders.root.mkdir(parents=True, exist_ok=True)
    (voice.folders.root / "linked").symlink_to(outside)
    with pytest.raises(ConfigurationError):
        voice.folders.path("linked")


def test_transition_state_follows_the_table(voice: VoiceSessionManager) -> None:
    session = voice.create_session(6)
    with pytest.raises(InvalidStateError):
        voice.transition_state(session.id, S.PROCESSED)
    for target in (S.TRANSCRIBING, S.TRANSCRIBED, S.PROCESSING, S.PROCESSED):
        assert voice.transition_state(session.id, target).state is target
    with pytest.raises(SessionImmutableError):
        voice.transition_state(session.id, S.ERROR)
    changes = [
        (e.details["from"], e.details["to"])
        for e in voice.events(session.id)
        if e.event_type is VoiceEventType.STATE_CHANGED
    ]
    assert changes == [
        ("collecting", "transcribing"),
        ("transcribing", "transcribed"),
        ("transcribed", "processing"),
        ("processing", "processed"),
    ]
    assert json.loads((voice.get_session_path(session.id) / "metadata.json").read_text())[
        "state"
    ] == ("processed")


def test_finalize_twice_is_refused(voice: VoiceSessionManager, short_clip: bytes) -> None:
    session = voice.create_session(10)
    voice.add_audio(session.id, short_clip)
    voice.finalize_session(session.id)
    with pytest.raises(InvalidStateError):
        voice.finalize_session(session.id)


def test_add_error_and_update_status(
    voice: VoiceSessionManager, clock: FakeClock, short_clip: bytes
) -> None:
    session = voice.create_session(11)
    voice.add_audio(session.id, short_clip)
    error = ErrorEntry(at=clock.now(), stage="upload", message="the bot lost a note", sequence=1)
    updated = voice.add_error(session.id, error)
    assert updated.errors == (error,)
    assert voice.events(session.id)[-1].event_type is VoiceEventType.ERROR
    updated = voice.update_transcription_status(session.id, 1, TranscriptionStatus.FAILED)
    assert updated.audio_entries[0].transcription_status is TranscriptionStatus.FAILED
    with pytest.raises(ConfigurationError):
        voice.update_transcription_status(session.id, 2, TranscriptionStatus.DONE)
    voice.transition_state(session.id, S.ERROR)
    with pytest.raises(SessionImmutableError):
        voice.add_error(session.id, error)
    with pytest.raises(SessionImmutableError):
        voice.update_transcription_status(session.id, 1, TranscriptionStatus.DONE)


def test_listeners_hear_committed_events(
    store_voice_listener: tuple[VoiceSessionManager, list[str]], short_clip: bytes
) -> None:
    voice, heard = store_voice_listener
    session = voice.create_session(12)
    voice.add_audio(session.id, short_clip)
    voice.transition_state(session.id, S.ERROR)
    assert heard == ["created", "audio_added", "state_changed"]


@pytest.fixture
def store_voice_listener(voice: VoiceSessionManager) -> tuple[VoiceSessionManager, list[str]]:
    heard: list[str] = []

    def listen(event: object) -> None:
        heard.append(event.event_type.value)  # type: ignore[attr-defined]

    voice.listeners.append(listen)
    return voice, heard


def test_concurrent_uploads_get_gap_free_sequences(
    voice: VoiceSessionManager, clips: dict[str, bytes]
) -> None:
    session = voice.create_session(20)
    payloads = [clips[f] for f in ("ogg", "webm", "wav", "mp3", "m4a")] * 3
    with ThreadPoolExecutor(6) as pool:
        entries = list(pool.map(lambda data: voice.add_audio(session.id, data)[1], payloads))
    assert sorted(e.sequence for e in entries) == list(range(1, len(payloads) + 1))
    stored = voice.require(session.id).audio_entries
    assert [e.sequence for e in stored] == list(range(1, len(payloads) + 1))
    for entry in entries:  # nothing overwritten: every file holds what its upload sent
        path = voice.folders.audio_path(session.id, entry.stored_filename)
        assert path.stat().st_size == entry.size_bytes
    metadata = voice.folders.read_metadata(session.id)
    assert metadata is not None and len(metadata["audio_entries"]) == len(payloads)


def test_two_managers_share_one_database(
    voice: VoiceSessionManager, short_clip: bytes, clock: FakeClock
) -> None:
    other = VoiceSessionManager(
        VoiceStore(voice.store.engine), VoiceFolders(voice.folders.root), clock
    )
    session = voice.create_session(30)
    other.add_audio(session.id, short_clip)
    assert len(voice.require(session.id).audio_entries) == 1


def test_metadata_is_never_torn_under_a_concurrent_reader(
    voice: VoiceSessionManager, short_clip: bytes
) -> None:
    session = voice.create_session(40)
    path = voice.get_session_path(session.id) / "metadata.json"
    stop = threading.Event()
    seen: list[int] = []
    failures: list[str] = []

    def read() -> None:
        while not stop.is_set():
            try:
                seen.append(len(json.loads(path.read_text())["audio_entries"]))
            except (json.JSONDecodeError, KeyError) as exc:
                failures.append(repr(exc))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(8):
            voice.add_audio(session.id, short_clip)
            voice.refresh_metadata(session.id)
        # the reader may be between two reads when the last write lands: let it see it
        deadline = time.monotonic() + 10
        while (not seen or seen[-1] < 8) and not failures and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        reader.join()
    assert failures == [] and seen and max(seen) == 8
    assert seen == sorted(seen)  # the file only ever moves forward
