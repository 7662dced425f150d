"""The web edge against a real uvicorn server (in-process, on a thread): issue 10 items 2, 4, 5, 8.

Bodies are bounded and authentication comes before the body (item 2), the ``Host`` and
``Origin: null`` guards (item 4), secrets never reach a log line (item 5), and the
behaviour the README documents (item 8): WebSocket close codes, 401 for bad credentials,
the budget 409, the unparseable-body 422 and a 405's ``Allow``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from rehearse.clock import FakeClock
from rehearse.service.accounts import AccountService
from rehearse.service.sessions import SessionManager
from rehearse.storage import open_store
from rehearse.storage.accounts import AccountStore
from rehearse.web import create_app
from rehearse.web.auth import link_csrf_token
from rehearse.web.guard import allowed_hosts_for
from rehearse.web.redaction import redact
from stores import migrated_sqlite_url

PASSWORD = "correct horse battery staple"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MAX_BODY = 64 * 1024
MAX_UPLOAD = 128 * 1024


class CountingApp:
    """Wraps an ASGI app and counts the request-body bytes it was handed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.body_bytes = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                self.body_bytes += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A uvicorn server on a thread, serving ``app`` on 127.0.0.1."""

    def __init__(self, app: ASGIApp, *, access_log: bool = False) -> None:
        self.counting = CountingApp(app)
        self.port = free_port()
        config = uvicorn.Config(
            self.counting,
            host="127.0.0.1",
            port=self.port,
            access_log=access_log,
            log_config=None,  # keep the test's logging as it is: handlers are ours
            log_level="info",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


class World:
    """An ``--auth`` app on a SQLite file with an admin and a candidate, and their tokens."""

    def __init__(self, tmp_path: Path, clock: FakeClock, **options: Any) -> None:
        self.store = open_store(migrated_sqlite_url(tmp_path / "edge.db"))
        self.accounts = AccountService(AccountStore(self.store.engine), clock)
        self.accounts.create_user("admin@x.org", "Admin", "admin", PASSWORD)
        self.accounts.create_user("cara@x.org", "Cara", "candidate", PASSWORD)
        self.admin_token = self.accounts.create_token("admin@x.org", "tests")[0]
        self.cara_token = self.accounts.create_token("cara@x.org", "tests")[0]
        options.setdefault("max_body_bytes", MAX_BODY)
        options.setdefault("max_upload_bytes", MAX_UPLOAD)
        self.app: FastAPI = create_app(
            lambda: SessionManager(self.store, clock),
            auth=True,
            sweep_seconds=0,
            **options,
        )

    def admin(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.admin_token}"}


@pytest.fixture
def world(tmp_path: Path, clock: FakeClock) -> Iterator[World]:
    built = World(tmp_path, clock, allowed_hosts=allowed_hosts_for("127.0.0.1", ["testserver"]))
    yield built
    built.store.close()


def raw_exchange(port: int, head: bytes, body: bytes = b"", *, more: int = 0) -> bytes:
    """Send ``head`` and ``body`` (then up to ``more`` bytes in 16 KiB chunks); the reply's start."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        sent = 0
        with contextlib.suppress(OSError):  # the server may stop reading and close: fine
            sock.settimeout(0.5)
            while sent < more:
                try:
                    peek = sock.recv(1, socket.MSG_PEEK)
                    if peek:
                        break  # the reply is already there
                except TimeoutError:
                    pass
                sock.sendall(chunk(16 * 1024))
                sent += 16 * 1024
        sock.settimeout(10)
        return sock.recv(65536)


def chunk(size: int) -> bytes:
    return f"{size:x}\r\n".encode() + b" " * size + b"\r\n"


