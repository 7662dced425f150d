"""The write path of issue 16: what a change writes, and the prepared statements it runs."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, event, func, select
from sqlalchemy.exc import IntegrityError

from rehearse.clock import FakeClock
from rehearse.domain.config import parse_config
from rehearse.domain.events import EventType, NewEvent
from rehearse.domain.lifecycle import Action
from rehearse.domain.sessions import Session, apply_action, apply_update, apply_usage, new_session
from rehearse.errors import DataStoreError, RehearseError
from rehearse.storage import SQLStore, transactions
from rehearse.storage.prepared import Prepared, PreparedInsert
from rehearse.storage.schema import session_events, session_scores, sessions
from rehearse.storage.sql import changed_values, session_values

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

#: one step of a session's life: an action, a usage record or a renaming
STEPS = st.lists(
    st.one_of(
        st.sampled_from([Action.START, Action.PAUSE, Action.RESUME, Action.END, Action.CANCEL]),
        st.integers(min_value=1, max_value=500),
        st.sampled_from(["Grace", "Ada", "Linus"]),
    ),
    max_size=12,
)


def _step(session: Session, step: object, now: datetime) -> Session:
    if isinstance(step, Action):
        return apply_action(session, step, now)[0]
    if isinstance(step, int):
        return apply_usage(session, step, step // 2, "m", now)[0]
    return apply_update(session, {"candidate_name": step}, now)[0]


@settings(max_examples=150, deadline=None)
@given(STEPS, st.integers(min_value=1, max_value=600))
def test_changed_values_holds_every_column_that_moved(steps: list[object], gap: int) -> None:
    """Whatever the change, the UPDATE sets every column whose value differs, and only
    values the new row holds (the field-by-field diff replaces two full encodings)."""
    session = new_session("s-1", parse_config({"candidate_name": "Ada"}), START)[0]
    now = START
    for step in steps:
        now += timedelta(seconds=gap)
        try:
            after = _step(session, step, now)
        except RehearseError:
            continue  # refused by the rules: nothing to store
        after = after.model_copy(update={"version": session.version + 1})
        before_row, after_row = session_values(session), session_values(after)
        moved = {k: v for k, v in after_row.items() if before_row[k] != v}
        changed = changed_values(session, after)
        assert changed.items() >= moved.items()
        assert all(after_row[name] == value for name, value in changed.items())
        session = after


def test_prepared_statements_map_driver_errors(store: SQLStore, clock: FakeClock) -> None:
    """A constraint the driver reports reaches the store as SQLAlchemy's IntegrityError,
    so the store maps it as before (ConcurrentUpdateError, DataStoreError)."""
    session, events = new_session("s-dup", parse_config({"candidate_name": "Ada"}), clock.now())
    store.create(session, events, "tester")
    duplicate = PreparedInsert(session_events, ("session_id", "seq", "type", "at", "actor", "data"))
    row = {
        "session_id": "s-dup",
        "seq": 1,
        "type": "x",
        "at": clock.now(),
        "actor": "t",
        "data": {},
    }
    with pytest.raises(IntegrityError), store.engine.begin() as connection:
        duplicate.run(connection, [row])


def test_multi_row_insert_in_chunks_keeps_every_row_and_value(
    store: SQLStore, clock: FakeClock
) -> None:
    """Rows beyond one chunk go in several statements; types convert as Core converts them."""
    session, events = new_session("s-many", parse_config({"candidate_name": "Ada"}), clock.now())
    store.create(session, events, "tester")
    columns = ("session_id", "seq", "type", "at", "actor", "data")
    rows = [
        {
            "session_id": "s-many",
            "seq": seq,
            "type": "note",
            "at": clock.now() + timedelta(microseconds=seq),
            "actor": "t",
            "data": {"n": seq, "text": "é"},
        }
        for seq in range(2, 453)
    ]
    with store.engine.begin() as connection:
        PreparedInsert(session_events, columns, chunk=200).run(connection, rows)
    stored = store.get_events("s-many", after_seq=1)
    assert [(e.seq, e.at, e.data) for e in stored] == [(r["seq"], r["at"], r["data"]) for r in rows]


def test_prepared_select_decodes_like_core(store: SQLStore, clock: FakeClock) -> None:
    session, events = new_session("s-read", parse_config({"candidate_name": "Ada"}), clock.now())
    store.create(session, events, "tester")
    query = select(sessions.c.id, sessions.c.created_at, sessions.c.config).where(
        sessions.c.id == bindparam("session_id")
    )
    with store.engine.connect() as connection:
        rows = Prepared(query).rows(connection, {"session_id": "s-read"})
        core = connection.execute(query, {"session_id": "s-read"}).one()._asdict()
    assert rows == [core]


def test_a_change_the_summary_does_not_show_writes_no_summary(
    store: SQLStore, clock: FakeClock
) -> None:
    """record_usage moves nothing progress shows: the summary row keeps its contents."""
    session, events = new_session("s-use", parse_config({"candidate_name": "Ada"}), clock.now())
    store.create(session, events, "tester")
    store.mutate("s-use", lambda s: apply_action(s, Action.START, clock.now()), "t")
    with store.engine.connect() as connection:
        before = connection.execute(select(session_scores)).all()
    store.mutate("s-use", lambda s: apply_usage(s, 10, 5, "m", clock.now()), "t")
    with store.engine.connect() as connection:
        assert connection.execute(select(session_scores)).all() == before
        count = connection.execute(select(func.count()).select_from(session_events)).scalar()
    assert count == 3


def test_group_commit_shares_one_commit_and_keeps_a_failure_apart(
    sqlite_store: SQLStore, clock: FakeClock
) -> None:
    """Changes queued while the writer is busy share one commit; one that fails rolls
    back to its savepoint alone (its session and log untouched), the others are kept."""
    store = sqlite_store
    assert store.group is not None
    ids = [f"s-g{i}" for i in range(4)]
    for session_id in ids:
        session, events = new_session(
            session_id, parse_config({"candidate_name": "Ada"}), clock.now()
        )
        store.create(session, events, "tester")
    milestone = {"candidate_key": "ada", "milestone": "first"}

    def note(session: Session) -> tuple[Session, list[NewEvent]]:
        return session, [
            NewEvent(type=EventType.MILESTONE_ACHIEVED, at=clock.now(), data=milestone)
        ]

    store.mutate(ids[0], note, "tester")  # recorded once; a second recording must fail
    before = store.get(ids[0])
    batches = store.group.batches
    errors: dict[str, BaseException] = {}

    def change(session_id: str) -> None:
        try:
            if session_id == ids[0]:
                store.mutate(session_id, note, "tester")
            else:
                store.mutate(session_id, lambda s: apply_action(s, Action.START, clock.now()), "t")
        except BaseException as exc:
            errors[session_id] = exc

    with transactions.writer_lock(store.engine):  # the writer is busy: changes queue
        threads = [threading.Thread(target=change, args=(i,)) for i in ids]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while store.group.queued() < len(ids) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.group.queued() == len(ids)
    for thread in threads:
        thread.join(10)
    assert set(errors) == {ids[0]} and isinstance(errors[ids[0]], DataStoreError)
    assert store.group.batches == batches + 1
    assert store.get(ids[0]) == before
    assert [e.type for e in store.get_events(ids[0])] == ["session_created", "milestone_achieved"]
    for session_id in ids[1:]:
        stored = store.get(session_id)
        assert stored is not None and stored.status.value == "active" and stored.version == 2


def test_group_commit_keeps_its_connection_and_replaces_it_after_a_failure(
    sqlite_store: SQLStore, clock: FakeClock
) -> None:
    """Batches run on one kept connection (no pool checkout per change); a failed batch
    hands it back and the next change takes a fresh one and commits normally."""
    store = sqlite_store
    checkouts: list[object] = []
    event.listen(store.engine, "checkout", lambda conn, record, proxy: checkouts.append(conn))
    session, events = new_session("s-kept", parse_config({"candidate_name": "Ada"}), clock.now())
    store.create(session, events, "tester")

    def act(action: Action) -> None:
        store.mutate("s-kept", lambda s: apply_action(s, action, clock.now()), "tester")

    for action in (Action.START, Action.PAUSE, Action.RESUME):
        act(action)
    writes = len(checkouts)
    assert writes <= 1  # the first write may take it; none after

    def failing(session: Session) -> tuple[Session, list[NewEvent]]:
        raise RuntimeError("the rule refused")

    with pytest.raises(RuntimeError, match="the rule refused"):
        store.mutate("s-kept", failing, "tester")
    act(Action.END)
    assert len(checkouts) == writes + 1  # handed back after the failure, a fresh one now
    stored = store.get("s-kept")
    assert stored is not None and stored.status.value == "completed" and stored.version == 5
    store.close()
    assert store.group is not None and store.group.queued() == 0
