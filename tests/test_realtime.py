"""The realtime bridge in-process, on SQLite and PostgreSQL: ordering, durability, back-pressure,
outages, the hot cache, subscriptions across "workers", closing, and the REST endpoint."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from rehearse import RealtimeSessionManager, SessionManager
from rehearse.clock import FakeClock
from rehearse.domain.realtime import (
    AudioMetadata,
    ToolExecution,
    validate_update,
    validate_with_model,
)
from rehearse.errors import ConfigurationError, SessionImmutableError, SessionNotFoundError
from rehearse.service.realtime import audio_totals
from rehearse.settings import Settings
from rehearse.storage import SQLStore, open_store, transactions
from rehearse.storage.notifiers import LocalNotifier, PostgresNotifier, RedisNotifier
from rehearse.web import create_app
from stores import emptied_postgres_schema, named_connections

T = TypeVar("T")


def run(coroutine: Awaitable[T]) -> T:
    """Run on a fresh loop in a thread of its own (a browser test's sync Playwright may
    leave a loop marked running on the main thread)."""

    async def main() -> T:
        return await coroutine

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


def fast(**overrides: Any) -> Settings:
    return Settings(realtime_batch_seconds=0.01, realtime_retry_max_seconds=0.2, **overrides)


def started(manager: SessionManager, **config: Any) -> str:
    session = manager.create_session({"candidate_name": "Ada", **config})
    manager.start_session(session.id)
    return session.id


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


# -- ordering and durability -----------------------------------------------------------


def test_32_concurrent_producers_keep_every_event_once_and_in_order(
    manager_on_each_backend: SessionManager,
) -> None:
    manager = manager_on_each_backend
    sessions = [started(manager) for _ in range(4)]
    per_producer = 60

    async def scenario() -> None:
        async with RealtimeSessionManager(manager, settings=fast()) as rt:

            async def produce(producer: int) -> None:
                for n in range(per_producer):
                    session_id = sessions[(producer + n) % len(sessions)]
                    await rt.record_event(session_id, "producer_tick", {"p": producer, "n": n})
                    if n % 7 == 0:
                        await asyncio.sleep(0)

            await asyncio.gather(*(produce(p) for p in range(32)))
            await rt.flush()

    run(scenario())
    total = 0
    for session_id in sessions:
        events = manager.get_events(session_id)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))  # no gaps
        ticks = [e for e in events if e.type == "producer_tick"]
        total += len(ticks)
        assert len({e.data["event_id"] for e in ticks}) == len(ticks)  # no duplicates
        positions = [e.position or 0 for e in events]
        assert positions == sorted(positions)
        for producer in range(32):  # each producer's events in the order it made them
            mine = [e.data["n"] for e in ticks if e.data["p"] == producer]
            assert mine == sorted(mine)
        stored = manager.get_session(session_id)
        assert stored.last_seq == len(events)
    assert total == 32 * per_producer


def test_durable_calls_return_the_stored_seq_and_position(manager: SessionManager) -> None:
    session_id = started(manager)

    async def scenario() -> None:
        async with RealtimeSessionManager(manager, settings=fast()) as rt:
            queued = await rt.record_audio_metadata(session_id, {"chunks": 2, "bytes": 640})
            assert not queued.durable and queued.queue_position == 1
            tool = ToolExecution(tool="search", arguments={"q": "b-trees"}, duration_ms=12.5)
            durable = await rt.record_tool_execution(session_id, tool, wait="durable")
            assert durable.durable and durable.queue_position == 2
            assert durable.seq is not None
            stored = manager.get_events(session_id, after_seq=durable.seq - 1)[0]
            assert (stored.type, stored.seq, stored.position) == (
                "tool_execution",
                durable.seq,
                durable.position,
            )
            assert stored.data["tool"] == "search" and stored.data["status"] == "succeeded"
            assert stored.data["event_id"] == durable.event_id
            # the queued one was written in order, before it
            assert manager.get_events(session_id)[-2].type == "audio_metadata"

    run(scenario())


def test_bad_updates_are_refused_naming_the_field(manager: SessionManager) -> None:
    session_id = started(manager)

    async def scenario() -> None:
        async with RealtimeSessionManager(manager, settings=fast()) as rt:
            with pytest.raises(ConfigurationError) as bad:
                await rt.record_tool_execution(session_id, {"tool": "", "duration_ms": -1})
            assert {f["field"] for f in bad.value.errors} == {"data.tool", "data.duration_ms"}
            with pytest.raises(ConfigurationError, match="rehearse's own events"):
                await rt.record_event(session_id, "session_completed", {})
            with pytest.raises(ConfigurationError, match="type="):
                await rt.record_event(session_id, "Not A Name", {})
            with pytest.raises(ConfigurationError) as many:
                await rt.record_many(
                    session_id,
                    [("audio_metadata", {"chunks": 1}), ("context_injection", {"reason": "x"})],
                )
            assert [f["field"] for f in many.value.errors] == ["1.data.component", "1.data.content"]
            with pytest.raises(SessionNotFoundError):
                await rt.record_event("no-such-session", "note", {})
            await asyncio.to_thread(manager.cancel_session, session_id)
            with pytest.raises(SessionImmutableError):
                await rt.record_event(session_id, "note", {})

    run(scenario())
    assert [e.type for e in manager.get_events(session_id)][-1] != "audio_metadata"


def test_data_that_cannot_be_stored_is_refused_at_the_call_and_the_writer_goes_on(
    manager: SessionManager,
) -> None:
    """Each of these once reached the writer, whose batch then failed on every retry."""
    session_id = started(manager)
    refused: list[tuple[str, dict[str, Any], str]] = [
        ("note", {"at": datetime(2026, 1, 1, tzinfo=UTC)}, "data"),  # not JSON
        ("note", {"ratio": float("nan")}, "data"),  # PostgreSQL's json refuses NaN
        ("note", {"event_id": 7}, "data.event_id"),
        ("audio_metadata", {"duration_seconds": float("inf")}, "data.duration_seconds"),
        ("context_injection", {"component": "c", "content": "\ud800"}, "data.content"),
    ]

    async def scenario() -> None:
        async with RealtimeSessionManager(manager, settings=fast()) as rt:
            for kind, data, field in refused:
                with pytest.raises(ConfigurationError) as error:
                    await rt.record_event(session_id, kind, data)
                assert error.value.errors[0]["field"] == field, (kind, data)
            await rt.record_event(session_id, "note", {"when": "2026-01-01T00:00:00Z"})
            # a tool's free-form JSON follows pydantic's JSON mode: a non-finite number
            # inside it becomes null, as it would in any JSON pydantic writes
            tool = {"tool": "t", "arguments": {"x": float("inf")}}
            await rt.record_tool_execution(session_id, tool)
            done = await rt.record_event(session_id, "note", {"n": 2}, wait="durable")
            assert done.durable

    run(scenario())
    [tool] = manager.get_events(session_id, types=["tool_execution"])
    assert tool.data["arguments"] == {"x": None}
    notes = [e.data for e in manager.get_events(session_id, types=["note"])]
    assert [n.get("n") for n in notes] == [None, 2]


def test_a_batch_returns_the_events_model_construct_would_build(manager: SessionManager) -> None:
    from rehearse.domain.events import Event
    from rehearse.domain.realtime import PendingEvent

    session_id = started(manager)
    at = datetime(2026, 1, 1, 9, tzinfo=UTC)
    [stored] = manager.store.append_events(  # type: ignore[attr-defined]
        [PendingEvent(session_id, "note", at, "local", {"k": [1, "x"]})]
    )
    fields = {name: getattr(stored, name) for name in Event.model_fields}
    assert stored == Event.model_construct(**fields) == Event(**fields)
    assert stored.model_fields_set == set(Event.model_fields)
    assert stored.to_json()["data"] == {"k": [1, "x"]}
    assert manager.get_events(session_id)[-1] == stored
    # the events of a batch share one fields set: a copy's change stays the copy's
    changed = stored.model_copy(update={"actor": "else"})
    assert changed.actor == "else" and stored.actor == "local"
    assert stored.model_fields_set == set(Event.model_fields)


def test_a_commit_tells_listeners_its_heads_and_types_and_builds_events_alike(
    manager: SessionManager,
) -> None:
    from rehearse.domain.realtime import PendingEvent
    from rehearse.storage.committed import CommittedEvents

    first, second = started(manager), started(manager)
    heard: list[CommittedEvents] = []
    store: SQLStore = manager.store  # type: ignore[assignment]
    store.listeners.append(heard.append)
    at = datetime(2026, 1, 1, 9, tzinfo=UTC)
    batch = [
        PendingEvent(sid, kind, at, "local", {"n": n})
        for n, (sid, kind) in enumerate(
            [(first, "note"), (second, "note"), (first, "ping"), (first, "note")]
        )
    ]
    stored = store.append_events(batch)
    before = manager.get_events(first)[-4].seq  # session_started, before the batch
    assert stored.heads == {first: before + 3, second: manager.get_events(second)[-1].seq}
    assert stored.types == {"note", "ping"}
    # an event read by index is the one iteration gives and the one read back
    by_index = [stored[i] for i in range(len(stored))]
    assert by_index == list(stored) == stored[:] == stored
    assert stored[-1] == by_index[3] and stored[1:3] == by_index[1:3]
    assert [e.seq for e in stored if e.session_id == first] == [before + 1, before + 2, before + 3]
    assert [e.data["n"] for e in stored] == [0, 1, 2, 3]
    log = {(e.session_id, e.seq): e for e in manager.get_events(first) + manager.get_events(second)}
    assert stored == [log[(e.session_id, e.seq)] for e in stored]  # positions included
    with pytest.raises(IndexError):
        stored[4]
    assert heard[-1] is stored
    # a session change's events come to listeners the same way
    manager.pause_session(second)
    change = heard[-1]
    assert change.types == {"session_paused"}
    assert change.heads == {second: manager.get_events(second)[-1].seq}
    assert [e.type for e in change] == ["session_paused"]


@given(
    chunks=st.integers(min_value=-5, max_value=10**12),
    seconds=st.floats(allow_nan=True, allow_infinity=False, width=32),
)
@settings(max_examples=60, deadline=None)
def test_audio_validation_accepts_exactly_the_documented_ranges(
    chunks: int, seconds: float
) -> None:
    payload = {"chunks": chunks, "duration_seconds": seconds}
    valid = chunks >= 0 and seconds >= 0
    if valid:
        assert validate_update("audio_metadata", payload)["chunks"] == chunks
    else:
        with pytest.raises(ConfigurationError) as refused:
            validate_update("audio_metadata", payload)
        assert all(f["field"].startswith("data.") for f in refused.value.errors)


_AUDIO_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 500_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=70),
    st.sampled_from(["streaming", "connected", "finalized", "bogus", "1", "1.5", ""]),
    st.lists(st.integers(), max_size=2),
)


@given(
    st.dictionaries(
        st.sampled_from([*AudioMetadata.model_fields, "extra", "Stream_id"]),
        _AUDIO_VALUES,
        max_size=8,
    )
)
@settings(max_examples=300, deadline=None)
def test_the_quick_dict_check_answers_what_the_model_does(payload: dict[str, Any]) -> None:
    """A plain dict of audio metadata skips the model (validate_update's quick check):
    same data, same order, same refusal naming the same fields, as through the model."""

    def answer(check: Callable[[str, dict[str, Any]], dict[str, Any]]) -> Any:
        try:
            data = check("audio_metadata", dict(payload))
        except ConfigurationError as refused:
            return ("refused", str(refused), refused.errors)
        return ("accepted", list(data.items()), [type(v) for v in data.values()])

    assert answer(validate_update) == answer(validate_with_model)


@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 1000)), max_size=30))
def test_audio_totals_add_up_per_stream(reports: list[tuple[str, int]]) -> None:
    from datetime import UTC, datetime

    from rehearse.domain.events import Event

    events = [
        Event(
            session_id="s",
            seq=i + 1,
            type="audio_metadata",
            at=datetime(2026, 1, 1, tzinfo=UTC),
            actor="x",
            data={"stream_id": stream, "chunks": n, "bytes": 2 * n, "duration_seconds": n / 10},
        )
        for i, (stream, n) in enumerate(reports)
    ]
    totals = {t["stream_id"]: t for t in audio_totals(events)}
    for stream in {"a", "b"}:
        mine = [n for s, n in reports if s == stream]
        if not mine:
            assert stream not in totals
            continue
        assert totals[stream]["chunks"] == sum(mine) and totals[stream]["bytes"] == 2 * sum(mine)
        assert totals[stream]["reports"] == len(mine) and totals[stream]["state"] == "finalized"


def test_a_full_queue_holds_callers_back_until_the_writer_catches_up(
    tmp_path: Any, clock: FakeClock
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'bp.db'}")
    manager = SessionManager(store, clock)
    session_id = started(manager)
    writer_lock = transactions._writer_lock(store.engine)  # the one SQLite writer lock

    async def scenario() -> None:
        async with RealtimeSessionManager(
            manager, settings=fast(realtime_queue_size=5, realtime_batch_size=2)
        ) as rt:
            await rt.get_session(session_id)  # cached: no read needs the lock below
            writer_lock.__enter__()  # the database is busy: the writer cannot commit
            try:
                producer = asyncio.ensure_future(
                    asyncio.gather(*(rt.record_event(session_id, "n", {"i": i}) for i in range(20)))
                )
                await asyncio.sleep(0.3)
                assert not producer.done()  # held back, not queued without limit
                assert rt.queue_depth <= 5
            finally:
                writer_lock.__exit__(None, None, None)
            await asyncio.wait_for(producer, 10)
            await rt.flush()

    try:
        run(scenario())
        assert [e.data["i"] for e in manager.get_events(session_id, types=["n"])] == list(range(20))
    finally:
        store.close()


def test_held_back_callers_get_room_in_arrival_order_and_a_cancelled_one_passes_its_turn(
    tmp_path: Any, clock: FakeClock
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'turns.db'}")
    manager = SessionManager(store, clock)
    session_id = started(manager)
    writer_lock = transactions._writer_lock(store.engine)

    async def scenario() -> list[asyncio.Task[Any]]:
        async with RealtimeSessionManager(
            manager, settings=fast(realtime_queue_size=3, realtime_batch_size=2)
        ) as rt:
            await rt.get_session(session_id)
            writer_lock.__enter__()  # the writer holds at most one batch (2), the queue 3
            try:
                calls = [
                    asyncio.ensure_future(rt.record_event(session_id, "n", {"i": i}))
                    for i in range(8)
                ]
                await asyncio.sleep(0.3)
                assert rt.queue_depth <= 3
                assert not calls[6].done()  # held back: 5 at most are queued or being written
                calls[6].cancel()
                await asyncio.sleep(0)
            finally:
                writer_lock.__exit__(None, None, None)
            await asyncio.wait_for(asyncio.gather(*calls, return_exceptions=True), 10)
            await rt.flush()
            assert rt._promised == 0 and not rt._held
            return calls

    try:
        calls = run(scenario())
        assert calls[6].cancelled()
        assert all(not c.cancelled() for i, c in enumerate(calls) if i != 6)
        stored = [e.data["i"] for e in manager.get_events(session_id, types=["n"])]
        assert stored == [0, 1, 2, 3, 4, 5, 7]  # in arrival order; the cancelled one never
    finally:
        store.close()


def test_shutdown_writes_everything_queued(manager: SessionManager) -> None:
    session_id = started(manager)

    async def scenario() -> None:
        # one batch holds them all and lingers 5 s: only closing writes them in time
        rt = RealtimeSessionManager(
            manager, settings=Settings(realtime_batch_seconds=5, realtime_batch_size=2000)
        )
        for i in range(1200):
            await rt.record_event(session_id, "n", {"i": i})
        await rt.aclose()  # no flush: closing must write them

    run(scenario())
    assert len(manager.get_events(session_id, types=["n"])) == 1200


# -- PostgreSQL outage ------------------------------------------------------------------


@pytest.fixture
def pg_url(postgres_schema_url: str) -> str:
    """The private schema, emptied, under an application_name only this test uses."""
    name = f"rt-{uuid.uuid4().hex[:10]}"
    return named_connections(emptied_postgres_schema(postgres_schema_url), name)


def terminate(url: str) -> int:
    """Cut every connection of this test's application_name (the server keeps running)."""
    name = make_url(url).query["application_name"]
    admin = create_engine(make_url(url).difference_update_query(["application_name"]))
    try:
        with admin.begin() as connection:
            return len(
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                ).all()
            )
    finally:
        admin.dispose()


