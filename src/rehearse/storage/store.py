"""The storage interface every backend implements (STYLE.md: one small interface).

A store keeps each session's current-state row and its append-only event log, and
changes both in one transaction. Backends: SQLite (file or memory) and PostgreSQL,
both through :class:`rehearse.storage.sql.SQLStore`; one contract test suite runs on
each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from rehearse.domain.access import Principal
from rehearse.domain.events import Event, NewEvent
from rehearse.domain.lifecycle import SessionStatus
from rehearse.domain.sessions import Change, Session

#: A pure function from the stored session to its next state and the events to append.
Mutation = Callable[[Session], Change]

MAX_PAGE_SIZE = 500

#: The shortest session id prefix a person may type for a whole id (issue 11 item 6).
MIN_ID_PREFIX = 6

#: How many candidates an ambiguous prefix names.
AMBIGUOUS_SHOWN = 10


class SessionQuery(BaseModel):
    """Filters and paging for listing sessions, newest first (seed 001 ``list_sessions``).

    Attributes:
        statuses: only these states (empty: all).
        candidate: case-insensitive text found in the candidate's name, or their exact e-mail.
        candidate_email_is, candidate_name_is: the candidate's exact e-mail / name, any
            case (indexed: for finding one person's sessions).
        role: only this role.
        created_after, created_before: half-open creation range ``[after, before)``.
        created_by: only sessions this principal id created.
        visible_to: only sessions this principal may see (access rules of :mod:`access`).
        limit: page size, 1-500.
        cursor: the ``next_cursor`` of the previous page (keyset paging).
        offset: rows to skip instead of a cursor.
        include_total: also count every matching session.
    """

    model_config = ConfigDict(frozen=True)

    statuses: tuple[SessionStatus, ...] = ()
    candidate: str | None = None
    candidate_email_is: str | None = None
    candidate_name_is: str | None = None
    role: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    created_by: str | None = None
    visible_to: Principal | None = None
    limit: int = Field(default=50, ge=1, le=MAX_PAGE_SIZE)
    cursor: str | None = None
    offset: int = Field(default=0, ge=0)
    include_total: bool = True


class SessionPage(BaseModel):
    """One page of sessions.

    Attributes:
        sessions: newest first.
        total: how many sessions match the filters (``None`` if not asked for).
        next_cursor: pass as ``cursor`` for the next page; ``None`` on the last page.
    """

    sessions: list[Session]
    total: int | None
    next_cursor: str | None


class Store(Protocol):
    """Durable sessions and events. Every method raises ``DataStoreError`` on a database failure."""

    def create(self, session: Session, events: Sequence[NewEvent], actor: str) -> Session:
        """Insert a new session and its first events atomically; returns it as stored."""
        ...

    def get(self, session_id: str) -> Session | None:
        """The session, or ``None``."""
        ...

    def mutate(
        self,
        session_id: str,
        mutation: Mutation,
        actor: str,
        expected_version: int | None = None,
    ) -> tuple[Session, list[Event]]:
        """Read the session, apply ``mutation``, store the result and its events atomically.

        A mutation that returns no events writes nothing. Errors raised by the mutation
        propagate and nothing is written.

        Raises:
            SessionNotFoundError: no such session.
            ConcurrentUpdateError: the stored version is not ``expected_version``, or
                another writer committed between the read and the write.
        """
        ...

    def recent_question_ids(
        self, *, email: str | None, name: str, sessions_back: int
    ) -> frozenset[str]:
        """Question ids planned in the candidate's newest ``sessions_back`` sessions.

        The candidate is ``email`` when given, else ``name`` (both any case).
        """
        ...

    def list_sessions(self, query: SessionQuery) -> SessionPage:
        """A page of sessions matching ``query``, newest first.

        Raises:
            ConfigurationError: the cursor is malformed.
        """
        ...

    def get_events(
        self,
        session_id: str,
        after_seq: int = 0,
        limit: int | None = None,
        types: Sequence[str] = (),
    ) -> list[Event]:
        """Events of a session with ``seq > after_seq`` (of ``types``, if given), oldest first."""
        ...

    def due_for_expiry(self, now: datetime, limit: int) -> list[str]:
        """Ids of active sessions whose persisted deadline is at or before ``now`` (index scan)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...

    def resolve_session_id(self, prefix: str, visible_to: Principal | None = None) -> str:
        """The whole id of the one session (``visible_to`` may see) whose id starts ``prefix``.

        Raises:
            ConfigurationError: a prefix shorter than :data:`MIN_ID_PREFIX` that is not a
                whole id, or one shared by several sessions (the candidates are named).
            SessionNotFoundError: no session id starts with ``prefix``.
        """
        ...

    def delete(self, session_id: str) -> bool:
        """Remove a session with its events and links; ``False`` when there was none."""
        ...
