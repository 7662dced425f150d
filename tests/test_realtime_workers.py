"""Several real `rehearse serve` processes on one PostgreSQL (issue 14): cross-worker delivery,
expiry exactly once with every worker sweeping, and `kill -9` losing only unacknowledged events.

Subprocesses on purpose: the processes themselves are under test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from websockets.sync.client import connect

from command_line import SERVER_START_SECONDS
from rehearse.domain.sessions import to_us
from stores import emptied_postgres_schema

pytestmark = pytest.mark.slow  # real processes: scheduled first (tests/conftest.py)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(port: int, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method=method,
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        raw = response.read()
        return json.loads(raw) if response.headers.get_content_type() == "application/json" else raw


class Server:
    def __init__(
        self, url: str, data_dir: Path, workers: int = 1, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "REHEARSE_DATA_DIR": str(data_dir),
            "REHEARSE_DATABASE_URL": url,
            **(env or {}),
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rehearse",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            try:
                if call(self.port, "GET", "/readyz") == {"status": "ready"}:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError(f"server did not start: {self.output}")

    output = ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.output = self.process.communicate(timeout=30)[0]


@pytest.fixture
def url(postgres_schema_url: str) -> str:
    return emptied_postgres_schema(postgres_schema_url)


@pytest.fixture
def two_servers(url: str, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    first = Server(url, tmp_path / "a", workers=2)  # migrates; its two workers race for it
    try:
        second = Server(url, tmp_path / "b")
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


@pytest.mark.postgres
def test_events_posted_to_one_server_reach_a_websocket_client_of_the_other_and_expiry_runs_once(
    two_servers: tuple[Server, Server], url: str
) -> None:
    a, b = two_servers
    session = call(a.port, "POST", "/api/v1/sessions", {"candidate_name": "Ada"})
    sid = session["id"]
    call(a.port, "POST", f"/api/v1/sessions/{sid}/start")
    with connect(f"ws://127.0.0.1:{b.port}/api/v1/sessions/{sid}/stream", open_timeout=10) as ws:

        def next_event() -> dict[str, Any]:
            while True:
                message = json.loads(ws.recv(timeout=10))
                if message["type"] == "event":
                    return dict(message["event"])

        assert [next_event()["type"] for _ in range(3)][-1] == "session_started"
        # a's two workers each queue their own requests: across requests the order is
        # fixed by waiting for durability (202 only promises order within a request)
        for n in range(5):
            path = f"/api/v1/sessions/{sid}/realtime?wait=durable"
            call(a.port, "POST", path, [{"type": "ping", "n": n}, {"type": "pong", "n": n}])
        got = [next_event() for _ in range(10)]
        assert [(e["type"], e["data"]["n"]) for e in got] == [
            (kind, n) for n in range(5) for kind in ("ping", "pong")
        ]
        assert [e["seq"] for e in got] == list(range(got[0]["seq"], got[0]["seq"] + 10))

    # expiry with both servers sweeping: many sessions due at once, each expired once
    ids = []
    for _ in range(12):
        created = call(b.port, "POST", "/api/v1/sessions", {"candidate_name": "Bo"})
        call(b.port, "POST", f"/api/v1/sessions/{created['id']}/start")
        ids.append(created["id"])
    engine = create_engine(url)
    try:
        with engine.begin() as connection:  # their time runs out: as if 45 minutes passed
            past = to_us(datetime.now(UTC)) - 10**6
            connection.execute(
                text(
                    "UPDATE sessions SET active_us = time_limit_seconds::bigint * 1000000, "
                    "deadline_at = :past, resumed_at = :past WHERE id = ANY(:ids)"
                ),
                {"past": past, "ids": ids},
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                left = connection.execute(
                    text(
                        "SELECT count(*) FROM sessions WHERE id = ANY(:ids) AND status = 'active'"
                    ),
                    {"ids": ids},
                ).scalar_one()
            if left == 0:
                break
            time.sleep(0.5)
        time.sleep(6)  # one more sweep on each server: it must find nothing to redo
        with engine.connect() as connection:
            counts = connection.execute(
                text(
                    "SELECT session_id, type, count(*) AS n FROM session_events "
                    "WHERE session_id = ANY(:ids) AND type IN ('session_expired', "
                    "'realtime_closed', 'report_generated') GROUP BY session_id, type"
                ),
                {"ids": ids},
            ).all()
    finally:
        engine.dispose()
    per_type = Counter((str(row.type), int(row.n)) for row in counts)
    assert per_type[("session_expired", 1)] == len(ids), counts
    assert per_type[("report_generated", 1)] == len(ids), counts
    assert per_type[("realtime_closed", 1)] == len(ids), counts
    for server in (a, b):  # both really swept
        metrics = call(server.port, "GET", "/metrics").decode()
        sweeps = next(
            line for line in metrics.splitlines() if line.startswith("rehearse_expiry_sweeps_total")
        )
        assert float(sweeps.split()[-1]) >= 2


@pytest.mark.postgres
def test_kill_9_loses_only_events_not_acknowledged_as_durable(url: str, tmp_path: Path) -> None:
    server = Server(url, tmp_path / "k")
    session = call(server.port, "POST", "/api/v1/sessions", {"candidate_name": "Ada"})
    sid = session["id"]
    call(server.port, "POST", f"/api/v1/sessions/{sid}/start")
    durable: list[str] = []
    sent: list[str] = []
    stop = threading.Event()

    def produce() -> None:
        n = 0
        while not stop.is_set():
            batch = [
                {"type": "sample", "event_id": uuid.uuid4().hex, "n": n + i} for i in range(20)
            ]
            n += 20
            sent.extend(str(e["event_id"]) for e in batch)
            wait = "?wait=durable" if (n // 20) % 2 else ""
            try:
                call(server.port, "POST", f"/api/v1/sessions/{sid}/realtime{wait}", batch)
            except (OSError, urllib.error.HTTPError):
                return  # the server died mid-request: not acknowledged
            if wait:
                durable.extend(str(e["event_id"]) for e in batch)

    producers = [threading.Thread(target=produce) for _ in range(4)]
    for thread in producers:
        thread.start()
    time.sleep(1.5)
    os.kill(server.process.pid, signal.SIGKILL)
    stop.set()
    for thread in producers:
        thread.join(timeout=20)
    server.process.communicate(timeout=10)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT seq, data FROM session_events WHERE session_id = :s ORDER BY seq"),
                {"s": sid},
            ).all()
    finally:
        engine.dispose()
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    stored = Counter(str(row.data["event_id"]) for row in rows if "event_id" in row.data)
    assert len(durable) >= 100  # the test really acknowledged events before the kill
    assert all(stored[event_id] == 1 for event_id in durable)  # every acknowledged one, once
    assert max(stored.values()) == 1  # nothing twice
    assert set(stored) <= set(sent)


def test_sigterm_writes_every_queued_event_before_the_process_exits(tmp_path: Path) -> None:
    database = tmp_path / "rt.db"
    # a 5 s linger: nothing is written before the signal unless shutdown writes it
    server = Server(
        f"sqlite:///{database}", tmp_path / "s", env={"REHEARSE_REALTIME_BATCH_SECONDS": "5"}
    )
    try:
        session = call(server.port, "POST", "/api/v1/sessions", {"candidate_name": "Ada"})
        sid = session["id"]
        call(server.port, "POST", f"/api/v1/sessions/{sid}/start")
        for chunk in range(4):
            batch = [{"type": "sample", "n": chunk * 100 + i} for i in range(100)]
            answer = call(server.port, "POST", f"/api/v1/sessions/{sid}/realtime", batch)
            assert answer["accepted"] == 100 and answer["durable"] is False
    finally:
        server.stop()
    assert server.process.returncode in (0, -signal.SIGTERM), server.output
    engine = create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as connection:
            stored = connection.execute(
                text("SELECT seq FROM session_events WHERE session_id = :s AND type = 'sample'"),
                {"s": sid},
            ).all()
    finally:
        engine.dispose()
    assert len(stored) == 400
