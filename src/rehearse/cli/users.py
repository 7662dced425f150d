"""``rehearse users``: accounts for a server install, and their API tokens.

Passwords are read from stdin (``--password-stdin``), never from an option, so they
stay out of shell history and process lists. A new API token is printed once.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Sequence

import typer
from rich.markup import escape
from rich.table import Table

from rehearse.cli.context import services
from rehearse.cli.render import console, emit_json
from rehearse.domain.accounts import ApiToken, User
from rehearse.errors import ConfigurationError
from rehearse.service.accounts import AccountService

app = typer.Typer(help="Manage user accounts and their API tokens.", no_args_is_help=True)
token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")

JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
ONCE_WARNING = "warning: this token is shown only now and cannot be shown again; store it safely"


def _service(ctx: typer.Context) -> AccountService:
    return services(ctx).accounts


def _read_password() -> str:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
    else:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    if not password:
        raise ConfigurationError("password: --password-stdin was given but stdin was empty")
    return password


def _when(value: object) -> str:
    return "-" if value is None else str(value)[:16].replace("T", " ")


def _user_table(users: Sequence[User]) -> None:
    table = Table(title=f"{len(users)} users")
    for column in ("email", "name", "role", "created", "disabled"):
        table.add_column(column)
    table.add_column("id", no_wrap=True, min_width=36)  # whole, to copy
    for user in users:
        table.add_row(
            escape(user.email),
            escape(user.name),
            user.role.value,
            _when(user.created_at),
            "yes" if user.disabled else "",
            user.id,
        )
    console.print(table)


def _token_table(tokens: Sequence[ApiToken]) -> None:
    table = Table(title=f"{len(tokens)} tokens")
    table.add_column("id", no_wrap=True, min_width=36)  # whole: `token revoke` takes it
    for column in ("name", "created", "expires", "last used", "revoked"):
        table.add_column(column)
    for token in tokens:
        table.add_row(
            token.id,
            escape(token.name),
            _when(token.created_at),
            _when(token.expires_at) if token.expires_at else "never",
            _when(token.last_used_at),
            _when(token.revoked_at),
        )
    console.print(table)


@app.command()
def create(
    ctx: typer.Context,
    email: str = typer.Option(..., "--email", help="E-mail address they sign in with."),
    name: str = typer.Option(..., "--name", help="Display name."),
    role: str = typer.Option(..., "--role", help="candidate, interviewer or admin."),
    password_stdin: bool = typer.Option(
        False,
        "--password-stdin",
        help="Read a password (12+ characters) from stdin; without it the user has no "
        "password and uses API tokens.",
    ),
    as_json: bool = JSON,
) -> None:
    """Create a user."""
    password = _read_password() if password_stdin else None
    user = _service(ctx).create_user(email, name, role, password)
    if as_json:
        emit_json(user.model_dump(mode="json"))
    else:
        how = "password" if password is not None else "API tokens only"
        console.print(f"created {user.role.value} {escape(user.email)} ({how}), id {user.id}")


@app.command("list")
def list_users(ctx: typer.Context, as_json: bool = JSON) -> None:
    """List users, oldest first."""
    users = _service(ctx).list_users()
    if as_json:
        emit_json([user.model_dump(mode="json") for user in users])
    else:
        _user_table(users)


@app.command()
def disable(
    ctx: typer.Context,
    email: str = typer.Argument(..., help="The user's e-mail address."),
    as_json: bool = JSON,
) -> None:
    """Disable a user: their password, tokens and browser sessions stop working."""
    user = _service(ctx).disable_user(email)
    if as_json:
        emit_json(user.model_dump(mode="json"))
    else:
        console.print(f"disabled {escape(user.email)}")


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    email: str = typer.Option(..., "--email", help="The owner's e-mail address."),
    name: str = typer.Option("default", "--name", help="A label for the token."),
    days: int | None = typer.Option(
        None, "--days", help="Expire after this many days, 1-3650 (default: never)."
    ),
    as_json: bool = JSON,
) -> None:
    """Create an API token and print it once."""
    token, record = _service(ctx).create_token(email, name, days)
    typer.echo(ONCE_WARNING, err=True)
    if as_json:
        emit_json({"token": token, **record.model_dump(mode="json")})
    else:
        expires = _when(record.expires_at) if record.expires_at else "never"
        typer.echo(f"API token {record.name!r} (id {record.id}), expires {expires}:")
        typer.echo(token)


@token_app.command("list")
def token_list(
    ctx: typer.Context,
    email: str = typer.Option(..., "--email", help="The owner's e-mail address."),
    as_json: bool = JSON,
) -> None:
    """List a user's tokens (ids and dates; never the token)."""
    tokens = _service(ctx).list_tokens(email)
    if as_json:
        emit_json([token.model_dump(mode="json") for token in tokens])
    else:
        _token_table(tokens)


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context,
    token_id: str = typer.Argument(..., metavar="ID", help="The token's id."),
    as_json: bool = JSON,
) -> None:
    """Revoke an API token."""
    record = _service(ctx).revoke_token(token_id)
    if as_json:
        emit_json(record.model_dump(mode="json"))
    else:
        console.print(f"revoked token {escape(repr(record.name))} (id {record.id})")


def _delete_command() -> None:
    """``rehearse users delete``: a user's right to their data (issue 12, cli/userdata.py)."""
    from rehearse.cli import userdata

    app.command("delete")(userdata.delete)


_delete_command()