def post_head(path: str, length: int | None, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines.append(
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    )
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# -- item 2: bodies are bounded, and authentication comes first -------------------------------


def test_an_unauthenticated_256_mib_post_is_refused_without_reading_it(world: World) -> None:
    with LiveServer(world.app) as live:
        reply = raw_exchange(
            live.port, post_head("/api/v1/sessions", 256 * 1024 * 1024), b"{" + b" " * 4095
        )
        assert reply.startswith(b"HTTP/1.1 401"), reply[:200]
        assert b'"NotAuthenticatedError"' in reply
        chunked = raw_exchange(live.port, post_head("/api/v1/sessions", None), chunk(4096))
        assert chunked.startswith(b"HTTP/1.1 401"), chunked[:200]
        bad_token = raw_exchange(
            live.port,
            post_head("/api/v1/sessions", 256 * 1024 * 1024, Authorization="Bearer rh_wrong"),
            b"{",
        )
        assert bad_token.startswith(b"HTTP/1.1 401"), bad_token[:200]
        assert live.counting.body_bytes == 0  # the app never read one byte of any body


def test_a_declared_oversized_body_is_413_before_it_is_read(world: World) -> None:
    with LiveServer(world.app) as live:
        head = post_head(
            "/api/v1/sessions", MAX_BODY + 1, Authorization=f"Bearer {world.admin_token}"
        )
        reply = raw_exchange(live.port, head, b"{")
        assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
        assert b'"PayloadTooLargeError"' in reply and str(MAX_BODY).encode() in reply
        assert live.counting.body_bytes == 0


def test_an_archive_import_is_bounded_by_its_own_limit_and_refused_unread_to_a_candidate(
    world: World,
) -> None:
    path = "/api/v1/imports/archive"
    with LiveServer(world.app) as live:
        declared = 300 * 1024 * 1024  # over every JSON limit, under max_import_bytes
        head = post_head(path, declared, Authorization=f"Bearer {world.cara_token}")
        reply = raw_exchange(live.port, head, b"PK")
        assert reply.startswith(b"HTTP/1.1 403"), reply[:200]
        assert live.counting.body_bytes == 0  # refused before one byte of it was read
        too_big = post_head(path, 4 * 1024**3 + 1, Authorization=f"Bearer {world.admin_token}")
        reply = raw_exchange(live.port, too_big, b"PK")
        assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
        assert live.counting.body_bytes == 0


def test_a_chunked_oversized_body_is_cut_off_at_the_limit(world: World) -> None:
    with LiveServer(world.app) as live:
        head = post_head("/api/v1/sessions", None, Authorization=f"Bearer {world.admin_token}")
        reply = raw_exchange(live.port, head, more=64 * MAX_BODY)
        assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
        # read up to the limit plus the chunk that crossed it, never the 4 MiB sent after
        assert live.counting.body_bytes <= MAX_BODY + 16 * 1024 + 64


def test_whiteboard_uploads_have_their_own_bound_and_stream(world: World) -> None:
    with TestClient(world.app) as client:
        sid = client.post(
            "/api/v1/sessions",
            json={
                "candidate_name": "Cara",
                "question_count": 1,
                "enabled_modes": ["text", "whiteboard"],
            },
            headers=world.admin(),
        ).json()["id"]
        client.post(f"/api/v1/sessions/{sid}/start", headers=world.admin())
        qid = client.get(f"/api/v1/sessions/{sid}/questions/current", headers=world.admin()).json()[
            "id"
        ]
        url = f"/api/v1/sessions/{sid}/questions/{qid}/whiteboard"
        # larger than the JSON limit, within the upload limit: saved
        big = PNG + b"\x00" * (MAX_BODY * 3 // 2)
        saved = client.put(url, content=big, headers=world.admin())
        assert saved.status_code == 201 and saved.json()["bytes"] == len(big)

        def stream() -> Iterator[bytes]:
            yield PNG
            for _ in range(40):
                yield b"\x00" * 16 * 1024

        too_big = client.put(url, content=stream(), headers=world.admin())
        assert too_big.status_code == 413 and too_big.json()["error"] == "PayloadTooLargeError"
        unauthenticated = client.put(url, content=stream())
        assert unauthenticated.status_code == 401
        events = client.get(f"/api/v1/sessions/{sid}/events", headers=world.admin()).json()
        assert [e["data"]["bytes"] for e in events if e["type"] == "whiteboard_saved"] == [len(big)]


# -- item 4: Host, Origin: null, CSRF on link cookies -------------------------------------------


def test_origin_null_is_refused_for_unsafe_requests(tmp_path: Path, clock: FakeClock) -> None:
    local = World(tmp_path, clock)
    local.app = create_app(lambda: SessionManager(local.store, clock), sweep_seconds=0)
    with TestClient(local.app) as client:
        refused = client.post(
            "/api/v1/sessions", json={"candidate_name": "Ada"}, headers={"origin": "null"}
        )
        assert refused.status_code == 403 and "Origin: null" in refused.json()["message"]
        assert client.get("/api/v1/sessions", headers={"origin": "null"}).status_code == 200
        assert client.get("/api/v1/sessions").json()["total"] == 0
        same_site = client.post(
            "/api/v1/sessions",
            json={"candidate_name": "Ada"},
            headers={"origin": "http://testserver"},
        )
        assert same_site.status_code == 201
    local.store.close()


def test_host_outside_the_allowed_hosts_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    local = World(tmp_path, clock)
    local.app = create_app(
        lambda: SessionManager(local.store, clock),
        sweep_seconds=0,
        allowed_hosts=allowed_hosts_for("127.0.0.1", ["interviews.example"]),
    )
    with LiveServer(local.app) as live:
        rebinding = {"host": f"attacker.example:{live.port}"}
        listed = httpx.get(f"{live.url}/api/v1/sessions", headers=rebinding)
        assert listed.status_code == 403 and "REHEARSE_ALLOWED_HOSTS" in listed.json()["message"]
        created = httpx.post(
            f"{live.url}/api/v1/sessions", json={"candidate_name": "Ada"}, headers=rebinding
        )
        assert created.status_code == 403
        handshake = (
            "GET /api/v1/sessions/x/stream HTTP/1.1\r\n"
            f"Host: attacker.example:{live.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        assert raw_exchange(live.port, handshake.encode()).startswith(b"HTTP/1.1 403")
        for host in (f"127.0.0.1:{live.port}", f"localhost:{live.port}", "interviews.example"):
            assert (
                httpx.get(f"{live.url}/api/v1/sessions", headers={"host": host}).status_code == 200
            )
        assert live.counting.body_bytes == 0  # the refused POST was not read either
    local.store.close()


def test_allowed_hosts_follow_the_bound_address() -> None:
    assert allowed_hosts_for("127.0.0.1") == {"127.0.0.1", "localhost", "::1"}
    assert allowed_hosts_for("192.168.1.5", ["Rehearse.Lan"]) == {"192.168.1.5", "rehearse.lan"}
    assert allowed_hosts_for("0.0.0.0") == {"*"}
    assert allowed_hosts_for("0.0.0.0", ["a.example"]) == {
        "a.example",
        "localhost",
        "127.0.0.1",
        "::1",
    }
    assert allowed_hosts_for("10.0.0.1", ["*"]) == {"*"}


def test_a_link_cookie_needs_its_csrf_token_for_unsafe_requests(world: World) -> None:
    with TestClient(world.app) as client:
        sid = client.post(
            "/api/v1/sessions", json={"candidate_name": "Cara"}, headers=world.admin()
        ).json()["id"]
        url = client.post(f"/api/v1/sessions/{sid}/links", json={}, headers=world.admin()).json()[
            "url"
        ]
        token = url.rsplit("/", 1)[-1]
        candidate = TestClient(world.app)
        candidate.cookies.set("rehearse_link", token)
        page = candidate.get(f"/sessions/{sid}")
        assert link_csrf_token(token) in page.text  # the page carries it for its script
        assert candidate.post(f"/api/v1/sessions/{sid}/start").status_code == 403
        wrong = candidate.post(f"/api/v1/sessions/{sid}/start", headers={"X-CSRF-Token": "x" * 43})
        assert wrong.status_code == 403
        right = candidate.post(
            f"/api/v1/sessions/{sid}/start", headers={"X-CSRF-Token": link_csrf_token(token)}
        )
        assert right.status_code == 200


# -- item 5: no secret in any log line -----------------------------------------------------------


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        extra = " ".join(
            f"{key}={value}" for key, value in record.__dict__.items() if key in ("path", "method")
        )
        self.lines.append(f"{record.name} {record.getMessage()} {extra}")


def test_a_whole_session_leaves_no_secret_in_the_logs(world: World) -> None:
    handler = Captured()
    loggers = [logging.getLogger(name) for name in ("rehearse", "uvicorn.access", "uvicorn.error")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    secrets: list[str] = [world.admin_token, world.cara_token, PASSWORD]
    try:
        with LiveServer(world.app, access_log=True) as live, contextlib.ExitStack() as clients:
            admin = clients.enter_context(httpx.Client(base_url=live.url, headers=world.admin()))
            sid = admin.post(
                "/api/v1/sessions",
                json={"candidate_name": "Cara", "question_count": 1, "plan_seed": 3},
            ).json()["id"]
            link = admin.post(f"/api/v1/sessions/{sid}/links", json={}).json()
            link_token = link["url"].rsplit("/", 1)[-1]
            secrets += [link_token, link_csrf_token(link_token)]
            # the candidate opens the link, then drives the interview with the cookie
            candidate = clients.enter_context(httpx.Client(base_url=live.url))
            joined = candidate.get(f"/join/{link_token}?next=/", follow_redirects=False)
            assert joined.status_code == 303
            csrf = {"X-CSRF-Token": link_csrf_token(link_token)}
            assert candidate.post(f"/api/v1/sessions/{sid}/start", headers=csrf).status_code == 200
            question = candidate.get(f"/api/v1/sessions/{sid}/questions/current").json()
            answered = candidate.post(
                f"/api/v1/sessions/{sid}/answers",
                json={"question_id": question["id"], "text": "A cache in front of the database."},
                headers=csrf,
            )
            assert answered.status_code == 201
            cookie = f"rehearse_link={link_token}"
            with connect(
                f"ws://127.0.0.1:{live.port}/api/v1/sessions/{sid}/stream?after=0&token={link_token}",
                additional_headers={"cookie": cookie},
            ) as ws:
                assert json.loads(ws.recv(timeout=5))["type"] == "event"
            # secrets in query strings, as a careless client might send them
            candidate.get(f"/api/v1/sessions/{sid}?token={world.cara_token}&secret={PASSWORD}")
            candidate.get(f"/join/{link_token}x")  # a wrong link is logged too, and redacted
            # a browser sign-in: the password goes in a form, the cookie and CSRF come back
            browser = clients.enter_context(httpx.Client(base_url=live.url))
            signed = browser.post(
                "/login",
                data={"email": "admin@x.org", "password": PASSWORD, "next": "/"},
                follow_redirects=False,
            )
            assert signed.status_code == 303
            secrets.append(signed.cookies["rehearse_session"])
            page = browser.get(f"/sessions/{sid}")
            web_csrf = page.text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
            secrets.append(web_csrf)
            ended = browser.post(f"/api/v1/sessions/{sid}/end", headers={"X-CSRF-Token": web_csrf})
            assert ended.status_code == 200
            browser.get(f"/api/v1/sessions/{sid}/report?format=md&csrf_token={web_csrf}")
            browser.post("/logout", headers={"X-CSRF-Token": web_csrf})
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
    text = "\n".join(handler.lines)
    assert "/join/[redacted]" in text and "token=[redacted]" in text  # the lines are there
    assert any(line.startswith("uvicorn.access") for line in handler.lines)
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == [], f"secrets in the logs: {leaked}"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("/join/abc_DEF-123", "/join/[redacted]"),
        ("/join/abc?next=/x", "/join/[redacted]?next=/x"),
        ("/x?after=1&token=t0k&limit=2", "/x?after=1&token=[redacted]&limit=2"),
        (
            "/x?Access_Token=a&client_secret=b",
            "/x?Access_Token=[redacted]&client_secret=[redacted]",
        ),
        ("/x?api-key=k;password=p", "/x?api-key=[redacted];password=[redacted]"),
        ('"GET /join/zz HTTP/1.1" 303', '"GET /join/[redacted] HTTP/1.1" 303'),
        ("Authorization: Bearer rh_abc.def", "Authorization: Bearer [redacted]"),
        ("/api/v1/sessions?after=3", "/api/v1/sessions?after=3"),
    ],
)
def test_redact(raw: str, clean: str) -> None:
    assert redact(raw) == clean


# -- item 8: what the README documents -----------------------------------------------------------


def test_websocket_refusals_reach_a_real_client_as_close_codes(world: World) -> None:
    with LiveServer(world.app) as live:
        sid = httpx.post(
            f"{live.url}/api/v1/sessions", json={"candidate_name": "Cara"}, headers=world.admin()
        ).json()["id"]
        base = f"ws://127.0.0.1:{live.port}/api/v1/sessions"
        cases = [
            (f"{base}/{sid}/stream", {}, 4401),
            (f"{base}/{sid}/stream", {"authorization": "Bearer rh_revoked_or_unknown"}, 4401),
            (f"{base}/nope/stream", world.admin(), 4404),
            (f"{base}/{sid}/stream", {**world.admin(), "origin": "null"}, 4403),
            (f"{base}/{sid}/stream", {"authorization": f"Bearer {world.cara_token}"}, 4403),
        ]
        for url, headers, code in cases:
            with (
                connect(url, additional_headers=headers) as ws,
                pytest.raises(ConnectionClosed) as closed,
            ):
                ws.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == code, (url, headers)
        with connect(f"{base}/{sid}/stream", additional_headers=world.admin()) as ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "event"


def test_bad_credentials_are_401_and_missing_csrf_403(world: World) -> None:
    with TestClient(world.app) as client:
        for headers in (
            {"authorization": "Bearer rh_nope"},
            {"cookie": "rehearse_session=nope"},
            {"cookie": "rehearse_link=nope"},
        ):
            response = client.get("/api/v1/sessions", headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["error"] == "NotAuthenticatedError"
            assert response.headers["www-authenticate"] == "Bearer"


def test_budget_exceeded_409_carries_state_and_action(world: World) -> None:
    with TestClient(world.app) as client:
        sid = client.post(
            "/api/v1/sessions",
            json={"candidate_name": "Cara", "token_budget": 1000},
            headers=world.admin(),
        ).json()["id"]
        client.post(f"/api/v1/sessions/{sid}/start", headers=world.admin())
        over = client.post(
            f"/api/v1/sessions/{sid}/usage",
            json={"prompt_tokens": 900, "completion_tokens": 200, "model": "test:x"},
            headers=world.admin(),
        )
        assert over.status_code == 409
        body = over.json()
        assert body["error"] == "BudgetExceededError"
        assert body["state"] == "active" and body["action"] == "record usage"
        assert (body["used"], body["requested"], body["budget"]) == (0, 1100, 1000)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"candidate_name": ', "application/json"),
        (b"\xff\xfe{}", "application/json"),
        (b"not json at all", "application/json"),
        (b'{"candidate_name": "Ada"', None),
    ],
)
def test_an_unparseable_body_is_422_naming_the_body(
    world: World, content: bytes, content_type: str | None
) -> None:
    headers = {**world.admin(), **({"content-type": content_type} if content_type else {})}
    with TestClient(world.app) as client:
        response = client.post("/api/v1/sessions", content=content, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["fields"][0]["field"] == "body"


def test_a_405_allows_every_method_of_the_path(world: World) -> None:
    with TestClient(world.app) as client:
        sid = client.post(
            "/api/v1/sessions", json={"candidate_name": "Cara"}, headers=world.admin()
        ).json()["id"]
        response = client.put(f"/api/v1/sessions/{sid}", headers=world.admin())
        assert response.status_code == 405
        assert response.headers["allow"] == "DELETE, GET, HEAD, PATCH"
        listing = client.delete("/api/v1/sessions", headers=world.admin())
        assert listing.headers["allow"] == "GET, HEAD, POST"
        links = client.put(f"/api/v1/sessions/{sid}/links", headers=world.admin())
        assert links.headers["allow"] == "GET, HEAD, POST"
