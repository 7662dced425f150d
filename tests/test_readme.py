"""The README is the front door: its quick start runs, and it documents every setting and command."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from rehearse.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(name: str) -> str:
    match = re.search(rf"<!-- {name} -->(.*?)<!-- /{name} -->", README, re.S)
    assert match, f"README has no {name} section"
    return match.group(1)


def quick_start() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", section("quick-start"), re.S)
    assert block
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_two_commands_and_the_second_is_the_ci_test_command() -> None:
    commands = quick_start()
    assert len(commands) == 2
    assert commands[1] == "uv run pytest"
    assert "uv run pytest" in (ROOT / ".ci" / "run").read_text()


def test_quick_start_runs_on_the_embedded_defaults(tmp_path: Path) -> None:
    first = shlex.split(quick_start()[0])
    assert first[:2] == ["uv", "run"]
    # run it as `uv run` would, on a fresh data directory with no configuration; the
    # candidate answers the first question, then ends the interview
    env = {k: v for k, v in os.environ.items() if not k.startswith("REHEARSE_")}
    env |= {"REHEARSE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "rehearse", *first[3:]],
        input="I would start by clarifying the requirements and constraints.\n\n/end\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Question 1 of" in result.stdout
    assert "Interview report:" in result.stdout and "Overall score:" in result.stdout
    assert (tmp_path / "data" / "rehearse.db").exists()


def test_every_setting_is_documented() -> None:
    table = section("settings")
    for name in Settings.model_fields:
        assert f"`REHEARSE_{name.upper()}`" in table, (
            f"REHEARSE_{name.upper()} missing from the README"
        )


def test_every_cli_command_is_documented() -> None:
    from typer.main import get_command

    from rehearse.cli import app

    table = section("cli")
    root = get_command(app)
    for group_name, group in root.commands.items():  # type: ignore[attr-defined]
        for command_name in getattr(group, "commands", {}):
            pattern = rf"`rehearse {group_name} [^`]*\b{re.escape(command_name)}\b[^`]*`"
            assert re.search(pattern, table), (
                f"rehearse {group_name} {command_name} missing from the README"
            )
