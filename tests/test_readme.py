"""The README is the front door: its quick start runs, and it documents every setting and command."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import urllib.request
from pathlib import Path

import typer
from typer.core import TyperGroup

from command_line import free_port, wait_until_ready
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
    assert first[:3] == ["uv", "run", "rehearse"]
    # run it as `uv run` would, on a fresh data directory with no configuration
    env = {k: v for k, v in os.environ.items() if not k.startswith("REHEARSE_")}
    env |= {"REHEARSE_DATA_DIR": str(tmp_path / "data")}
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "rehearse", *first[3:], "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_ready(port, server)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
            assert "rehearse" in page.read().decode()
    finally:
        server.terminate()
        server.wait(timeout=30)
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
    context = typer.Context(root)
    assert isinstance(root, TyperGroup)
    for group_name in root.list_commands(context):  # imports each command (lazy group)
        group = root.get_command(context, group_name)
        for command_name in getattr(group, "commands", {}):
            pattern = rf"`rehearse {group_name} [^`]*\b{re.escape(command_name)}\b[^`]*`"
            assert re.search(pattern, table), (
                f"rehearse {group_name} {command_name} missing from the README"
            )