@pytest.mark.postgres
def test_a_database_outage_mid_stream_loses_and_duplicates_nothing(
    pg_url: str, clock: FakeClock
) -> None:
    store = open_store(pg_url)
    manager = SessionManager(store, clock)
    sessions = [started(manager) for _ in range(3)]
    cut = 0
    # the first three batches lose their connection inside their own INSERT, with the
    # transaction open (the sequence counts outside any transaction): they must roll
    # back whole and be retried
    with store.engine.begin() as connection:
        connection.execute(text("DROP SEQUENCE IF EXISTS rt_cut"))
        connection.execute(text("CREATE SEQUENCE rt_cut"))
        connection.execute(
            text(
                "CREATE OR REPLACE FUNCTION rt_cut_batch() RETURNS trigger AS $$ BEGIN "
                "IF nextval('rt_cut') <= 3 THEN PERFORM pg_terminate_backend(pg_backend_pid()); "
                "END IF; RETURN NULL; END $$ LANGUAGE plpgsql"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER rt_cut_batch AFTER INSERT ON session_events "
                "FOR EACH STATEMENT EXECUTE FUNCTION rt_cut_batch()"
            )
        )

    async def scenario() -> int:
        nonlocal cut
        async with RealtimeSessionManager(manager, settings=fast()) as rt:

            async def produce(producer: int) -> None:
                for n in range(150):
                    session_id, data = sessions[producer % 3], {"p": producer, "n": n}
                    if n % 25 == 0:
                        await rt.record_event(session_id, "sample", data, wait="durable")
                    else:
                        await rt.record_event(session_id, "sample", data)
                    if n % 10 == 0:
                        await asyncio.sleep(0.003)

            async def outages() -> None:
                nonlocal cut
                for _ in range(4):
                    await asyncio.sleep(0.15)
                    cut += await asyncio.to_thread(terminate, pg_url)

            await asyncio.gather(*(produce(p) for p in range(6)), outages())
            await rt.flush()
            return int(rt.metrics.retries._value.get())

    try:
        retries = run(scenario())
        with store.engine.connect() as connection:
            inside = connection.execute(text("SELECT last_value FROM rt_cut")).scalar_one()
        assert cut > 0 and inside > 3  # connections really were cut, also inside batches
        assert retries > 0  # and batches failed and were retried
        seen: Counter[tuple[int, int]] = Counter()
        for session_id in sessions:
            events = manager.get_events(session_id)
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            seen.update((e.data["p"], e.data["n"]) for e in events if e.type == "sample")
        assert set(seen) == {(p, n) for p in range(6) for n in range(150)}  # nothing lost
        assert max(seen.values()) == 1  # nothing stored twice
    finally:
        store.close()


