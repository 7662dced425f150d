"""Past-tense events: the append-only history of every session (issue 2, item 6).

Each change to a session appends one or more events in the same transaction as the
change (ARCHITECTURE.md: session row + append-only event log). Seed ``001_*`` logs
SESSION_CREATED ... SESSION_COMPLETED; rehearse adds the rest of the lifecycle,
usage and budget events.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EventType(StrEnum):
    """The names of session events, past tense."""

    SESSION_CREATED = "session_created"
    SESSION_UPDATED = "session_updated"
    SESSION_STARTED = "session_started"
    SESSION_PAUSED = "session_paused"
    SESSION_RESUMED = "session_resumed"
    SESSION_COMPLETED = "session_completed"
    SESSION_EXPIRED = "session_expired"
    SESSION_CANCELLED = "session_cancelled"
    USAGE_RECORDED = "usage_recorded"
    BUDGET_WARNING = "budget_warning"
    QUESTIONS_PLANNED = "questions_planned"
    ANSWER_SUBMITTED = "answer_submitted"
    ANSWER_EVALUATED = "answer_evaluated"
    QUESTION_SKIPPED = "question_skipped"
    FOLLOW_UP_ASKED = "follow_up_asked"
    REPORT_GENERATED = "report_generated"
    REPORT_FAILED = "report_failed"
    PROVIDER_FAILED = "provider_failed"
    WHITEBOARD_SAVED = "whiteboard_saved"
    PROVIDER_RETRIED = "provider_retried"
    PROVIDER_FALLBACK = "provider_fallback"
    CONVERSATION_SUMMARISED = "conversation_summarised"
    REPORT_DRAFTED = "report_drafted"
    REPORT_RELEASED = "report_released"
    MILESTONE_ACHIEVED = "milestone_achieved"
    # realtime updates from live components (issue 14, seed 002): named as the seed
    # names the updates; each records one thing that happened
    AUDIO_METADATA = "audio_metadata"
    CONTEXT_INJECTION = "context_injection"
    TOOL_EXECUTION = "tool_execution"
    AUDIO_STREAM_FINALIZED = "audio_stream_finalized"
    REALTIME_CLOSED = "realtime_closed"


class NewEvent(BaseModel):
    """An event the domain produced, before storage numbers it.

    Attributes:
        type: the event name.
        at: when it happened (UTC).
        data: JSON-ready details.
    """

    model_config = ConfigDict(frozen=True)

    type: EventType
    at: datetime
    data: dict[str, Any] = Field(default_factory=dict)


class Event(BaseModel):
    """A stored event.

    Attributes:
        session_id: the session it belongs to.
        seq: its position in that session's log, 1, 2, 3 ... with no gaps.
        type: the event name (:class:`EventType` values; later versions may add names).
        at: when it happened (UTC).
        actor: who caused it (a principal id, ``"local"``, or ``"system"`` for sweeps).
        data: JSON details.
        position: its place in the log of every session (the events table's key):
            grows with every append, so a reader of all sessions can resume after the
            last position it saw (issue 8); ``None`` on an event not read back yet.
    """

    model_config = ConfigDict(frozen=True)

    session_id: str
    seq: int
    type: str
    at: datetime
    actor: str
    data: dict[str, Any]
    position: int | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict with the instant in ISO 8601."""
        return self.model_dump(mode="json")
