"""Time: active time excludes pauses exactly; expiry happens on read, write and sweep."""

from __future__ import annotations

import pytest

from rehearse.clock import FakeClock
from rehearse.domain.lifecycle import SessionStatus
from rehearse.errors import SessionImmutableError
from rehearse.service.sessions import SessionManager
from rehearse.storage import SQLStore


def _started(manager: SessionManager, minutes: int = 5) -> str:
    session = manager.create_session({"candidate_name": "Ada", "time_limit_minutes": minutes})
    manager.start_session(session.id)
    return session.id


def test_not_started_has_whole_limit(manager: SessionManager, clock: FakeClock) -> None:
    session = manager.create_session({"candidate_name": "Ada", "time_limit_minutes": 5})
    clock.advance(3600)
    assert manager.get_remaining_time(session.id) == 300
    assert not manager.is_session_expired(session.id)


def test_paused_time_does_not_count(manager: SessionManager, clock: FakeClock) -> None:
    session_id = _started(manager)
    for _ in range(25):
        clock.advance(7.25)
        manager.pause_session(session_id)
        clock.advance(1000)
        manager.resume_session(session_id)
    # 25 * 7.25 = 181.25 active seconds; 118.75 left, rounded up
    assert manager.get_remaining_time(session_id) == 119
    session = manager.get_session(session_id)
    assert session.active_us_at(clock.now()) == 181_250_000
    assert session.deadline_at is not None
    assert (session.deadline_at - clock.now()).total_seconds() == 118.75


def test_remaining_is_zero_exactly_at_the_limit(manager: SessionManager, clock: FakeClock) -> None:
    session_id = _started(manager)
    clock.advance(299.999999)
    assert manager.get_remaining_time(session_id) == 1
    assert not manager.is_session_expired(session_id)
    clock.advance(0.000001)
    assert manager.get_remaining_time(session_id) == 0
    assert manager.is_session_expired(session_id)


def test_read_expires_at_the_deadline(manager: SessionManager, clock: FakeClock) -> None:
    session_id = _started(manager)
    start = clock.now()
    clock.advance(10_000)
    session = manager.get_session(session_id)
    assert session.status is SessionStatus.EXPIRED
    assert session.ended_at is not None
    assert (session.ended_at - start).total_seconds() == 300
    [expired] = manager.get_events(session_id, types=["session_expired"])
    assert (expired.actor, expired.at) == ("system", session.ended_at)
    assert expired.data["active_seconds"] == 300
    assert manager.get_events(session_id)[-1].type == "report_generated"


def test_write_after_limit_expires_and_refuses(manager: SessionManager, clock: FakeClock) -> None:
    session_id = _started(manager)
    clock.advance(301)
    with pytest.raises(SessionImmutableError, match="it is expired"):
        manager.pause_session(session_id)
    assert manager.get_session(session_id).status is SessionStatus.EXPIRED
    with pytest.raises(SessionImmutableError):
        manager.record_usage(session_id, 1, 1, model="m")


def test_end_after_limit_returns_the_expired_session(
    manager: SessionManager, clock: FakeClock
) -> None:
    session_id = _started(manager)
    clock.advance(400)
    assert manager.end_session(session_id).status is SessionStatus.EXPIRED


def test_list_shows_due_sessions_as_expired(manager: SessionManager, clock: FakeClock) -> None:
    session_id = _started(manager)
    clock.advance(301)
    [listed] = manager.list_sessions().sessions
    assert (listed.id, listed.status) == (session_id, SessionStatus.EXPIRED)


def test_sweep_finds_only_due_sessions(manager: SessionManager, clock: FakeClock) -> None:
    short = _started(manager, minutes=5)
    long = _started(manager, minutes=10)
    paused = _started(manager, minutes=5)
    manager.pause_session(paused)
    created = manager.create_session({"candidate_name": "Bo", "time_limit_minutes": 5}).id
    clock.advance(301)
    assert manager.sweep_expired() == [short]
    assert manager.sweep_expired() == []
    statuses = {i: manager.get_session(i).status for i in (short, long, paused, created)}
    assert statuses == {
        short: SessionStatus.EXPIRED,
        long: SessionStatus.ACTIVE,
        paused: SessionStatus.PAUSED,
        created: SessionStatus.CREATED,
    }


def test_sweep_works_after_a_restart(store: SQLStore, clock: FakeClock) -> None:
    first = SessionManager(store, clock)
    session_id = _started(first)
    clock.advance(600)
    # a new manager (a restarted process) knows nothing but what is stored
    second = SessionManager(store, clock)
    assert second.sweep_expired() == [session_id]
    assert second.get_session(session_id).ended_at is not None


def test_extending_the_limit_moves_the_deadline(manager: SessionManager, clock: FakeClock) -> None:
    session_id = _started(manager)
    clock.advance(200)
    session = manager.update_session(session_id, time_limit_minutes=10)
    assert manager.get_remaining_time(session_id) == 400
    assert session.deadline_at is not None
    assert (session.deadline_at - clock.now()).total_seconds() == 400
    clock.advance(301)
    assert manager.sweep_expired() == []
