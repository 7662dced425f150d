"""Sessions: create, read, list, run, time, budget and guard them (seeds 000 and 001).

Operations keep the names of the seeds: ``create_session`` ... ``end_session`` (seed
``000_*``), ``update_session``, ``list_sessions``, ``get_remaining_time``,
``is_session_expired``, ``validate_session_access`` (seed ``001_*``). Every change
reads the session, applies a pure rule from :mod:`rehearse.domain.sessions`, and
stores the new row and its events in one transaction.

Expiry is lazy and swept: any read or write of a session whose active time reached
its limit first records ``session_expired`` (stamped at the deadline), and
:meth:`SessionService.sweep_expired` finds due sessions by their indexed deadline.
Every change goes through the one :class:`~rehearse.service.writer.SessionWriter`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from rehearse.domain.access import (
    LOCAL_PRINCIPAL,
    Principal,
    PrincipalRole,
    can_access,
    candidate_identity,
)
from rehearse.domain.config import SessionConfig, parse_config, with_defaults
from rehearse.domain.events import Event
from rehearse.domain.lifecycle import Action, SessionStatus
from rehearse.domain.sessions import (
    Change,
    Session,
    apply_action,
    apply_update,
    apply_usage,
    new_session,
)
from rehearse.errors import AccessDeniedError, ConfigurationError, SessionNotFoundError
from rehearse.service.access import check_access
from rehearse.service.writer import SessionWriter
from rehearse.settings import get_settings
from rehearse.storage import SessionPage, SessionQuery

#: Prepares a new session before it is stored (the interview draws its plan).
Prepare = Callable[[Session], Change]


class SessionService:
    """Creates and runs sessions; every change goes through ``writer``.

    Thread-safe. Every method that names a session raises :class:`SessionNotFoundError`
    when it does not exist and ``DataStoreError`` when the database fails (nothing
    half-written).

    Args:
        writer: the one session writer.
        prepare: what a new session gets before it is stored (its question plan).
    """

    def __init__(self, writer: SessionWriter, prepare: Prepare | None = None) -> None:
        self.writer = writer
        self.store = writer.store
        self.prepare: Prepare = prepare or (lambda session: (session, []))

    # -- creating and reading ---------------------------------------------------

    def create_session(
        self,
        config: SessionConfig | dict[str, Any],
        *,
        created_by: Principal | None = None,
        candidate_id: str | None = None,
    ) -> Session:
        """Create a session in ``created``, with its question plan (``session_created``).

        Args:
            config: a :class:`~rehearse.domain.config.SessionConfig`, or a dict of its
                fields to validate.
            created_by: who creates it (default: the local user); a candidate who
                creates a session is its candidate, and creates sessions for
                themselves only.
            candidate_id: the candidate's principal id, when an interviewer creates it.

        Raises:
            ConfigurationError: the config is invalid; the message names each field,
                its value and what is allowed. Nothing is stored.
            AccessDeniedError: a candidate named another candidate.
        """
        defaults = get_settings().session_defaults()
        if isinstance(config, SessionConfig):
            config = with_defaults(config, defaults)
        else:
            config = parse_config(config, defaults)
        creator = created_by or LOCAL_PRINCIPAL
        if creator.role is PrincipalRole.CANDIDATE:
            _require_own(creator, config, candidate_id)
            candidate_id = creator.id
        session, events = new_session(
            str(uuid.uuid4()),
            config,
            self.writer.clock.now(),
            created_by=creator.id,
            candidate_id=candidate_id,
        )
        session, more = self.prepare(session)
        return self.store.create(session, [*events, *more], creator.id)

    def get_session(self, session_id: str) -> Session:
        """The session, expired first if its time ran out.

        Raises:
            SessionNotFoundError: no such session.
        """
        return self.writer.read(session_id)

    def resolve_session_id(self, given: str, principal: Principal | None = None) -> str:
        """The whole id of the one session (``principal`` may see) whose id starts ``given``.

        A whole id is returned as it is; a prefix needs at least 6 characters (issue 11:
        ``rehearse report 05c0f6``).

        Raises:
            ConfigurationError: a prefix too short, or shared by several sessions (they
                are named in the message).
            SessionNotFoundError: no session id starts with it.
        """
        found: str = self.store.resolve_session_id(given, visible_to=principal)
        return found

    def list_sessions(
        self,
        *,
        status: SessionStatus | str | list[SessionStatus | str] | None = None,
        candidate: str | None = None,
        role: str | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
        offset: int = 0,
        principal: Principal | None = None,
        include_total: bool = True,
    ) -> SessionPage:
        """A page of sessions, newest first (seed 001 ``list_sessions``, with more filters).

        Args:
            status: one state or several.
            candidate: text in the candidate's name (any case), or their exact e-mail.
            role: the role interviewed for.
            created_after: only sessions created at or after this aware datetime.
            created_before: only sessions created before this aware datetime.
            limit: page size, 1-500.
            cursor: ``next_cursor`` of the previous page.
            offset: sessions to skip (instead of a cursor).
            principal: list only what this principal may see (default: everything).
            include_total: count all matches into ``total`` (one more query).

        Raises:
            ConfigurationError: an unknown status, a bad limit or a malformed cursor.
        """
        statuses = [] if status is None else status if isinstance(status, list) else [status]
        try:
            query = SessionQuery(
                statuses=tuple(SessionStatus(s) for s in statuses),
                candidate=candidate or None,
                role=role or None,
                created_after=created_after,
                created_before=created_before,
                limit=limit,
                cursor=cursor,
                offset=offset,
                visible_to=principal,
                include_total=include_total,
            )
        except ValueError as exc:
            raise _list_error(exc, status, limit, offset) from None
        page = self.store.list_sessions(query)
        now = self.writer.clock.now()
        if any(s.is_due_to_expire(now) for s in page.sessions):
            fresh = [
                self.writer.expire(s.id, "system") if s.is_due_to_expire(now) else s
                for s in page.sessions
            ]
            page = page.model_copy(update={"sessions": fresh})
        return page

    def get_events(
        self,
        session_id: str,
        after_seq: int = 0,
        limit: int | None = None,
        types: Sequence[str] = (),
    ) -> list[Event]:
        """The session's events with ``seq > after_seq`` (only ``types``, if given), oldest first.

        Raises:
            SessionNotFoundError: no such session.
        """
        self.get_session(session_id)
        return self.store.get_events(session_id, after_seq, limit, types)

    # -- lifecycle --------------------------------------------------------------

    def start_session(self, session_id: str, *, actor: str = "local") -> Session:
        """Start a created session: the clock starts running.

        Raises:
            InvalidStateError: the session is not ``created``.
            SessionImmutableError: it is final.
        """
        return self._act(session_id, Action.START, actor)

    def pause_session(self, session_id: str, *, actor: str = "local") -> Session:
        """Pause an active session: active time stops accumulating.

        Raises:
            InvalidStateError: the session is not ``active``.
            SessionImmutableError: it is final, or its time ran out (it is now expired).
        """
        return self._act(session_id, Action.PAUSE, actor)

    def resume_session(self, session_id: str, *, actor: str = "local") -> Session:
        """Resume a paused session.

        Raises:
            InvalidStateError: the session is not ``paused``.
            SessionImmutableError: it is final.
        """
        return self._act(session_id, Action.RESUME, actor)

    def end_session(self, session_id: str, *, actor: str = "local") -> Session:
        """Complete an active or paused session.

        If its time had already run out it is expired instead (stamped at its
        deadline) and returned without error.

        Raises:
            InvalidStateError: the session was never started.
            SessionImmutableError: it is already final.
        """
        return self._act(session_id, Action.END, actor)

    def cancel_session(self, session_id: str, *, actor: str = "local") -> Session:
        """Cancel a session that is not final (also one never started).

        Raises:
            SessionImmutableError: it is already final, or its time ran out.
        """
        return self._act(session_id, Action.CANCEL, actor)

    def update_session(
        self,
        /,  # ``self`` is no field name a caller could pass in ``changes``
        session_id: str,
        *,
        expected_version: int | None = None,
        actor: str = "local",
        **changes: Any,
    ) -> Session:
        """Change configuration fields (seed 001 ``update_session``).

        Any field may change before start; afterwards only the ones in
        :data:`~rehearse.domain.config.UPDATABLE_WHILE_RUNNING`. Passing the
        ``expected_version`` the caller read makes a stale edit fail instead of
        overwriting a newer one.

        Raises:
            ConfigurationError: an unknown, locked or invalid field.
            SessionImmutableError: the session is final.
            ConcurrentUpdateError: ``expected_version`` is not the stored version.
        """
        return self._change(
            session_id,
            lambda s, now: apply_update(s, changes, now),
            "update",
            actor,
            expected_version,
        )

    def sweep_expired(self, limit: int = 1000) -> list[str]:
        """Expire every running session whose deadline has passed; returns their ids.

        Uses the persisted, indexed deadline, so it works after a restart and reads
        only due sessions. Safe to run in several processes at once.
        """
        expired: list[str] = []
        for session_id in self.store.due_for_expiry(self.writer.clock.now(), limit):
            session = self.writer.expire(session_id, "system")
            if session.status is SessionStatus.EXPIRED:
                expired.append(session_id)
        return expired

    # -- time and budget ----------------------------------------------------------

    def get_remaining_time(self, session_id: str) -> int:
        """Seconds of active time left, rounded up (0 once expired or final).

        A session never started has its whole limit left; paused time does not count.
        """
        return self.get_session(session_id).remaining_seconds_at(self.writer.clock.now())

    def is_session_expired(self, session_id: str) -> bool:
        """True when the session is expired (reading it expires it if its time ran out)."""
        return self.get_session(session_id).status is SessionStatus.EXPIRED

    def record_usage(
        self,
        session_id: str,
        prompt_tokens: int,
        completion_tokens: int,
        *,
        model: str,
        actor: str = "local",
        latency_seconds: float | None = None,
        cost_usd: float | None = None,
    ) -> Session:
        """Add an AI call's token usage to the session (issue 2, item 5).

        Exact under concurrent callers: a lost race is re-read and re-applied.
        Records ``usage_recorded`` (with the call's ``latency_seconds`` and estimated
        ``cost_usd`` in US dollars when given), and ``budget_warning`` once when usage
        first reaches ``token_warning_threshold`` of the budget.

        Raises:
            BudgetExceededError: the total would pass the budget; nothing is recorded.
            ConfigurationError: a negative token count, latency or cost.
            SessionImmutableError: the session is final.
        """
        return self._change(
            session_id,
            lambda s, now: apply_usage(
                s,
                prompt_tokens,
                completion_tokens,
                model,
                now,
                latency_seconds=latency_seconds,
                cost_usd=cost_usd,
            ),
            "record usage for",
            actor,
        )

    def get_remaining_budget(self, session_id: str) -> int:
        """Tokens left in the session's budget."""
        return self.get_session(session_id).remaining_tokens

    # -- access -----------------------------------------------------------------

    def validate_session_access(self, session_id: str, principal: Principal) -> bool:
        """True when ``principal`` may see the session (seed 001 access control).

        Admins see all sessions, interviewers the sessions they created, candidates
        their own.

        Raises:
            SessionNotFoundError: no such session.
        """
        return can_access(principal, self.get_session(session_id))

    def get_session_for(self, session_id: str, principal: Principal) -> Session:
        """The session, if ``principal`` may see it.

        Raises:
            SessionNotFoundError: no such session.
            AccessDeniedError: the principal may not see it.
        """
        return check_access(self.get_session(session_id), principal)

    def peek_session_for(self, session_id: str, principal: Principal) -> Session | None:
        """Like :meth:`get_session_for`, but only when no write is needed.

        Returns ``None`` when the session's time ran out (reading it would record the
        expiry): call :meth:`get_session_for` then. Never writes, so it is safe on an
        event loop for an in-process database.

        Raises:
            SessionNotFoundError: no such session.
            AccessDeniedError: the principal may not see it.
        """
        session = self.store.get(session_id)
        if session is None:
            raise SessionNotFoundError(session_id)
        if session.is_due_to_expire(self.writer.clock.now()):
            return None
        return check_access(session, principal)

    # -- internals ----------------------------------------------------------------

    def _act(self, session_id: str, action: Action, actor: str) -> Session:
        return self.writer.change(
            session_id, lambda s, now: apply_action(s, action, now), action.value, actor
        )

    def _change(
        self,
        session_id: str,
        rule: Callable[[Session, datetime], Change],
        what: str,
        actor: str,
        expected_version: int | None = None,
    ) -> Session:
        return self.writer.change(session_id, rule, what, actor, expected_version)


def _require_own(creator: Principal, config: SessionConfig, candidate_id: str | None) -> None:
    """A candidate creates sessions for themselves only (issue 10, item 7).

    Raises:
        AccessDeniedError: the config names another candidate's e-mail address, or
            another candidate's principal id.
    """
    email = config.candidate_email
    own = creator.email or ""
    identity = candidate_identity(creator)
    named_other = candidate_id is not None and not identity.names(candidate_id, None)
    if (email and not identity.names(None, email)) or named_other:
        raise AccessDeniedError(
            f"a candidate may create sessions only for themselves (candidate_email "
            f"{email!r} is not {own or 'your address'}); ask an interviewer to set one up"
        )


def _list_error(exc: ValueError, status: Any, limit: int, offset: int) -> ConfigurationError:
    if limit < 1 or limit > 500:
        field, value, allowed = "limit", limit, "1 to 500"
    elif offset < 0:
        field, value, allowed = "offset", offset, "0 or more"
    else:
        field, value, allowed = "status", status, ", ".join(s.value for s in SessionStatus)
    return ConfigurationError(
        f"{field}={value!r}: not allowed (allowed: {allowed})",
        [{"field": field, "value": value, "message": f"allowed: {allowed}"}],
    )
