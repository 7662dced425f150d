"""Accounts on every backend: passwords, API tokens, candidate links, browser sessions."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from rehearse.clock import FakeClock
from rehearse.domain.access import Principal, PrincipalRole
from rehearse.domain.accounts import User, principal_of
from rehearse.errors import (
    AccessDeniedError,
    ConfigurationError,
    SessionNotFoundError,
    UserNotFoundError,
)
from rehearse.service.accounts import (
    AccountService,
    hash_password,
    hash_token,
    verify_password,
)
from rehearse.service.sessions import SessionManager
from rehearse.storage import SQLStore
from rehearse.storage.accounts import AccountStore
from rehearse.storage.schema import api_tokens, session_links, users, web_sessions

PASSWORD = "correct horse battery staple"
INTERVIEWER = Principal(id="iv-1", role=PrincipalRole.INTERVIEWER)


@pytest.fixture
def manager(store: SQLStore, clock: FakeClock) -> SessionManager:
    """Sessions on the same backend as the accounts (links point at session rows)."""
    return SessionManager(store, clock)


@pytest.fixture
def accounts(store: SQLStore, clock: FakeClock) -> AccountService:
    return AccountService(AccountStore(store.engine), clock)


@pytest.fixture
def ada(accounts: AccountService) -> User:
    return accounts.create_user("Ada@Example.com", "Ada Lovelace", "interviewer", PASSWORD)


def all_stored_text(store: SQLStore) -> str:
    """Every value of every account table, as one string."""
    with store.engine.connect() as connection:
        rows: list[Any] = []
        for table in (users, api_tokens, session_links, web_sessions):
            rows += [tuple(row) for row in connection.execute(select(table))]
    return repr(rows)


# -- passwords ---------------------------------------------------------------------


def test_password_hashes_are_salted_and_verify() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second
    scheme, n, r, p, salt, key = first.split("$")
    assert (scheme, n, r, p, len(salt), len(key)) == ("scrypt", "16384", "8", "1", 32, 64)
    assert verify_password(PASSWORD, first) and verify_password(PASSWORD, second)
    assert not verify_password(PASSWORD + "!", first)
    assert not verify_password(PASSWORD, "md5$abc")
    assert not verify_password(PASSWORD, "scrypt$x$8$1$00$00")


def test_create_user_and_authenticate(
    accounts: AccountService, ada: User, clock: FakeClock
) -> None:
    assert (ada.email, ada.name, ada.role, ada.created_at, ada.disabled) == (
        "ada@example.com",
        "Ada Lovelace",
        PrincipalRole.INTERVIEWER,
        clock.now(),
        False,
    )
    principal = accounts.authenticate(" ADA@example.COM ", PASSWORD)
    assert principal == Principal(id=ada.id, role=PrincipalRole.INTERVIEWER, email=ada.email)
    assert principal == principal_of(ada)
    assert accounts.list_users() == [ada]
    assert accounts.get_user(ada.id) == ada


def test_every_login_failure_is_the_same_error(accounts: AccountService, ada: User) -> None:
    accounts.create_user("tok@example.com", "Token Only", "candidate", None)
    attempts = [
        ("ada@example.com", "wrong password!!"),
        ("nobody@example.com", PASSWORD),
        ("tok@example.com", ""),
        ("tok@example.com", PASSWORD),
    ]
    messages = set()
    for email, password in attempts:
        with pytest.raises(AccessDeniedError) as caught:
            accounts.authenticate(email, password)
        messages.add(str(caught.value))
    accounts.disable_user("ada@example.com")
    with pytest.raises(AccessDeniedError) as caught:
        accounts.authenticate("ada@example.com", PASSWORD)
    messages.add(str(caught.value))
    assert messages == {"invalid e-mail or password"}


def test_disable_user(accounts: AccountService, ada: User) -> None:
    disabled = accounts.disable_user("ADA@example.com")
    assert disabled.disabled and disabled.id == ada.id
    assert accounts.disable_user("ada@example.com").disabled  # idempotent
    assert accounts.list_users()[0].disabled
    with pytest.raises(
        UserNotFoundError, match=re.escape("email='ghost@example.com': no such user")
    ):
        accounts.disable_user("ghost@example.com")


def test_duplicate_email_is_refused_whatever_its_case(accounts: AccountService, ada: User) -> None:
    with pytest.raises(
        ConfigurationError,
        match=re.escape("email='ada@example.com': a user with this e-mail already exists"),
    ):
        accounts.create_user("ADA@EXAMPLE.COM", "Other Ada", "candidate", None)
    assert len(accounts.list_users()) == 1


def test_duplicate_email_race_is_caught_by_the_unique_constraint(
    store: SQLStore, accounts: AccountService, ada: User, clock: FakeClock
) -> None:
    twin = User(
        id="other-id",
        email=ada.email,
        name="Twin",
        role=PrincipalRole.ADMIN,
        created_at=clock.now(),
    )
    with pytest.raises(ConfigurationError, match="already exists"):
        AccountStore(store.engine).add_user(twin, None)


@pytest.mark.parametrize(
    ("email", "name", "role", "password", "message"),
    [
        ("not-an-address", "A", "admin", None, "email='not-an-address': must be a valid e-mail"),
        ("a@example.com", "  ", "admin", None, "name='  ': must not be blank"),
        ("a@example.com", "x" * 201, "admin", None, "must be at most 200 characters (got 201)"),
        ("a@example.com", "A", "boss", None, "role='boss': must be one of candidate, interviewer"),
        ("a@example.com", "A", "admin", "short-pw", "password: must be 12-1024 characters (got 8)"),
    ],
)
def test_validation_messages_name_the_field(
    accounts: AccountService,
    email: str,
    name: str,
    role: str,
    password: str | None,
    message: str,
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        accounts.create_user(email, name, role, password)
    assert message in str(caught.value)
    if password is not None:
        assert password not in str(caught.value) and password not in repr(caught.value.errors)
    assert accounts.list_users() == []


def test_all_invalid_fields_are_reported_at_once(accounts: AccountService) -> None:
    with pytest.raises(ConfigurationError) as caught:
        accounts.create_user("bad", "", "boss", "tiny")
    assert [e["field"] for e in caught.value.errors] == ["email", "name", "role", "password"]


# -- API tokens ----------------------------------------------------------------------


def test_token_create_verify_and_last_use(
    accounts: AccountService, ada: User, clock: FakeClock
) -> None:
    token, record = accounts.create_token("ada@example.com", "ci", ttl_days=30)
    assert token.startswith("rh_") and len(token) == 46
    assert record.expires_at == clock.now() + timedelta(days=30)
    assert record.last_used_at is None
    assert accounts.principal_for_token(token) == principal_of(ada)
    first_use = clock.now()
    assert accounts.list_tokens("ada@example.com")[0].last_used_at == first_use
    clock.advance(30)  # within the minute: not written again
    accounts.principal_for_token(token)
    assert accounts.list_tokens("ada@example.com")[0].last_used_at == first_use
    clock.advance(31)
    accounts.principal_for_token(token)
    assert accounts.list_tokens("ada@example.com")[0].last_used_at == clock.now()


def test_token_expires(accounts: AccountService, ada: User, clock: FakeClock) -> None:
    token, _ = accounts.create_token("ada@example.com", "short", ttl_days=1)
    forever, record = accounts.create_token("ada@example.com", "forever", ttl_days=None)
    assert record.expires_at is None
    clock.advance(24 * 3600 - 1)
    accounts.principal_for_token(token)
    clock.advance(1)
    with pytest.raises(AccessDeniedError, match="invalid, expired or revoked API token"):
        accounts.principal_for_token(token)
    clock.advance(3650 * 24 * 3600)
    assert accounts.principal_for_token(forever).id == ada.id


def test_token_revoke(accounts: AccountService, ada: User, clock: FakeClock) -> None:
    token, record = accounts.create_token("ada@example.com", "ci")
    clock.advance(1)
    other, _ = accounts.create_token("ada@example.com", "other")
    revoked = accounts.revoke_token(record.id)
    assert revoked.revoked_at == clock.now()
    clock.advance(5)
    assert accounts.revoke_token(record.id).revoked_at == revoked.revoked_at  # idempotent
    with pytest.raises(AccessDeniedError):
        accounts.principal_for_token(token)
    assert accounts.principal_for_token(other).id == ada.id
    listed = accounts.list_tokens("ada@example.com")
    assert [(t.name, t.revoked_at is not None) for t in listed] == [("ci", True), ("other", False)]
    with pytest.raises(UserNotFoundError, match="token_id='nope': no such API token"):
        accounts.revoke_token("nope")


def test_unknown_token_and_disabled_owner_are_denied(accounts: AccountService, ada: User) -> None:
    token, _ = accounts.create_token("ada@example.com", "ci")
    for made_up in ("", "rh_made-up", token + "x"):
        with pytest.raises(AccessDeniedError, match="invalid, expired or revoked API token"):
            accounts.principal_for_token(made_up)
    accounts.disable_user("ada@example.com")
    with pytest.raises(AccessDeniedError, match="invalid, expired or revoked API token"):
        accounts.principal_for_token(token)
    with pytest.raises(ConfigurationError, match="disabled"):
        accounts.create_token("ada@example.com", "again")


def test_token_arguments_are_checked(accounts: AccountService, ada: User) -> None:
    with pytest.raises(
        UserNotFoundError, match=re.escape("email='ghost@example.com': no such user")
    ):
        accounts.create_token("ghost@example.com", "ci")
    with pytest.raises(ConfigurationError, match="ttl_days=0: must be between 1 and 3650"):
        accounts.create_token("ada@example.com", "ci", ttl_days=0)
    with pytest.raises(ConfigurationError, match="name=' ': must be 1-100 characters"):
        accounts.create_token("ada@example.com", " ")
    with pytest.raises(UserNotFoundError, match="no such user"):
        accounts.list_tokens("ghost@example.com")
    assert accounts.list_tokens("ada@example.com") == []


# -- secrets at rest -------------------------------------------------------------------


def test_plain_secrets_are_never_stored(
    store: SQLStore, accounts: AccountService, ada: User, manager: SessionManager
) -> None:
    token, _ = accounts.create_token("ada@example.com", "ci")
    session = manager.create_session({"candidate_name": "Eve"})
    link_token, _ = accounts.create_session_link(session.id, INTERVIEWER)
    cookie, web_session = accounts.open_web_session(ada.id)
    stored = all_stored_text(store)
    for secret in (PASSWORD, token, token.removeprefix("rh_"), link_token, cookie):
        assert secret not in stored
    for secret in (token, link_token, cookie):
        assert hash_token(secret) in stored  # what is stored is the hash
    assert "scrypt$16384$8$1$" in stored
    assert web_session.csrf_token in stored  # not a credential on its own: forms echo it


# -- candidate links -------------------------------------------------------------------


def test_link_grants_exactly_one_session(
    accounts: AccountService, manager: SessionManager, clock: FakeClock
) -> None:
    mine = manager.create_session({"candidate_name": "Eve"}, created_by=INTERVIEWER)
    other = manager.create_session({"candidate_name": "Eve"}, created_by=INTERVIEWER)
    token, link = accounts.create_session_link(mine.id, INTERVIEWER, ttl_seconds=3600)
    assert (link.session_id, link.created_by, link.expires_at) == (
        mine.id,
        "iv-1",
        clock.now() + timedelta(hours=1),
    )
    principal = accounts.principal_for_link(token)
    assert principal == Principal(
        id=f"link:{link.id}", role=PrincipalRole.CANDIDATE, sessions=frozenset({mine.id})
    )
    assert manager.validate_session_access(mine.id, principal)
    assert not manager.validate_session_access(other.id, principal)
    assert accounts.list_session_links(mine.id) == [link]


def test_link_expires_and_revokes(
    accounts: AccountService, manager: SessionManager, clock: FakeClock
) -> None:
    session = manager.create_session({"candidate_name": "Eve"})
    token, _ = accounts.create_session_link(session.id, INTERVIEWER, ttl_seconds=60)
    clock.advance(59)
    accounts.principal_for_link(token)
    clock.advance(1)
    with pytest.raises(AccessDeniedError, match="invalid, expired or revoked session link"):
        accounts.principal_for_link(token)
    fresh, link = accounts.create_session_link(session.id, INTERVIEWER)
    assert link.expires_at == clock.now() + timedelta(days=7)
    assert accounts.revoke_session_link(link.id).revoked_at == clock.now()
    with pytest.raises(AccessDeniedError, match="invalid, expired or revoked session link"):
        accounts.principal_for_link(fresh)
    with pytest.raises(AccessDeniedError):
        accounts.principal_for_link("made-up")
    with pytest.raises(UserNotFoundError, match="link_id='nope': no such session link"):
        accounts.revoke_session_link("nope")


def test_link_arguments_are_checked(accounts: AccountService, manager: SessionManager) -> None:
    session = manager.create_session({"candidate_name": "Eve"})
    with pytest.raises(SessionNotFoundError):
        accounts.create_session_link("missing", INTERVIEWER)
    for ttl in (59, 30 * 24 * 3600 + 1):
        with pytest.raises(ConfigurationError, match=f"ttl_seconds={ttl}: must be between 60"):
            accounts.create_session_link(session.id, INTERVIEWER, ttl_seconds=ttl)
    candidate = Principal(
        id="link:x", role=PrincipalRole.CANDIDATE, sessions=frozenset({session.id})
    )
    with pytest.raises(AccessDeniedError, match="only interviewers and admins"):
        accounts.create_session_link(session.id, candidate)
    assert accounts.list_session_links(session.id) == []


# -- browser sessions ------------------------------------------------------------------


def test_web_session_and_csrf_token(accounts: AccountService, ada: User, clock: FakeClock) -> None:
    cookie, web_session = accounts.open_web_session(ada.id)
    other_cookie, other = accounts.open_web_session(ada.id, ttl_seconds=600)
    assert cookie != other_cookie and web_session.csrf_token != other.csrf_token
    assert len(web_session.csrf_token) >= 32 and cookie != web_session.csrf_token
    assert web_session.expires_at == clock.now() + timedelta(hours=12)
    principal, found = accounts.principal_for_web_session(cookie)
    assert principal == principal_of(ada) and found == web_session
    clock.advance(600)
    with pytest.raises(AccessDeniedError, match="sign in again"):
        accounts.principal_for_web_session(other_cookie)
    accounts.close_web_session(cookie)
    accounts.close_web_session(cookie)  # idempotent
    accounts.close_web_session("never-issued")
    with pytest.raises(AccessDeniedError, match="sign in again"):
        accounts.principal_for_web_session(cookie)


def test_web_session_refused_for_unknown_or_disabled_users(
    accounts: AccountService, ada: User
) -> None:
    cookie, _ = accounts.open_web_session(ada.id)
    with pytest.raises(AccessDeniedError):
        accounts.open_web_session("link:abc")
    with pytest.raises(ConfigurationError, match="ttl_seconds=10"):
        accounts.open_web_session(ada.id, ttl_seconds=10)
    accounts.disable_user(ada.email)
    with pytest.raises(AccessDeniedError):
        accounts.principal_for_web_session(cookie)
    with pytest.raises(AccessDeniedError):
        accounts.open_web_session(ada.id)
