"""``/api/v1/progress`` and the dashboard pages, through the real app in-process on real storage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from progress_history import ScriptedEvaluator, run_session
from rehearse.clock import FakeClock
from rehearse.service.sessions import SessionManager
from rehearse.storage import SQLStore
from rehearse.web import create_app
from rehearse.web.charts import activity_calendar, bar_chart, trend_chart


@pytest.fixture
def seeded(store: SQLStore, clock: FakeClock) -> tuple[SessionManager, list[str]]:
    manager = SessionManager(store, clock, evaluator=ScriptedEvaluator())
    ids = []
    for seed, scores in enumerate([[40, 50], [60, 70], [80, 90]]):
        ids.append(run_session(manager, clock, [*scores], seed=seed))
        clock.advance(24 * 3600)
    ids.append(run_session(manager, clock, [30], email="bob@example.com", seed=7))
    return manager, ids


@pytest.fixture
def client(seeded: tuple[SessionManager, list[str]]) -> Iterator[TestClient]:
    manager, _ = seeded
    app = create_app(lambda: manager, sweep_seconds=0)
    with TestClient(app) as test_client:
        yield test_client


def test_progress_endpoints(client: TestClient, seeded: tuple[SessionManager, list[str]]) -> None:
    _, ids = seeded
    progress = client.get("/api/v1/progress/ada@example.com").json()
    assert progress["total_sessions"] == 3 and progress["improvement_rate"] > 0
    analytics = client.get("/api/v1/progress/ada@example.com/analytics?period=all").json()
    assert analytics["sessions_completed"] == 3
    path = client.get("/api/v1/progress/ada@example.com/learning-path").json()
    assert "focus_areas" in path and path["next_practice_set"]
    board = client.get("/api/v1/progress/ada@example.com/milestones").json()
    assert board["user"] == "ada@example.com"
    assert {m["id"]: m["achieved"] for m in board["milestones"]}["first_session"]
    comparison = client.get(f"/api/v1/sessions/compare?a={ids[0]}&b={ids[2]}").json()
    assert comparison["overall_delta"] == 40
    cohort = client.get("/api/v1/progress/cohort").json()["candidates"]
    assert {c["user"] for c in cohort} == {"ada@example.com", "bob@example.com"}
    csv = client.get("/api/v1/progress/cohort?format=csv")
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("user,name,sessions")
    paths = client.get("/openapi.json").json()["paths"]
    for name in (
        "/api/v1/progress/{user}",
        "/api/v1/progress/{user}/analytics",
        "/api/v1/progress/{user}/learning-path",
        "/api/v1/progress/{user}/milestones",
        "/api/v1/sessions/compare",
    ):
        assert name in paths


def test_bad_input_is_a_4xx_json(client: TestClient) -> None:
    response = client.get("/api/v1/progress/ada@example.com/analytics?period=1y")
    assert response.status_code == 422 and "period='1y'" in response.json()["message"]
    missing = client.get("/api/v1/sessions/compare?a=nope&b=nada")
    assert missing.status_code == 404
    level = client.get("/api/v1/progress/ada@example.com/learning-path?target_level=guru")
    assert level.status_code == 422 and "target_level='guru'" in level.json()["message"]


def test_dashboard_and_cohort_pages(
    client: TestClient, seeded: tuple[SessionManager, list[str]]
) -> None:
    _, ids = seeded
    page = client.get("/progress?user=ada@example.com")
    assert page.status_code == 200
    html = page.text
    assert "chart--trend" in html and "chart--calendar" in html and "Milestones" in html
    main = html.split("<main", 1)[1].split("</main>", 1)[0]
    assert "<script" not in main  # charts are plain SVG: no chart script
    from_report = client.get(f"/progress?session={ids[0]}")
    assert "ada@example.com" in from_report.text
    assert "See your progress" in client.get(f"/sessions/{ids[0]}/report").text
    cohort = client.get("/progress/cohort?sort=average&order=asc")
    assert cohort.status_code == 200
    assert cohort.text.index("bob@example.com") < cohort.text.index("ada@example.com")
    assert "/progress?user=ada%40example.com" in cohort.text
    bad = client.get("/progress?period=1y")
    assert bad.status_code == 422


def test_charts_escape_labels_and_handle_no_data() -> None:
    from datetime import date

    assert "No scored sessions yet" in trend_chart([], None)
    bars = bar_chart({"<script>": 50.0}, "x")
    assert "<script>" not in bars and "&lt;script&gt;" in bars
    calendar = activity_calendar({date(2026, 1, 2): 3}, today=date(2026, 1, 5), weeks=2)
    assert calendar.count("<rect") == 7 + 1  # last week up to Monday the 5th
    assert "2026-01-02: 3 question(s)" in calendar


def test_export_import_and_delete_over_http(
    client: TestClient, seeded: tuple[SessionManager, list[str]]
) -> None:
    document = client.get("/api/v1/progress/ada@example.com/export").json()
    assert document["format"] == "rehearse-export" and len(document["sessions"]) == 3
    again = client.post("/api/v1/imports", json=document)
    assert again.status_code == 422 and "already exists" in again.json()["message"]
    deleted = client.delete("/api/v1/progress/ada@example.com")
    assert deleted.status_code == 200 and deleted.json()["sessions"] == 3
    assert client.get("/api/v1/progress/ada@example.com").json()["total_sessions"] == 0
    restored = client.post("/api/v1/imports", json=document)
    assert restored.status_code == 201 and restored.json() == {"imported_sessions": 3}
    assert client.get("/api/v1/progress/ada@example.com").json()["total_sessions"] == 3