# -- the hot cache and subscriptions across workers -----------------------------------------


def two_workers(url: str, clock: FakeClock, kind: str) -> list[tuple[SessionManager, Any]]:
    """Two managers on their own connection pools, as two worker processes have."""
    channel = f"rehearse_test_{uuid.uuid4().hex[:8]}"
    workers = []
    for _ in range(2):
        manager = SessionManager(open_store(url), clock)
        if kind == "postgresql":
            notifier: Any = PostgresNotifier(url, channel=channel)
        else:
            notifier = RedisNotifier("redis://127.0.0.1:6379/0", channel=channel)
        workers.append((manager, notifier))
    return workers


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["postgresql", "redis"])
def test_changes_on_another_worker_reach_subscribers_and_invalidate_the_cache(
    pg_url: str, clock: FakeClock, kind: str
) -> None:
    if kind == "redis":
        redis = pytest.importorskip("redis")
        try:
            redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=2).ping()
        except redis.RedisError as exc:
            pytest.skip(f"Redis at 127.0.0.1:6379 unreachable: {exc}")
    (one, n1), (two, n2) = two_workers(pg_url, clock, kind)
    session_id = started(one)

    async def scenario() -> None:
        async with (
            RealtimeSessionManager(one, notifier=n1, settings=fast()) as rt1,
            RealtimeSessionManager(two, notifier=n2, settings=fast()) as rt2,
        ):
            await eventually(lambda: _true(n1.connected and n2.connected))
            assert (await rt2.get_state(session_id)).status.value == "active"
            got: list[str] = []
            subscription = rt2.subscribe(session_id, types=["tool_execution"], after=2)
            reader = asyncio.ensure_future(_collect(subscription, got, 3))
            for i in range(3):
                await rt1.record_tool_execution(session_id, {"tool": f"t{i}"})
            await asyncio.wait_for(reader, 5)
            assert got == ["t0", "t1", "t2"]
            # a change on worker one: worker two's cached state must not survive it
            await asyncio.to_thread(one.pause_session, session_id)
            await eventually(
                lambda: _equals(rt2.get_state(session_id), "paused", lambda s: s.status.value)
            )
            assert session_id not in rt2._hot or rt2._hot[session_id].status.value == "paused"

    try:
        run(scenario())
    finally:
        one.close()
        two.close()


