"""The OpenAPI document is complete and true: schemathesis against the app, with and without auth.

Issue 8 item 3: every 2xx of ``/openapi.json`` has a response schema. Issue 10 item 6:
schemathesis generates requests from that document (a fixed seed, a bounded number of
cases per operation, positive and negative data) and sends them to the real app
in-process; no response may be a 5xx or contradict the document (status code, content
type, headers, body schema).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rehearse.clock import FakeClock
from rehearse.service.accounts import AccountService
from rehearse.service.sessions import SessionManager
from rehearse.storage import open_store
from rehearse.storage.accounts import AccountStore
from rehearse.web import create_app
from stores import migrated_sqlite_url

#: Cases per operation and generation mode: (23 positive + 8 negative) x 2 apps x 8 ~ 500.
CASES = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_every_2xx_has_a_response_schema() -> None:
    document = create_app(sweep_seconds=0).openapi()
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if not code.startswith("2") or code == "204":  # 204: no body by definition
                    continue
                content = response.get("content") or {}
                if not content or not all(media.get("schema") for media in content.values()):
                    missing.append(f"{method.upper()} {path} {code}")
    assert missing == []
    assert len(document["paths"]) >= 15


def test_response_bodies_keep_their_documented_shapes(tmp_path: Path, clock: FakeClock) -> None:
    """The response models describe the views; they add no key and rewrite no value."""
    store = open_store(migrated_sqlite_url(tmp_path / "shapes.db"))
    manager = SessionManager(store, clock)
    app = create_app(lambda: manager, sweep_seconds=0)
    with TestClient(app) as client:
        created = client.post("/api/v1/sessions", json={"candidate_name": "Ada", "plan_seed": 4})
        sid = created.json()["id"]
        from rehearse.domain.access import LOCAL_PRINCIPAL
        from rehearse.web.schemas import session_public

        view = session_public(manager.get_session(sid), clock.now(), LOCAL_PRINCIPAL)
        assert created.json() == view
        client.post(f"/api/v1/sessions/{sid}/start")
        question = client.get(f"/api/v1/sessions/{sid}/questions/current").json()
        client.post(
            f"/api/v1/sessions/{sid}/answers",
            json={"question_id": question["id"], "text": "A cache."},
        )
        answers = client.get(f"/api/v1/sessions/{sid}/answers").json()
        assert answers == [a.model_dump(mode="json") for a in manager.get_answers(sid)]
        events = client.get(f"/api/v1/sessions/{sid}/events").json()
        assert events == [e.to_json() for e in manager.get_events(sid)]
        assert events[0]["at"].endswith("Z") and created.json()["created_at"].endswith("+00:00")
        report = client.get(f"/api/v1/sessions/{sid}/report").json()
        assert report == manager.get_report(sid).model_dump(mode="json")
    store.close()


class Target:
    """An app under test, with the headers that sign its requests in."""

    def __init__(self, tmp_path: Path, clock: FakeClock, *, auth: bool) -> None:
        self.store = open_store(migrated_sqlite_url(tmp_path / "fuzz.db"))
        self.headers: dict[str, str] = {}
        accounts = AccountService(AccountStore(self.store.engine), clock)
        if auth:
            accounts.create_user("admin@x.org", "Admin", "admin", None)
            self.headers = {
                "authorization": f"Bearer {accounts.create_token('admin@x.org', 't')[0]}"
            }
        self.app: FastAPI = create_app(
            lambda: SessionManager(self.store, clock),
            auth=auth,
            sweep_seconds=0,
        )


@pytest.fixture(params=[False, True], ids=["local", "auth"])
def target(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Target]:
    built = Target(tmp_path, clock, auth=request.param)
    # a few real sessions, so generated ids sometimes hit one (most are 404s)
    with TestClient(built.app) as client:
        for _ in range(2):
            sid = client.post(
                "/api/v1/sessions", json={"candidate_name": "Ada"}, headers=built.headers
            ).json()["id"]
            client.post(f"/api/v1/sessions/{sid}/start", headers=built.headers)
    yield built
    asgi.shutdown_lifespans()  # schemathesis ran the app's lifespan: close its storage
    built.store.close()


def test_schemathesis_finds_no_5xx_and_no_contradiction(target: Target) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.app)
    failures: list[str] = []
    statuses: list[int] = []
    operations = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # the document itself is valid
        operation = result.ok()
        operations += 1
        negatable = len(operation.query) > 0 or len(operation.body) > 0
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if negatable else [])
        for mode in modes:
            strategy = operation.as_strategy(generation_mode=mode)

            @seed(20261202)
            @settings(
                max_examples=CASES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def check(case: Any) -> None:
                response = case.call_and_validate(headers=target.headers, checks=CHECKS)
                statuses.append(response.status_code)

            try:
                check()
            except Unsatisfiable:  # nothing to negate (a binary PNG body): no case to send
                continue
            except Exception as error:  # collect every operation's failure, then report all
                failures.append(f"{operation.label} [{mode.value}]: {str(error)[:1500]}")
    assert operations >= 20
    # the run was real: many cases, some accepted, some refused, none a server error
    assert len(statuses) >= 150, len(statuses)
    assert any(200 <= code < 300 for code in statuses) and 422 in statuses
    assert all(code < 500 for code in statuses)
    assert failures == [], "\n\n".join(failures)
