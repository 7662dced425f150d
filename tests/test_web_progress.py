"""``/api/v1/progress`` and the dashboard pages, through the real app in-process on real storage."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from progress_history import ScriptedEvaluator, run_session
from rehearse.clock import FakeClock
from rehearse.service.sessions import SessionManager
from rehearse.service.userdata import UserData
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
    assert restored.status_code == 201 and restored.json() == {
        "imported_sessions": 3,
        "restored_files": 0,
    }
    assert client.get("/api/v1/progress/ada@example.com").json()["total_sessions"] == 3


PASSWORD = "correct horse battery"
ACCOUNTS = [
    ("admin@x.org", "admin"),
    ("iv@x.org", "interviewer"),
    ("ada@example.com", "candidate"),
    ("bob@example.com", "candidate"),
]


@pytest.fixture
def secured(
    seeded: tuple[SessionManager, list[str]],
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app with sign-in on, an account per role, and each account's API token."""
    manager, _ = seeded
    app = create_app(lambda: manager, auth=True, sweep_seconds=0)
    with TestClient(app) as client:
        accounts = app.state.accounts
        tokens = {}
        for email, role in ACCOUNTS:
            accounts.create_user(email, email.split("@")[0], role, PASSWORD)
            tokens[email] = accounts.create_token(email, "tests")[0]
        yield client, tokens


def bearer(tokens: dict[str, str], email: str) -> dict[str, str]:
    return {"authorization": f"Bearer {tokens[email]}"}


def test_who_may_delete_a_users_data_over_http(
    secured: tuple[TestClient, dict[str, str]], seeded: tuple[SessionManager, list[str]]
) -> None:
    client, tokens = secured
    manager, ids = seeded
    iv = client.delete("/api/v1/progress/ada@example.com", headers=bearer(tokens, "iv@x.org"))
    assert iv.status_code == 403 and "ask an admin" in iv.json()["message"]
    bob = client.delete(
        "/api/v1/progress/ada@example.com", headers=bearer(tokens, "bob@example.com")
    )
    assert bob.status_code == 403
    assert manager.get_session(ids[0]).id == ids[0]  # nothing removed by a refusal
    own = client.delete("/api/v1/progress/me", headers=bearer(tokens, "ada@example.com"))
    assert own.status_code == 200 and own.json()["sessions"] == 3
    assert own.json()["rows"]["users"] == 1  # the account goes with the data
    gone = client.get("/api/v1/progress/me", headers=bearer(tokens, "ada@example.com"))
    assert gone.status_code == 401  # their token went with the account
    admin = client.delete("/api/v1/progress/bob@example.com", headers=bearer(tokens, "admin@x.org"))
    assert admin.status_code == 200 and admin.json()["sessions"] == 1
    log = UserData(manager).audit_entries()
    assert [e["details"]["sessions"] for e in log] == [1, 3]  # newest first
    assert "ada" not in str(log) and "bob" not in str(log)  # counts and a hash, no content


def test_the_delete_page_confirms_checks_csrf_then_deletes(
    secured: tuple[TestClient, dict[str, str]], seeded: tuple[SessionManager, list[str]]
) -> None:
    import re

    client, _ = secured
    manager, _ = seeded
    signed_in = client.post(
        "/login", data={"email": "ada@example.com", "password": PASSWORD}, follow_redirects=False
    )
    assert signed_in.status_code == 303
    dashboard = client.get("/progress")
    assert "Delete all data of ada@example.com" in dashboard.text
    confirm = client.get("/progress/delete?user=me")
    assert confirm.status_code == 200 and "3 sessions" in confirm.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text)
    assert found is not None
    form = {"user": "ada@example.com", "confirm": "yes"}
    forged = client.post("/progress/delete", data=form)
    assert forged.status_code == 403 and "CSRF" in forged.text
    unticked = client.post(
        "/progress/delete", data={"user": "ada@example.com", "csrf_token": found.group(1)}
    )
    assert unticked.status_code == 422 and "Tick the box" in unticked.text
    other = client.post("/progress/delete", data={**form, "user": "bob@example.com",
                                                  "csrf_token": found.group(1)})  # fmt: skip
    assert other.status_code == 403
    assert manager.get_user_progress("ada@example.com").total_sessions == 3
    done = client.post("/progress/delete", data={**form, "csrf_token": found.group(1)})
    assert done.status_code == 200 and "Deleted 3 sessions" in done.text
    assert manager.get_user_progress("ada@example.com").total_sessions == 0
    assert manager.get_user_progress("bob@example.com").total_sessions == 1
    after = client.get("/progress", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/login")


def test_an_interviewer_is_not_offered_the_delete_button(
    secured: tuple[TestClient, dict[str, str]],
) -> None:
    client, tokens = secured
    page = client.get("/progress?user=ada@example.com", headers=bearer(tokens, "iv@x.org"))
    assert page.status_code == 200 and "Delete all data" not in page.text
    refused = client.get(
        "/progress/delete?user=ada@example.com", headers=bearer(tokens, "iv@x.org")
    )
    assert refused.status_code == 403 and "ask an admin" in refused.text


def test_zip_exports_and_imports_over_http(
    client: TestClient, seeded: tuple[SessionManager, list[str]]
) -> None:
    import io
    import zipfile

    manager, ids = seeded
    folder = manager.folders.folder(ids[0])
    manager.folders.add_file(ids[0], "transcript", "001.txt", b"spoken words", {})
    # a recording bigger than any JSON body may be (256 KiB): the archive route takes it
    recording = random.Random(7).randbytes(400_000)
    manager.folders.add_file(ids[0], "audio", "001_audio.ogg", recording, {})
    archive = client.get("/api/v1/progress/ada@example.com/export?format=zip")
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert opened.read(f"sessions/{ids[0]}/files/transcript/001.txt") == b"spoken words"
    one = client.get(f"/api/v1/sessions/{ids[0]}/export?format=zip")
    assert one.status_code == 200 and zipfile.is_zipfile(io.BytesIO(one.content))
    bad = client.get(f"/api/v1/sessions/{ids[0]}/export?format=tar")
    assert bad.status_code == 422 and "json and zip" in bad.json()["message"]
    assert client.delete("/api/v1/progress/ada@example.com").status_code == 200
    assert not folder.exists()
    restored = client.post(
        "/api/v1/imports/archive",
        content=archive.content,
        headers={"content-type": "application/zip"},
    )
    assert restored.status_code == 201, restored.text
    assert restored.json()["imported_sessions"] == 3 and restored.json()["restored_files"] >= 2
    assert (folder / "transcript" / "001.txt").read_bytes() == b"spoken words"
    assert (folder / "audio" / "001_audio.ogg").read_bytes() == recording
    damaged = client.post(
        "/api/v1/imports/archive",
        content=b"PK not a zip",
        headers={"content-type": "application/zip"},
    )
    assert damaged.status_code == 422
