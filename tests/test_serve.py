"""`rehearse serve` as a user runs it: refusals (in-process), start-up, a real request, graceful
shutdown and a port in use (real processes)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from command_line import free_port, run, wait_until_ready
from rehearse.cli.serve import is_loopback

pytestmark = pytest.mark.slow  # real processes: scheduled first (tests/conftest.py)


def call(port: int, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method=method,
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def start(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "REHEARSE_DATA_DIR": str(data_dir)}
    env.pop("REHEARSE_DATABASE_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "rehearse", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_until_ready(port, process)
    assert call(port, "GET", "/readyz") == {"status": "ready"}
    return process


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.5.5.5", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.10", False),
        ("example.org", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "--host 0.0.0.0: a non-loopback address needs --auth"),
        (["--workers", "2"], "--workers 2: several workers need a shared PostgreSQL database"),
    ],
)
def test_unsafe_or_impossible_setups_are_refused(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run("serve", *args, env={"REHEARSE_DATA_DIR": str(tmp_path)}, ok=False)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_serve_answers_and_shuts_down_gracefully_losing_nothing(tmp_path: Path) -> None:
    port = free_port()
    server = start(tmp_path, port)
    try:
        session = call(
            port, "POST", "/api/v1/sessions", {"candidate_name": "Ada", "question_count": 2}
        )
        call(port, "POST", f"/api/v1/sessions/{session['id']}/start")
        question = session["current_question"]["id"]
        call(
            port,
            "POST",
            f"/api/v1/sessions/{session['id']}/answers",
            {"question_id": question, "text": "Saved before shutdown."},
        )
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    # uvicorn finishes the shutdown, then re-raises the signal it caught
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    assert "path=/api/v1/sessions status=201" in output  # structured request log
    assert "Saved before shutdown" not in output  # bodies are never logged
    again = start(tmp_path, port)
    try:
        answers = call(port, "GET", f"/api/v1/sessions/{session['id']}/answers")
        assert [a["text"] for a in answers] == ["Saved before shutdown."]
    finally:
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=30)


def test_a_port_in_use_is_one_line_and_its_own_exit_code(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run(
            "serve", "--port", str(port), env={"REHEARSE_DATA_DIR": str(tmp_path)}, ok=False
        )
    assert result.returncode == 5  # the README's exit-code table; 3 means "not found"
    assert result.stdout == ""
    assert result.stderr == (
        f"error: --port {port}: cannot listen on 127.0.0.1:{port}: the port is in use; "
        "stop the program using it or choose another --port\n"
    )  # and never the "rehearse on http://..." line first
