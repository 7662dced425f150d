"""The ``rehearse`` command line (Typer + Rich): thin, it parses, calls the service, renders.

Exit codes (issue 2, issue 11): 0 ok, 2 invalid input (a usage error included), 3 session
not found, 4 action not allowed in the session's state (or a budget exceeded), 5 the port
``rehearse serve`` should listen on is in use, 1 anything else. Expected errors print one
line on stderr and never a traceback.

Start-up is kept short (issue 8 item 5): each command's module is imported only when that
command runs (:class:`LazyGroup`), so ``rehearse --version`` loads neither the service nor
SQLAlchemy nor pydantic.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import typer

# Typer (0.29+) carries its own copy of click; these are the types its parser raises.
from typer._click import core as click
from typer._click import exceptions as click_exceptions
from typer.core import TyperGroup

from rehearse.cli.context import AppState
from rehearse.errors import RehearseError, exit_code


@dataclass(frozen=True)
class LazyCommand:
    """Where a top-level command lives: ``rehearse.cli.<module>.<attribute>``.

    The attribute is either a Typer app (a command group) or a command function.
    """

    module: str
    attribute: str
    help: str | None = None


#: The top-level commands in the order ``rehearse --help`` lists them.
COMMANDS: dict[str, LazyCommand] = {
    "serve": LazyCommand("serve", "serve"),
    "interview": LazyCommand("interview", "interview"),
    "report": LazyCommand("report", "report"),
    "sessions": LazyCommand("sessions", "app"),
    "db": LazyCommand("db", "app"),
    "questions": LazyCommand("questions", "app", "List, validate and import interview questions."),
    "scoring": LazyCommand("scoring", "app", "Measure the offline answer evaluator."),
    "users": LazyCommand("users", "app", "Manage user accounts and their API tokens."),
    "providers": LazyCommand("providers", "app"),
    "progress": LazyCommand("progress", "app"),
    "voice": LazyCommand("voice", "app"),
    "export": LazyCommand("userdata", "export"),
    "import": LazyCommand("userdata", "import_"),
}


def load_command(name: str, spec: LazyCommand) -> click.Command:
    """Import a command's module and build its click command, named ``name``."""
    target = getattr(importlib.import_module(f"rehearse.cli.{spec.module}"), spec.attribute)
    command: click.Command
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)  # a group even with one command (db)
    else:  # a lone command function: a one-command Typer app *is* that command
        single = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    if spec.help is not None:
        command.help = spec.help
    return command


def _choices_of(param: click.Parameter) -> list[str] | None:
    descriptor = getattr(param, "type_descriptor", None)
    choices = getattr(descriptor, "choices", None) if getattr(descriptor, "is_choice", 0) else None
    return [str(getattr(c, "value", c)) for c in choices] if choices else None


def _input_of(error: BaseException) -> Any:
    """The value a parameter refused, from the validation error Typer's coercion chained."""
    cause = error.__cause__ or error.__context__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        found = errors()
        if found and isinstance(found[0], dict):
            return found[0].get("input")
    return None


def usage_error_line(error: click_exceptions.ClickException) -> str:
    """One line for a usage error: ``error: --format: 'pdf' is not one of md, json, html``.

    Bad values name the option (or argument), the value and, for a choice, what is
    allowed; other usage errors keep click's message and point at ``--help``.
    """
    if (
        isinstance(error, click_exceptions.BadParameter)
        and not isinstance(error, click_exceptions.MissingParameter)
        and error.param is not None
    ):
        param = error.param
        if param.param_type_name == "argument":
            name = (param.name or "value").upper()
        else:
            name = next((o for o in param.opts if o.startswith("--")), param.opts[0])
        message = error.message.strip().removeprefix("Value error, ").rstrip(".")
        choices = _choices_of(param)
        head = re.match(r"(.*?) is not (one of|a valid)", message)
        if choices and head:
            return f"error: {name}: {head.group(1)} is not one of {', '.join(choices)}"
        value = _input_of(error)
        if value is not None and repr(value) not in message:
            message = f"{value!r}: {message[:1].lower()}{message[1:]}"
        return f"error: {name}: {message}"
    message = " ".join(error.format_message().split())
    ctx = getattr(error, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return f"error: {message}{hint}"


class LazyGroup(TyperGroup):
    """The root group: commands imported on first use, every error as one line on stderr."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The command names, without importing any command."""
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import ``cmd_name``'s module now; None for an unknown name."""
        spec = COMMANDS.get(cmd_name)
        return None if spec is None else load_command(cmd_name, spec)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, turning expected errors into one line and their exit code."""
        try:
            return super().invoke(ctx)
        except RehearseError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(exit_code(error)) from None
        except Exception as error:
            if type(error).__module__.startswith("pydantic"):  # no pydantic import at start-up
                from pydantic import ValidationError

                if isinstance(error, ValidationError):  # settings from REHEARSE_* variables
                    first = error.errors()[0]
                    field = "REHEARSE_" + ".".join(str(p) for p in first["loc"]).upper()
                    typer.echo(f"error: {field}={first.get('input')!r}: {first['msg']}", err=True)
                    raise typer.Exit(2) from None
            raise

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Parse and run; usage errors become one line on stderr with exit code 2."""
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_exceptions.NoArgsIsHelpError as error:
            # Typer's Rich help prints itself while the error is made; plain help is the text
            if error.format_message().strip():
                typer.echo(error.format_message())
            code = error.exit_code
        except click_exceptions.ClickException as error:
            typer.echo(usage_error_line(error), err=True)
            code = error.exit_code
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            code = 1
        else:
            code = result if isinstance(result, int) else 0
        if not standalone_mode:
            return code
        sys.exit(code)


app = typer.Typer(
    name="rehearse",
    cls=LazyGroup,
    help="rehearse: AI mock interviews that run on your own machine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"rehearse {version('rehearse')}")
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
    state = AppState(database_url=database_url)
    ctx.obj = state
    ctx.call_on_close(state.close)


def main() -> None:
    """Console-script entry point (``rehearse``, ``python -m rehearse``)."""
    app()
