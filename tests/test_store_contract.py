"""The storage contract, run on every backend (SQLite file and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from rehearse.clock import FakeClock
from rehearse.domain.access import Principal, PrincipalRole
from rehearse.domain.config import parse_config
from rehearse.domain.lifecycle import Action, SessionStatus
from rehearse.domain.sessions import Session, apply_action, new_session
from rehearse.errors import (
    ConcurrentUpdateError,
    ConfigurationError,
    DataStoreError,
    SessionNotFoundError,
)
from rehearse.service.sessions import SessionManager
from rehearse.storage import SessionQuery, SQLStore
from rehearse.storage.schema import session_events, sessions


def _new(store: SQLStore, clock: FakeClock, name: str = "Ada", **extra: object) -> Session:
    session, events = new_session(
        f"s-{name}-{clock.now().timestamp()}",
        parse_config({"candidate_name": name, **extra}),
        clock.now(),
    )
    return store.create(session, events, "tester")


def test_create_and_get_round_trip(store: SQLStore, clock: FakeClock) -> None:
    created = _new(store, clock, candidate_email="ada@example.com", job_description="Kafka and Go")
    assert store.get(created.id) == created
    assert created.version == 1 and created.last_seq == 1
    assert store.get("missing") is None


def test_mutate_updates_row_and_log_together(store: SQLStore, clock: FakeClock) -> None:
    created = _new(store, clock)
    clock.advance(1.5)
    stored, events = store.mutate(
        created.id, lambda s: apply_action(s, Action.START, clock.now()), "tester"
    )
    assert stored.status is SessionStatus.ACTIVE and stored.version == 2 and stored.last_seq == 2
    assert [(e.seq, e.type, e.actor) for e in events] == [(2, "session_started", "tester")]
    assert store.get(created.id) == stored
    assert [e.seq for e in store.get_events(created.id)] == [1, 2]
    assert [e.seq for e in store.get_events(created.id, after_seq=1)] == [2]


def test_failed_mutation_writes_nothing(store: SQLStore, clock: FakeClock) -> None:
    created = _new(store, clock)

    def boom(session: Session) -> tuple[Session, list[object]]:
        raise RuntimeError("rule failed")

    with pytest.raises(RuntimeError):
        store.mutate(created.id, boom, "tester")  # type: ignore[arg-type]
    assert store.get(created.id) == created
    assert len(store.get_events(created.id)) == 1


def test_mutation_without_events_writes_nothing(store: SQLStore, clock: FakeClock) -> None:
    created = _new(store, clock)
    stored, events = store.mutate(created.id, lambda s: (s, []), "tester")
    assert (stored, events) == (created, [])
    assert store.get(created.id) == created


def test_mutate_missing_session(store: SQLStore) -> None:
    with pytest.raises(SessionNotFoundError, match="'nope' not found"):
        store.mutate("nope", lambda s: (s, []), "tester")


def test_stale_expected_version_is_refused(store: SQLStore, clock: FakeClock) -> None:
    created = _new(store, clock)
    store.mutate(created.id, lambda s: apply_action(s, Action.START, clock.now()), "tester")
    with pytest.raises(ConcurrentUpdateError) as caught:
        store.mutate(
            created.id,
            lambda s: apply_action(s, Action.PAUSE, clock.now()),
            "tester",
            expected_version=1,
        )
    assert (caught.value.expected_version, caught.value.actual_version) == (1, 2)
    assert store.get(created.id).status is SessionStatus.ACTIVE  # type: ignore[union-attr]


def test_lost_race_is_detected_by_the_version_check(store: SQLStore, clock: FakeClock) -> None:
    """A writer whose read is overtaken by another commit must not overwrite it."""
    created = _new(store, clock)
    store.lock_rows = False  # the row lock would make the other writer wait; test the version check

    def racing(session: Session) -> tuple[Session, list[object]]:
        # Another writer commits between our read and our write (PostgreSQL allows
        # this; SQLite's BEGIN IMMEDIATE makes the second writer wait instead).
        if store.dialect == "postgresql":
            with store.engine.begin() as other:
                other.execute(
                    sessions.update()
                    .where(sessions.c.id == session.id)
                    .values(version=session.version + 1)
                )
        return apply_action(session, Action.START, clock.now())  # type: ignore[return-value]

    if store.dialect == "postgresql":
        with pytest.raises(ConcurrentUpdateError):
            store.mutate(created.id, racing, "tester")  # type: ignore[arg-type]
        assert len(store.get_events(created.id)) == 1
    else:
        stored, _ = store.mutate(created.id, racing, "tester")  # type: ignore[arg-type]
        assert stored.version == 2


def test_event_sequence_is_unique(store: SQLStore, clock: FakeClock) -> None:
    created = _new(store, clock)
    with (
        pytest.raises(
            IntegrityError, match=r"uq_session_events_session_seq|UNIQUE constraint failed"
        ),
        store.engine.begin() as connection,
    ):
        connection.execute(
            session_events.insert().values(
                session_id=created.id, seq=1, type="x", at=clock.now(), actor="a", data={}
            )
        )


def test_list_newest_first_with_cursor_and_offset(store: SQLStore, clock: FakeClock) -> None:
    manager = SessionManager(store, clock)
    ids = []
    for i in range(7):
        ids.append(manager.create_session({"candidate_name": f"Cand {i}"}).id)
        clock.advance(1 if i != 3 else 0)  # two sessions share an instant: the id breaks the tie
    newest_first = [
        s.id
        for s in sorted(
            (manager.get_session(i) for i in ids), key=lambda s: (s.created_at, s.id), reverse=True
        )
    ]
    seen: list[str] = []
    cursor = None
    while True:
        page = manager.list_sessions(limit=3, cursor=cursor)
        assert page.total == 7
        seen += [s.id for s in page.sessions]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == newest_first
    assert [s.id for s in manager.list_sessions(limit=2, offset=5).sessions] == newest_first[5:]


def test_list_filters(store: SQLStore, clock: FakeClock) -> None:
    manager = SessionManager(store, clock)
    interviewer = Principal(id="iv-1", role=PrincipalRole.INTERVIEWER)
    a = manager.create_session(
        {"candidate_name": "Ada Lovelace", "role": "frontend"}, created_by=interviewer
    )
    clock.advance(10)
    b = manager.create_session(
        {"candidate_name": "Bob 100%_sure", "candidate_email": "Bob@Example.com"}
    )
    manager.start_session(b.id)
    clock.advance(10)
    c = manager.create_session({"candidate_name": "Cy"})
    manager.cancel_session(c.id)

    def ids(**filters: object) -> list[str]:
        return [s.id for s in manager.list_sessions(**filters).sessions]  # type: ignore[arg-type]

    assert ids(status="active") == [b.id]
    assert ids(status=["active", "cancelled"]) == [c.id, b.id]
    assert ids(candidate="lovelace") == [a.id]
    assert ids(candidate="100%_") == [b.id]
    assert ids(candidate="%") == [b.id]  # wildcards are literal
    assert ids(candidate="bob@example.com") == [b.id]
    assert ids(role="frontend") == [a.id]
    start = a.created_at
    assert ids(created_after=start + timedelta(seconds=5)) == [c.id, b.id]
    assert ids(created_before=start + timedelta(seconds=5)) == [a.id]
    assert ids(principal=interviewer) == [a.id]
    candidate = Principal(id="u-bob", role=PrincipalRole.CANDIDATE, email="bob@example.com")
    assert ids(principal=candidate) == [b.id]
    assert manager.list_sessions(status="created", include_total=False).total is None


def test_list_rejects_bad_arguments(store: SQLStore, clock: FakeClock) -> None:
    manager = SessionManager(store, clock)
    with pytest.raises(ConfigurationError, match="status='done'"):
        manager.list_sessions(status="done")
    with pytest.raises(ConfigurationError, match="limit=0"):
        manager.list_sessions(limit=0)
    with pytest.raises(ConfigurationError, match="cursor='garbage!'"):
        manager.list_sessions(cursor="garbage!")


def test_due_for_expiry_uses_the_deadline(store: SQLStore, clock: FakeClock) -> None:
    created = _new(store, clock, time_limit_minutes=5)
    store.mutate(created.id, lambda s: apply_action(s, Action.START, clock.now()), "tester")
    assert store.due_for_expiry(clock.now(), 10) == []
    assert store.due_for_expiry(clock.now() + timedelta(minutes=5), 10) == [created.id]


def test_migrations_are_idempotent(store: SQLStore) -> None:
    before, after = store.upgrade()
    from rehearse.storage.migrate import HEAD_REVISION

    assert before == after == HEAD_REVISION
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(sessions)).scalar_one() == 0


def test_database_failure_is_a_datastore_error(store: SQLStore, clock: FakeClock) -> None:
    created = _new(store, clock)
    with store.engine.begin() as connection:
        connection.execute(text("DROP TABLE session_events"))
    with pytest.raises(DataStoreError, match=f"could not update session {created.id}"):
        store.mutate(created.id, lambda s: apply_action(s, Action.START, clock.now()), "tester")
    # the session row was not half-written: the transaction rolled back
    assert store.get(created.id) == created


def test_head_revision_constant_matches_alembic() -> None:
    from rehearse.storage.migrate import HEAD_REVISION, alembic_head

    assert alembic_head() == HEAD_REVISION


def test_cached_sessions_never_hide_another_writers_change(
    store: SQLStore, clock: FakeClock
) -> None:
    """The list cache is keyed by version: a change made elsewhere (another process) shows."""
    created = _new(store, clock)
    assert store.list_sessions(SessionQuery()).sessions == [created]  # now cached
    with store.engine.begin() as other_process:
        other_process.execute(
            sessions.update()
            .where(sessions.c.id == created.id)
            .values(status="cancelled", version=2)
        )
    [listed] = store.list_sessions(SessionQuery()).sessions
    assert (listed.status, listed.version) == (SessionStatus.CANCELLED, 2)
