"""The voice session manager of seed ``003_*``: chat-bot voice sessions end to end.

A chat's voice notes collect in its ``collecting`` session; each is decoded (refused
with nothing stored if it is not acceptable), stored as ``audio/NNN_audio.<ext>`` and
queued for transcription at once. Finalizing moves the session on through the seed's
pipeline: ``transcribing`` until every entry is settled, ``transcribed`` once
``process/input.txt`` (the consolidated transcript) is written, ``processing`` while
the speech metrics are computed into ``process/output/``, then ``processed``. The
transcription itself runs in :class:`~rehearse.service.voice_worker.TranscriptionWorker`.

The database is the source of truth; ``metadata.json`` is rewritten from it after
every change. Every change records seed-named events (``created``, ``finalized``,
``audio_added``, ``state_changed``, ``error``) in its own transaction; listeners given
to the manager hear them after the commit (logging, notifications).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rehearse.clock import Clock, SystemClock
from rehearse.domain.voice import (
    AudioEntry,
    ErrorEntry,
    TranscriptionStatus,
    VoiceEvent,
    VoiceEventType,
    VoiceSession,
    VoiceSessionState,
    check_accepts_audio,
    check_transition,
    clean_original_filename,
    new_session_id,
    stored_audio_name,
)
from rehearse.errors import (
    ConfigurationError,
    InvalidStateError,
    SessionImmutableError,
    SessionNotFoundError,
)
from rehearse.settings import Settings, get_settings
from rehearse.storage.voice import CollectingSessionExistsError, VoiceStore
from rehearse.storage.voice_folders import VoiceFolders
from rehearse.voice.audio import DecodedAudio, decode_audio

log = logging.getLogger("rehearse.voice")

Listener = Callable[[VoiceEvent], None]
_S = VoiceSessionState


class VoiceSessionManager:
    """Voice sessions of chat bots (seed ``003_*`` ``SessionManager``).

    Args:
        store: the voice tables (``VoiceStore(sql_store.engine)``).
        folders: the session folders (``VoiceFolders(settings.resolved_sessions_dir())``).
        clock: where "now" comes from.
        max_audio_duration_seconds: longest accepted recording, seconds (seed: 1200).
        max_audio_bytes: largest accepted file, bytes.
        long_pause_seconds: the long-pause threshold of the speech metrics, seconds.
        listeners: called with each event after its change is committed.
    """

    def __init__(
        self,
        store: VoiceStore,
        folders: VoiceFolders,
        clock: Clock | None = None,
        *,
        max_audio_duration_seconds: float = 1200,
        max_audio_bytes: int = 50_000_000,
        long_pause_seconds: float = 1.2,
        listeners: Sequence[Listener] = (),
    ) -> None:
        self.store = store
        self.folders = folders
        self.clock = clock or SystemClock()
        self.max_audio_duration_seconds = max_audio_duration_seconds
        self.max_audio_bytes = max_audio_bytes
        self.long_pause_seconds = long_pause_seconds
        self.listeners = list(listeners)
        self._closer: Callable[[], None] | None = None

    @classmethod
    def from_settings(
        cls, store: VoiceStore, settings: Settings | None = None, clock: Clock | None = None
    ) -> VoiceSessionManager:
        """A manager with the limits and folders of ``settings`` (default: the environment)."""
        settings = settings or get_settings()
        return cls(
            store,
            VoiceFolders(settings.resolved_sessions_dir()),
            clock,
            max_audio_duration_seconds=settings.max_audio_duration_seconds,
            max_audio_bytes=settings.max_audio_bytes,
            long_pause_seconds=settings.long_pause_seconds,
        )

    @classmethod
    def open(
        cls, database_url: str | None = None, clock: Clock | None = None
    ) -> VoiceSessionManager:
        """A manager on ``database_url`` (default: the settings'), migrating it if needed.

        Call :meth:`close` when done.

        Raises:
            ConfigurationError: the URL is not usable.
            DataStoreError: the database cannot be reached or migrated.
        """
        from rehearse.storage import open_store

        settings = get_settings()
        sql_store = open_store(database_url or settings.resolved_database_url())
        manager = cls.from_settings(VoiceStore(sql_store.engine), settings, clock)
        manager._closer = sql_store.close
        return manager

    def close(self) -> None:
        """Release the database connections a manager from :meth:`open` holds."""
        if self._closer is not None:
            self._closer()
            self._closer = None

    # -- sessions ------------------------------------------------------------------

    def create_session(self, chat_id: int) -> VoiceSession:
        """Open a collecting session for ``chat_id``, finalizing its collecting one first.

        Raises:
            ConfigurationError: ``chat_id`` is not an integer.
            DataStoreError: the database failed.
        """
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise ConfigurationError(
                f"chat_id={chat_id!r}: must be an integer (the chat's id)",
                [{"field": "chat_id", "value": chat_id, "message": "must be an integer"}],
            )
        finalized: list[VoiceEvent] = []

        def close(old: VoiceSession) -> tuple[VoiceSession, list[VoiceEvent]]:
            changed, events = self._finalize(old, auto=True)
            finalized.extend(events)
            return changed, events

        for _ in range(3):
            finalized.clear()
            now = self.clock.now()
            session = VoiceSession(
                id=new_session_id(now, secrets.token_hex(3)),
                chat_id=chat_id,
                state=_S.COLLECTING,
                created_at=now,
                updated_at=now,
            )
            created = self._event(session.id, VoiceEventType.CREATED, {"chat_id": chat_id})
            try:
                closed = self.store.create(session, [created], close)
            except CollectingSessionExistsError:
                continue  # another create for this chat won the race: finalize it, retry
            break
        else:  # pragma: no cover - three lost races in a row
            raise CollectingSessionExistsError(f"could not open a voice session for {chat_id}")
        self.folders.create(session.id)
        for old in closed:
            self._after(old.id, finalized)
            self.advance(old.id)
        self._after(session.id, [created])
        return session

    def get_session(self, session_id: str) -> VoiceSession | None:
        """The session, or ``None`` when no voice session has this id."""
        return self.store.get(session_id)

    def require(self, session_id: str) -> VoiceSession:
        """The session.

        Raises:
            SessionNotFoundError: no voice session has this id.
        """
        session = self.store.get(session_id)
        if session is None:
            raise SessionNotFoundError(session_id)
        return session

    def get_active_session(self, chat_id: int | None = None) -> VoiceSession | None:
        """The collecting session of ``chat_id`` (of any chat when ``None``), or ``None``."""
        return self.store.collecting(chat_id)

    def list_sessions(self, limit: int = 10) -> list[VoiceSession]:
        """The ``limit`` (1-1000) newest sessions, newest first.

        Raises:
            ConfigurationError: ``limit`` is out of range.
        """
        if not 1 <= limit <= 1000:
            raise ConfigurationError(
                f"limit={limit}: must be 1-1000",
                [{"field": "limit", "value": limit, "message": "must be 1-1000"}],
            )
        return self.store.list_sessions(limit)

    def get_session_path(self, session_id: str) -> Path:
        """The session's folder (seed layout).

        Raises:
            ConfigurationError: the id could not name a folder inside the sessions directory.
            SessionNotFoundError: no voice session has this id.
        """
        path = self.folders.path(session_id)
        self.require(session_id)
        return path

    def events(self, session_id: str) -> list[VoiceEvent]:
        """The session's events, oldest first."""
        return self.store.events(session_id)

    # -- audio -------------------------------------------------------------------------

    def add_audio(
        self, session_id: str, data: bytes, *, filename: str | None = None
    ) -> tuple[VoiceSession, AudioEntry]:
        """Decode, store and queue one recording as the session's next audio entry.

        Args:
            session_id: a collecting session.
            data: the file's bytes (ogg/opus, webm/opus, wav, mp3, m4a).
            filename: the sender's file name, kept as information only.

        Returns:
            The session after the change, and the new entry.

        Raises:
            AudioRejectedError: the audio is unknown, corrupt, truncated, empty, too long
                or too large; nothing is stored.
            SessionNotFoundError: no voice session has this id.
            InvalidStateError / SessionImmutableError: the session is not collecting.
        """
        self.folders.path(session_id)  # refuse a bad id before decoding anything
        if self.store.get(session_id) is None:
            raise SessionNotFoundError(session_id)
        decoded = self.decode(data)
        now = self.clock.now()
        made: list[AudioEntry] = []
        added: list[VoiceEvent] = []

        def make(session: VoiceSession, sequence: int) -> tuple[AudioEntry, list[VoiceEvent]]:
            check_accepts_audio(session.id, session.state)
            entry = AudioEntry(
                sequence=sequence,
                original_filename=clean_original_filename(filename),
                stored_filename=stored_audio_name(sequence, decoded.extension),
                mime_type=decoded.mime_type,
                duration_seconds=round(decoded.duration_seconds, 3),
                size_bytes=len(data),
                created_at=now,
            )
            made.append(entry)
            details = entry.model_dump(mode="json", exclude={"created_at", "error"})
            added[:] = [self._event(session.id, VoiceEventType.AUDIO_ADDED, details)]
            return entry, list(added)

        def store_file(entry: AudioEntry) -> None:
            self.folders.create(session_id)
            self.folders.write_audio(session_id, entry.stored_filename, data)

        try:
            session = self.store.add_entry(session_id, make, store_file, now)
        except BaseException:
            if made:  # the file may be written although the commit failed
                self.folders.remove_audio(session_id, made[-1].stored_filename)
            raise
        self._after(session_id, added)
        return session, made[-1]

    def decode(self, data: bytes) -> DecodedAudio:
        """Decode ``data`` with this manager's limits (see :func:`decode_audio`)."""
        return decode_audio(
            data,
            max_duration_seconds=self.max_audio_duration_seconds,
            max_bytes=self.max_audio_bytes,
        )

    def update_transcription_status(
        self,
        session_id: str,
        sequence: int,
        status: TranscriptionStatus,
        transcript_filename: str | None = None,
    ) -> VoiceSession:
        """Set one entry's transcription status (seed ``update_transcription_status``).

        Raises:
            SessionNotFoundError: no voice session has this id.
            SessionImmutableError: the session is processed or in error.
            ConfigurationError: the session has no entry ``sequence``.
        """
        session = self.require(session_id)
        if session.state.is_final:
            raise SessionImmutableError(
                session_id, session.state.value, "update the transcription of"
            )
        if session.entry(sequence) is None:
            raise _no_entry(session_id, sequence)
        updated = self.store.update_entry(session_id, sequence, status, transcript_filename, None)
        self.refresh_metadata(session_id)
        return updated

    def add_error(self, session_id: str, error: ErrorEntry) -> VoiceSession:
        """Record an error on the session (an ``error`` event); its state does not change.

        Raises:
            SessionNotFoundError: no voice session has this id.
            SessionImmutableError: the session is processed or in error.
        """
        event = self._event(session_id, VoiceEventType.ERROR, error.model_dump(mode="json"))

        def change(session: VoiceSession) -> tuple[VoiceSession, list[VoiceEvent]]:
            if session.state.is_final:
                raise SessionImmutableError(session.id, session.state.value, "add an error to")
            changed = session.model_copy(
                update={"errors": (*session.errors, error), "updated_at": self.clock.now()}
            )
            return changed, [event]

        updated = self.store.mutate(session_id, change, "add an error to")
        self._after(session_id, [event])
        return updated

    # -- the pipeline ----------------------------------------------------------------------

    def transition_state(self, session_id: str, new_state: VoiceSessionState) -> VoiceSession:
        """Move the session to ``new_state`` if the seed's table allows it.

        Raises:
            SessionNotFoundError: no voice session has this id.
            SessionImmutableError: the session is final.
            InvalidStateError: the table does not allow the move.
        """
        recorded: list[VoiceEvent] = []

        def change(session: VoiceSession) -> tuple[VoiceSession, list[VoiceEvent]]:
            changed, events = self._move(session, new_state)
            recorded.extend(events)
            return changed, events

        updated = self.store.mutate(session_id, change, f"move to {new_state.value}")
        self._after(session_id, recorded)
        return updated

    def finalize_session(self, session_id: str) -> VoiceSession:
        """Stop collecting (collecting -> transcribing) and move on as far as possible.

        When every entry is already transcribed the session goes on to ``processed``
        in this call; otherwise the worker moves it on when the last entry settles.

        Raises:
            SessionNotFoundError: no voice session has this id.
            InvalidStateError / SessionImmutableError: the session is not collecting.
        """
        recorded: list[VoiceEvent] = []

        def change(session: VoiceSession) -> tuple[VoiceSession, list[VoiceEvent]]:
            changed, events = self._finalize(session, auto=False)
            recorded.extend(events)
            return changed, events

        self.store.mutate(session_id, change, "finalize")
        self._after(session_id, recorded)
        return self.advance(session_id)

    def advance(self, session_id: str) -> VoiceSession:
        """Move a finalized session as far along the pipeline as its entries allow.

        Idempotent and safe to call from several workers: transcribing -> transcribed
        when every entry is settled (``process/input.txt`` is written first), then
        transcribed -> processing -> processed (``process/output/`` written between).
        A session whose every entry failed goes to ``error``. Also resumes a session
        left ``transcribed`` or ``processing`` by a crash.
        """
        session = self.require(session_id)
        try:
            if session.state is _S.TRANSCRIBING and session.all_settled:
                if session.audio_entries and all(
                    e.transcription_status is TranscriptionStatus.FAILED
                    for e in session.audio_entries
                ):
                    return self._fail(session_id, "every recording failed to transcribe")
                self.folders.write_process_input(session_id, self.consolidated_transcript(session))
                session = self._step(session_id, _S.TRANSCRIBING, _S.TRANSCRIBED)
            if session.state is _S.TRANSCRIBED:
                session = self._step(session_id, _S.TRANSCRIBED, _S.PROCESSING)
            if session.state is _S.PROCESSING:
                self._write_outputs(session)
                session = self._step(session_id, _S.PROCESSING, _S.PROCESSED)
        except InvalidStateError:
            return self.require(session_id)  # another worker moved it first
        return session

    def consolidated_transcript(self, session: VoiceSession) -> str:
        """The transcripts of the done entries in sequence order, one paragraph each."""
        parts = [
            self.folders.read_transcript(session.id, entry.transcript_filename)
            for entry in session.audio_entries
            if entry.transcription_status is TranscriptionStatus.DONE and entry.transcript_filename
        ]
        return "\n\n".join(p for p in parts if p) + ("\n" if parts else "")

    def refresh_metadata(self, session_id: str) -> None:
        """Rewrite ``metadata.json`` from the database (under the folder's lock)."""

        def snapshot() -> dict[str, Any]:
            return self.require(session_id).model_dump(mode="json")

        self.folders.refresh_metadata(session_id, snapshot)

    # -- internals ------------------------------------------------------------------------

    def _step(
        self, session_id: str, expected: VoiceSessionState, target: VoiceSessionState
    ) -> VoiceSession:
        recorded: list[VoiceEvent] = []

        def change(session: VoiceSession) -> tuple[VoiceSession, list[VoiceEvent]]:
            if session.state is not expected:
                raise InvalidStateError(session.id, session.state.value, f"move to {target}")
            changed, events = self._move(session, target)
            recorded.extend(events)
            return changed, events

        updated = self.store.mutate(session_id, change, f"move to {target.value}")
        self._after(session_id, recorded)
        return updated

    def _fail(self, session_id: str, message: str) -> VoiceSession:
        error = ErrorEntry(at=self.clock.now(), stage="pipeline", message=message)
        self.add_error(session_id, error)
        return self.transition_state(session_id, _S.ERROR)

    def _move(
        self, session: VoiceSession, target: VoiceSessionState
    ) -> tuple[VoiceSession, list[VoiceEvent]]:
        check_transition(session.id, session.state, target)
        now = self.clock.now()
        changed = session.model_copy(update={"state": target, "updated_at": now})
        details = {"from": session.state.value, "to": target.value}
        return changed, [self._event(session.id, VoiceEventType.STATE_CHANGED, details)]

    def _finalize(
        self, session: VoiceSession, *, auto: bool
    ) -> tuple[VoiceSession, list[VoiceEvent]]:
        if session.state is not _S.COLLECTING:
            if session.state.is_final:
                raise SessionImmutableError(session.id, session.state.value, "finalize")
            raise InvalidStateError(session.id, session.state.value, "finalize")
        moved, events = self._move(session, _S.TRANSCRIBING)
        moved = moved.model_copy(update={"finalized_at": moved.updated_at})
        finalized = self._event(
            session.id,
            VoiceEventType.FINALIZED,
            {"audio_entries": len(session.audio_entries), "auto": auto},
        )
        return moved, [finalized, *events]

    def _write_outputs(self, session: VoiceSession) -> None:
        from rehearse.service.voice_report import speech_report

        report = speech_report(self, session)
        self.folders.write_output(
            session.id, "speech_metrics.json", json.dumps(report, indent=2).encode()
        )

    def _event(
        self, session_id: str, event_type: VoiceEventType, details: dict[str, Any]
    ) -> VoiceEvent:
        return VoiceEvent(
            event_type=event_type,
            session_id=session_id,
            timestamp=self.clock.now(),
            details=details,
        )

    def _after(self, session_id: str, events: Sequence[VoiceEvent]) -> None:
        self.refresh_metadata(session_id)
        self._notify(events)

    def _notify(self, events: Sequence[VoiceEvent]) -> None:
        for event in events:
            log.info("voice %s %s %s", event.session_id, event.event_type.value, event.details)
            for listener in self.listeners:
                try:
                    listener(event)
                except Exception:  # a listener never undoes a committed change
                    log.exception("voice event listener failed")


def _no_entry(session_id: str, sequence: int) -> ConfigurationError:
    return ConfigurationError(
        f"sequence={sequence}: voice session {session_id} has no such audio entry",
        [{"field": "sequence", "value": sequence, "message": "no such audio entry"}],
    )