async def _true(value: bool) -> bool:
    return value


async def _equals(state: Awaitable[Any], expected: Any, key: Callable[[Any], Any]) -> bool:
    return bool(key(await state) == expected)


async def _collect(subscription: Any, into: list[str], count: int) -> None:
    async for event in subscription:
        into.append(event.data["tool"])
        if len(into) == count:
            subscription.close()


def test_the_hot_cache_never_serves_a_session_changed_or_expired_meanwhile(
    manager: SessionManager, clock: FakeClock
) -> None:
    session_id = started(manager, time_limit_minutes=5)

    async def scenario() -> None:
        async with RealtimeSessionManager(manager, notifier=LocalNotifier(), settings=fast()) as rt:
            first = await rt.get_state(session_id)
            assert first.status.value == "active" and session_id in rt._hot
            await rt.record_event(session_id, "note", {}, wait="durable")
            assert session_id in rt._hot  # realtime events change nothing but the head
            assert (await rt.get_state(session_id)).last_seq == first.last_seq + 1
            await asyncio.to_thread(manager.record_usage, session_id, 100, 50, model="test:x")
            await asyncio.sleep(0.05)  # the commit listener runs on the loop
            state = await rt.get_state(session_id)
            assert state.tokens_used == 150 and state.last_seq == first.last_seq + 2
            clock.advance(301)  # the time limit passes with nobody writing
            assert (await rt.get_state(session_id)).status.value == "expired"

    run(scenario())


