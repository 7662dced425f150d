"""Every error rehearse raises on purpose, in one place.

The hierarchy follows seed ``000_*`` (ConfigurationError, SessionNotFoundError,
InvalidStateError, DataStoreError) and seed ``003_*`` (SessionImmutableError). The
edges map them: the CLI to exit codes (:data:`EXIT_CODES`), the web layer to HTTP
statuses. Messages are for people: they name the field or session, the value, and
what is allowed.
"""

from __future__ import annotations

from typing import Any


class RehearseError(Exception):
    """Base of every expected rehearse error; ``str(error)`` is a one-line message."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: ``{"error": <class name>, "message": <text>, ...}``."""
        return {"error": type(self).__name__, "message": str(self)}


class ConfigurationError(RehearseError, ValueError):
    """Input or settings are invalid.

    Attributes:
        errors: one entry per offending field: ``{"field", "value", "message"}``.
    """

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors: list[dict[str, Any]] = errors or []

    def to_dict(self) -> dict[str, Any]:
        """Include the per-field errors."""
        return {**super().to_dict(), "fields": self.errors}


class SessionNotFoundError(RehearseError, LookupError):
    """No session has this id."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"session {session_id!r} not found")
        self.session_id = session_id


class InvalidStateError(RehearseError):
    """The action is not allowed from the session's current state.

    Attributes:
        session_id: the session.
        state: its current status value (``"paused"``).
        action: the refused action (``"start"``).
        allowed: the actions that are allowed from ``state``.
    """

    def __init__(
        self, session_id: str, state: str, action: str, allowed: tuple[str, ...] = ()
    ) -> None:
        hint = f"; allowed from {state}: {', '.join(allowed)}" if allowed else ""
        super().__init__(f"cannot {action} session {session_id}: it is {state}{hint}")
        self.session_id = session_id
        self.state = state
        self.action = action
        self.allowed = allowed

    def to_dict(self) -> dict[str, Any]:
        """Include the session, state, action and allowed actions."""
        return {
            **super().to_dict(),
            "session_id": self.session_id,
            "state": self.state,
            "action": self.action,
            "allowed": list(self.allowed),
        }


class SessionImmutableError(InvalidStateError):
    """The session is final (completed, expired or cancelled) and cannot change."""

    def __init__(self, session_id: str, state: str, action: str) -> None:
        super().__init__(session_id, state, action)
        self.args = (f"cannot {action} session {session_id}: it is {state}, which is final",)


class AnswerRefusedError(InvalidStateError):
    """This question of the session cannot take an answer (or a skip) now.

    Attributes:
        item_id: the question (plan item) id.
    """

    def __init__(self, session_id: str, item_id: str, reason: str, action: str = "answer") -> None:
        super().__init__(session_id, reason, action)
        self.item_id = item_id
        self.args = (f"cannot {action} question {item_id} of session {session_id}: {reason}",)


class QuestionNotFoundError(RehearseError, LookupError):
    """The session's plan has no question with this id."""

    def __init__(self, session_id: str, item_id: str) -> None:
        super().__init__(f"session {session_id} has no question {item_id!r}")
        self.session_id = session_id
        self.item_id = item_id


class SpokenAnswerNotFoundError(RehearseError, LookupError):
    """The session has no spoken answer (recording) with this sequence number."""

    def __init__(self, session_id: str, sequence: int) -> None:
        super().__init__(f"session {session_id} has no spoken answer {sequence}")
        self.session_id = session_id
        self.sequence = sequence


class SpokenAnswerRefusedError(InvalidStateError):
    """A spoken answer cannot do this now (its transcript is not ready, it was sent ...).

    Attributes:
        sequence: the recording's number in its session.
    """

    def __init__(
        self, session_id: str, sequence: int, status: str, action: str, reason: str
    ) -> None:
        super().__init__(session_id, status, action)
        self.sequence = sequence
        self.args = (
            f"cannot {action} spoken answer {sequence} of session {session_id}: "
            f"it is {status}; {reason}",
        )


class ConcurrentUpdateError(RehearseError):
    """Another writer changed the session first; re-read it and try again.

    Attributes:
        session_id: the session.
        expected_version: the version the caller based its change on.
        actual_version: the version found in storage (``None`` when unknown).
    """

    def __init__(
        self, session_id: str, expected_version: int, actual_version: int | None = None
    ) -> None:
        found = f", found version {actual_version}" if actual_version is not None else ""
        super().__init__(
            f"session {session_id} was changed by another writer "
            f"(expected version {expected_version}{found}); re-read it and try again"
        )
        self.session_id = session_id
        self.expected_version = expected_version
        self.actual_version = actual_version


class DataStoreError(RehearseError):
    """The database failed; nothing of the operation was written."""


