"""The session lifecycle as one transition table (STYLE.md habit 4).

States and transitions merge seed ``000_*`` (created -> active <-> paused ->
completed), seed ``001_*`` (expired when the time limit is reached) and issue 2
(cancelled, from any state that is not final). completed, expired and cancelled
are final: nothing about a final session changes again (seed ``003_*``
``SessionImmutableError``).
"""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from rehearse.errors import InvalidStateError, SessionImmutableError


class SessionStatus(StrEnum):
    """Where a session is in its lifecycle."""

    CREATED = "created"
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        """True for completed, expired and cancelled."""
        return self in FINAL_STATES


class Action(StrEnum):
    """Something that moves a session between states."""

    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    END = "end"
    EXPIRE = "expire"
    CANCEL = "cancel"


FINAL_STATES: frozenset[SessionStatus] = frozenset(
    {SessionStatus.COMPLETED, SessionStatus.EXPIRED, SessionStatus.CANCELLED}
)

#: (state, action) -> next state. Anything absent is refused.
TRANSITIONS: MappingProxyType[tuple[SessionStatus, Action], SessionStatus] = MappingProxyType(
    {
        (SessionStatus.CREATED, Action.START): SessionStatus.ACTIVE,
        (SessionStatus.CREATED, Action.CANCEL): SessionStatus.CANCELLED,
        (SessionStatus.ACTIVE, Action.PAUSE): SessionStatus.PAUSED,
        (SessionStatus.ACTIVE, Action.END): SessionStatus.COMPLETED,
        (SessionStatus.ACTIVE, Action.EXPIRE): SessionStatus.EXPIRED,
        (SessionStatus.ACTIVE, Action.CANCEL): SessionStatus.CANCELLED,
        (SessionStatus.PAUSED, Action.RESUME): SessionStatus.ACTIVE,
        (SessionStatus.PAUSED, Action.END): SessionStatus.COMPLETED,
        (SessionStatus.PAUSED, Action.EXPIRE): SessionStatus.EXPIRED,
        (SessionStatus.PAUSED, Action.CANCEL): SessionStatus.CANCELLED,
    }
)

#: The past-tense event each action records (issue 2 event names).
EVENT_OF_ACTION: MappingProxyType[Action, str] = MappingProxyType(
    {
        Action.START: "session_started",
        Action.PAUSE: "session_paused",
        Action.RESUME: "session_resumed",
        Action.END: "session_completed",
        Action.EXPIRE: "session_expired",
        Action.CANCEL: "session_cancelled",
    }
)


def allowed_actions(state: SessionStatus) -> tuple[Action, ...]:
    """The actions allowed from ``state``, in table order (empty for final states)."""
    return tuple(action for (source, action) in TRANSITIONS if source is state)


def next_state(session_id: str, state: SessionStatus, action: Action) -> SessionStatus:
    """The state ``action`` leads to from ``state``: the one guard of the lifecycle.

    Raises:
        SessionImmutableError: ``state`` is final.
        InvalidStateError: ``action`` is not allowed from ``state``; the message names
            the session, the state, the action and the allowed actions.
    """
    target = TRANSITIONS.get((state, action))
    if target is not None:
        return target
    if state.is_final:
        raise SessionImmutableError(session_id, state.value, action.value)
    raise InvalidStateError(
        session_id, state.value, action.value, tuple(a.value for a in allowed_actions(state))
    )


def guard_change(session_id: str, state: SessionStatus, change: str) -> None:
    """Refuse any non-lifecycle change (update, usage) to a final session.

    Raises:
        SessionImmutableError: ``state`` is final.
    """
    if state.is_final:
        raise SessionImmutableError(session_id, state.value, change)
