"""The REST API and WebSocket stream, through the real app in-process on real storage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from rehearse.clock import FakeClock
from rehearse.service.sessions import SessionManager
from rehearse.storage import SQLStore
from rehearse.web import create_app


@pytest.fixture
def client(sqlite_store: SQLStore, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(lambda: SessionManager(sqlite_store, clock), sweep_seconds=0)
    with TestClient(app) as test_client:
        yield test_client


def create(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/sessions", json={"candidate_name": "Ada", "plan_seed": 3, **fields}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_openapi_lists_the_required_paths(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in [
        "/api/v1/sessions",
        "/api/v1/sessions/{session_id}",
        "/api/v1/sessions/{session_id}/start",
        "/api/v1/sessions/{session_id}/pause",
        "/api/v1/sessions/{session_id}/resume",
        "/api/v1/sessions/{session_id}/end",
        "/api/v1/sessions/{session_id}/cancel",
        "/api/v1/sessions/{session_id}/answers",
        "/api/v1/sessions/{session_id}/report",
        "/api/v1/sessions/{session_id}/events",
        "/api/v1/sessions/{session_id}/usage",
        "/api/v1/sessions/{session_id}/questions/current",
        "/api/v1/sessions/{session_id}/questions/next",
        "/healthz",
        "/readyz",
    ]:
        assert path in paths, path


def test_create_get_and_list(client: TestClient) -> None:
    created = create(
        client,
        candidate_email="ada@example.com",
        time_limit_minutes=30,
        enabled_modes=["text", "whiteboard"],
    )
    assert created["status"] == "created" and created["remaining_seconds"] == 1800
    assert created["current_question"]["status"] == "pending"
    # 30 minutes of a mixed interview fit 4 questions
    assert created["progress"] == {
        "total": 4,
        "answered": 0,
        "skipped": 0,
        "pending": 4,
        "follow_ups": 0,
    }
    fetched = client.get(f"/api/v1/sessions/{created['id']}").json()
    assert fetched["id"] == created["id"] and fetched["config"]["enabled_modes"] == [
        "text",
        "whiteboard",
    ]
    second = create(client, candidate_name="Bo")
    page = client.get("/api/v1/sessions", params={"limit": 1}).json()
    assert page["total"] == 2 and len(page["sessions"]) == 1 and page["next_cursor"]
    rest = client.get("/api/v1/sessions", params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert rest["next_cursor"] is None
    assert {page["sessions"][0]["id"], rest["sessions"][0]["id"]} == {created["id"], second["id"]}
    assert (
        client.get("/api/v1/sessions", params={"candidate": "ada@example.com"}).json()["total"] == 1
    )
    assert client.get("/api/v1/sessions", params={"status": "active"}).json()["total"] == 0


def test_validation_errors_are_422_with_fields(client: TestClient) -> None:
    response = client.post(
        "/api/v1/sessions", json={"candidate_name": " ", "time_limit_minutes": 2, "level": "guru"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "ConfigurationError"
    by_field = {f["field"]: f for f in body["fields"]}
    assert by_field["time_limit_minutes"]["message"] == "must be between 5 and 180"
    assert by_field["time_limit_minutes"]["value"] == 2
    assert by_field["level"]["message"] == "must be one of junior, mid, senior, staff"
    assert by_field["candidate_name"]["message"] == "must not be blank"
    assert client.get("/api/v1/sessions").json()["total"] == 0  # nothing half-written


def test_not_found_and_refused_transitions(client: TestClient) -> None:
    missing = client.get("/api/v1/sessions/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "SessionNotFoundError"
    session_id = create(client)["id"]
    refused = client.post(f"/api/v1/sessions/{session_id}/pause")
    assert refused.status_code == 409
    assert {k: refused.json()[k] for k in ("state", "action", "allowed")} == {
        "state": "created",
        "action": "pause",
        "allowed": ["start", "cancel"],
    }
    for action, expected in [
        ("start", "active"),
        ("pause", "paused"),
        ("resume", "active"),
        ("end", "completed"),
    ]:
        response = client.post(f"/api/v1/sessions/{session_id}/{action}")
        assert response.status_code == 200 and response.json()["status"] == expected
    final = client.post(f"/api/v1/sessions/{session_id}/cancel")
    assert final.status_code == 409 and final.json()["error"] == "SessionImmutableError"


def test_update_with_expected_version(client: TestClient) -> None:
    session = create(client)
    ok = client.patch(
        f"/api/v1/sessions/{session['id']}",
        json={"time_limit_minutes": 60, "expected_version": session["version"]},
    )
    assert ok.status_code == 200 and ok.json()["config"]["time_limit_minutes"] == 60
    stale = client.patch(
        f"/api/v1/sessions/{session['id']}",
        json={"time_limit_minutes": 50, "expected_version": session["version"]},
    )
    assert stale.status_code == 409 and stale.json()["error"] == "ConcurrentUpdateError"
    bad = client.patch(f"/api/v1/sessions/{session['id']}", json={"token_budget": 5})
    assert bad.status_code == 422


def test_answer_skip_report_flow(client: TestClient) -> None:
    session = create(client, question_count=2, max_follow_ups=0, mode="practice")
    sid = session["id"]
    client.post(f"/api/v1/sessions/{sid}/start")
    current = client.get(f"/api/v1/sessions/{sid}/questions/current").json()
    assert client.get(f"/api/v1/sessions/{sid}/questions/next").json() == current
    answered = client.post(
        f"/api/v1/sessions/{sid}/answers",
        json={
            "question_id": current["id"],
            "text": "A specific answer with a metric: p99 fell from 900 ms to 250 ms.",
            "time_spent_seconds": 40,
        },
    )
    assert answered.status_code == 201
    body = answered.json()
    assert (
        body["attempt"] == 1 and 0 <= body["evaluation"]["score"] <= 100
    )  # practice shows feedback
    nxt = body["next_question"]
    assert client.post(f"/api/v1/sessions/{sid}/questions/{nxt['id']}/skip").status_code == 200
    assert client.get(f"/api/v1/sessions/{sid}/questions/current").json() is None
    unknown = client.post(
        f"/api/v1/sessions/{sid}/answers", json={"question_id": "nope", "text": "x"}
    )
    assert unknown.status_code == 404 and unknown.json()["error"] == "QuestionNotFoundError"
    blank = client.post(
        f"/api/v1/sessions/{sid}/answers", json={"question_id": current["id"], "text": "   "}
    )
    assert blank.status_code == 422
    assert [a["item_id"] for a in client.get(f"/api/v1/sessions/{sid}/answers").json()] == [
        current["id"]
    ]
    client.post(f"/api/v1/sessions/{sid}/end")
    report = client.get(f"/api/v1/sessions/{sid}/report").json()
    assert report["answered"] == 1 and report["skipped"] == 1
    assert client.get(f"/api/v1/sessions/{sid}/report", params={"format": "md"}).text.startswith(
        "# Interview report: Ada"
    )
    assert "<html" in client.get(f"/api/v1/sessions/{sid}/report", params={"format": "html"}).text


def test_mock_mode_keeps_feedback_for_the_report(client: TestClient) -> None:
    sid = create(client, question_count=1, max_follow_ups=0, mode="mock")["id"]
    client.post(f"/api/v1/sessions/{sid}/start")
    current = client.get(f"/api/v1/sessions/{sid}/questions/current").json()
    body = client.post(
        f"/api/v1/sessions/{sid}/answers", json={"question_id": current["id"], "text": "An answer."}
    ).json()
    assert body["evaluation"] is None
    again = client.post(
        f"/api/v1/sessions/{sid}/answers", json={"question_id": current["id"], "text": "Again."}
    )
    assert again.status_code == 409 and again.json()["error"] == "AnswerRefusedError"


def test_usage_and_budget(client: TestClient) -> None:
    sid = create(client, token_budget=1000)["id"]
    ok = client.post(
        f"/api/v1/sessions/{sid}/usage",
        json={"prompt_tokens": 700, "completion_tokens": 100, "model": "m"},
    )
    assert ok.status_code == 200 and ok.json()["remaining_tokens"] == 200
    over = client.post(
        f"/api/v1/sessions/{sid}/usage",
        json={"prompt_tokens": 300, "completion_tokens": 0, "model": "m"},
    )
    assert (
        over.status_code == 409
        and over.json()["error"] == "BudgetExceededError"
        and over.json()["requested"] == 300
    )
    usage = client.get(f"/api/v1/sessions/{sid}/usage").json()
    assert usage["tokens_used"] == 800 and [c["model"] for c in usage["calls"]] == ["m"]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_whiteboard_upload(client: TestClient) -> None:
    sid = create(client, question_count=1, enabled_modes=["text", "whiteboard"])["id"]
    client.post(f"/api/v1/sessions/{sid}/start")
    qid = client.get(f"/api/v1/sessions/{sid}/questions/current").json()["id"]
    saved = client.put(
        f"/api/v1/sessions/{sid}/questions/{qid}/whiteboard",
        content=PNG,
        headers={"content-type": "image/png"},
    )
    assert saved.status_code == 201 and saved.json()["file"].startswith("whiteboard/")
    assert (
        client.put(
            f"/api/v1/sessions/{sid}/questions/{qid}/whiteboard", content=b"GIF89a"
        ).status_code
        == 422
    )
    too_big = client.put(
        f"/api/v1/sessions/{sid}/questions/{qid}/whiteboard",
        content=PNG + b"\x00" * (2 * 1024 * 1024),
    )
    assert too_big.status_code == 413
    [event] = [
        e
        for e in client.get(f"/api/v1/sessions/{sid}/events").json()
        if e["type"] == "whiteboard_saved"
    ]
    assert event["data"]["item_id"] == qid


def test_cross_site_post_is_refused(client: TestClient) -> None:
    response = client.post(
        "/api/v1/sessions",
        json={"candidate_name": "Ada"},
        headers={"origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert client.get("/api/v1/sessions").json()["total"] == 0


def test_stream_replays_then_pushes_and_reconnect_misses_nothing(client: TestClient) -> None:
    sid = create(client, question_count=2, max_follow_ups=0)["id"]
    client.post(f"/api/v1/sessions/{sid}/start")
    seen: list[int] = []
    with client.websocket_connect(f"/api/v1/sessions/{sid}/stream?after=0") as ws:
        while len(seen) < 3:
            message = ws.receive_json()
            if message["type"] == "event":
                seen.append(message["event"]["seq"])
        assert seen == [1, 2, 3]
        tick = ws.receive_json()
        assert (
            tick["type"] == "tick" and tick["status"] == "active" and tick["remaining_seconds"] > 0
        )
    # while disconnected, things happen
    client.post(f"/api/v1/sessions/{sid}/pause")
    client.post(f"/api/v1/sessions/{sid}/resume")
    with client.websocket_connect(f"/api/v1/sessions/{sid}/stream?after={seen[-1]}") as ws:
        replay: list[str] = []
        while len(replay) < 2:
            message = ws.receive_json()
            if message["type"] == "event":
                assert message["event"]["seq"] == seen[-1] + len(replay) + 1
                replay.append(message["event"]["type"])
        assert replay == ["session_paused", "session_resumed"]
        client.post(f"/api/v1/sessions/{sid}/pause")  # pushed live
        while True:
            message = ws.receive_json()
            if message["type"] == "event":
                assert (
                    message["event"]["type"] == "session_paused"
                    and message["session"]["status"] == "paused"
                )
                break


def test_stream_refuses_unknown_sessions(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/api/v1/sessions/nope/stream") as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 4404


def test_created_session_page_shows_the_ai_estimate(client: TestClient) -> None:
    offline = create(client)
    page = client.get(f"/sessions/{offline['id']}")
    assert page.status_code == 200 and "AI estimate: offline: no AI tokens and no cost" in page.text
    scripted = create(client, ai_provider="test", ai_model="interviewer", question_count=3)
    page = client.get(f"/sessions/{scripted['id']}")
    assert "AI estimate: about " in page.text and "tokens" in page.text


def test_answer_response_carries_notices(client: TestClient) -> None:
    sid = create(client, question_count=1, max_follow_ups=0)["id"]
    client.post(f"/api/v1/sessions/{sid}/start")
    qid = client.get(f"/api/v1/sessions/{sid}/questions/current").json()["id"]
    body = client.post(
        f"/api/v1/sessions/{sid}/answers", json={"question_id": qid, "text": "An answer."}
    ).json()
    assert body["notices"] == []  # the offline parts never fall back


def test_reading_a_session_whose_time_ran_out_expires_it(
    client: TestClient, clock: FakeClock
) -> None:
    sid = create(client, time_limit_minutes=5)["id"]
    client.post(f"/api/v1/sessions/{sid}/start")
    clock.advance(301)
    body = client.get(f"/api/v1/sessions/{sid}").json()
    # the report is built right after, off the request's path (issue 16)
    assert body["status"] == "expired" and body["report_status"] in ("pending", "ready")
    assert client.get(f"/api/v1/sessions/{sid}/report").status_code == 200
    assert client.get(f"/api/v1/sessions/{sid}").json()["report_status"] == "ready"
    events = client.get(f"/api/v1/sessions/{sid}/events").json()
    assert [e["type"] for e in events].count("report_generated") == 1


def test_two_whiteboards_for_one_question_are_both_kept_and_none_after_the_end(
    client: TestClient, tmp_path: Any
) -> None:
    sid = create(client, question_count=1, enabled_modes=["text", "whiteboard"])["id"]
    client.post(f"/api/v1/sessions/{sid}/start")
    qid = client.get(f"/api/v1/sessions/{sid}/questions/current").json()["id"]
    first = client.put(f"/api/v1/sessions/{sid}/questions/{qid}/whiteboard", content=PNG).json()[
        "file"
    ]
    second = client.put(f"/api/v1/sessions/{sid}/questions/{qid}/whiteboard", content=PNG).json()[
        "file"
    ]
    assert first != second
    saved = [
        e["data"]["file"]
        for e in client.get(f"/api/v1/sessions/{sid}/events").json()
        if e["type"] == "whiteboard_saved"
    ]
    assert saved == [first, second]
    client.post(f"/api/v1/sessions/{sid}/end")
    late = client.put(f"/api/v1/sessions/{sid}/questions/{qid}/whiteboard", content=PNG)
    assert late.status_code == 409
    assert (
        len(
            [
                e
                for e in client.get(f"/api/v1/sessions/{sid}/events").json()
                if e["type"] == "whiteboard_saved"
            ]
        )
        == 2
    )
