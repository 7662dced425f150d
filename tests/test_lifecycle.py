"""The transition table, walked whole: every (state, action) pair, allowed and refused."""

from __future__ import annotations

import itertools

import pytest

from rehearse.clock import FakeClock
from rehearse.domain.lifecycle import (
    TRANSITIONS,
    Action,
    SessionStatus,
    allowed_actions,
    next_state,
)
from rehearse.errors import InvalidStateError, SessionImmutableError
from rehearse.service.sessions import SessionManager

EXPECTED = {
    (SessionStatus.CREATED, Action.START): SessionStatus.ACTIVE,
    (SessionStatus.CREATED, Action.CANCEL): SessionStatus.CANCELLED,
    (SessionStatus.ACTIVE, Action.PAUSE): SessionStatus.PAUSED,
    (SessionStatus.ACTIVE, Action.END): SessionStatus.COMPLETED,
    (SessionStatus.ACTIVE, Action.EXPIRE): SessionStatus.EXPIRED,
    (SessionStatus.ACTIVE, Action.CANCEL): SessionStatus.CANCELLED,
    (SessionStatus.PAUSED, Action.RESUME): SessionStatus.ACTIVE,
    (SessionStatus.PAUSED, Action.END): SessionStatus.COMPLETED,
    (SessionStatus.PAUSED, Action.EXPIRE): SessionStatus.EXPIRED,
    (SessionStatus.PAUSED, Action.CANCEL): SessionStatus.CANCELLED,
}
PAIRS = list(itertools.product(SessionStatus, Action))


def test_table_is_exactly_the_issue_lifecycle() -> None:
    assert dict(TRANSITIONS) == EXPECTED


@pytest.mark.parametrize(("state", "action"), PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
def test_every_pair(state: SessionStatus, action: Action) -> None:
    if (state, action) in EXPECTED:
        assert next_state("s1", state, action) is EXPECTED[(state, action)]
    elif state.is_final:
        with pytest.raises(SessionImmutableError) as caught:
            next_state("s1", state, action)
        assert f"cannot {action.value} session s1: it is {state.value}, which is final" == str(
            caught.value
        )
    else:
        with pytest.raises(InvalidStateError) as refused:
            next_state("s1", state, action)
        assert not isinstance(refused.value, SessionImmutableError)
        assert (refused.value.session_id, refused.value.state, refused.value.action) == (
            "s1",
            state.value,
            action.value,
        )
        assert f"it is {state.value}" in str(refused.value)
        assert refused.value.allowed == tuple(a.value for a in allowed_actions(state))


def test_final_states_allow_nothing() -> None:
    for state in SessionStatus:
        assert (allowed_actions(state) == ()) is state.is_final


def _reach(manager: SessionManager, state: SessionStatus, clock: FakeClock) -> str:
    session = manager.create_session({"candidate_name": "Ada", "time_limit_minutes": 5})
    path = {
        SessionStatus.CREATED: [],
        SessionStatus.ACTIVE: ["start"],
        SessionStatus.PAUSED: ["start", "pause"],
        SessionStatus.COMPLETED: ["start", "end"],
        SessionStatus.CANCELLED: ["cancel"],
        SessionStatus.EXPIRED: ["start"],
    }[state]
    for step in path:
        getattr(manager, f"{step}_session")(session.id)
    if state is SessionStatus.EXPIRED:
        clock.advance(5 * 60)
        manager.sweep_expired()
    assert manager.get_session(session.id).status is state
    return session.id


PUBLIC_ACTIONS = ["start", "pause", "resume", "end", "cancel"]
EVENT_NAMES = {
    "start": "session_started",
    "pause": "session_paused",
    "resume": "session_resumed",
    "end": "session_completed",
    "cancel": "session_cancelled",
}
MANAGER_PAIRS = list(itertools.product(SessionStatus, PUBLIC_ACTIONS))


@pytest.mark.parametrize(
    ("state", "action"), MANAGER_PAIRS, ids=[f"{s}-{a}" for s, a in MANAGER_PAIRS]
)
def test_manager_pairs(
    manager: SessionManager, clock: FakeClock, state: SessionStatus, action: str
) -> None:
    """Through the manager and real storage: allowed pairs move and log; refused ones change nothing."""
    session_id = _reach(manager, state, clock)
    before = manager.get_session(session_id)
    events_before = manager.get_events(session_id)
    expected = EXPECTED.get((state, Action(action)))
    if expected is None:
        error = SessionImmutableError if state.is_final else InvalidStateError
        with pytest.raises(error):
            getattr(manager, f"{action}_session")(session_id)
        assert manager.get_session(session_id) == before
        assert manager.get_events(session_id) == events_before
    else:
        after = getattr(manager, f"{action}_session")(session_id)
        assert after.status is expected
        new = manager.get_events(session_id, after_seq=before.last_seq)
        # ending an interview also stores its report, in a transaction of its own, and
        # the first completed session is a milestone, recorded once the report is stored
        report = ["report_generated", "milestone_achieved"] if action == "end" else []
        assert [e.type for e in new] == [EVENT_NAMES[action], *report]
        assert after.version == before.version + 1 + len(report)
