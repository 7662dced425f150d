"""The one writer every session change goes through: read -> rule -> expire -> retry -> commit.

Every service composes a :class:`SessionWriter` instead of inheriting it (issue 8). A
change reads the stored session, expires it first when its active time ran out (lazy
expiry, seed ``001_*``), applies a pure rule from :mod:`rehearse.domain`, and stores
the new row and its events in one transaction. A lost race is re-read and re-applied
when that is safe. After the commit, hooks registered with :meth:`SessionWriter.on_final`
run once for the write that made a session final (or changed a final one, such as a late
evaluation): the report service generates the report there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from rehearse.clock import Clock
from rehearse.domain.events import EventType, NewEvent
from rehearse.domain.lifecycle import Action, SessionStatus
from rehearse.domain.plan import ReportStatus
from rehearse.domain.sessions import Change, Session, apply_action
from rehearse.errors import ConcurrentUpdateError, SessionImmutableError, SessionNotFoundError
from rehearse.storage import Store

#: How often a retry-safe change is re-read and re-applied after losing a race.
MAX_ATTEMPTS = 12

#: A pure rule: the stored session and the instant of the change to its next state.
Rule = Callable[[Session, datetime], Change]

#: Called after a commit that made a session final, or changed a final one; returns
#: True when it may have changed the session (it is then read again for the caller).
FinalHook = Callable[[Session], bool]


class SessionWriter:
    """Applies rules to stored sessions, one transaction per change.

    Thread-safe: one writer may serve many threads. Every method that names a session
    raises :class:`SessionNotFoundError` when it does not exist and ``DataStoreError``
    when the database fails (nothing half-written).

    Args:
        store: where sessions live.
        clock: the time source (a :class:`~rehearse.clock.FakeClock` in tests).
    """

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self._final_hooks: list[FinalHook] = []

    def on_final(self, hook: FinalHook) -> None:
        """Run ``hook`` after each commit that finishes a session.

        That is the commit that makes it final, or one that changes a final session
        whose report is pending (a late evaluation). ``hook`` returns True when it may
        have changed the session (stored its report): the change then returns the
        session read again; a hook that only queued work returns False, and the change
        returns what it committed without another read.
        """
        self._final_hooks.append(hook)

    def read(self, session_id: str) -> Session:
        """The session, expired first if its time ran out.

        Raises:
            SessionNotFoundError: no such session.
        """
        session = self.store.get(session_id)
        if session is None:
            raise SessionNotFoundError(session_id)
        if session.is_due_to_expire(self.clock.now()):
            return self.expire(session_id, "system")
        return session

    def expire(self, session_id: str, actor: str) -> Session:
        """Record ``session_expired`` if the session is still running; returns it as stored."""

        def rule(session: Session, now: datetime) -> Change:
            return apply_action(session, Action.EXPIRE, now)

        return self.change(
            session_id, rule, "expire", actor, expire_first=False, tolerate_final=True
        )

    def note(self, session_id: str, kind: EventType, data: dict[str, Any], actor: str) -> None:
        """Append one event; allowed on a final session (it describes what happened)."""

        def rule(session: Session, now: datetime) -> Change:
            return session, [NewEvent(type=kind, at=now, data=data)]

        self.change(session_id, rule, f"record {kind.value} for", actor, expire_first=False)

    def change(
        self,
        session_id: str,
        rule: Rule,
        what: str,
        actor: str,
        expected_version: int | None = None,
        *,
        expire_first: bool = True,
        tolerate_final: bool = False,
    ) -> Session:
        """Apply ``rule`` at the clock's now and store the result; returns the stored session.

        Args:
            session_id: the session to change.
            rule: the pure rule (raises the domain's errors to refuse the change).
            what: the action in words, for errors ("pause", "answer").
            actor: who changes it (a principal id, ``"local"`` or ``"system"``).
            expected_version: the version the caller read; a stale one fails instead of
                being retried. Without it a lost race is re-read and re-applied (the
                rule is re-checked against the fresh state).
            expire_first: record the expiry instead when the time ran out; the change
                then fails with :class:`SessionImmutableError` (``end`` excepted).
            tolerate_final: a final session is returned unchanged instead of refused.

        Raises:
            SessionNotFoundError: no such session.
            SessionImmutableError: the session is final or its time ran out.
            ConcurrentUpdateError: ``expected_version`` is not the stored version, or
                the race was lost :data:`MAX_ATTEMPTS` times.
        """
        expired_instead = False
        finished = False

        def mutation(session: Session) -> Change:
            nonlocal expired_instead, finished
            now = self.clock.now()
            expired_instead = finished = False
            if tolerate_final and session.status.is_final:
                return session, []
            expired_instead = expire_first and session.is_due_to_expire(now)
            if expired_instead:
                result = apply_action(session, Action.EXPIRE, now)
            else:
                result = rule(session, now)
            # only the writer that makes a session final, or changes a final one whose
            # report is pending (a late evaluation), finishes it: a lost race must not
            # report twice, and a note on a reported session reports nothing
            became_final = not session.status.is_final and result[0].status.is_final
            late = (
                session.status.is_final
                and bool(result[1])
                and result[0].report_status is ReportStatus.PENDING
            )
            finished = became_final or late
            return result

        def attempt() -> Session:
            session, _ = self.store.mutate(session_id, mutation, actor, expected_version)
            return session

        try:
            session = attempt()
        except ConcurrentUpdateError:
            if expected_version is not None:
                raise
            # the race was lost: re-read and re-apply, with backoff (building the retry
            # machinery only now keeps it, and tenacity's import, off the path of the change
            # that wins at once and of every command that only reads)
            from tenacity import (
                Retrying,
                retry_if_exception_type,
                stop_after_attempt,
                wait_random_exponential,
            )

            retrying = Retrying(
                retry=retry_if_exception_type(ConcurrentUpdateError),
                stop=stop_after_attempt(MAX_ATTEMPTS - 1),
                wait=wait_random_exponential(multiplier=0.002, max=0.05),
                reraise=True,
            )
            session = retrying(attempt)
        if finished and self._final_hooks:
            changed = [hook(session) for hook in self._final_hooks]
            if any(changed):
                session = self.store.get(session_id) or session
        if expired_instead and what != Action.END.value:
            raise SessionImmutableError(session_id, SessionStatus.EXPIRED.value, what)
        return session
