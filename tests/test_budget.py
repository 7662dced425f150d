"""Token budgets: exact accounting, one warning at the threshold, refusal past the budget."""

from __future__ import annotations

import pytest

from rehearse.errors import BudgetExceededError, ConfigurationError, SessionImmutableError
from rehearse.service.sessions import SessionManager


def _session(manager: SessionManager, **config: object) -> str:
    return manager.create_session({"candidate_name": "Ada", "token_budget": 10_000, **config}).id


def test_usage_accumulates_and_is_logged(manager: SessionManager) -> None:
    session_id = _session(manager)
    manager.start_session(session_id)
    manager.record_usage(session_id, 1200, 300, model="offline:default")
    session = manager.record_usage(session_id, 100, 50, model="openai:gpt-4o-mini")
    assert (session.prompt_tokens, session.completion_tokens, session.tokens_used) == (
        1300,
        350,
        1650,
    )
    assert manager.get_remaining_budget(session_id) == 8350
    usage = [e for e in manager.get_events(session_id) if e.type == "usage_recorded"]
    assert [e.data["model"] for e in usage] == ["offline:default", "openai:gpt-4o-mini"]
    assert usage[-1].data["tokens_used"] == 1650


def test_warning_fires_once_at_the_threshold(manager: SessionManager) -> None:
    session_id = _session(manager, token_warning_threshold=0.5)
    manager.record_usage(session_id, 4999, 0, model="m")
    assert not [e for e in manager.get_events(session_id) if e.type == "budget_warning"]
    manager.record_usage(session_id, 1, 0, model="m")
    manager.record_usage(session_id, 1000, 0, model="m")
    warnings = [e for e in manager.get_events(session_id) if e.type == "budget_warning"]
    assert len(warnings) == 1
    assert warnings[0].data == {
        "tokens_used": 5000,
        "token_budget": 10_000,
        "threshold": 0.5,
        "remaining_tokens": 5000,
    }


def test_raising_the_budget_rearms_the_warning(manager: SessionManager) -> None:
    session_id = _session(manager, token_warning_threshold=0.5)
    manager.record_usage(session_id, 6000, 0, model="m")
    manager.update_session(session_id, token_budget=20_000)
    manager.record_usage(session_id, 4000, 0, model="m")
    assert len([e for e in manager.get_events(session_id) if e.type == "budget_warning"]) == 2


def test_exceeding_is_refused_with_the_numbers(manager: SessionManager) -> None:
    session_id = _session(manager)
    manager.record_usage(session_id, 9000, 500, model="m")
    before = manager.get_session(session_id)
    with pytest.raises(BudgetExceededError) as caught:
        manager.record_usage(session_id, 400, 101, model="m")
    assert (caught.value.used, caught.value.requested, caught.value.budget) == (9500, 501, 10_000)
    assert "9500 used + 501 requested > 10000 budget (500 remaining)" in str(caught.value)
    assert manager.get_session(session_id) == before
    manager.record_usage(session_id, 400, 100, model="m")  # exactly the budget is allowed
    assert manager.get_remaining_budget(session_id) == 0


def test_negative_tokens_are_refused(manager: SessionManager) -> None:
    session_id = _session(manager)
    with pytest.raises(ConfigurationError, match="prompt_tokens=-1"):
        manager.record_usage(session_id, -1, 0, model="m")


def test_final_session_refuses_usage(manager: SessionManager) -> None:
    session_id = _session(manager)
    manager.cancel_session(session_id)
    with pytest.raises(SessionImmutableError):
        manager.record_usage(session_id, 1, 1, model="m")


def test_budget_cannot_drop_below_usage(manager: SessionManager) -> None:
    session_id = _session(manager)
    manager.record_usage(session_id, 3000, 0, model="m")
    with pytest.raises(ConfigurationError, match="token_budget=2000: below the 3000 tokens"):
        manager.update_session(session_id, token_budget=2000)