def test_closing_a_session_is_recorded_once_with_audio_totals(
    manager: SessionManager, clock: FakeClock
) -> None:
    session_id = started(manager)

    async def scenario() -> None:
        async with (
            RealtimeSessionManager(manager, settings=fast()) as rt1,
            RealtimeSessionManager(manager, settings=fast()) as rt2,
        ):
            for chunks in (3, 4):
                await rt1.record_audio_metadata(
                    session_id, {"chunks": chunks, "bytes": 100 * chunks, "duration_seconds": 0.5}
                )
            ended: list[str] = []
            subscription = rt2.subscribe(session_id, types=["audio_metadata"])

            async def follow() -> None:
                async for event in subscription:
                    ended.append(event.type)

            follower = asyncio.ensure_future(follow())
            await asyncio.to_thread(manager.end_session, session_id)
            await asyncio.wait_for(follower, 10)  # the subscription ends with a final message
            assert ended == ["audio_metadata", "audio_metadata", "realtime_closed"]
            again = await asyncio.gather(
                rt1.close_session(session_id), rt2.close_session(session_id)
            )
            assert [len(e) for e in again] == [0, 0]  # closed exactly once, whoever tries

    run(scenario())
    events = manager.get_events(session_id)
    types = [e.type for e in events]
    assert types.count("realtime_closed") == 1 and types.count("audio_stream_finalized") == 1
    final = next(e for e in events if e.type == "audio_stream_finalized").data
    assert (final["chunks"], final["bytes"], final["duration_seconds"]) == (7, 700, 1.0)
    closed = events[-1].data
    assert closed["reason"] == "completed" and closed["realtime_events"] == 2
    assert types.index("report_generated") < types.index("realtime_closed")


