"""Issue 10 items 1, 7 and 8: what a candidate may read, decided once in the service.

Mock and assessment sessions keep every score, feedback, key point and reference answer
from the candidate while they run, through every endpoint, export and stream; staff see
everything; an assessment's report waits for staff to release it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rehearse.clock import FakeClock
from rehearse.domain.access import LOCAL_PRINCIPAL, Principal, PrincipalRole
from rehearse.errors import AccessDeniedError, ReportHiddenError
from rehearse.service.sessions import SessionManager
from rehearse.storage import SQLStore
from rehearse.web import create_app

PASSWORD = "correct horse battery"
CARA = Principal(id="cara-id", role=PrincipalRole.CANDIDATE, email="cara@x.org")
IV = Principal(id="iv-id", role=PrincipalRole.INTERVIEWER, email="iv@x.org")
#: words of the reference answers and key points that must never reach the candidate
SECRET_FIELDS = ("score", "feedback", "key_points_missed", "key_points_covered", "reference")


class Server:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        accounts = client.app.state.accounts  # type: ignore[attr-defined]
        self.tokens: dict[str, str] = {}
        for email, role in [("iv@x.org", "interviewer"), ("cara@x.org", "candidate")]:
            accounts.create_user(email, email.split("@")[0], role, PASSWORD)
            self.tokens[email.split("@")[0]] = accounts.create_token(email, "tests")[0]

    def as_(self, who: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.tokens[who]}"}

    def get(self, who: str, path: str, **params: Any) -> Any:
        return self.client.get(path, headers=self.as_(who), params=params)

    def post(self, who: str, path: str, body: Any = None) -> Any:
        return self.client.post(path, headers=self.as_(who), json=body)


@pytest.fixture
def server(sqlite_store: SQLStore, clock: FakeClock) -> Iterator[Server]:
    app = create_app(lambda: SessionManager(sqlite_store, clock), auth=True, sweep_seconds=0)
    with TestClient(app) as client:
        yield Server(client)


def _answered_session(server: Server, mode: str) -> tuple[str, str]:
    created = server.post(
        "iv",
        "/api/v1/sessions",
        {
            "candidate_name": "Cara",
            "candidate_email": "cara@x.org",
            "mode": mode,
            "question_count": 2,
            "max_follow_ups": 0,
            "plan_seed": 3,
        },
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    assert server.post("cara", f"/api/v1/sessions/{sid}/start").status_code == 200
    qid = created.json()["current_question"]["id"]
    answered = server.post(
        "cara",
        f"/api/v1/sessions/{sid}/answers",
        {"question_id": qid, "text": "I am not sure, maybe caching helps."},
    )
    assert answered.status_code == 201, answered.text
    body = answered.json()
    assert body["evaluation"] is None and body["item"]["score"] is None
    return sid, qid


def _leaks(value: Any) -> list[str]:
    """Paths in a JSON value where a score or a rubric field is set."""
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                scored = key in {"evaluation", "report"} and bool(child)
                secret = key in SECRET_FIELDS and child not in (None, [], "")
                rubric = (
                    key == "questions"
                    and isinstance(child, list)
                    and any(isinstance(q, dict) and q.get("reference_answer") for q in child)
                )
                if scored or secret or rubric:
                    found.append(f"{path}.{key}")
                walk(child, f"{path}.{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, f"{path}[{index}]")

    walk(value, "$")
    return found


@pytest.mark.parametrize("mode", ["mock", "assessment"])
def test_a_running_session_shows_the_candidate_no_score_anywhere(server: Server, mode: str) -> None:
    sid, _ = _answered_session(server, mode)
    base = f"/api/v1/sessions/{sid}"
    for path in ["", "/plan", "/answers", "/events", "/questions/current"]:
        response = server.get("cara", base + path)
        assert response.status_code == 200, (path, response.text)
        assert _leaks(response.json()) == [], path
    listed = server.get("cara", "/api/v1/sessions").json()
    assert _leaks(listed) == []
    for fmt in ["json", "md", "html"]:
        report = server.get("cara", base + "/report", format=fmt)
        assert report.status_code == 403, fmt
        assert report.json()["error"] == "ReportHiddenError"
    page = server.client.get(f"/sessions/{sid}/report", headers=server.as_("cara"))
    assert page.status_code == 403 and "Overall" not in page.text
    with server.client.websocket_connect(f"{base}/stream", headers=server.as_("cara")) as ws:
        seen: list[dict[str, Any]] = []
        while not any(m.get("type") == "tick" for m in seen):
            seen.append(ws.receive_json())
    assert _leaks(seen) == []
    # staff see everything, at once
    staff = server.get("iv", base + "/answers").json()
    assert staff[0]["evaluation"]["score"] is not None
    assert server.get("iv", base + "/report").status_code == 200


def test_mock_scores_reach_the_candidate_once_the_session_is_final(server: Server) -> None:
    sid, _ = _answered_session(server, "mock")
    assert server.post("cara", f"/api/v1/sessions/{sid}/end").status_code == 200
    report = server.get("cara", f"/api/v1/sessions/{sid}/report")
    assert report.status_code == 200 and report.json()["answered"] == 1
    answers = server.get("cara", f"/api/v1/sessions/{sid}/answers").json()
    assert answers[0]["evaluation"]["score"] is not None


def test_an_assessment_report_waits_for_staff_to_release_it(server: Server) -> None:
    sid, _ = _answered_session(server, "assessment")
    base = f"/api/v1/sessions/{sid}"
    early = server.post("iv", base + "/report/release")
    assert early.status_code == 409  # not final yet
    assert server.post("cara", base + "/end").status_code == 200
    assert server.get("cara", base + "/report").status_code == 403
    assert _leaks(server.get("cara", base + "/answers").json()) == []
    assert server.post("cara", base + "/report/release").status_code == 403  # staff only
    assert server.post("iv", base + "/report/release").status_code == 200
    report = server.get("cara", base + "/report")
    assert report.status_code == 200 and report.json()["overall_score"] is not None
    events = server.get("iv", base + "/events").json()
    assert [e["type"] for e in events].count("report_released") == 1


def test_the_python_api_applies_the_same_rules(sqlite_store: SQLStore, clock: FakeClock) -> None:
    manager = SessionManager(sqlite_store, clock)
    session = manager.create_session(
        {
            "candidate_name": "Cara",
            "candidate_email": "cara@x.org",
            "mode": "mock",
            "question_count": 1,
            "max_follow_ups": 0,
        },
        created_by=IV,
    )
    manager.start_session(session.id)
    item = manager.next_question(session.id)
    assert item is not None
    outcome = manager.submit_answer(session.id, item.id, "An answer about caching and TTLs.")
    assert outcome.evaluation is not None  # the raw outcome is for trusted callers
    shown = outcome.visible_to(CARA)
    assert shown.evaluation is None and shown.item.score is None
    assert manager.get_answers_for(session.id, CARA)[0].evaluation is None
    assert all(i.score is None for i in manager.get_plan_for(session.id, CARA).items)
    with pytest.raises(ReportHiddenError):
        manager.get_report_for(session.id, CARA)
    assert manager.get_report_for(session.id, IV).answered == 1
    # the local user of a laptop install is the candidate of their own mock interview
    assert manager.get_answers_for(session.id, LOCAL_PRINCIPAL)[0].evaluation is None
    manager.end_session(session.id)
    assert manager.get_answers_for(session.id, LOCAL_PRINCIPAL)[0].evaluation is not None


def test_a_candidate_cannot_plant_a_session_in_another_candidates_list(server: Server) -> None:
    planted = server.post(
        "cara",
        "/api/v1/sessions",
        {"candidate_name": "Dan", "candidate_email": "dan@x.org", "job_description": "pwned"},
    )
    assert planted.status_code == 403 and "themselves" in planted.json()["message"]
    own = server.post(
        "cara", "/api/v1/sessions", {"candidate_name": "Cara", "candidate_email": "CARA@x.org"}
    )
    assert own.status_code == 201
    assert own.json()["candidate_id"] is not None
    staff = server.post(
        "iv", "/api/v1/sessions", {"candidate_name": "Dan", "candidate_email": "dan@x.org"}
    )
    assert staff.status_code == 201


def test_staff_only_rules_hold_in_the_python_api(sqlite_store: SQLStore, clock: FakeClock) -> None:
    manager = SessionManager(sqlite_store, clock)
    session = manager.create_session({"candidate_name": "Cara"}, created_by=CARA)
    with pytest.raises(AccessDeniedError, match="ask your interviewer"):
        manager.release_report(session.id, CARA)
    with pytest.raises(AccessDeniedError, match="candidate links"):
        manager.create_link(session.id, CARA, 3600)
    with pytest.raises(AccessDeniedError):
        manager.create_session(
            {"candidate_name": "Dan", "candidate_email": "dan@x.org"}, created_by=CARA
        )


def test_progress_reveals_no_score_a_running_mock_session_keeps_back(server: Server) -> None:
    """Issue 10 item 1 through issue 12's views: progress aggregates answers as they are
    scored, so it waits while the candidate's mock interview keeps its scores."""
    sid, _ = _answered_session(server, "mock")
    paths = [
        "/api/v1/progress/cara@x.org",
        "/api/v1/progress/cara@x.org/analytics?period=all",
        "/api/v1/progress/cara@x.org/learning-path",
        "/api/v1/progress/cara@x.org/milestones",
        "/api/v1/progress/cara@x.org/export",
        f"/api/v1/sessions/compare?a={sid}&b={sid}",
    ]
    for path in paths:
        response = server.client.get(path, headers=server.as_("cara"))
        assert response.status_code == 403, path
        assert response.json()["error"] == "ReportHiddenError", path
    page = server.client.get("/progress", headers=server.as_("cara"))
    assert page.status_code == 403
    # staff see it at once; the candidate once the session is final
    assert server.get("iv", "/api/v1/progress/cara@x.org").status_code == 200
    assert server.post("cara", f"/api/v1/sessions/{sid}/end").status_code == 200
    for path in paths:
        assert server.client.get(path, headers=server.as_("cara")).status_code == 200, path
