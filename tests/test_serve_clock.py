"""``rehearse serve`` on a fake clock (issue 10, item 9): expiry after a restart in seconds.

``REHEARSE_TEST_CLOCK="<instant>[@<rate>]"`` is honoured only with ``REHEARSE_TESTING=1``;
these tests run the real server as a process (the process is what is under test) and
let time pass by restarting it later on the clock, or by running the clock fast.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from command_line import SERVER_START_SECONDS
from rehearse.clock import ScaledClock
from rehearse.errors import ConfigurationError
from rehearse.web.app import fake_clock_from_environment

pytestmark = pytest.mark.slow  # real processes: scheduled first (tests/conftest.py)

T0 = "2026-03-01T09:00:00+00:00"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(port: int, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@contextmanager
def serving(data_dir: Path, port: int, clock: str) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "REHEARSE_DATA_DIR": str(data_dir)}
    env.update(REHEARSE_TESTING="1", REHEARSE_TEST_CLOCK=clock)
    env.pop("REHEARSE_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "rehearse", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            try:
                if call(port, "GET", "/readyz") == {"status": "ready"}:
                    break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                assert process.poll() is None, process.communicate()[0]
                time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.communicate(timeout=20)


def test_a_session_expires_after_a_restart_later_on_the_clock(tmp_path: Path) -> None:
    port = free_port()
    with serving(tmp_path, port, f"{T0}@0") as server:
        session = call(
            port, "POST", "/api/v1/sessions", {"candidate_name": "Ada", "time_limit_minutes": 5}
        )
        started = call(port, "POST", f"/api/v1/sessions/{session['id']}/start", {})
        assert started["started_at"] == T0  # the server runs on the fake clock, frozen
        assert started["remaining_seconds"] == 300
    assert server.returncode is not None
    with serving(tmp_path, port, "2026-03-01T09:30:00+00:00@0"):
        after = call(port, "GET", f"/api/v1/sessions/{session['id']}")
        # the report is built right after the expiry, off the request's path (issue 16)
        report = call(port, "GET", f"/api/v1/sessions/{session['id']}/report")
        reported = call(port, "GET", f"/api/v1/sessions/{session['id']}")
    assert after["status"] == "expired"
    assert after["ended_at"] == "2026-03-01T09:05:00+00:00"  # stamped when the limit was reached
    assert report["total"] >= 1 and reported["report_status"] == "ready"


def test_a_fast_clock_expires_a_running_session_within_seconds(tmp_path: Path) -> None:
    port = free_port()
    with serving(tmp_path, port, f"{T0}@600"):  # ten clock minutes a real second
        session = call(
            port, "POST", "/api/v1/sessions", {"candidate_name": "Ada", "time_limit_minutes": 5}
        )
        call(port, "POST", f"/api/v1/sessions/{session['id']}/start", {})
        deadline = time.monotonic() + 10
        while call(port, "GET", f"/api/v1/sessions/{session['id']}")["status"] != "expired":
            assert time.monotonic() < deadline, "the session did not expire on the fast clock"
            time.sleep(0.2)


def test_the_fake_clock_needs_the_test_flag(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("REHEARSE_TEST_CLOCK", T0)
    logger = logging.getLogger("rehearse")
    monkeypatch.setattr(logger, "propagate", True)
    with caplog.at_level(logging.WARNING, logger="rehearse.web"):
        assert fake_clock_from_environment() is None  # production: the system clock
    assert "honoured only with REHEARSE_TESTING=1" in caplog.text
    monkeypatch.setenv("REHEARSE_TESTING", "1")
    clock = fake_clock_from_environment()
    assert isinstance(clock, ScaledClock) and clock.now() >= datetime(2026, 3, 1, 9, tzinfo=UTC)
    monkeypatch.setenv("REHEARSE_TEST_CLOCK", "2026-03-01T09:00:00")  # no time zone
    with pytest.raises(ConfigurationError, match="REHEARSE_TEST_CLOCK"):
        fake_clock_from_environment()
    monkeypatch.setenv("REHEARSE_TEST_CLOCK", f"{T0}@-1")
    with pytest.raises(ConfigurationError, match="rate"):
        fake_clock_from_environment()


def test_scaled_clock_runs_at_its_rate() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    frozen = ScaledClock(start, 0)
    fast = ScaledClock(start, 1000)
    time.sleep(0.05)
    assert frozen.now() == start
    assert (fast.now() - start).total_seconds() >= 40
