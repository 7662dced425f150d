"""A CLI that starts at once (issue 8 item 5): lazy package root, lazy commands, lazy stemmer.

What a module imports is a property of a fresh interpreter, so those checks run one
(``python -c``); the rest runs in-process. Timings live in ``benchmarks/bench_cli.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.main import get_command

import rehearse
from command_line import run
from rehearse.cli import COMMANDS, app


def modules_after(code: str, *, whole: bool = False) -> set[str]:
    """The top-level packages and rehearse modules loaded after running ``code`` afresh.

    ``whole`` keeps every module's whole name (``sqlalchemy.dialects.postgresql``).
    """
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = json.loads(result.stdout.splitlines()[-1])
    return {m if whole or m.startswith("rehearse") else m.split(".")[0] for m in loaded}


HEAVY = {"sqlalchemy", "pydantic", "pydantic_settings", "rich", "snowballstemmer", "yaml"}


def test_importing_the_package_and_the_cli_loads_nothing_heavy() -> None:
    loaded = modules_after("import rehearse, rehearse.cli")
    assert not loaded & HEAVY
    assert not {m for m in loaded if m.startswith(("rehearse.service", "rehearse.storage"))}
    commands = {f"rehearse.cli.{spec.module}" for spec in COMMANDS.values()}
    assert not loaded & commands


def test_version_loads_no_command_and_no_service() -> None:
    loaded = modules_after(
        "import sys\nfrom rehearse.cli import main\nsys.argv = ['rehearse', '--version']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert not loaded & HEAVY
    assert not {m for m in loaded if m.startswith("rehearse.cli.") and m != "rehearse.cli.context"}


#: What reading one stored session never needs (issue 8 item 5): the web app, the AI parts,
#: the question bank, the scorer, voice, progress, Alembic (the schema version is one
#: query), pydantic-settings (gone) and the e-mail checker (loaded by the first address).
NOT_FOR_SHOW = {
    "fastapi",
    "starlette",
    "alembic",
    "pydantic_ai",
    "pydantic_settings",
    "yaml",
    "rapidfuzz",
    "snowballstemmer",
    "email_validator",
    "av",
    "rehearse.ai.offline",
    "rehearse.bank",
    "rehearse.scoring",
    "rehearse.service.progress",
    "rehearse.service.voice",
    "rehearse.service.accounts",
    "rehearse.web",
    # loaded by the writes, the retry and the metadata lock that use them
    "rehearse.storage.projections",
    "rehearse.domain.progress",
    "rehearse.domain.realtime",
    "rehearse.domain.voice",
    "tenacity",
    "filelock",
}


def test_sessions_show_loads_only_what_reading_a_session_needs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'show.db'}"
    session = json.loads(
        run("--db", url, "sessions", "create", "--candidate-name", "Ada", "--json").stdout
    )
    whole = modules_after(
        "import sys\nfrom rehearse.cli import main\n"
        f"sys.argv = ['rehearse', '--db', {url!r}, 'sessions', 'show', {session['id']!r}]\n"
        "try:\n    main()\nexcept SystemExit as stop:\n    assert not stop.code, stop.code",
        whole=True,
    )
    loaded = {m if m.startswith("rehearse") else m.split(".")[0] for m in whole}
    assert {"sqlalchemy", "rehearse.storage.sql", "rehearse.service.composition"} <= loaded
    assert not loaded & NOT_FOR_SHOW, sorted(loaded & NOT_FOR_SHOW)
    # a SQLite process needs no PostgreSQL dialect
    assert "sqlalchemy.dialects.postgresql" not in whole


def test_the_service_does_not_load_the_stemmer_until_an_answer_is_scored() -> None:
    loaded = modules_after("import rehearse.service.sessions")
    assert "snowballstemmer" not in loaded
    assert "rehearse.ai.estimates" not in loaded  # rehearse.ai's names load on first use
    assert "snowballstemmer" in modules_after(
        "from rehearse.scoring.text import stem\nassert stem('running') == 'run'"
    )


def test_the_public_names_resolve_on_first_use() -> None:
    from rehearse import SessionConfig, SessionManager

    assert SessionManager.__name__ == "SessionManager"
    assert SessionConfig.__module__ == "rehearse.domain.config"
    for name in rehearse.__all__:
        assert getattr(rehearse, name) is not None, name
    assert set(dir(rehearse)) >= set(rehearse.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = rehearse.Nope


def test_every_lazy_command_loads_and_help_lists_them_all() -> None:
    root = get_command(app)
    assert isinstance(root, TyperGroup)
    context = typer.Context(root)
    assert root.list_commands(context) == list(COMMANDS)
    for name in COMMANDS:
        command = root.get_command(context, name)
        assert command is not None and command.name == name
        assert command.help, f"rehearse {name} has no help text"
    assert root.get_command(context, "nope") is None
    listed = run("--help").stdout
    for name in COMMANDS:
        assert name in listed
