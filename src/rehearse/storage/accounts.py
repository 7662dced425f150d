"""The account tables through SQLAlchemy Core: users, API tokens, session links, web sessions.

It shares the engine (and so the database and its migrations) of
:class:`~rehearse.storage.sql.SQLStore`: ``AccountStore(sql_store.engine)``. It stores
what it is given: secrets arrive already hashed (SHA-256 hex for tokens and cookies, an
scrypt string for passwords), and lookups are by hash. Driver errors become
:class:`DataStoreError` naming the operation; nothing of a failed write is kept.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Engine, RowMapping, Table, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from rehearse.domain.access import PrincipalRole
from rehearse.domain.accounts import ApiToken, SessionLink, User, WebSession
from rehearse.errors import ConfigurationError, DataStoreError, SessionNotFoundError
from rehearse.storage import transactions
from rehearse.storage.schema import api_tokens, session_links, sessions, users, web_sessions

_USER_COLUMNS = [c for c in users.c if c.name != "password_hash"]
_TOKEN_COLUMNS = [c for c in api_tokens.c if c.name != "token_hash"]
_LINK_COLUMNS = [c for c in session_links.c if c.name != "token_hash"]
_WEB_COLUMNS = [c for c in web_sessions.c if c.name != "token_hash"]


class AccountStore:
    """Durable accounts on the engine of a :class:`~rehearse.storage.sql.SQLStore`.

    Args:
        engine: an engine whose database is migrated to revision 0003 or later (opening
            a ``SQLStore`` on it does that).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _write(self, what: str) -> AbstractContextManager[Connection]:
        return transactions.write(self.engine, what)

    def _read(self, what: str) -> AbstractContextManager[Connection]:
        return transactions.read(self.engine, what)

    # -- users --------------------------------------------------------------------

    def add_user(self, user: User, password_hash: str | None) -> None:
        """Insert ``user`` (its e-mail already lower-cased) with its password hash or ``None``.

        Raises:
            ConfigurationError: a user with this e-mail exists.
            DataStoreError: the database failed.
        """
        try:
            with self._write(f"create user {user.email}") as connection:
                connection.execute(
                    insert(users), {**user.model_dump(), "password_hash": password_hash}
                )
        except DataStoreError as exc:
            if isinstance(exc.__cause__, IntegrityError) and self.user_by_email(user.email):
                raise _duplicate_email(user.email) from None
            raise

    def user_by_email(self, email: str) -> User | None:
        """The user with this (lower-cased) e-mail, or ``None``."""
        with self._read(f"read user {email}") as connection:
            row = connection.execute(
                select(*_USER_COLUMNS).where(users.c.email == email)
            ).one_or_none()
        return None if row is None else _user(row._mapping)

    def user_by_id(self, user_id: str) -> User | None:
        """The user with this id, or ``None``."""
        with self._read(f"read user {user_id}") as connection:
            row = connection.execute(
                select(*_USER_COLUMNS).where(users.c.id == user_id)
            ).one_or_none()
        return None if row is None else _user(row._mapping)

    def credentials(self, email: str) -> tuple[User, str | None] | None:
        """The user with this (lower-cased) e-mail and their password hash, or ``None``."""
        with self._read(f"read user {email}") as connection:
            row = connection.execute(
                select(*_USER_COLUMNS, users.c.password_hash).where(users.c.email == email)
            ).one_or_none()
        return None if row is None else (_user(row._mapping), row.password_hash)

    def list_users(self) -> list[User]:
        """Every user, oldest first."""
        statement = select(*_USER_COLUMNS).order_by(users.c.created_at, users.c.email)
        with self._read("list users") as connection:
            return [_user(row._mapping) for row in connection.execute(statement)]

    def set_disabled(self, email: str, disabled: bool) -> User | None:
        """Set the user's ``disabled`` flag; returns the user as stored, ``None`` if unknown."""
        with self._write(f"update user {email}") as connection:
            connection.execute(
                update(users).where(users.c.email == email).values(disabled=disabled)
            )
            row = connection.execute(
                select(*_USER_COLUMNS).where(users.c.email == email)
            ).one_or_none()
        return None if row is None else _user(row._mapping)

    # -- API tokens -----------------------------------------------------------------

    def add_token(self, token: ApiToken, token_hash: str) -> None:
        """Insert ``token`` under ``token_hash`` (SHA-256 hex of the plain token)."""
        with self._write(f"create token {token.id}") as connection:
            connection.execute(insert(api_tokens), {**token.model_dump(), "token_hash": token_hash})

    def token_by_hash(self, token_hash: str) -> tuple[ApiToken, User] | None:
        """The token with this hash and its owner, or ``None``."""
        found = self._with_owner(api_tokens, _TOKEN_COLUMNS, token_hash, "look up an API token")
        return None if found is None else (_token(found[0]), found[1])

    def list_tokens(self, user_id: str) -> list[ApiToken]:
        """The user's tokens, oldest first (revoked and expired ones included)."""
        statement = (
            select(*_TOKEN_COLUMNS)
            .where(api_tokens.c.user_id == user_id)
            .order_by(api_tokens.c.created_at, api_tokens.c.id)
        )
        with self._read(f"list tokens of user {user_id}") as connection:
            return [_token(row._mapping) for row in connection.execute(statement)]

    def touch_token(self, token_id: str, at: datetime, not_since: datetime) -> None:
        """Set ``last_used_at = at`` unless it is already at or after ``not_since``."""
        with self._write(f"update token {token_id}") as connection:
            connection.execute(
                update(api_tokens)
                .where(
                    api_tokens.c.id == token_id,
                    or_(api_tokens.c.last_used_at.is_(None), api_tokens.c.last_used_at < not_since),
                )
                .values(last_used_at=at)
            )

    def revoke_token(self, token_id: str, at: datetime) -> ApiToken | None:
        """Revoke the token at ``at`` (kept if already revoked); ``None`` if unknown."""
        with self._write(f"revoke token {token_id}") as connection:
            connection.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
            row = connection.execute(
                select(*_TOKEN_COLUMNS).where(api_tokens.c.id == token_id)
            ).one_or_none()
        return None if row is None else _token(row._mapping)

    # -- session links --------------------------------------------------------------

    def add_session_link(self, link: SessionLink, token_hash: str) -> None:
        """Insert ``link`` under ``token_hash``.

        Raises:
            SessionNotFoundError: the link's session does not exist.
            DataStoreError: the database failed.
        """
        with self._write(f"create a link to session {link.session_id}") as connection:
            found = connection.execute(
                select(sessions.c.id).where(sessions.c.id == link.session_id)
            ).one_or_none()
            if found is None:
                raise SessionNotFoundError(link.session_id)
            connection.execute(
                insert(session_links), {**link.model_dump(), "token_hash": token_hash}
            )

    def link_by_hash(self, token_hash: str) -> SessionLink | None:
        """The link with this hash, or ``None``."""
        with self._read("look up a session link") as connection:
            row = connection.execute(
                select(*_LINK_COLUMNS).where(session_links.c.token_hash == token_hash)
            ).one_or_none()
        return None if row is None else SessionLink.model_validate(dict(row._mapping))

    def list_session_links(self, session_id: str) -> list[SessionLink]:
        """The session's links, oldest first (revoked and expired ones included)."""
        statement = (
            select(*_LINK_COLUMNS)
            .where(session_links.c.session_id == session_id)
            .order_by(session_links.c.created_at, session_links.c.id)
        )
        with self._read(f"list links of session {session_id}") as connection:
            rows = connection.execute(statement).all()
        return [SessionLink.model_validate(dict(row._mapping)) for row in rows]

    def revoke_session_link(self, link_id: str, at: datetime) -> SessionLink | None:
        """Revoke the link at ``at`` (kept if already revoked); ``None`` if unknown."""
        with self._write(f"revoke session link {link_id}") as connection:
            connection.execute(
                update(session_links)
                .where(session_links.c.id == link_id, session_links.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
            row = connection.execute(
                select(*_LINK_COLUMNS).where(session_links.c.id == link_id)
            ).one_or_none()
        return None if row is None else SessionLink.model_validate(dict(row._mapping))

    # -- web sessions ---------------------------------------------------------------

    def add_web_session(self, web_session: WebSession, token_hash: str) -> None:
        """Insert ``web_session`` under ``token_hash`` (SHA-256 hex of the cookie value)."""
        with self._write(f"open web session {web_session.id}") as connection:
            connection.execute(
                insert(web_sessions), {**web_session.model_dump(), "token_hash": token_hash}
            )

    def web_session_by_hash(self, token_hash: str) -> tuple[WebSession, User] | None:
        """The web session with this hash and its user, or ``None``."""
        found = self._with_owner(web_sessions, _WEB_COLUMNS, token_hash, "look up a web session")
        if found is None:
            return None
        data, owner = found
        return WebSession.model_validate({c.name: data[c.name] for c in _WEB_COLUMNS}), owner

    def _with_owner(
        self, table: Table, columns: list[Column[Any]], token_hash: str, what: str
    ) -> tuple[RowMapping, User] | None:
        """The row of ``table`` with this secret hash, and the user who owns it."""
        statement = (
            select(*columns, *(c.label(f"owner_{c.name}") for c in _USER_COLUMNS))
            .join(users, users.c.id == table.c.user_id)
            .where(table.c.token_hash == token_hash)
        )
        with self._read(what) as connection:
            row = connection.execute(statement).one_or_none()
        if row is None:
            return None
        data = row._mapping
        return data, _user({c.name: data[f"owner_{c.name}"] for c in _USER_COLUMNS})

    def revoke_web_session(self, token_hash: str, at: datetime) -> bool:
        """Close the web session with this hash at ``at``; False if none was open."""
        with self._write("close a web session") as connection:
            result = connection.execute(
                update(web_sessions)
                .where(web_sessions.c.token_hash == token_hash, web_sessions.c.revoked_at.is_(None))
                .values(revoked_at=at)
            )
        return bool(result.rowcount)


def _user(row: Any) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=PrincipalRole(row["role"]),
        created_at=row["created_at"],
        disabled=bool(row["disabled"]),
    )


def _token(row: Any) -> ApiToken:
    return ApiToken.model_validate({c.name: row[c.name] for c in _TOKEN_COLUMNS})


def _duplicate_email(email: str) -> ConfigurationError:
    return ConfigurationError(
        f"email={email!r}: a user with this e-mail already exists",
        [{"field": "email", "value": email, "message": "already exists"}],
    )
