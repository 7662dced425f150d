"""The real client path: pydantic-ai's OpenAI model over HTTP to a server on 127.0.0.1.

Nothing here leaves the machine: ``OPENAI_BASE_URL`` points at the test's own
OpenAI-compatible server (the way vLLM or LM Studio is configured), which reports exact
token usage and can answer 429, 500 or garbage on cue.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import command_line
from command_line import Ran
from rehearse.clock import FakeClock
from rehearse.service.sessions import SessionManager
from rehearse.settings import get_settings
from rehearse.storage import SQLStore
from rehearse.web import create_app

from .openai_server import FakeOpenAI, Reply


def config(**fields: Any) -> dict[str, Any]:
    return {
        "candidate_name": "Ada",
        "ai_provider": "openai",
        "ai_model": "gpt-fake",
        "plan_seed": 7,
        "question_count": 2,
        "max_follow_ups": 0,
        "mode": "mock",
        **fields,
    }


def answer_first(manager: SessionManager, **fields: Any) -> tuple[str, Any]:
    session = manager.create_session(config(**fields))
    manager.start_session(session.id)
    item = manager.next_question(session.id)
    assert item is not None
    return session.id, manager.submit_answer(session.id, item.id, "Add a covering index.", 30)


def test_token_counts_from_the_servers_usage_reach_the_session(
    manager: SessionManager, openai_server: FakeOpenAI
) -> None:
    openai_server.usage = (123, 45)
    session_id, outcome = answer_first(manager)
    assert outcome.evaluation is not None
    usage = manager.get_events(session_id, types=["usage_recorded"])
    assert [(e.data["prompt_tokens"], e.data["completion_tokens"]) for e in usage] == [
        (123, 45),
        (123, 45),
    ]
    assert {e.data["model"] for e in usage} == {"openai:gpt-fake"}
    session = manager.get_session(session_id)
    assert (session.prompt_tokens, session.completion_tokens) == (246, 90)
    assert openai_server.tasks() == ["plan", "evaluate"]
    request = openai_server.requests[-1]
    # auto output mode: pydantic-ai's profile of an OpenAI model supports native output
    assert request["model"] == "gpt-fake" and "tools" not in request
    assert request["response_format"]["type"] == "json_schema"
    assert "dimensions" in json.dumps(request["response_format"]["json_schema"]["schema"])
    # the evaluation's own cap (issue 15), as max_tokens: every OpenAI-compatible server
    # honours it, llama-cpp-python ignores max_completion_tokens
    assert request["max_tokens"] == 400 and "max_completion_tokens" not in request
    [evaluated] = manager.get_events(session_id, types=["answer_evaluated"])
    assert evaluated.data["evaluation"]["evaluator"] == "openai:gpt-fake"


def test_tool_mode_forces_the_output_tool_by_name(
    manager: SessionManager, openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REHEARSE_AI_OUTPUT_MODE", "tool")
    get_settings.cache_clear()
    session_id, _outcome = answer_first(manager)
    request = openai_server.requests[-1]
    assert "response_format" not in request
    assert [t["function"]["name"] for t in request["tools"]] == ["final_result"]
    # named, not "required": llama-cpp-python builds a grammar only for a named function
    assert request["tool_choice"] == {"type": "function", "function": {"name": "final_result"}}
    [evaluated] = manager.get_events(session_id, types=["answer_evaluated"])
    assert evaluated.data["evaluation"]["evaluator"] == "openai:gpt-fake"


def test_auto_mode_turns_to_tool_calls_when_the_server_refuses_the_schema_format(
    manager: SessionManager, openai_server: FakeOpenAI
) -> None:
    openai_server.refuse_schema = True  # as llama-cpp-python's server answers json_schema
    session_id, outcome = answer_first(manager, ai_model="refuses-schema")
    kinds = [
        "native" if (r.get("response_format") or {}).get("type") == "json_schema" else "tool"
        for r in openai_server.requests
    ]
    assert kinds == ["native", "tool", "tool"]  # refused once, then tool calls from then on
    assert outcome.notices == []
    [evaluated] = manager.get_events(session_id, types=["answer_evaluated"])
    assert evaluated.data["evaluation"]["evaluator"] == "openai:refuses-schema"
    [switched] = manager.get_events(session_id, types=["provider_retried"])
    assert switched.data["reason"] == "output_mode"
    assert not manager.get_events(session_id, types=["provider_fallback"])


def test_a_follow_up_request_is_capped_at_its_own_size(
    manager: SessionManager, openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REHEARSE_AI_FOLLOW_UP_TOKENS", "90")
    get_settings.cache_clear()
    session = manager.create_session(config(max_follow_ups=1, token_budget=200_000))
    manager.start_session(session.id)
    item = manager.next_question(session.id)
    assert item is not None
    manager.submit_answer(session.id, item.id, "I would add an index.", 30)
    caps = {
        task: r["max_tokens"]
        for task, r in zip(openai_server.tasks(), openai_server.requests, strict=True)
    }
    assert caps == {"plan": 2 * 350 + 50, "evaluate": 400, "follow_up": 90}


def test_a_rate_limit_is_retried(manager: SessionManager, openai_server: FakeOpenAI) -> None:
    openai_server.script = [Reply(), Reply(status=429, retry_after=0), Reply()]
    session_id, outcome = answer_first(manager)
    assert openai_server.tasks() == ["plan", "evaluate", "evaluate"]
    [retried] = manager.get_events(session_id, types=["provider_retried"])
    assert retried.data["reason"] == "rate_limited" and retried.data["attempt"] == 1
    assert outcome.notices == []
    [evaluated] = manager.get_events(session_id, types=["answer_evaluated"])
    assert evaluated.data["evaluation"]["evaluator"] == "openai:gpt-fake"


def test_garbage_output_is_re_asked_then_falls_back_to_offline(
    manager: SessionManager, openai_server: FakeOpenAI
) -> None:
    openai_server.script = [Reply(), Reply(text="lol, no JSON here"), Reply(text="still none")]
    session_id, outcome = answer_first(manager)
    assert outcome.evaluation is not None and outcome.notices
    [evaluated] = manager.get_events(session_id, types=["answer_evaluated"])
    assert evaluated.data["evaluation"]["evaluator"] == "offline:offline-2"
    [fallback] = manager.get_events(session_id, types=["provider_fallback"])
    assert fallback.data["reason"] == "malformed_output"
    assert [a.text for a in manager.get_answers(session_id)] == ["Add a covering index."]
    assert len(manager.get_events(session_id, types=["usage_recorded"])) == 3


def test_a_failing_server_is_retried_then_the_interview_goes_on_offline(
    manager: SessionManager, openai_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REHEARSE_AI_MAX_RETRIES", "2")
    get_settings.cache_clear()
    openai_server.script = [Reply(), Reply(status=500), Reply(status=502), Reply(status=503)]
    session_id, outcome = answer_first(manager)
    retried = manager.get_events(session_id, types=["provider_retried"])
    assert [e.data["reason"] for e in retried] == ["unavailable", "unavailable"]
    [fallback] = manager.get_events(session_id, types=["provider_fallback"])
    assert fallback.data["reason"] == "unavailable"
    assert outcome.evaluation is not None
    assert outcome.notices == [
        "The AI provider is unavailable; this answer was scored by the offline evaluator."
    ]


@pytest.fixture
def client(sqlite_store: SQLStore, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(lambda: SessionManager(sqlite_store, clock), sweep_seconds=0)
    with TestClient(app) as test_client:
        yield test_client


def test_the_web_api_runs_an_openai_session(client: TestClient, openai_server: FakeOpenAI) -> None:
    fields = config(mode="practice", max_follow_ups=1)
    created = client.post("/api/v1/sessions", json=fields)
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    assert created.json()["tokens_used"] == 160  # the plan: 120 + 40
    assert client.post(f"/api/v1/sessions/{session_id}/start").status_code == 200
    item = client.get(f"/api/v1/sessions/{session_id}/questions/current").json()
    answered = client.post(
        f"/api/v1/sessions/{session_id}/answers",
        json={"question_id": item["id"], "text": "Thin answer.", "time_spent_seconds": 12},
    )
    assert answered.status_code in (200, 201), answered.text
    assert "follow-up-1" in json.dumps(answered.json())  # the model asked a follow-up
    [stored] = client.get(f"/api/v1/sessions/{session_id}/answers").json()
    assert stored["evaluation"]["evaluator"] == "openai:gpt-fake"
    assert stored["evaluation"]["prompt_version"] == "llm-2"
    assert client.post(f"/api/v1/sessions/{session_id}/end").status_code == 200
    report = client.get(f"/api/v1/sessions/{session_id}/report").json()
    assert report["evaluator"] == "openai:gpt-fake"
    assert openai_server.tasks() == ["plan", "evaluate", "follow_up", "narrate"]


def run(*args: str, env: dict[str, str], stdin: str = "") -> Ran:
    return command_line.run(*args, env=env, stdin=stdin, ok=False)


def test_the_cli_runs_an_openai_session_with_follow_ups_and_llm_scoring(
    tmp_path: Path, openai_server: FakeOpenAI
) -> None:
    env = {"REHEARSE_DATA_DIR": str(tmp_path / "data")}
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    made = run(
        "--db", db, "sessions", "create", "--candidate-name", "Ada", "--provider", "openai",
        "--model", "gpt-fake", "--minutes", "10", "--json", env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert created["tokens_used"] == 160
    estimate = created["estimate"]
    assert estimate["model"] == "openai:gpt-fake" and estimate["total_tokens"] > 0
    assert estimate["cost_usd"] is None  # gpt-fake has no price
    session_id = created["id"]
    answers = "I restarted it.\n\nThe queue had filled up, so I drained it.\n\n/end\n"
    ran = run("--db", db, "interview", "--resume", session_id, env=env, stdin=answers)
    assert ran.returncode == 0, ran.stderr
    assert "Follow-up" in ran.stdout and "Interview report:" in ran.stdout
    assert "Score " in ran.stdout  # practice mode shows the model's score
    report = run("--db", db, "report", session_id, "--format", "json", env=env)
    assert json.loads(report.stdout)["evaluator"] == "openai:gpt-fake"
    events = json.loads(run("--db", db, "sessions", "events", session_id, "--json", env=env).stdout)
    usage = [e for e in events if e["type"] == "usage_recorded"]
    assert len(usage) >= 4 and {e["data"]["model"] for e in usage} == {"openai:gpt-fake"}
    assert {"plan", "evaluate", "follow_up"} <= set(openai_server.tasks())


def test_sessions_create_shows_an_estimate(tmp_path: Path) -> None:
    env = {"REHEARSE_DATA_DIR": str(tmp_path / "data")}
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    offline = run("--db", db, "sessions", "create", "--candidate-name", "Ada", env=env)
    assert "AI estimate: offline: no AI tokens and no cost" in offline.stdout
    shown = run(
        "--db", db, "sessions", "create", "--candidate-name", "Ada", "--provider", "test", env=env
    )
    assert shown.returncode == 0, shown.stderr
    assert "AI estimate: about " in shown.stdout and "calls to test:default" in shown.stdout


def test_providers_list_and_check(tmp_path: Path, openai_server: FakeOpenAI) -> None:
    env = {"REHEARSE_DATA_DIR": str(tmp_path / "data")}
    listed = json.loads(run("providers", "list", "--json", env=env).stdout)
    assert [p["provider"] for p in listed] == [
        "offline", "test", "openai", "anthropic", "google", "ollama",
    ]  # fmt: skip
    assert listed[0]["ready"] and listed[2]["ready"]  # OPENAI_BASE_URL is set
    checked = run("providers", "check", "openai:gpt-fake", "--connect", "--json", env=env)
    assert checked.returncode == 0, checked.stderr
    connection = json.loads(checked.stdout)["connection"]
    assert connection["ok"] and connection["prompt_tokens"] == 120
    assert openai_server.tasks() == ["check"]
    bare = {**env, "OPENAI_BASE_URL": "", "OPENAI_API_KEY": ""}
    missing = run("providers", "check", "openai:gpt-4o-mini", env=bare)
    assert missing.returncode == 2
    assert "set OPENAI_API_KEY (or OPENAI_BASE_URL" in missing.stderr
    human = run("providers", "check", "openai:gpt-4o-mini", env={**env, "OPENAI_BASE_URL": ""})
    assert human.returncode == 0 and "$0.15/$0.6 per million tokens" in human.stdout
