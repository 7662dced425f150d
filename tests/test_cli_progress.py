"""``rehearse progress`` in-process: tables, --json models, --as remembered, errors in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from progress_history import ScriptedEvaluator, run_session
from rehearse.cli import app, main
from rehearse.clock import FakeClock
from rehearse.service.sessions import SessionManager
from rehearse.storage import open_store

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, list[str]]:
    """A SQLite file with three sessions of ada and one of bob."""
    url = f"sqlite:///{tmp_path / 'progress.db'}"
    store = open_store(url)
    clock = FakeClock()
    manager = SessionManager(store, clock, evaluator=ScriptedEvaluator())
    ids = []
    for seed, scores in enumerate([[40, 50], [60, 70], [80, 90]]):
        ids.append(run_session(manager, clock, [*scores], seed=seed))
        clock.advance(24 * 3600)
    ids.append(run_session(manager, clock, [30], email="bob@example.com", seed=9))
    store.close()
    return url, ids


def invoke(url: str, *args: str) -> str:
    result = runner.invoke(app, ["--db", url, "progress", *args], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    return result.output


def test_summary_table_with_a_sparkline(db: tuple[str, list[str]]) -> None:
    url, _ = db
    out = invoke(url, "ada@example.com")
    assert "Progress of ada@example.com" in out
    assert "3 (3 completed" in out and "points/week" in out
    assert "▃" in out or "▄" in out  # the trend 45, 65, 85


def test_json_prints_the_service_models(db: tuple[str, list[str]]) -> None:
    url, ids = db
    data = json.loads(invoke(url, "ada@example.com", "--period", "all", "--json"))
    assert data["sessions_completed"] == 3 and data["period"] == "all"
    assert data["progress"]["total_sessions"] == 3
    assert data["progress"]["improvement_rate"] > 0
    comparison = json.loads(invoke(url, "compare", ids[0], ids[2], "--json"))
    assert comparison["overall_delta"] == 40
    path = json.loads(invoke(url, "path", "ada@example.com", "--json"))
    assert path["focus_areas"] is not None and len(path["next_practice_set"]) == 6
    board = json.loads(invoke(url, "milestones", "ada@example.com", "--json"))
    assert {m["id"]: m["achieved"] for m in board}["first_session"] is True
    cohort = invoke(url, "cohort", "--csv")
    assert cohort.splitlines()[0].startswith("user,name,sessions")
    assert {line.split(",")[0] for line in cohort.splitlines()[1:]} == {
        "ada@example.com",
        "bob@example.com",
    }


def test_as_is_remembered(db: tuple[str, list[str]], tmp_path: Path) -> None:
    url, _ = db
    everyone = json.loads(invoke(url, "--json"))
    assert everyone["progress"]["total_sessions"] == 4 and everyone["user"] == "*"
    remembered = json.loads(invoke(url, "--as", "bob@example.com", "--json"))
    assert remembered["progress"]["total_sessions"] == 1
    assert json.loads(invoke(url, "me", "--json"))["user"] == "bob@example.com"
    settings = json.loads((tmp_path / "data" / "progress.json").read_text())
    assert settings["as_user"] == "bob@example.com"


def test_bad_input_is_one_line_on_stderr(
    db: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = db
    for args, message in (
        (["--period", "2w"], "error: period='2w': not a period (allowed: 7d, 30d, 90d, all)"),
        (["--time-zone", "Mars/Base"], "error: time_zone='Mars/Base'"),
        (["compare", "nope", "nada"], "error: "),
    ):
        monkeypatch.setattr("sys.argv", ["rehearse", "--db", url, "progress", *args])
        with pytest.raises(SystemExit) as exit_info:
            main()
        assert exit_info.value.code != 0
        err = capsys.readouterr().err
        assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err
