"""PostgreSQL's write path (issue 16): pipelined changes, reads without transactions.

A change sends its writes in one batch with COMMIT; these tests check that what the
batch keeps or refuses is what one statement at a time kept or refused, and that the
pool's query-free liveness check replaces connections the server closed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from rehearse.clock import FakeClock
from rehearse.domain.events import EventType, NewEvent
from rehearse.domain.sessions import Change, Session
from rehearse.errors import ConcurrentUpdateError
from rehearse.service.sessions import SessionManager
from rehearse.storage import SQLStore, open_store
from rehearse.storage.schema import session_events, sessions
from stores import emptied_postgres_schema, named_connections

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(postgres_schema_url: str) -> Iterator[SQLStore]:
    """An emptied private schema, under an application_name only this test uses."""
    url = named_connections(
        emptied_postgres_schema(postgres_schema_url), f"pw-{uuid.uuid4().hex[:10]}"
    )
    store = open_store(url)
    yield store
    store.close()


def _terminate(store: SQLStore) -> int:
    """Cut every connection of the store and wait until they are gone (as after a restart)."""
    name = make_url(str(store.engine.url)).query["application_name"]
    admin = create_engine(
        make_url(str(store.engine.url)).difference_update_query(["application_name"])
    )
    mine = "FROM pg_stat_activity WHERE application_name = :name AND pid <> pg_backend_pid()"
    try:
        with admin.begin() as connection:
            cut = len(
                connection.execute(
                    text(f"SELECT pg_terminate_backend(pid) {mine}"), {"name": name}
                ).all()
            )
        for _ in range(500):
            with admin.connect() as connection:
                left = connection.execute(text(f"SELECT count(*) {mine}"), {"name": name})
                if left.scalar_one() == 0:
                    return cut
            time.sleep(0.01)
        raise AssertionError("the terminated connections did not go")
    finally:
        admin.dispose()


def _counts(store: SQLStore, session_id: str) -> tuple[int, int]:
    with store.engine.connect() as connection:
        version = connection.execute(
            select(sessions.c.version).where(sessions.c.id == session_id)
        ).scalar_one()
        events = connection.execute(
            select(func.count()).where(session_events.c.session_id == session_id)
        ).scalar_one()
    return version, events


def test_connections_the_server_closed_are_replaced_without_an_error(
    pg_store: SQLStore, clock: FakeClock
) -> None:
    manager = SessionManager(pg_store, clock)
    session = manager.create_session({"candidate_name": "Ada"})
    manager.start_session(session.id)
    assert _terminate(pg_store) >= 1
    # the pooled connections are dead; the next read and write get fresh ones
    assert manager.get_session(session.id).status.value == "active"
    assert manager.pause_session(session.id).status.value == "paused"
    assert manager.resume_session(session.id).version == 4


def test_a_refused_pipelined_change_keeps_nothing_and_the_connection_serves_on(
    pg_store: SQLStore, clock: FakeClock
) -> None:
    manager = SessionManager(pg_store, clock)
    session = manager.create_session({"candidate_name": "Ada"})
    before = _counts(pg_store, session.id)
    with pg_store.engine.begin() as connection:  # another writer took the next seq
        connection.execute(
            text(
                "INSERT INTO session_events (session_id, seq, type, at, actor, data) "
                "VALUES (:id, :seq, 'note', 0, 'x', '{}')"
            ),
            {"id": session.id, "seq": session.last_seq + 1},
        )

    def rule(current: Session) -> Change:
        event = NewEvent(type=EventType.SESSION_STARTED, at=clock.now(), data={})
        return current.model_copy(update={"updated_at": clock.now()}), [event]

    with pytest.raises(ConcurrentUpdateError):
        pg_store.mutate(session.id, rule, "local")
    assert _counts(pg_store, session.id) == (before[0], before[1] + 1)  # the row kept
    # the same pooled connection goes on in ordinary transactions
    raw = pg_store.engine.raw_connection()
    try:
        assert raw.driver_connection.autocommit is False  # type: ignore[union-attr]
    finally:
        raw.close()
    with pg_store.engine.begin() as connection:  # the intruder's event goes
        connection.execute(text("DELETE FROM session_events WHERE type = 'note'"))
    assert manager.start_session(session.id).status.value == "active"


def test_a_rule_that_refuses_inside_the_batch_rolls_back(
    pg_store: SQLStore, clock: FakeClock
) -> None:
    manager = SessionManager(pg_store, clock)
    session = manager.create_session({"candidate_name": "Ada"})
    before = _counts(pg_store, session.id)

    def refuse(current: Session) -> Change:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        pg_store.mutate(session.id, refuse, "local")
    assert _counts(pg_store, session.id) == before
    with pg_store.engine.connect() as connection:  # no transaction left open anywhere
        idle = connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in%' "
                "AND application_name = current_setting('application_name')"
            )
        ).scalar_one()
    assert idle == 0
