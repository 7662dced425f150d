"""Bad input is a 422 naming the field, never a 500 or 503 (issue 10, item 6), on every backend.

Each class of input the probe found is listed once as examples and once as a hypothesis
fuzz test that stays in the suite: integers beyond the columns (64-bit and 32-bit),
crafted paging cursors (on the API and the sessions page), non-finite numbers, lone
surrogates in any string field, and datetimes without a time zone.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.websockets import WebSocketDisconnect

from rehearse.clock import FakeClock
from rehearse.service.sessions import SessionManager
from rehearse.storage import SQLStore
from rehearse.web import create_app

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # one app serves every example
)


@pytest.fixture
def client(store: SQLStore, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(lambda: SessionManager(store, clock), sweep_seconds=0)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def started(client: TestClient) -> dict[str, Any]:
    session: dict[str, Any] = client.post(
        "/api/v1/sessions", json={"candidate_name": "Ada", "question_count": 2, "plan_seed": 1}
    ).json()
    client.post(f"/api/v1/sessions/{session['id']}/start")
    return session


def assert_422(response: Any, field: str) -> None:
    assert response.status_code == 422, (response.status_code, response.text)
    body = response.json()
    assert body["error"] == "ConfigurationError"
    assert field in [f["field"] for f in body["fields"]], body


def cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


# -- integers beyond the columns ---------------------------------------------------------------

HUGE = [2**31, 2**63, 2**64 + 5, 10**30]


@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize("name", ["offset", "limit"])
def test_huge_paging_integers_are_422(client: TestClient, name: str, value: int) -> None:
    assert_422(client.get(f"/api/v1/sessions?{name}={value}"), name)


@pytest.mark.parametrize("value", HUGE)
def test_huge_event_positions_are_422(
    client: TestClient, started: dict[str, Any], value: int
) -> None:
    assert_422(client.get(f"/api/v1/sessions/{started['id']}/events?after={value}"), "after")


def test_the_largest_allowed_position_is_answered(
    client: TestClient, started: dict[str, Any]
) -> None:
    last = client.get(f"/api/v1/sessions/{started['id']}/events?after={2**31 - 1}")
    assert last.status_code == 200 and last.json() == []
    assert client.get(f"/api/v1/sessions?offset={2**31 - 1}").json()["sessions"] == []


def test_a_huge_stream_position_closes_with_4422_naming_it(
    client: TestClient, started: dict[str, Any]
) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(f"/api/v1/sessions/{started['id']}/stream?after={2**63}") as ws,
    ):
        ws.receive_json()
    assert closed.value.code == 4422 and "after" in closed.value.reason


@FUZZ
@given(value=st.integers(min_value=2**31), name=st.sampled_from(["offset", "after", "limit"]))
def test_fuzz_integers_beyond_the_columns(
    client: TestClient, started: dict[str, Any], value: int, name: str
) -> None:
    path = f"/api/v1/sessions/{started['id']}/events" if name == "after" else "/api/v1/sessions"
    assert_422(client.get(f"{path}?{name}={value}"), name)


# -- crafted cursors -----------------------------------------------------------------------------

CRAFTED = [
    cursor(1e30, "x"),
    cursor(-(10**18), "x"),
    cursor(-1e18, "x"),
    cursor(2**62, "x"),
    cursor(2**80, "x"),
    cursor(0, "\ud800"),
    cursor(0, 1),
    cursor("x"),
    '[1e30,"x"]',
    "bm90IGpzb24",
    "%%%",
]


@pytest.mark.parametrize("value", CRAFTED)
def test_crafted_cursors_are_422(client: TestClient, value: str) -> None:
    assert_422(client.get("/api/v1/sessions", params={"cursor": value}), "cursor")
    page = client.get("/", params={"cursor": value})
    assert page.status_code == 422 and "cursor" in page.text


@FUZZ
@given(
    created=st.one_of(
        st.integers(min_value=2**60), st.integers(max_value=-(2**60)), st.floats(), st.text()
    ),
    last=st.one_of(st.text(), st.integers(), st.none()),
)
def test_fuzz_crafted_cursors(client: TestClient, created: Any, last: Any) -> None:
    value = base64.urlsafe_b64encode(json.dumps([created, last]).encode()).decode()
    response = client.get("/api/v1/sessions", params={"cursor": value})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert_422(response, "cursor")
    assert client.get("/", params={"cursor": value}).status_code in (200, 422)


# -- non-finite numbers --------------------------------------------------------------------------

NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"]


@pytest.mark.parametrize("literal", NON_FINITE)
def test_non_finite_numbers_are_422_and_echoed(client: TestClient, literal: str) -> None:
    body = f'{{"candidate_name": "Ada", "token_warning_threshold": {literal}}}'
    response = client.post(
        "/api/v1/sessions", content=body, headers={"content-type": "application/json"}
    )
    assert_422(response, "token_warning_threshold")
    assert response.json()["fields"][0]["value"] in ("NaN", "Infinity", "-Infinity")


@pytest.mark.parametrize("literal", NON_FINITE)
def test_non_finite_answer_times_are_422(
    client: TestClient, started: dict[str, Any], literal: str
) -> None:
    question = client.get(f"/api/v1/sessions/{started['id']}/questions/current").json()
    body = f'{{"question_id": "{question["id"]}", "text": "x", "time_spent_seconds": {literal}}}'
    response = client.post(
        f"/api/v1/sessions/{started['id']}/answers",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert_422(response, "time_spent_seconds")


@FUZZ
@given(
    literal=st.sampled_from(NON_FINITE),
    field=st.sampled_from(["token_warning_threshold", "time_limit_minutes", "token_budget"]),
    nested=st.booleans(),
)
def test_fuzz_non_finite_numbers(
    client: TestClient, literal: str, field: str, nested: bool
) -> None:
    value = f"[{literal}]" if nested else literal
    body = f'{{"candidate_name": "Ada", "{field}": {value}}}'
    response = client.post(
        "/api/v1/sessions", content=body, headers={"content-type": "application/json"}
    )
    assert_422(response, f"{field}.0" if nested else field)


# -- lone surrogates -----------------------------------------------------------------------------

STRING_FIELDS = ["candidate_name", "candidate_email", "role", "job_description", "challenge"]


@pytest.mark.parametrize("field", STRING_FIELDS)
def test_a_lone_surrogate_in_a_session_field_is_422(client: TestClient, field: str) -> None:
    body = {"candidate_name": "Ada", field: "caf\\ud800e"}
    text = json.dumps(body).replace("\\\\ud800", "\\ud800")
    response = client.post(
        "/api/v1/sessions", content=text, headers={"content-type": "application/json"}
    )
    assert_422(response, field)
    assert response.json()["fields"][0]["value"] == "caf\\ud800e"


def test_a_lone_surrogate_in_an_answer_or_a_key_is_422(
    client: TestClient, started: dict[str, Any]
) -> None:
    question = client.get(f"/api/v1/sessions/{started['id']}/questions/current").json()
    answer = f'{{"question_id": "{question["id"]}", "text": "ok \\udfff"}}'
    response = client.post(
        f"/api/v1/sessions/{started['id']}/answers",
        content=answer,
        headers={"content-type": "application/json"},
    )
    assert_422(response, "text")
    patch = client.patch(
        f"/api/v1/sessions/{started['id']}",
        content='{"\\ud83d": 1}',
        headers={"content-type": "application/json"},
    )
    assert patch.status_code == 422


@FUZZ
@given(
    field=st.sampled_from(STRING_FIELDS),
    before=st.text(max_size=5),
    surrogate=st.characters(categories=["Cs"]),
)
def test_fuzz_lone_surrogates(client: TestClient, field: str, before: str, surrogate: str) -> None:
    text = json.dumps({"candidate_name": "Ada", field: before + surrogate})  # ASCII: \udXXX
    response = client.post(
        "/api/v1/sessions", content=text, headers={"content-type": "application/json"}
    )
    assert_422(response, field)


# -- datetimes without a time zone ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["created_after", "created_before"])
@pytest.mark.parametrize("value", ["2020-01-01T00:00:00", "2020-01-01 10:00", "2020-01-01"])
def test_naive_datetimes_are_422(client: TestClient, name: str, value: str) -> None:
    assert_422(client.get("/api/v1/sessions", params={name: value}), name)


def test_aware_datetimes_filter(client: TestClient) -> None:
    client.post("/api/v1/sessions", json={"candidate_name": "Ada"})
    found = client.get("/api/v1/sessions", params={"created_after": "2020-01-01T00:00:00Z"})
    assert found.status_code == 200 and found.json()["total"] == 1


@FUZZ
@given(
    instant=st.datetimes(timezones=st.none()),
    name=st.sampled_from(["created_after", "created_before"]),
)
def test_fuzz_naive_datetimes(client: TestClient, instant: Any, name: str) -> None:
    assert_422(client.get("/api/v1/sessions", params={name: instant.isoformat()}), name)
