"""LLM sessions on real storage: plans, follow-ups, scores and reports by a scripted model.

The model is a pydantic-ai FunctionModel (tests/ai/doubles.py) behind the ``openai:``
provider, so everything but the HTTP client runs for real: budgets, retries, re-asks,
fallbacks and the event log.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic_ai import ModelRateLimitError, ModelServerError

from rehearse.ai.providers import StaticModels
from rehearse.clock import FakeClock
from rehearse.errors import ConfigurationError
from rehearse.service.sessions import SessionManager
from rehearse.settings import get_settings
from rehearse.storage import SQLStore

from .doubles import Cue, Scripted

JOB = "We run Kafka and PostgreSQL at scale for a payments platform."
RESUME = "Built a double-entry payments ledger in Go; on call for PostgreSQL."


@pytest.fixture
def scripted() -> Scripted:
    return Scripted()


@pytest.fixture
def llm(sqlite_store: SQLStore, clock: FakeClock, scripted: Scripted) -> SessionManager:
    return SessionManager(sqlite_store, clock, models=StaticModels({"openai:*": scripted.model}))


def config(**fields: Any) -> dict[str, Any]:
    return {
        "candidate_name": "Ada",
        "ai_provider": "openai",
        "ai_model": "gpt-test",
        "plan_seed": 7,
        "question_count": 3,
        "token_budget": 100_000,
        **fields,
    }


def started(manager: SessionManager, **fields: Any) -> str:
    session = manager.create_session(config(**fields))
    manager.start_session(session.id)
    return session.id


def current(manager: SessionManager, session_id: str) -> str:
    item = manager.next_question(session_id)
    assert item is not None
    return item.id


def types(manager: SessionManager, session_id: str) -> list[str]:
    return [e.type for e in manager.get_events(session_id)]


def test_the_plan_is_written_by_the_model_and_paid_for_when_the_session_is_created(
    llm: SessionManager, scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REHEARSE_AI_PRICES", '{"openai:gpt-test": {"input": 1.0, "output": 2.0}}')
    get_settings.cache_clear()
    session = llm.create_session(config(job_description=JOB, resume_text=RESUME))
    assert session.interview is not None
    assert [i.id.startswith("ai-") for i in session.interview.items] == [True, True, True]
    assert [i.category.value for i in session.interview.items] == [
        "behavioral",
        "technical",
        "technical",
    ]
    [plan_prompt] = scripted.prompts_of("plan")
    assert "Kafka" in plan_prompt and "payments ledger" in plan_prompt
    assert '"slots": [' in plan_prompt and "Write exactly 3 interview questions" in plan_prompt
    events = llm.get_events(session.id)
    assert [e.type for e in events] == ["session_created", "questions_planned", "usage_recorded"]
    usage = events[2].data
    assert usage["model"] == "openai:gpt-test" and usage["latency_seconds"] >= 0
    assert usage["cost_usd"] == pytest.approx(
        (usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 2.0) / 1_000_000
    )
    assert session.tokens_used == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    # the planned questions are snapshotted like bank questions, so reports can be rebuilt
    planned = events[1].data["questions"]
    assert all(len(q["key_points"]) >= 3 and q["reference_answer"] for q in planned)


def test_follow_ups_react_to_the_answer_and_the_conversation_so_far(
    llm: SessionManager, scripted: Scripted
) -> None:
    session_id = started(llm, mode="practice", max_follow_ups=1)
    first = current(llm, session_id)
    outcome = llm.submit_answer(session_id, first, "I once fixed a flaky deploy by myself.", 40)
    assert outcome.follow_up is not None and outcome.notices == []
    assert outcome.follow_up.text.startswith('You said "I once fixed a flaky deploy by myself."')
    [decision] = scripted.prompts_of("follow_up")
    assert '"answer": "I once fixed a flaky deploy by myself."' in decision
    llm.submit_answer(session_id, outcome.follow_up.id, "The pipeline cached stale images.", 30)
    second = current(llm, session_id)
    llm.submit_answer(session_id, second, "Indexes trade write speed for read speed.", 30)
    later = scripted.prompts_of("follow_up")[-1]
    # the second decision sees the earlier turns, verbatim, as the conversation so far
    assert "I once fixed a flaky deploy by myself." in later.split('"conversation_so_far"')[1]
    assert "The pipeline cached stale images." in later


def test_every_llm_score_records_provider_model_prompt_and_rubric_versions(
    llm: SessionManager,
) -> None:
    session_id = started(llm, max_follow_ups=0, mode="mock")
    answer = "Situation: our release broke checkout. I rolled back, then added a canary."
    outcome = llm.submit_answer(session_id, current(llm, session_id), answer, 60)
    assert outcome.evaluation is not None
    [evaluated] = llm.get_events(session_id, types=["answer_evaluated"])
    stored = evaluated.data["evaluation"]
    assert {k: stored[k] for k in ("evaluator", "provider", "model", "prompt_version")} == {
        "evaluator": "openai:gpt-test",
        "provider": "openai",
        "model": "gpt-test",
        "prompt_version": "llm-2",
    }
    assert stored["rubric_version"] == "offline-2" and 0 <= stored["offline_score"] <= 100
    assert set(stored["dimensions"]) == {
        "key_point_coverage",
        "correctness",
        "depth",
        "structure",
        "communication",
    }
    assert stored["evidence"] and all(e["quote"] in answer for e in stored["evidence"])


def test_offline_sessions_are_untouched(llm: SessionManager, scripted: Scripted) -> None:
    session_id = started(llm, ai_provider="offline", ai_model="default", max_follow_ups=1)
    outcome = llm.submit_answer(session_id, current(llm, session_id), "It depends.", 10)
    llm.end_session(session_id)
    assert scripted.prompts == [] and outcome.notices == []
    assert "usage_recorded" not in types(llm, session_id)
    [evaluated] = llm.get_events(session_id, types=["answer_evaluated"])
    assert evaluated.data["evaluation"]["evaluator"] == "offline:offline-2"
    assert evaluated.data["evaluation"]["provider"] == "offline"
    assert evaluated.data["evaluation"]["prompt_version"] is None
    assert llm.get_report(session_id).evaluator == "offline:offline-2"


def test_the_model_drafts_the_report_words_before_the_session_ends(
    llm: SessionManager, scripted: Scripted
) -> None:
    session_id = started(llm, max_follow_ups=0)
    llm.submit_answer(session_id, current(llm, session_id), "I would add an index.", 20)
    words = {
        "summary": "A promising start held back by thin answers.",
        "strengths": ["Clear about indexes."],
        "weaknesses": ["No trade-offs were named."],
        "recommended_topics": ["query planning"],
    }
    scripted.cues.append(Cue(task="narrate", arguments=words))
    llm.end_session(session_id)
    report = llm.get_report(session_id)
    assert report.summary == words["summary"] and report.weaknesses == words["weaknesses"]
    assert report.evaluator == "openai:gpt-test" and report.overall_score is not None
    [drafted] = llm.get_events(session_id, types=["report_drafted"])
    assert drafted.data["provider"] == "openai" and drafted.data["prompt_version"] == "llm-2"
    assert types(llm, session_id).index("report_drafted") < types(llm, session_id).index(
        "session_completed"
    )


def test_malformed_output_is_re_asked_once(llm: SessionManager, scripted: Scripted) -> None:
    session_id = started(llm, max_follow_ups=0)
    scripted.cues.append(Cue(task="evaluate", text="Sure! The answer is great, 10/10."))
    outcome = llm.submit_answer(session_id, current(llm, session_id), "Use a B-tree index.", 20)
    assert outcome.notices == []
    [retried] = llm.get_events(session_id, types=["provider_retried"])
    assert retried.data["reason"] == "malformed_output" and retried.data["task"] == "evaluate"
    first, second = scripted.prompts_of("evaluate")
    assert "Your previous reply was rejected" in second
    assert "Your previous reply was rejected" not in first
    [evaluated] = llm.get_events(session_id, types=["answer_evaluated"])
    assert evaluated.data["evaluation"]["evaluator"] == "openai:gpt-test"
    # the rejected reply's tokens were spent, so they are recorded too
    usage = llm.get_events(session_id, types=["usage_recorded"])
    assert len(usage) == 1 + 2


def test_malformed_output_twice_falls_back_to_the_offline_evaluator(
    llm: SessionManager, scripted: Scripted
) -> None:
    session_id = started(llm, max_follow_ups=0)
    scripted.cues += [Cue(task="evaluate", text="no"), Cue(task="evaluate", text="still no")]
    outcome = llm.submit_answer(session_id, current(llm, session_id), "my answer survives", 20)
    assert outcome.evaluation is not None
    assert outcome.notices == [
        "The AI provider's reply could not be used; this answer was scored by the offline "
        "evaluator."
    ]
    [fallback] = llm.get_events(session_id, types=["provider_fallback"])
    assert {k: fallback.data[k] for k in ("part", "reason", "fallback")} == {
        "part": "evaluator",
        "reason": "malformed_output",
        "fallback": "offline",
    }
    [evaluated] = llm.get_events(session_id, types=["answer_evaluated"])
    assert evaluated.data["evaluation"]["evaluator"] == "offline:offline-2"
    assert [a.text for a in llm.get_answers(session_id)] == ["my answer survives"]


def test_a_quote_that_is_not_in_the_answer_is_rejected(
    llm: SessionManager, scripted: Scripted
) -> None:
    session_id = started(llm, max_follow_ups=0)
    invented = {
        "score": 95,
        "dimensions": dict.fromkeys(
            ["key_point_coverage", "correctness", "depth", "structure", "communication"], 95
        ),
        "evidence": [{"quote": "words the candidate never said", "shows": "depth"}],
        "feedback": ["Great.", "Really great."],
    }
    scripted.cues.append(Cue(task="evaluate", arguments=invented))
    outcome = llm.submit_answer(session_id, current(llm, session_id), "Cache the hot rows.", 20)
    assert outcome.evaluation is not None and outcome.evaluation.score != 95
    [retried] = llm.get_events(session_id, types=["provider_retried"])
    assert "is not in the answer" in retried.data["message"]


def test_timeouts_are_retried_then_fall_back(
    llm: SessionManager, scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    session_id = started(llm, max_follow_ups=0)
    monkeypatch.setenv("REHEARSE_AI_TIMEOUT_SECONDS", "0.05")
    monkeypatch.setenv("REHEARSE_AI_MAX_RETRIES", "1")
    get_settings.cache_clear()
    scripted.cues += [Cue(task="evaluate", delay=2.0), Cue(task="evaluate", delay=2.0)]
    outcome = llm.submit_answer(session_id, current(llm, session_id), "Shard by tenant.", 20)
    assert outcome.evaluation is not None
    [retried] = llm.get_events(session_id, types=["provider_retried"])
    assert retried.data["reason"] == "timeout" and retried.data["attempt"] == 1
    [fallback] = llm.get_events(session_id, types=["provider_fallback"])
    assert fallback.data["reason"] == "timeout"
    assert outcome.notices == [
        "The AI provider did not answer in time; this answer was scored by the offline evaluator."
    ]


def test_rate_limits_are_retried_with_backoff(llm: SessionManager, scripted: Scripted) -> None:
    session_id = started(llm, max_follow_ups=0)
    error = ModelRateLimitError("gpt-test", "slow down", retry_after=0.02)
    scripted.cues.append(Cue(task="evaluate", error=error))
    outcome = llm.submit_answer(session_id, current(llm, session_id), "Queue the writes.", 20)
    [retried] = llm.get_events(session_id, types=["provider_retried"])
    assert retried.data["reason"] == "rate_limited" and retried.data["wait_seconds"] >= 0.02
    assert outcome.notices == [] and "provider_fallback" not in types(llm, session_id)
    [evaluated] = llm.get_events(session_id, types=["answer_evaluated"])
    assert evaluated.data["evaluation"]["evaluator"] == "openai:gpt-test"


def test_a_provider_down_at_creation_gives_an_offline_plan(
    llm: SessionManager, scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REHEARSE_AI_MAX_RETRIES", "1")
    get_settings.cache_clear()
    down = ModelServerError("gpt-test", "502 bad gateway")
    scripted.cues += [Cue(task="plan", error=down), Cue(task="plan", error=down)]
    session = llm.create_session(config())
    assert session.interview is not None
    assert not any(i.id.startswith("ai-") for i in session.interview.items)
    assert types(llm, session.id) == [
        "session_created",
        "questions_planned",
        "provider_retried",
        "provider_fallback",
    ]
    [fallback] = llm.get_events(session.id, types=["provider_fallback"])
    assert fallback.data["reason"] == "unavailable" and fallback.data["part"] == "interviewer"
    llm.start_session(session.id)  # the interview goes on, and uses the model again
    llm.submit_answer(session.id, current(llm, session.id), "An answer.", 10)
    [evaluated] = llm.get_events(session.id, types=["answer_evaluated"])
    assert evaluated.data["evaluation"]["evaluator"] == "openai:gpt-test"


def test_conversation_is_summarised_to_stay_within_the_context(
    llm: SessionManager, scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REHEARSE_AI_CONTEXT_TOKENS", "500")
    get_settings.cache_clear()
    session_id = started(llm, question_count=4, max_follow_ups=1, mode="mock")
    opening = "First answer: " + "we migrated the billing monolith step by step. " * 12
    llm.submit_answer(session_id, current(llm, session_id), opening, 60)
    for n in range(6):
        item = llm.next_question(session_id)
        if item is None:
            break
        llm.submit_answer(session_id, item.id, f"Answer {n}: " + "it depends on load. " * 25, 60)
    summaries = llm.get_events(session_id, types=["conversation_summarised"])
    assert summaries, "the conversation passed 500 tokens and was never summarised"
    first = summaries[0].data
    assert first["provider"] == "openai" and first["turns"] >= 1
    assert first["tokens_after"] < first["tokens_before"]
    assert scripted.prompts_of("summarise")
    last = scripted.prompts_of("follow_up")[-1]
    assert '"summary_of_earlier_turns": null' not in last
    assert opening.strip() not in last  # the oldest turn is no longer sent verbatim


def test_an_unconfigured_provider_is_refused_at_creation_with_the_fix(
    store: SQLStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = SessionManager(store, clock)
    with pytest.raises(ConfigurationError, match=r"set OPENAI_API_KEY \(or OPENAI_BASE_URL"):
        manager.create_session(config())
    monkeypatch.setattr("rehearse.ai.providers._importable", lambda module: False)
    with pytest.raises(ConfigurationError, match=r"pip install 'rehearse\[anthropic\]'"):
        manager.create_session(config(ai_provider="anthropic", ai_model="claude-3-5-haiku-latest"))
    assert manager.list_sessions().total == 0


def test_a_request_to_a_real_model_fails_the_test_loudly(
    store: SQLStore, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-used")
    manager = SessionManager(store, clock)
    with pytest.raises(RuntimeError, match="ALLOW_MODEL_REQUESTS"):
        manager.create_session(config())


def test_the_shipped_test_provider_runs_a_whole_interview_offline(
    manager: SessionManager,
) -> None:
    session_id = started(manager, ai_provider="test", ai_model="default", max_follow_ups=1)
    while (item := manager.next_question(session_id)) is not None:
        manager.submit_answer(session_id, item.id, "I would measure first, then cache.", 30)
    manager.end_session(session_id)
    report = manager.get_report(session_id)
    assert report.evaluator == "test:default" and report.answered == 3
    assert manager.get_session(session_id).tokens_used > 0
    assert "report_drafted" in types(manager, session_id)


def _wait_for(predicate: Any, seconds: float = 10.0) -> None:
    import time

    limit = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < limit, "the model's late evaluation never landed"
        time.sleep(0.02)


def test_a_slow_model_never_keeps_the_candidate_waiting(
    llm: SessionManager, scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15: past the deadline the offline score comes at once; the model's replaces it."""
    monkeypatch.setenv("REHEARSE_AI_ANSWER_DEADLINE_SECONDS", "0.05")
    get_settings.cache_clear()
    session_id = started(llm, max_follow_ups=1)
    item_id = current(llm, session_id)
    scripted.cues.append(Cue(task="evaluate", delay=0.6))
    outcome = llm.submit_answer(session_id, item_id, "Use a B-tree index on the column.", 20)
    assert outcome.evaluation is not None and outcome.follow_up is None
    assert any("taking longer" in n for n in outcome.notices)
    [provisional] = llm.get_events(session_id, types=["answer_evaluated"])
    assert provisional.data["provisional"] is True
    assert provisional.data["evaluation"]["evaluator"].startswith("offline")

    def landed() -> bool:
        return len(llm.get_events(session_id, types=["answer_evaluated"])) == 2

    _wait_for(landed)
    _, final = llm.get_events(session_id, types=["answer_evaluated"])
    assert final.data["replaces_provisional"] is True
    assert final.data["evaluation"]["evaluator"] == "openai:gpt-test"
    _wait_for(lambda: bool(llm.get_events(session_id, types=["follow_up_asked"])))
    plan = llm.get_plan(session_id)
    assert plan.item(session_id, item_id).score == final.data["evaluation"]["score"]
    assert plan.item(session_id, item_id).provisional_attempts == ()
    llm.end_session(session_id)
    report = llm.get_report(session_id)
    [question] = [q for q in report.questions if q.id == item_id]
    assert question.score == final.data["evaluation"]["score"]


def test_a_model_within_the_deadline_answers_as_before(
    llm: SessionManager, scripted: Scripted
) -> None:
    session_id = started(llm, max_follow_ups=0)
    outcome = llm.submit_answer(session_id, current(llm, session_id), "Use a B-tree index.", 20)
    assert outcome.notices == []
    [evaluated] = llm.get_events(session_id, types=["answer_evaluated"])
    assert "provisional" not in evaluated.data
    assert evaluated.data["evaluation"]["evaluator"] == "openai:gpt-test"
