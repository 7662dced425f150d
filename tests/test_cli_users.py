"""``rehearse users`` (in-process): passwords from stdin, tokens shown once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from command_line import run
from rehearse.clock import SystemClock
from rehearse.errors import AccessDeniedError
from rehearse.service.accounts import AccountService
from rehearse.storage import open_store
from rehearse.storage.accounts import AccountStore

PASSWORD = "correct horse battery staple"


@pytest.fixture
def db(sqlite_url: str) -> str:
    return sqlite_url


@pytest.fixture
def accounts(db: str) -> Iterator[AccountService]:
    """The service on the CLI's database, to check what the commands stored."""
    store = open_store(db)
    yield AccountService(AccountStore(store.engine), SystemClock())
    store.close()


def users(db: str, *args: str, stdin: str = "") -> Any:
    return json.loads(run("--db", db, "users", *args, "--json", stdin=stdin).stdout)


def test_create_with_password_from_stdin_and_list(db: str, accounts: AccountService) -> None:
    created = users(
        db,
        "create",
        "--email",
        "Ada@Example.com",
        "--name",
        "Ada",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert {k: created[k] for k in ("email", "name", "role", "disabled")} == {
        "email": "ada@example.com",
        "name": "Ada",
        "role": "admin",
        "disabled": False,
    }
    assert accounts.authenticate("ada@example.com", PASSWORD).id == created["id"]
    out = run(
        "--db",
        db,
        "users",
        "create",
        "--email",
        "bo@example.com",
        "--name",
        "Bo",
        "--role",
        "candidate",
    ).stdout
    assert "created candidate bo@example.com (API tokens only)" in out
    with pytest.raises(AccessDeniedError):
        accounts.authenticate("bo@example.com", "")
    listed = users(db, "list")
    assert [u["email"] for u in listed] == ["ada@example.com", "bo@example.com"]
    assert all("password_hash" not in u for u in listed)
    table = run("--db", db, "users", "list").stdout
    assert "ada@example.com" in table and "candidate" in table and PASSWORD not in table


def test_token_is_printed_once(db: str, accounts: AccountService) -> None:
    accounts.create_user("ada@example.com", "Ada", "interviewer", None)
    created = run(
        "--db",
        db,
        "users",
        "token",
        "create",
        "--email",
        "ada@example.com",
        "--name",
        "ci",
        "--days",
        "30",
    )
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("rh_") and created.stdout.count(token) == 1
    assert "shown only now" in created.stderr and token not in created.stderr
    assert accounts.principal_for_token(token).email == "ada@example.com"
    listed = run("--db", db, "users", "token", "list", "--email", "ada@example.com")
    listed_json = users(db, "token", "list", "--email", "ada@example.com")
    assert token not in listed.stdout and token not in json.dumps(listed_json)
    assert "ci" in listed.stdout
    assert [t["name"] for t in listed_json] == ["ci"] and listed_json[0]["expires_at"]

    as_json = users(db, "token", "create", "--email", "ada@example.com")
    assert as_json["token"].startswith("rh_") and as_json["name"] == "default"
    assert as_json["expires_at"] is None


def test_revoke_and_disable(db: str, accounts: AccountService) -> None:
    accounts.create_user("ada@example.com", "Ada", "interviewer", PASSWORD)
    created = users(db, "token", "create", "--email", "ada@example.com")
    revoked = run("--db", db, "users", "token", "revoke", created["id"]).stdout
    assert f"revoked token 'default' (id {created['id']})" in revoked
    with pytest.raises(AccessDeniedError):
        accounts.principal_for_token(created["token"])
    assert users(db, "token", "list", "--email", "ada@example.com")[0]["revoked_at"]

    assert users(db, "disable", "ADA@example.com")["disabled"] is True
    with pytest.raises(AccessDeniedError, match="invalid e-mail or password"):
        accounts.authenticate("ada@example.com", PASSWORD)


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["create", "--email", "nope", "--name", "A", "--role", "admin"],
            "",
            "error: email='nope': must be a valid e-mail address",
        ),
        (
            ["create", "--email", "a@example.com", "--name", "A", "--role", "boss"],
            "",
            "error: role='boss': must be one of candidate, interviewer, admin",
        ),
        (
            [
                "create",
                "--email",
                "a@example.com",
                "--name",
                "A",
                "--role",
                "admin",
                "--password-stdin",
            ],
            "short-pw\n",
            "error: password: must be 12-1024 characters (got 8)",
        ),
        (
            [
                "create",
                "--email",
                "a@example.com",
                "--name",
                "A",
                "--role",
                "admin",
                "--password-stdin",
            ],
            "",
            "error: password: --password-stdin was given but stdin was empty",
        ),
        (
            ["create", "--email", "taken@example.com", "--name", "A", "--role", "admin"],
            "",
            "error: email='taken@example.com': a user with this e-mail already exists",
        ),
        (
            ["disable", "ghost@example.com"],
            "",
            "error: email='ghost@example.com': no such user",
        ),
        (
            ["token", "create", "--email", "ghost@example.com"],
            "",
            "error: email='ghost@example.com': no such user",
        ),
        (
            ["token", "create", "--email", "taken@example.com", "--days", "0"],
            "",
            "error: ttl_days=0: must be between 1 and 3650 days",
        ),
        (["token", "revoke", "nope"], "", "error: token_id='nope': no such API token"),
    ],
)
def test_errors_are_one_line_exit_2_or_3_when_not_found(
    db: str, accounts: AccountService, args: list[str], stdin: str, message: str
) -> None:
    accounts.create_user("taken@example.com", "Taken", "candidate", None)
    result = run("--db", db, "users", *args, stdin=stdin, ok=False)
    # invalid input exits 2; a user or token that does not exist is "not found", 3
    assert result.returncode == (3 if "no such" in message else 2), result.stderr
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "short-pw" not in result.stderr
