"""Milestones are recorded when they are achieved (issue 12, item 5), exactly once.

No test here reads progress before checking the log: the ``milestone_achieved`` events
must be there because the session ended, not because somebody looked.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from progress_history import ScriptedEvaluator, run_session
from rehearse.clock import FakeClock
from rehearse.domain.progress import MILESTONES
from rehearse.service.sessions import SessionManager
from rehearse.storage import SQLStore
from rehearse.storage.schema import progress_milestones, session_events

_emails = itertools.count()


@pytest.fixture
def scripted(store: SQLStore, clock: FakeClock) -> SessionManager:
    return SessionManager(store, clock, evaluator=ScriptedEvaluator())


def milestone_events(manager: SessionManager, email: str | None = None) -> list[tuple[str, str]]:
    """(milestone id, session id) of every ``milestone_achieved`` event, in log order."""
    with manager.store.engine.connect() as connection:  # type: ignore[attr-defined]
        rows = connection.execute(
            select(session_events.c.session_id, session_events.c.data)
            .where(session_events.c.type == "milestone_achieved")
            .order_by(session_events.c.id)
        ).all()
    return [
        (row.data["milestone"], row.session_id)
        for row in rows
        if email is None or row.data["candidate_key"] == email
    ]


def test_a_milestone_is_recorded_by_the_session_that_achieves_it(
    scripted: SessionManager, clock: FakeClock
) -> None:
    first = run_session(scripted, clock, [95, 60], seed=3)
    assert sorted(milestone_events(scripted)) == [
        ("first_90_answer", first),
        ("first_session", first),
    ]
    clock.advance(24 * 3600)
    second = run_session(scripted, clock, [92], seed=4)
    assert sorted(milestone_events(scripted)) == [
        ("first_90_answer", first),
        ("first_session", first),
    ]  # a second first is no milestone
    board = {m.id: m for m in scripted.get_milestones("ada@example.com")}
    assert board["first_session"].session_id == first
    assert board["first_session"].achieved_at is not None
    assert all(session != second for _, session in milestone_events(scripted))


def test_a_running_session_records_nothing_yet(scripted: SessionManager, clock: FakeClock) -> None:
    """A mock session's scores are hidden until it ends; so is what they achieve."""
    session = scripted.create_session(
        {"candidate_name": "Ada", "candidate_email": "ada@example.com", "plan_seed": 1,
         "question_count": 2, "max_follow_ups": 0, "mode": "mock"}
    )  # fmt: skip
    scripted.start_session(session.id)
    item = scripted.next_question(session.id)
    assert item is not None
    scripted.submit_answer(session.id, item.id, "95 points", 60)
    assert milestone_events(scripted) == []
    scripted.end_session(session.id)
    assert {m for m, _ in milestone_events(scripted)} == {"first_session", "first_90_answer"}


def test_concurrent_recorders_record_each_milestone_once(
    scripted: SessionManager, clock: FakeClock
) -> None:
    ids = [run_session(scripted, clock, [95, 70], seed=s) for s in range(3)]
    engine = scripted.store.engine  # type: ignore[attr-defined]
    with engine.begin() as connection:  # as if the history predates the rule
        connection.execute(
            delete(session_events).where(session_events.c.type == "milestone_achieved")
        )
        connection.execute(delete(progress_milestones))
    progress = scripted.services.progress
    barrier = threading.Barrier(6)
    recorded: list[list[str]] = []
    errors: list[BaseException] = []

    def record(session_id: str) -> None:
        barrier.wait()
        try:
            recorded.append(progress.record_milestones(session_id))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(ids[i % 3],)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    events = Counter(m for m, _ in milestone_events(scripted))
    assert events == Counter({"first_session": 1, "first_90_answer": 1})
    assert sorted(m for batch in recorded for m in batch) == ["first_90_answer", "first_session"]
    # the first 90+ answer was in the oldest session, whoever recorded it
    assert dict(milestone_events(scripted))["first_90_answer"] == ids[0]
    # a restart records again: nothing new
    assert all(progress.record_milestones(i) == [] for i in ids)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    history=st.lists(
        st.tuples(st.lists(st.integers(0, 100) | st.none(), min_size=1, max_size=3), st.booleans()),
        min_size=1,
        max_size=7,
    )
)
def test_recorded_milestones_are_those_achieved_never_twice(
    sqlite_store: SQLStore, history: list[tuple[list[int | None], bool]]
) -> None:
    clock = FakeClock()
    manager = SessionManager(sqlite_store, clock, evaluator=ScriptedEvaluator())
    email = f"h{next(_emails)}@example.com"
    for seed, (scores, same_day) in enumerate(history):
        run_session(manager, clock, scores, email=email, seed=seed)
        counts = Counter(m for m, _ in milestone_events(manager, email))
        assert all(n == 1 for n in counts.values()), counts
        clock.advance(3600 if same_day else 24 * 3600)
    board = manager.get_milestones(email)
    achieved = {m.id for m in board if m.achieved}
    assert set(Counter(m for m, _ in milestone_events(manager, email))) == achieved
    assert all(m.achieved_at is not None for m in board if m.achieved)
    assert {m.id for m in board} == {d.id for d in MILESTONES}


def test_an_unreleased_assessment_does_not_tell_its_candidate_which_milestone(
    sqlite_store: SQLStore, clock: FakeClock
) -> None:
    from rehearse.domain.access import Principal, PrincipalRole

    cara = Principal(id="cara-id", role=PrincipalRole.CANDIDATE, email="cara@x.org")
    coach = Principal(id="iv-id", role=PrincipalRole.INTERVIEWER, email="iv@x.org")
    manager = SessionManager(sqlite_store, clock, evaluator=ScriptedEvaluator())
    session = manager.create_session(
        {"candidate_name": "Cara", "candidate_email": "cara@x.org", "mode": "assessment",
         "question_count": 1, "max_follow_ups": 0},
        created_by=coach,
    )  # fmt: skip
    manager.start_session(session.id)
    item = manager.next_question(session.id)
    assert item is not None
    manager.submit_answer(session.id, item.id, "95 points", 60)
    manager.end_session(session.id)
    stored = manager.get_session(session.id)

    def milestones_seen(who: Principal) -> list[dict[str, object]]:
        events = manager.events_for(stored, who, types=("milestone_achieved",))
        return [e.data for e in events]

    assert {d["milestone"] for d in milestones_seen(coach)} == {"first_session", "first_90_answer"}
    assert all(set(d) == {"candidate_key"} for d in milestones_seen(cara))
    manager.release_report(session.id, coach)
    released = manager.get_session(session.id)
    shown = manager.events_for(released, cara, types=("milestone_achieved",))
    assert {e.data["milestone"] for e in shown} == {"first_session", "first_90_answer"}
