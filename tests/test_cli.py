"""The CLI: output, --json, exit codes, one-line errors (in-process; a few real processes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from command_line import run, run_json, run_process
from rehearse import __version__
from rehearse.storage.migrate import HEAD_REVISION


@pytest.fixture
def db(sqlite_url: str) -> str:
    """A migrated, empty SQLite database (a copy of the suite's template)."""
    return sqlite_url


def test_version() -> None:
    assert run("--version").stdout.strip() == f"rehearse {__version__}"


def test_version_as_a_process() -> None:
    result = run_process("--version")
    assert (result.returncode, result.stdout.strip(), result.stderr) == (
        0,
        f"rehearse {__version__}",
        "",
    )


@pytest.mark.parametrize(
    ("args", "code", "line"),
    [
        (["sessions", "start", "missing-id"], 3, "error: session 'missing-id' not found"),
        (
            ["report", "x", "--format", "pdf"],
            2,
            "error: --format: 'pdf' is not one of md, json, html",
        ),
    ],
)
def test_a_process_exits_with_the_code_and_one_line_on_stderr(
    db: str, args: list[str], code: int, line: str
) -> None:
    result = run_process("--db", db, *args)
    assert (result.returncode, result.stdout, result.stderr) == (code, "", line + "\n")


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("rehearse")
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0
    assert "sessions" in result.stdout


def test_session_lifecycle_as_json(db: str) -> None:
    created = run_json(
        "--db",
        db,
        "sessions",
        "create",
        "--candidate-name",
        "Ada",
        "--minutes",
        "30",
        "--token-budget",
        "8000",
        "--role",
        "frontend",
        "--level",
        "senior",
        "--type",
        "technical",
        "--modes",
        "text,whiteboard",
    )
    assert {
        k: created[k] for k in ("status", "remaining_seconds", "tokens_used", "token_budget")
    } == {
        "status": "created",
        "remaining_seconds": 1800,
        "tokens_used": 0,
        "token_budget": 8000,
    }
    assert created["config"]["enabled_modes"] == ["text", "whiteboard"]
    session_id = created["id"]
    for action, status in [("start", "active"), ("pause", "paused"), ("resume", "active")]:
        assert run_json("--db", db, "sessions", action, session_id)["status"] == status
    used = run_json(
        "--db",
        db,
        "sessions",
        "record-usage",
        session_id,
        "--prompt-tokens",
        "100",
        "--completion-tokens",
        "20",
        "--model",
        "offline:default",
    )
    assert used["tokens_used"] == 120 and used["remaining_tokens"] == 7880
    assert run_json("--db", db, "sessions", "end", session_id)["status"] == "completed"
    shown = run_json("--db", db, "sessions", "show", session_id)
    assert shown["status"] == "completed" and shown["remaining_seconds"] == 0
    events = run_json("--db", db, "sessions", "events", session_id)
    assert [e["type"] for e in events] == [
        "session_created",
        "questions_planned",
        "session_started",
        "session_paused",
        "session_resumed",
        "usage_recorded",
        "session_completed",
        "report_generated",
        "milestone_achieved",  # the first session: recorded once its report is stored
    ]
    assert [e["seq"] for e in events] == list(range(1, 10))
    listing = run_json("--db", db, "sessions", "list", "--status", "completed")
    assert listing["total"] == 1 and listing["sessions"][0]["id"] == session_id
    assert run_json("--db", db, "sessions", "sweep") == {"expired": [], "count": 0}


def test_human_output(db: str) -> None:
    out = run("--db", db, "sessions", "create", "--candidate-name", "Grace Hopper").stdout
    assert "Grace Hopper" in out and "created" in out and "45:00 left of 45:00" in out
    assert "Grace Hopper" in run("--db", db, "sessions", "list").stdout


def test_database_from_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'env.db'}"
    run("sessions", "create", "--candidate-name", "Env", env={"REHEARSE_DATABASE_URL": url})
    listing = json.loads(
        run("sessions", "list", "--json", env={"REHEARSE_DATABASE_URL": url}).stdout
    )
    assert listing["total"] == 1


def test_default_database_is_in_the_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "home-data"
    run("sessions", "create", "--candidate-name", "Ada", env={"REHEARSE_DATA_DIR": str(data)})
    assert (data / "rehearse.db").exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["sessions", "create", "--candidate-name", " ", "--minutes", "2"],
            2,
            "candidate_name=' ': must not be blank; time_limit_minutes=2: must be between 5 and 180",
        ),
        (
            ["sessions", "create", "--candidate-name", "A", "--level", "lead"],
            2,
            "level='lead': must be one of junior, mid, senior, staff",
        ),
        (
            ["sessions", "create", "--candidate-name", "A", "--minutes", "many"],
            2,
            "error: --minutes: 'many': input should be a valid integer",
        ),
        (["sessions", "start", "missing-id"], 3, "session 'missing-id' not found"),
        (["sessions", "list", "--status", "finished"], 2, "status='finished'"),
        (["sessions", "list", "--limit", "0"], 2, "limit=0"),
    ],
)
def test_errors_are_one_line_with_exit_codes(
    db: str, args: list[str], code: int, message: str
) -> None:
    result = run("--db", db, *args, ok=False)
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_refused_transitions_exit_4(db: str) -> None:
    session_id = run_json("--db", db, "sessions", "create", "--candidate-name", "Ada")["id"]
    paused = run("--db", db, "sessions", "pause", session_id, ok=False)
    assert paused.returncode == 4
    assert (
        paused.stderr.strip()
        == f"error: cannot pause session {session_id}: it is created; allowed from created: start, cancel"
    )
    run("--db", db, "sessions", "cancel", session_id)
    final = run("--db", db, "sessions", "start", session_id, ok=False)
    assert final.returncode == 4 and "which is final" in final.stderr
    assert len(final.stderr.strip().splitlines()) == 1


def test_budget_exceeded_exit_4(db: str) -> None:
    session_id = run_json(
        "--db", db, "sessions", "create", "--candidate-name", "Ada", "--token-budget", "1000"
    )["id"]
    result = run(
        "--db",
        db,
        "sessions",
        "record-usage",
        session_id,
        "--prompt-tokens",
        "900",
        "--completion-tokens",
        "200",
        "--model",
        "m",
        ok=False,
    )
    assert (
        result.returncode == 4
        and "token budget exceeded: 0 used + 1100 requested > 1000 budget" in result.stderr
    )


def test_bad_database_url_exit_2() -> None:
    result = run("--db", "mysql://nobody@localhost/x", "sessions", "list", ok=False)
    assert result.returncode == 2 and "mysql is not supported" in result.stderr


def test_unreachable_database_exit_1() -> None:
    result = run(
        "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "sessions", "list", ok=False
    )
    assert result.returncode == 1 and "cannot migrate the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_exit_2() -> None:
    result = run("sessions", "list", env={"REHEARSE_DEFAULT_TOKEN_BUDGET": "lots"}, ok=False)
    assert result.returncode == 2 and "REHEARSE_DEFAULT_TOKEN_BUDGET='lots'" in result.stderr


def test_db_upgrade(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    first = run_json("--db", db, "db", "upgrade")
    assert (first["before"], first["after"]) == (None, HEAD_REVISION)
    assert (
        run("--db", db, "db", "upgrade").stdout.strip()
        == f"database is up to date (revision {HEAD_REVISION})"
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["report", "x", "--format", "pdf"], "error: --format: 'pdf' is not one of md, json, html"),
        (
            ["sessions", "list", "--limit", "lots"],
            "error: --limit: 'lots': input should be a valid integer, unable to parse string as "
            "an integer",
        ),
        (
            ["serve", "--port", "0"],
            "error: --port: '0': input should be greater than or equal to 1",
        ),
        (
            ["sessions", "show"],
            "error: Missing argument 'ID'. (see 'rehearse sessions show --help')",
        ),
        (["sessions", "bogus"], "error: No such command 'bogus'. (see 'rehearse sessions --help')"),
        (["--bogus"], "error: No such option: --bogus (see 'rehearse --help')"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(args: list[str], line: str) -> None:
    result = run(*args, ok=False)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", line + "\n")


def test_no_command_prints_the_help() -> None:
    result = run(ok=False)
    assert result.returncode == 2 and result.stdout.count("Usage: rehearse") == 1
    assert "sessions" in result.stdout and result.stderr == ""
