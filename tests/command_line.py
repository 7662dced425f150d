"""Running ``rehearse`` in tests: in-process with Typer's CliRunner, or as a real process.

The one place for the CLI helpers the test files share (issue 8 item 6). In-process runs
go through the same root group (:class:`rehearse.cli.LazyGroup`) as the installed command,
so exit codes and the one-line errors on stderr are the real ones; only the handful of
tests about the process itself (entry point, signals, a pseudo-terminal) use
:func:`run_process`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from typer.testing import CliRunner

from rehearse.cli import app
from rehearse.settings import get_settings

#: Wide enough that Rich never wraps a table cell in the tests' expectations.
COLUMNS = "200"

#: How long a started ``rehearse serve`` may take to answer ``/readyz``, seconds. A wait
#: ends as soon as the server is ready; the bound is for a machine loaded by other work,
#: where a start that takes 3 s idle took over 30 s (the suite's servers share one bound).
SERVER_START_SECONDS = 120.0


@dataclass(frozen=True)
class Ran:
    """What a run printed and how it exited (the names of ``subprocess.CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str


def run(
    *args: str, env: Mapping[str, str | None] | None = None, stdin: str = "", ok: bool = True
) -> Ran:
    """``rehearse ARGS`` in this process; ``ok`` asserts exit 0.

    ``env`` overrides environment variables for the run (``None`` removes one); the
    settings cache is cleared around it so REHEARSE_* changes take effect. An exception
    that escapes the command (a bug: expected errors become exit codes) fails the test.
    """
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, list(args), input=stdin, env={"COLUMNS": COLUMNS, **(env or {})}
        )
    finally:
        get_settings.cache_clear()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    ran = Ran(result.exit_code, result.stdout, result.stderr)
    if ok:
        assert ran.returncode == 0, ran.stderr
    return ran


def run_json(*args: str, env: Mapping[str, str | None] | None = None, stdin: str = "") -> Any:
    """``rehearse ARGS --json`` in this process, parsed."""
    return json.loads(run(*args, "--json", env=env, stdin=stdin).stdout)


def refused(*args: str, code: int = 2) -> str:
    """Run a command that must fail with ``code`` and one line on stderr; return that line."""
    result = run(*args, ok=False)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_ready(
    port: int, process: subprocess.Popen[Any], timeout: float = SERVER_START_SECONDS
) -> None:
    """Poll ``/readyz`` until the server on ``port`` answers; fail if it exits or never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as ready:
                if ready.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = process.communicate()[0]
            raise AssertionError(f"rehearse serve did not start: {output!r}")
        time.sleep(0.1)


def run_process(
    *args: str, env: Mapping[str, str] | None = None, stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m rehearse ARGS`` as a real process (for tests of the process itself)."""
    return subprocess.run(
        [sys.executable, "-m", "rehearse", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": COLUMNS, **(env or {})},
        timeout=timeout,
        check=False,
    )