class BudgetExceededError(RehearseError):
    """Recording this usage would take the session past its token budget.

    Attributes:
        session_id: the session.
        used: tokens used before this call.
        requested: tokens this call asked to record.
        budget: the session's token budget.
        state: the session's status value when refused (``"active"``).
        action: the refused action (``"record usage"``), as :class:`InvalidStateError`
            names it, so every 409 carries ``state`` and ``action`` (the README's promise).
    """

    def __init__(
        self,
        session_id: str,
        used: int,
        requested: int,
        budget: int,
        *,
        state: str = "active",
        action: str = "record usage",
    ) -> None:
        super().__init__(
            f"session {session_id} token budget exceeded: {used} used + {requested} requested "
            f"> {budget} budget ({max(budget - used, 0)} remaining)"
        )
        self.session_id = session_id
        self.used = used
        self.requested = requested
        self.budget = budget
        self.state = state
        self.action = action

    def to_dict(self) -> dict[str, Any]:
        """Include the session, state, action and token numbers."""
        return {
            **super().to_dict(),
            "session_id": self.session_id,
            "state": self.state,
            "action": self.action,
            "used": self.used,
            "requested": self.requested,
            "budget": self.budget,
        }


class AccessDeniedError(RehearseError, PermissionError):
    """The principal may not see or change this session."""


class ReportHiddenError(AccessDeniedError):
    """The candidate may not read the scores of this session yet (issue 10, item 1).

    Mock and assessment sessions keep scores, feedback and key points until they end;
    an assessment's report waits until staff release it.
    """

    def __init__(self, session_id: str, reason: str) -> None:
        super().__init__(f"session {session_id}: {reason}")
        self.session_id = session_id


class UserNotFoundError(RehearseError, LookupError):
    """No user, API token, candidate link or browser session has this id or address."""

    def __init__(self, what: str, field: str, key: str) -> None:
        hints = {
            "user": "; `rehearse users list` shows users",
            "API token": "; `rehearse users token list --email E` shows token ids",
        }
        super().__init__(f"{field}={key!r}: no such {what}{hints.get(what, '')}")
        self.what = what
        self.field = field
        self.key = key


class ProviderCallError(RehearseError):
    """An AI call did not produce a usable result; the caller falls back to offline.

    Attributes:
        reason: ``timeout``, ``rate_limited``, ``unavailable``, ``malformed_output``,
            ``rejected``, ``not_configured``, ``usage_limit``, ``budget_exhausted`` or
            ``error``.
        provider_model: the ``"provider:model"`` called.
        detail: what went wrong, for staff (it may name endpoints: never shown to a
            candidate).
    """

    def __init__(self, reason: str, provider_model: str, message: str) -> None:
        super().__init__(f"{provider_model}: {message}")
        self.reason = reason
        self.provider_model = provider_model
        self.detail = message


class ModelRequestsDisabledError(RuntimeError):
    """A real model request while ``pydantic_ai.models.ALLOW_MODEL_REQUESTS`` is off (tests).

    Deliberately not a :class:`RehearseError`: it is never turned into a fallback or an
    error response, so a test that reaches for a real model fails loudly.
    """


class PortInUseError(RehearseError):
    """``rehearse serve`` cannot listen: another program holds the address (exit code 5).

    Attributes:
        host, port: the address that is taken.
    """

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(
            f"--port {port}: cannot listen on {host}:{port}: {reason}; stop the program "
            "using it or choose another --port"
        )
        self.host = host
        self.port = port


#: CLI exit code for each error class (issue 2): most specific class wins.
EXIT_CODES: dict[type[RehearseError], int] = {
    ConfigurationError: 2,
    SessionNotFoundError: 3,
    QuestionNotFoundError: 3,
    SpokenAnswerNotFoundError: 3,
    UserNotFoundError: 3,
    InvalidStateError: 4,
    SessionImmutableError: 4,
    BudgetExceededError: 4,
    PortInUseError: 5,  # issue 11 item 8: uvicorn's own start-up failure is 3, "not found"
}


def exit_code(error: RehearseError) -> int:
    """The CLI exit code: 2 invalid input, 3 not found, 4 refused, 5 port in use, else 1."""
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1


class AudioRejectedError(ConfigurationError):
    """A recording cannot be accepted; nothing of it was stored.

    Attributes:
        reason: ``unknown_format``, ``corrupt``, ``truncated``, ``empty``, ``too_long``
            or ``too_large``.
        limit: the limit broken, for ``too_long`` (seconds) and ``too_large`` (bytes).
    """

    def __init__(self, reason: str, message: str, limit: float | None = None) -> None:
        super().__init__(
            f"audio: {message}", [{"field": "audio", "value": reason, "message": message}]
        )
        self.reason = reason
        self.limit = limit


class TranscriptionError(RehearseError):
    """A transcriber failed on one recording.

    Attributes:
        transient: ``True`` when trying again later may work (a timeout, HTTP 429 or 5xx,
            a refused connection); ``False`` when it never will (bad credentials, audio
            the provider refuses).
    """

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient
