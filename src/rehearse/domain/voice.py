"""Voice sessions (seed ``003_*``): audio entries, transcription status and the pipeline.

A voice session collects recordings (a chat bot's voice notes, uploaded answers), has
each transcribed, then hands the consolidated transcript downstream. Its pipeline is
the seed's state table, kept here as data (:data:`VOICE_TRANSITIONS`) with one guard
(:func:`check_transition`); every change is recorded as a :class:`VoiceEvent` named as
the seed lists them (``created``, ``finalized``, ``audio_added``, ``state_changed``,
``error``). Pure: no I/O, no clock reads (instants are passed in).
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rehearse.errors import ConfigurationError, InvalidStateError, SessionImmutableError

#: Target pace band of a spoken answer, words per minute (the band interview coaches
#: use; issue 13).
TARGET_WPM = (130.0, 160.0)


class VoiceSessionState(StrEnum):
    """Where a voice session is in its pipeline (seed ``003_*``, state table)."""

    COLLECTING = "collecting"
    TRANSCRIBING = "transcribing"
    TRANSCRIBED = "transcribed"
    PROCESSING = "processing"
    PROCESSED = "processed"
    ERROR = "error"

    @property
    def is_final(self) -> bool:
        """True for ``processed`` and ``error``: the session can no longer change."""
        return not VOICE_TRANSITIONS[self]


class TranscriptionStatus(StrEnum):
    """Where one audio entry is in transcription."""

    PENDING = "pending"
    PROCESSING = "processing"
    DONE = "done"
    FAILED = "failed"

    @property
    def is_settled(self) -> bool:
        """True for ``done`` and ``failed``: no more work will happen on the entry."""
        return self in (TranscriptionStatus.DONE, TranscriptionStatus.FAILED)


_S = VoiceSessionState

#: The seed's "State Transition Validation" table: state -> states it may move to.
VOICE_TRANSITIONS: MappingProxyType[VoiceSessionState, frozenset[VoiceSessionState]] = (
    MappingProxyType(
        {
            _S.COLLECTING: frozenset({_S.TRANSCRIBING, _S.ERROR}),
            _S.TRANSCRIBING: frozenset({_S.TRANSCRIBED, _S.ERROR}),
            _S.TRANSCRIBED: frozenset({_S.PROCESSING, _S.ERROR}),
            _S.PROCESSING: frozenset({_S.PROCESSED, _S.ERROR}),
            _S.PROCESSED: frozenset(),
            _S.ERROR: frozenset(),
        }
    )
)

_ORDER = list(VoiceSessionState)


def check_transition(
    session_id: str, current: VoiceSessionState, target: VoiceSessionState
) -> VoiceSessionState:
    """Return ``target`` if the table allows ``current -> target``: the one pipeline guard.

    Raises:
        SessionImmutableError: ``current`` is final (processed or error).
        InvalidStateError: the table does not allow the move; the message names the
            session, the current state, the refused target and the allowed targets.
    """
    allowed = VOICE_TRANSITIONS[current]
    if target in allowed:
        return target
    action = f"move to {target.value}"
    if current.is_final:
        raise SessionImmutableError(session_id, current.value, action)
    names = tuple(f"move to {s.value}" for s in sorted(allowed, key=_ORDER.index))
    raise InvalidStateError(session_id, current.value, action, names)


def check_accepts_audio(session_id: str, state: VoiceSessionState) -> None:
    """Refuse audio unless the session is collecting (seed: ``add_audio`` raises).

    Raises:
        SessionImmutableError: the session is final.
        InvalidStateError: the session was finalized and is in its pipeline.
    """
    if state is VoiceSessionState.COLLECTING:
        return
    if state.is_final:
        raise SessionImmutableError(session_id, state.value, "add audio to")
    raise InvalidStateError(session_id, state.value, "add audio to", ("finalize",))


class VoiceEventType(StrEnum):
    """The seed's event names (``SessionEvent.event_type``)."""

    CREATED = "created"
    FINALIZED = "finalized"
    AUDIO_ADDED = "audio_added"
    STATE_CHANGED = "state_changed"
    ERROR = "error"


class VoiceEvent(BaseModel):
    """One thing that happened to a voice session (seed ``SessionEvent``).

    Attributes:
        event_type: what happened.
        session_id: the voice session.
        timestamp: when, aware UTC.
        details: what a reader needs: ``{"from", "to"}`` for ``state_changed``,
            ``{"sequence", "stored_filename", ...}`` for ``audio_added``, the error entry
            for ``error``.
    """

    model_config = ConfigDict(frozen=True)

    event_type: VoiceEventType
    session_id: str
    timestamp: datetime
    details: dict[str, Any] = Field(default_factory=dict)


