"""Access control over HTTP with --auth: tokens, roles, login cookie + CSRF, candidate links."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from rehearse.clock import FakeClock
from rehearse.service.accounts import AccountService
from rehearse.service.sessions import SessionManager
from rehearse.storage import SQLStore
from rehearse.web import create_app
from rehearse.web.auth import link_csrf_token

PASSWORD = "correct horse battery"


class World:
    def __init__(self, client: TestClient, accounts: AccountService) -> None:
        self.client = client
        self.accounts = accounts
        self.tokens: dict[str, str] = {}
        for email, role in [
            ("admin@x.org", "admin"),
            ("iv@x.org", "interviewer"),
            ("iv2@x.org", "interviewer"),
            ("cara@x.org", "candidate"),
            ("dan@x.org", "candidate"),
        ]:
            accounts.create_user(email, email.split("@")[0], role, PASSWORD)
            self.tokens[email.split("@")[0]] = accounts.create_token(email, "tests")[0]

    def as_(self, who: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[who]}"}

    def create(self, who: str, **fields: Any) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/sessions",
            json={"candidate_name": "Cara", "plan_seed": 1, **fields},
            headers=self.as_(who),
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
def world(sqlite_store: SQLStore, clock: FakeClock) -> Iterator[World]:
    store = sqlite_store
    app = create_app(lambda: SessionManager(store, clock), auth=True, sweep_seconds=0)
    with TestClient(app) as client:
        yield World(client, app.state.accounts)


def test_no_credentials_is_401_with_json(world: World) -> None:
    response = world.client.get("/api/v1/sessions")
    assert response.status_code == 401 and response.json()["error"] == "NotAuthenticatedError"
    assert response.headers["www-authenticate"] == "Bearer"
    assert world.client.get("/healthz").status_code == 200  # health needs no sign-in


def test_roles_see_what_they_may(world: World) -> None:
    mine = world.create("iv", candidate_email="cara@x.org")
    theirs = world.create("iv2", candidate_email="dan@x.org")
    expectations = {
        "admin": {mine["id"]: 200, theirs["id"]: 200},
        "iv": {mine["id"]: 200, theirs["id"]: 403},
        "iv2": {mine["id"]: 403, theirs["id"]: 200},
        "cara": {mine["id"]: 200, theirs["id"]: 403},
        "dan": {mine["id"]: 403, theirs["id"]: 200},
    }
    for who, table in expectations.items():
        for session_id, code in table.items():
            for path in ["", "/events", "/plan", "/report", "/answers", "/usage"]:
                response = world.client.get(
                    f"/api/v1/sessions/{session_id}{path}", headers=world.as_(who)
                )
                assert response.status_code == code, (who, path, response.text)
        listed = {
            s["id"]
            for s in world.client.get("/api/v1/sessions", headers=world.as_(who)).json()["sessions"]
        }
        assert listed == {sid for sid, code in table.items() if code == 200}, who
    # a candidate cannot act on another's session either
    assert (
        world.client.post(
            f"/api/v1/sessions/{theirs['id']}/start", headers=world.as_("cara")
        ).status_code
        == 403
    )


def test_candidates_take_sessions_but_do_not_set_them(world: World) -> None:
    session = world.create("iv", candidate_email="cara@x.org")
    cara = world.as_("cara")
    assert (
        world.client.post(f"/api/v1/sessions/{session['id']}/start", headers=cara).status_code
        == 200
    )
    patched = world.client.patch(
        f"/api/v1/sessions/{session['id']}", json={"time_limit_minutes": 180}, headers=cara
    )
    assert patched.status_code == 403 and "ask your interviewer" in patched.json()["message"]
    usage = world.client.post(
        f"/api/v1/sessions/{session['id']}/usage",
        json={"prompt_tokens": 1, "completion_tokens": 1, "model": "m"},
        headers=cara,
    )
    assert usage.status_code == 403


def test_revoked_and_unknown_tokens_fail(world: World) -> None:
    token, record = world.accounts.create_token("cara@x.org", "laptop")
    assert (
        world.client.get(
            "/api/v1/sessions", headers={"authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    world.accounts.revoke_token(record.id)
    assert (
        world.client.get(
            "/api/v1/sessions", headers={"authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )
    assert (
        world.client.get(
            "/api/v1/sessions", headers={"authorization": "Bearer rh_nonsense"}
        ).status_code
        == 401
    )


def test_login_cookie_needs_the_csrf_token(world: World) -> None:
    client = world.client
    bad = client.post(
        "/login", data={"email": "iv@x.org", "password": "wrong password!"}, follow_redirects=False
    )
    assert bad.status_code == 401 and "invalid e-mail or password" in bad.text
    ok = client.post(
        "/login",
        data={"email": "iv@x.org", "password": PASSWORD, "next": "//evil.example"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/"  # no open redirect
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert client.get("/api/v1/sessions").status_code == 200  # the cookie signs reads in
    refused = client.post("/api/v1/sessions", json={"candidate_name": "Cara"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["message"]
    [web_session] = [s for s in _web_sessions(world)]
    accepted = client.post(
        "/api/v1/sessions", json={"candidate_name": "Cara"}, headers={"X-CSRF-Token": web_session}
    )
    assert accepted.status_code == 201
    assert (
        client.post(
            "/logout", headers={"X-CSRF-Token": web_session}, follow_redirects=False
        ).status_code
        == 303
    )
    client.cookies.clear()
    assert client.get("/api/v1/sessions").status_code == 401


def _web_sessions(world: World) -> list[str]:
    from sqlalchemy import text

    with world.accounts.store.engine.connect() as connection:
        return [
            row[0]
            for row in connection.execute(
                text("SELECT csrf_token FROM web_sessions WHERE revoked_at IS NULL")
            )
        ]


def test_candidate_link_grants_one_session(world: World) -> None:
    one = world.create("iv")
    two = world.create("iv")
    made = world.client.post(
        f"/api/v1/sessions/{one['id']}/links", json={"ttl_seconds": 3600}, headers=world.as_("iv")
    )
    assert made.status_code == 201
    url = made.json()["url"]
    assert "/join/" in url and len(url.rsplit("/", 1)[-1]) >= 32
    assert (
        world.client.post(
            f"/api/v1/sessions/{one['id']}/links", json={}, headers=world.as_("cara")
        ).status_code
        == 403
    )
    candidate = TestClient(world.client.app)
    joined = candidate.get(url.replace("http://testserver", ""), follow_redirects=False)
    assert joined.status_code == 303 and joined.headers["location"] == f"/sessions/{one['id']}"
    candidate.cookies.set("rehearse_link", url.rsplit("/", 1)[-1])
    assert candidate.get(f"/api/v1/sessions/{one['id']}").status_code == 200
    assert candidate.get(f"/api/v1/sessions/{two['id']}").status_code == 403
    assert {s["id"] for s in candidate.get("/api/v1/sessions").json()["sessions"]} == {one["id"]}
    # a link cookie is a cookie: unsafe requests need its CSRF token (issue 10, item 4)
    assert candidate.post(f"/api/v1/sessions/{one['id']}/start").status_code == 403
    csrf = {"X-CSRF-Token": link_csrf_token(url.rsplit("/", 1)[-1])}
    assert candidate.post(f"/api/v1/sessions/{one['id']}/start", headers=csrf).status_code == 200
    links = world.client.get(f"/api/v1/sessions/{one['id']}/links", headers=world.as_("iv")).json()
    assert len(links) == 1 and "token" not in str(links[0]).lower().replace("token_hash", "")


def test_stream_checks_access(world: World) -> None:
    session = world.create("iv")
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        world.client.websocket_connect(f"/api/v1/sessions/{session['id']}/stream") as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 4401
    with (
        pytest.raises(WebSocketDisconnect) as denied,
        world.client.websocket_connect(
            f"/api/v1/sessions/{session['id']}/stream", headers=world.as_("dan")
        ) as ws,
    ):
        ws.receive_json()
    assert denied.value.code == 4403
    with world.client.websocket_connect(
        f"/api/v1/sessions/{session['id']}/stream", headers=world.as_("iv")
    ) as ws:
        assert ws.receive_json()["type"] == "event"


def test_candidates_cannot_read_the_rubric_or_mock_scores(world: World) -> None:
    session = world.create(
        "iv", candidate_email="cara@x.org", mode="mock", question_count=1, max_follow_ups=0
    )
    sid = session["id"]
    world.client.post(f"/api/v1/sessions/{sid}/start", headers=world.as_("cara"))
    qid = session["current_question"]["id"]
    world.client.post(
        f"/api/v1/sessions/{sid}/answers",
        json={"question_id": qid, "text": "My answer."},
        headers=world.as_("cara"),
    )

    def events(who: str) -> dict[str, dict[str, Any]]:
        listed = world.client.get(f"/api/v1/sessions/{sid}/events", headers=world.as_(who)).json()
        return {e["type"]: e["data"] for e in listed}

    staff, candidate = events("iv"), events("cara")
    assert staff["questions_planned"]["questions"][0]["reference_answer"]
    assert "questions" not in candidate["questions_planned"]
    assert candidate["questions_planned"]["question_ids"] == [qid]
    assert (
        "evaluation" in staff["answer_evaluated"]
        and "evaluation" not in candidate["answer_evaluated"]
    )
    with world.client.websocket_connect(
        f"/api/v1/sessions/{sid}/stream", headers=world.as_("cara")
    ) as ws:
        seen: dict[str, Any] = {}
        while "answer_evaluated" not in seen:
            message = ws.receive_json()
            if message["type"] == "event":
                seen[message["event"]["type"]] = message["event"]["data"]
    assert (
        "questions" not in seen["questions_planned"]
        and "evaluation" not in seen["answer_evaluated"]
    )


def test_a_revoked_link_stops_working_and_its_live_stream_closes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rehearse.web.stream as stream

    monkeypatch.setattr(stream, "RECHECK_SECONDS", 0.3)
    session = world.create("iv")
    made = world.client.post(
        f"/api/v1/sessions/{session['id']}/links", json={}, headers=world.as_("iv")
    ).json()
    candidate = TestClient(world.client.app)
    candidate.cookies.set("rehearse_link", made["url"].rsplit("/", 1)[-1])
    assert candidate.get(f"/api/v1/sessions/{session['id']}").status_code == 200
    with candidate.websocket_connect(f"/api/v1/sessions/{session['id']}/stream") as ws:
        assert ws.receive_json()["type"] == "event"
        refused = world.client.delete(
            f"/api/v1/sessions/{session['id']}/links/{made['id']}", headers=world.as_("cara")
        )
        assert refused.status_code == 403  # candidates cannot revoke
        revoked = world.client.delete(
            f"/api/v1/sessions/{session['id']}/links/{made['id']}", headers=world.as_("iv")
        )
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        with pytest.raises(WebSocketDisconnect) as closed:
            _drain(ws)
    assert closed.value.code == 4401  # a revoked link is no credential: not signed in
    assert candidate.get(f"/api/v1/sessions/{session['id']}").status_code == 401
    unknown = world.client.delete(
        f"/api/v1/sessions/{session['id']}/links/nope", headers=world.as_("iv")
    )
    assert unknown.status_code == 404


def test_candidates_do_not_see_provider_error_text(world: World) -> None:
    from datetime import UTC, datetime

    from rehearse.domain.access import Principal, PrincipalRole, redact_event
    from rehearse.domain.events import Event

    failure = Event(
        session_id="s",
        seq=9,
        type="provider_failed",
        at=datetime.now(UTC),
        actor="system",
        data={
            "part": "evaluator",
            "error": "APIError",
            "message": "401 for https://10.0.0.5/v1 key sk-...abcd",
        },
    )
    candidate = Principal(id="c", role=PrincipalRole.CANDIDATE)
    staff = Principal(id="i", role=PrincipalRole.INTERVIEWER)
    assert redact_event(failure, candidate, scores=True, rubric=True).data == {"part": "evaluator"}
    assert redact_event(failure, staff, scores=True, rubric=True) == failure


def _drain(ws: Any) -> None:
    """Read messages until the server closes the socket."""
    while True:
        ws.receive_json()