# -- REST --------------------------------------------------------------------------------


@pytest.fixture
def client(store: SQLStore, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(lambda: SessionManager(store, clock), sweep_seconds=0)
    with TestClient(app) as test_client:
        yield test_client


def test_rest_queues_commits_and_refuses_a_bad_batch_whole(client: TestClient) -> None:
    session = client.post("/api/v1/sessions", json={"candidate_name": "Ada"}).json()
    url = f"/api/v1/sessions/{session['id']}/realtime"
    client.post(f"/api/v1/sessions/{session['id']}/start")
    batch = [
        {"type": "audio_metadata", "chunks": 4, "bytes": 1024, "state": "connected"},
        {"type": "context_injection", "component": "hints", "content": "Mention indexes."},
        {"type": "tool_execution", "tool": "run_tests", "status": "failed", "error": "1 failed"},
        {"type": "whiteboard_cursor", "x": 3, "y": 4},
    ]
    queued = client.post(url, json=batch)
    assert queued.status_code == 202, queued.text
    assert queued.json()["accepted"] == 4 and queued.json()["durable"] is False
    durable = client.post(url, params={"wait": "durable"}, json=batch[:1])
    assert durable.status_code == 200 and durable.json()["durable"] is True
    events = client.get(f"/api/v1/sessions/{session['id']}/events").json()
    assert [e["type"] for e in events][-5:] == [
        "audio_metadata",
        "context_injection",
        "tool_execution",
        "whiteboard_cursor",
        "audio_metadata",
    ]
    assert events[-1]["seq"] == durable.json()["last_seq"]
    before = len(events)
    bad = client.post(url, json=[batch[0], {"type": "tool_execution", "duration_ms": "slow"}])
    assert bad.status_code == 422
    fields = {f["field"] for f in bad.json()["fields"]}
    assert fields == {"1.data.tool", "1.data.duration_ms"}, bad.json()
    assert client.post(url, json=[{"chunks": 1}]).json()["fields"][0]["field"] == "0.type"
    assert client.post(url, json=[{"type": "session_expired"}]).status_code == 422
    assert client.post(url, params={"wait": "later"}, json=[]).status_code == 422
    assert len(client.get(f"/api/v1/sessions/{session['id']}/events").json()) == before
    assert client.post("/api/v1/sessions/nope/realtime", json=[]).status_code == 404


def test_metrics_are_prometheus_text_for_admins(client: TestClient) -> None:
    session = client.post("/api/v1/sessions", json={"candidate_name": "Ada"}).json()
    client.post(f"/api/v1/sessions/{session['id']}/start")
    client.post(
        f"/api/v1/sessions/{session['id']}/realtime",
        params={"wait": "durable"},
        json=[{"type": "note"}] * 3,
    )
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert "rehearse_realtime_events_total 3.0" in body
    for name in ("queue_depth", "batch_size_bucket", "flush_seconds_bucket", "subscribers"):
        assert f"rehearse_realtime_{name}" in body
    assert "rehearse_expiry_sweeps_total" in body


def test_the_stream_is_woken_by_new_events_and_closes_with_a_final_message(
    client: TestClient,
) -> None:
    session = client.post("/api/v1/sessions", json={"candidate_name": "Ada"}).json()
    sid = session["id"]
    client.post(f"/api/v1/sessions/{sid}/start")
    with client.websocket_connect(f"/api/v1/sessions/{sid}/stream") as ws:
        replayed = [ws.receive_json() for _ in range(3)]
        assert [m["event"]["type"] for m in replayed] == [
            "session_created",
            "questions_planned",
            "session_started",
        ]
        client.post(f"/api/v1/sessions/{sid}/realtime", json=[{"type": "note", "text": "hi"}])
        message = ws.receive_json()
        while message["type"] == "tick":
            message = ws.receive_json()
        assert message["event"]["type"] == "note" and message["event"]["data"]["text"] == "hi"
        client.post(f"/api/v1/sessions/{sid}/end")
        seen = []
        while (message := ws.receive_json())["type"] != "closed":
            if message["type"] == "event":
                seen.append(message["event"]["type"])
        assert seen[-1] == "realtime_closed" and "session_completed" in seen
        assert message["status"] == "completed"


def test_the_readme_realtime_example_runs(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import re
    from pathlib import Path

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    block = re.search(r"<!-- realtime-example -->\s*```python\n(.*?)```", readme, re.S)
    assert block is not None
    code = block.group(1).replace("sqlite:///interviews.db", f"sqlite:///{tmp_path / 'i.db'}")
    with ThreadPoolExecutor(1) as pool:  # asyncio.run needs a thread without a running loop
        pool.submit(exec, compile(code, "README.md", "exec"), {"__name__": "readme"}).result()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].endswith("run_tests")
    assert lines[0].split()[0] == lines[1].split()[0]  # the durable seq is the one delivered
