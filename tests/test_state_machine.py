"""Property-based: random action sequences with a fake clock keep time and budget exact.

A hypothesis ``RuleBasedStateMachine`` drives the real manager on real SQLite and a
plain model of the rules side by side; after every step the two must agree.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from rehearse.clock import FakeClock
from rehearse.domain.lifecycle import SessionStatus
from rehearse.domain.sessions import Session
from rehearse.errors import BudgetExceededError, InvalidStateError, SessionImmutableError
from rehearse.service.sessions import SessionManager
from stores import memory_store

LIMIT_US = 5 * 60 * 1_000_000
BUDGET = 5_000
ALLOWED = {
    ("created", "start"): "active",
    ("created", "cancel"): "cancelled",
    ("active", "pause"): "paused",
    ("active", "end"): "completed",
    ("active", "cancel"): "cancelled",
    ("paused", "resume"): "active",
    ("paused", "end"): "completed",
    ("paused", "cancel"): "cancelled",
}
FINAL = {"completed", "expired", "cancelled"}


class SessionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.manager = SessionManager(memory_store(), self.clock)
        self.status = "created"
        self.active_us = 0
        self.tokens = 0
        self.threshold = 0.8

    @initialize()
    def create(self) -> None:
        self.session_id = self.manager.create_session(
            {"candidate_name": "Ada", "time_limit_minutes": 5, "token_budget": BUDGET}
        ).id

    def teardown(self) -> None:
        self.manager.close()

    def _expire_if_due(self) -> bool:
        if self.status in ("active", "paused") and self.active_us >= LIMIT_US:
            self.status = "expired"
            self.active_us = LIMIT_US
            return True
        return False

    @rule(microseconds=st.integers(min_value=0, max_value=120_000_000))
    def advance(self, microseconds: int) -> None:
        self.clock.advance(microseconds / 1_000_000)
        if self.status == "active":
            self.active_us += microseconds

    @rule(action=st.sampled_from(["start", "pause", "resume", "end", "cancel"]))
    def act(self, action: str) -> None:
        call: Callable[[str], Session] = getattr(self.manager, f"{action}_session")
        expired = self._expire_if_due()
        if expired and action == "end":
            assert call(self.session_id).status is SessionStatus.EXPIRED
            return
        target = ALLOWED.get((self.status, action))
        if target is None:
            error = SessionImmutableError if self.status in FINAL else InvalidStateError
            try:
                call(self.session_id)
            except error:
                return
            raise AssertionError(f"{action} from {self.status} should have failed")
        call(self.session_id)
        self.status = target

    @rule(prompt=st.integers(0, 2000), completion=st.integers(0, 2000))
    def usage(self, prompt: int, completion: int) -> None:
        self._expire_if_due()
        if self.status in FINAL:
            try:
                self.manager.record_usage(self.session_id, prompt, completion, model="m")
            except SessionImmutableError:
                return
            raise AssertionError("usage on a final session should have failed")
        if self.tokens + prompt + completion > BUDGET:
            with pytest.raises(BudgetExceededError) as caught:
                self.manager.record_usage(self.session_id, prompt, completion, model="m")
            assert caught.value.used == self.tokens
            return
        self.manager.record_usage(self.session_id, prompt, completion, model="m")
        self.tokens += prompt + completion

    @rule()
    def sweep(self) -> None:
        due = self.status == "active" and self.active_us >= LIMIT_US
        swept = self.manager.sweep_expired()
        assert swept == ([self.session_id] if due else [])
        if due:
            self._expire_if_due()

    @invariant()
    def agrees_with_the_model(self) -> None:
        self._expire_if_due()
        session = self.manager.get_session(self.session_id)
        now = self.clock.now()
        assert session.status.value == self.status
        assert session.active_us_at(now) == self.active_us
        expected_remaining = (
            0 if self.status in FINAL else math.ceil((LIMIT_US - self.active_us) / 1e6)
        )
        assert self.manager.get_remaining_time(self.session_id) == expected_remaining
        assert session.tokens_used == self.tokens <= BUDGET
        events = self.manager.get_events(self.session_id)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert session.last_seq == len(events)
        warnings = [e for e in events if e.type == "budget_warning"]
        assert len(warnings) == (1 if self.tokens >= self.threshold * BUDGET else 0)
        assert (
            sum(
                e.data["prompt_tokens"] + e.data["completion_tokens"]
                for e in events
                if e.type == "usage_recorded"
            )
            == self.tokens
        )


SessionMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSessionMachine = SessionMachine.TestCase
