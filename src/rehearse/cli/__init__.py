"""The ``rehearse`` command line (Typer + Rich): thin, it parses, calls the service, renders.

Exit codes (issue 2): 0 ok, 2 invalid input, 3 session not found, 4 action not allowed
in the session's state (or a budget exceeded), 1 anything else. Expected errors print one
line on stderr and never a traceback.
"""

from __future__ import annotations

import sys
from importlib.metadata import version as _dist_version

import typer
from pydantic import ValidationError

from rehearse.cli import (
    db,
    interview,
    providers,
    questions,
    report,
    scoring,
    serve,
    sessions,
    spoken,
    users,
    voice,
)
from rehearse.cli.context import AppState
from rehearse.errors import RehearseError, exit_code

app = typer.Typer(
    name="rehearse",
    help="rehearse: AI mock interviews that run on your own machine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("serve")(serve.serve)
app.command("interview")(interview.interview)
app.command("report")(report.report)
app.add_typer(sessions.app, name="sessions")
sessions.app.command("add-audio")(spoken.add_audio)
app.add_typer(db.app, name="db")
app.add_typer(
    questions.app, name="questions", help="List, validate and import interview questions."
)
app.add_typer(scoring.app, name="scoring", help="Measure the offline answer evaluator.")
app.add_typer(users.app, name="users", help="Manage user accounts and their API tokens.")
app.add_typer(providers.app, name="providers")
app.add_typer(voice.app, name="voice")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rehearse {_dist_version('rehearse')}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    database_url: str | None = typer.Option(
        None,
        "--db",
        help="Database URL (default: REHEARSE_DATABASE_URL, else SQLite in the data directory).",
        metavar="URL",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """rehearse: AI mock interviews that run on your own machine."""
    ctx.obj = AppState(database_url=database_url)


def main() -> None:
    """Console-script entry point: run the app, turning expected errors into one line."""
    try:
        app()
    except RehearseError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(exit_code(error))
    except ValidationError as error:  # settings from REHEARSE_* variables
        first = error.errors()[0]
        field = "REHEARSE_" + ".".join(str(p) for p in first["loc"]).upper()
        typer.echo(f"error: {field}={first.get('input')!r}: {first['msg']}", err=True)
        sys.exit(2)
