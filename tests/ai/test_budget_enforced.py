"""The token budget holds exactly: capped before each call, degraded to offline when spent."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from rehearse.ai.budget import BudgetExhaustedError, Ledger
from rehearse.ai.providers import StaticModels
from rehearse.clock import FakeClock
from rehearse.service.sessions import SessionManager
from rehearse.storage import SQLStore

from .doubles import Cue, Scripted


def config(**fields: Any) -> dict[str, Any]:
    return {
        "candidate_name": "Ada",
        "ai_provider": "openai",
        "ai_model": "gpt-test",
        "plan_seed": 7,
        "mode": "mock",
        "max_follow_ups": 0,
        **fields,
    }


def manager_for(store: SQLStore, clock: FakeClock, scripted: Scripted) -> SessionManager:
    return SessionManager(store, clock, models=StaticModels({"openai:*": scripted.model}))


def usage_total(manager: SessionManager, session_id: str) -> int:
    events = manager.get_events(session_id, types=["usage_recorded"])
    return sum(e.data["prompt_tokens"] + e.data["completion_tokens"] for e in events)


def test_exhaustion_mid_interview_degrades_to_offline_without_losing_answers(
    store: SQLStore, clock: FakeClock
) -> None:
    scripted = Scripted(usage=(900, 300))  # every request costs 1,200 tokens
    manager = manager_for(store, clock, scripted)
    session = manager.create_session(config(token_budget=6_000, question_count=5))
    manager.start_session(session.id)
    outcomes = []
    answers = [
        f"Answer {n}: I would measure, then add an index on the hot column." for n in range(5)
    ]
    for text in answers:
        item = manager.next_question(session.id)
        assert item is not None
        outcomes.append(manager.submit_answer(session.id, item.id, text, 30))
    manager.end_session(session.id)

    final = manager.get_session(session.id)
    assert final.tokens_used == usage_total(manager, session.id) <= 6_000
    assert final.tokens_used == 1_200 * len(scripted.prompts)  # every request is recorded
    scorers = [
        e.data["evaluation"]["evaluator"]
        for e in manager.get_events(session.id, types=["answer_evaluated"])
    ]
    assert len(scorers) == 5 and [a.text for a in manager.get_answers(session.id)] == answers
    switch = scorers.index("offline:offline-2")
    assert switch >= 1 and scorers[:switch] == ["openai:gpt-test"] * switch
    assert scorers[switch:] == ["offline:offline-2"] * (5 - switch)  # it stays offline
    [exhausted] = manager.get_events(session.id, types=["provider_fallback"])
    assert exhausted.data["reason"] == "budget_exhausted"
    assert outcomes[switch].notices == [
        "The AI token budget of this session is used up, so the offline interviewer and "
        "evaluator take over for the rest of it."
    ]
    assert all(o.notices == [] for o in outcomes[switch + 1 :])  # told once
    # no request after the budget ran out: not for later answers, nor for the report
    assert scripted.tasks().count("evaluate") == switch
    assert "narrate" not in scripted.tasks()
    report = manager.get_report(session.id)
    assert "budget" in report.summary and report.evaluator == "openai:gpt-test + offline:offline-2"


def test_the_warning_fires_once_when_llm_usage_crosses_the_threshold(
    store: SQLStore, clock: FakeClock
) -> None:
    scripted = Scripted(usage=(700, 300))
    manager = manager_for(store, clock, scripted)
    session = manager.create_session(
        config(token_budget=20_000, token_warning_threshold=0.2, question_count=6)
    )
    manager.start_session(session.id)
    for _ in range(6):
        item = manager.next_question(session.id)
        assert item is not None
        manager.submit_answer(session.id, item.id, "An answer.", 10)
    [warning] = manager.get_events(session.id, types=["budget_warning"])
    assert warning.data["tokens_used"] == 4_000 and warning.data["threshold"] == 0.2


def test_raising_the_budget_brings_the_model_back(store: SQLStore, clock: FakeClock) -> None:
    scripted = Scripted(usage=(900, 300))
    manager = manager_for(store, clock, scripted)
    session = manager.create_session(config(token_budget=2_500, question_count=3))
    manager.start_session(session.id)
    first = manager.next_question(session.id)
    assert first is not None
    manager.submit_answer(session.id, first.id, "Too little budget left for this one.", 10)
    assert scripted.tasks() == ["plan"]
    manager.update_session(session.id, token_budget=20_000)
    second = manager.next_question(session.id)
    assert second is not None
    manager.submit_answer(session.id, second.id, "Now there is room.", 10)
    scorers = [
        e.data["evaluation"]["evaluator"]
        for e in manager.get_events(session.id, types=["answer_evaluated"])
    ]
    assert scorers == ["offline:offline-2", "openai:gpt-test"]


def test_a_provider_reporting_more_than_its_cap_cannot_pass_the_budget(
    store: SQLStore, clock: FakeClock
) -> None:
    scripted = Scripted(usage=(500, 100))
    manager = manager_for(store, clock, scripted)
    session = manager.create_session(config(token_budget=10_000, question_count=2))
    manager.start_session(session.id)
    scripted.cues.append(Cue(task="evaluate", usage=(40_000, 2_000)))
    item = manager.next_question(session.id)
    assert item is not None
    outcome = manager.submit_answer(session.id, item.id, "An answer that is saved.", 10)
    assert outcome.evaluation is not None and outcome.notices
    final = manager.get_session(session.id)
    assert final.tokens_used == usage_total(manager, session.id) == 10_000  # exactly the budget
    budget_events = [
        e
        for e in manager.get_events(session.id, types=["provider_fallback"])
        if e.data["reason"] == "budget_exhausted"
    ]
    [overrun] = budget_events
    assert overrun.data["unrecorded_prompt_tokens"] + overrun.data[
        "unrecorded_completion_tokens"
    ] == 42_000 - (10_000 - 600)
    nxt = manager.next_question(session.id)
    assert nxt is not None
    manager.submit_answer(session.id, nxt.id, "Offline from here on.", 10)
    assert scripted.tasks().count("evaluate") == 1


def test_exact_accounting_under_concurrent_calls(store: SQLStore, clock: FakeClock) -> None:
    scripted = Scripted(usage=(700, 300), delay=0.05)  # overlapping calls of 1,000 tokens
    manager = manager_for(store, clock, scripted)
    session = manager.create_session(config(token_budget=9_000, question_count=8))
    manager.start_session(session.id)
    assert session.interview is not None
    items = [i.id for i in session.interview.items]
    barrier = threading.Barrier(len(items))
    errors: list[BaseException] = []

    def answer(item_id: str) -> None:
        barrier.wait()
        try:
            manager.submit_answer(session.id, item_id, f"My answer to {item_id}.", 20)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(item_id,)) for item_id in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    final = manager.get_session(session.id)
    requests = len(scripted.prompts)
    assert final.tokens_used == usage_total(manager, session.id) == 1_000 * requests <= 9_000
    assert (final.prompt_tokens, final.completion_tokens) == (700 * requests, 300 * requests)
    evaluated = manager.get_events(session.id, types=["answer_evaluated"])
    assert len(evaluated) == 8  # every answer scored, by the model or offline
    by_model = [e for e in evaluated if e.data["evaluation"]["evaluator"] == "openai:gpt-test"]
    assert len(by_model) == scripted.tasks().count("evaluate") >= 1
    # no call was allowed to overspend: nothing was clamped
    assert not any(
        "unrecorded_prompt_tokens" in e.data
        for e in manager.get_events(session.id, types=["provider_fallback"])
    )


def test_the_ledger_never_grants_more_than_is_left() -> None:
    ledger = Ledger()
    left = 1_000
    with ledger.hold("s", lambda: left, 600, 100, "m") as first:
        assert (first.reserved, first.available) == (600, 1_000)
        with ledger.hold("s", lambda: left, 600, 100, "m") as second:
            assert (second.reserved, second.available) == (400, 400)
            with (
                pytest.raises(BudgetExhaustedError) as caught,
                ledger.hold("s", lambda: left, 600, 100, "m"),
            ):
                pass  # pragma: no cover
            assert (caught.value.needed, caught.value.available) == (100, 0)
            assert "needs about 100 tokens and 0 are left" in str(caught.value)
        assert ledger.held("s") == 600
    assert ledger.held("s") == 0


def test_concurrent_holds_never_exceed_what_is_left() -> None:
    ledger = Ledger()
    held: list[int] = []
    peaks: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def take() -> None:
        barrier.wait()
        try:
            with ledger.hold("s", lambda: 5_000, 700, 300, "m") as grant:
                with lock:
                    held.append(grant.reserved)
                    peaks.append(ledger.held("s"))
                threading.Event().wait(0.01)
        except BudgetExhaustedError:
            pass

    threads = [threading.Thread(target=take) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert held and max(peaks) <= 5_000 and ledger.held("s") == 0
    assert len(held) < 20  # some were refused: 20 x 700 does not fit in 5,000


def test_the_plan_cannot_pass_the_budget_either(store: SQLStore, clock: FakeClock) -> None:
    scripted = Scripted(cues=[Cue(task="plan", usage=(5_000, 500))])
    manager = manager_for(store, clock, scripted)
    session = manager.create_session(config(token_budget=3_000, question_count=1))
    assert scripted.tasks() == ["plan"]
    assert session.tokens_used == usage_total(manager, session.id) == 3_000
    assert session.interview is not None and not session.interview.items[0].id.startswith("ai-")
    reasons = [
        e.data["reason"] for e in manager.get_events(session.id, types=["provider_fallback"])
    ]
    assert reasons == ["budget_exhausted", "usage_limit"]
    manager.start_session(session.id)
    item = manager.next_question(session.id)
    assert item is not None
    outcome = manager.submit_answer(session.id, item.id, "Offline from the start.", 10)
    assert outcome.evaluation is not None and scripted.tasks() == ["plan"]