class AudioEntry(BaseModel):
    """One recording of a voice session (seed ``AudioEntry``).

    Attributes:
        sequence: 1, 2, 3 ... unique and gap-free within the session.
        original_filename: the name the sender gave (base name only, at most 200
            characters), or ``None``.
        stored_filename: its name under ``audio/``: ``001_audio.ogg`` (the extension is
            the detected container's).
        mime_type: the detected type, e.g. ``audio/ogg``, ``audio/webm``.
        duration_seconds: length of the decoded audio, seconds.
        size_bytes: size of the stored file, bytes.
        transcription_status: pending, processing, done or failed.
        transcript_filename: its name under ``transcripts/`` once done (``001_audio.txt``).
        error: why transcription failed, when it did.
        created_at: when the entry was added, aware UTC.
    """

    model_config = ConfigDict(frozen=True)

    sequence: int = Field(ge=1)
    original_filename: str | None = None
    stored_filename: str
    mime_type: str
    duration_seconds: float = Field(ge=0)
    size_bytes: int = Field(ge=0)
    transcription_status: TranscriptionStatus = TranscriptionStatus.PENDING
    transcript_filename: str | None = None
    error: str | None = None
    created_at: datetime


class ErrorEntry(BaseModel):
    """An error recorded on a voice session (seed ``add_error``).

    Attributes:
        at: when, aware UTC.
        stage: where it happened: ``upload``, ``transcription``, ``processing`` ...
        message: a one-line description for people.
        sequence: the audio entry concerned, if any.
    """

    model_config = ConfigDict(frozen=True)

    at: datetime
    stage: str = Field(min_length=1, max_length=40)
    message: str = Field(min_length=1, max_length=2000)
    sequence: int | None = None


class VoiceSession(BaseModel):
    """A voice session as stored: its state, its entries in sequence order, its errors.

    Attributes:
        id: ``YYYY-MM-DD_HH-MM-SS_xxxxxx`` (seed: a timestamp; the suffix keeps two
            sessions opened in the same second apart).
        chat_id: the chat (bot conversation) it belongs to.
        state: pipeline state.
        created_at / updated_at: aware UTC.
        finalized_at: when it left ``collecting``, or ``None``.
        audio_entries: entries, ordered by sequence.
        errors: error entries, oldest first.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    chat_id: int
    state: VoiceSessionState
    created_at: datetime
    updated_at: datetime
    finalized_at: datetime | None = None
    audio_entries: tuple[AudioEntry, ...] = ()
    errors: tuple[ErrorEntry, ...] = ()

    def entry(self, sequence: int) -> AudioEntry | None:
        """The entry with this sequence number, or ``None``."""
        for entry in self.audio_entries:
            if entry.sequence == sequence:
                return entry
        return None

    @property
    def all_settled(self) -> bool:
        """True when every entry is done or failed (also when there are none)."""
        return all(e.transcription_status.is_settled for e in self.audio_entries)


_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def check_session_id(session_id: str) -> str:
    """Return ``session_id`` if it can name a folder safely (letters, digits, ``_`` and ``-``).

    This is what keeps a session folder inside the sessions directory whatever the
    input: no slash, backslash, ``..``, NUL or leading dot can pass.

    Raises:
        ConfigurationError: the id is empty, longer than 64 characters or has other
            characters.
    """
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        raise ConfigurationError(
            f"session_id={session_id!r}: a voice session id has 1-64 letters, digits, "
            "'_' or '-' and starts with a letter or digit",
            [{"field": "session_id", "value": session_id, "message": "invalid session id"}],
        )
    return session_id


def new_session_id(now: datetime, suffix: str) -> str:
    """The id of a session created at ``now``: ``2025-12-18_14-30-00_<suffix>``."""
    return check_session_id(f"{now:%Y-%m-%d_%H-%M-%S}_{suffix}")


def stored_audio_name(sequence: int, extension: str) -> str:
    """``001_audio.ogg`` for sequence 1 (seed layout); three digits, more past 999."""
    return f"{sequence:03d}_audio.{extension}"


def transcript_name(sequence: int) -> str:
    """``001_audio.txt``: the transcript of entry ``sequence`` under ``transcripts/``."""
    return f"{sequence:03d}_audio.txt"


def clean_original_filename(name: str | None) -> str | None:
    """The base name of a sender's file name, at most 200 characters, or ``None``.

    Only kept as information: stored files are always named by sequence.
    """
    if not name:
        return None
    base = re.split(r"[\\/]", name)[-1].replace("\x00", "").strip()
    return base[:200] or None


class Word(BaseModel):
    """One recognised word with its timing.

    Attributes:
        text: the word as the transcriber wrote it, punctuation included (``"um,"``).
        start / end: seconds from the start of the recording.
        probability: the transcriber's confidence, 0-1 (1.0 when it gives none).
    """

    model_config = ConfigDict(frozen=True)

    text: str
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    probability: float = Field(default=1.0, ge=0, le=1)


class Pause(BaseModel):
    """A silence between two stretches of speech, seconds from the start of the recording."""

    model_config = ConfigDict(frozen=True)

    start: float = Field(ge=0)
    end: float = Field(ge=0)

    @property
    def seconds(self) -> float:
        """Length of the pause, seconds."""
        return self.end - self.start
