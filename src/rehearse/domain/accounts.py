"""Accounts: users, their API tokens, candidate links to one session, browser sessions.

Pure models and rules only. Secrets (passwords, tokens, cookies) never appear here:
storage keeps only their hashes, and :mod:`rehearse.service.accounts` makes and checks
them. Every "is it usable" rule takes the current instant as an argument.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from rehearse.domain.access import Principal, PrincipalRole


class User(BaseModel):
    """A person who may sign in (a server install; the local user needs no account).

    Attributes:
        id: a UUID string.
        email: the address they sign in with, lower-cased (unique).
        name: display name, 1-200 characters.
        role: candidate, interviewer or admin.
        created_at: when the account was created (UTC).
        disabled: a disabled user can neither sign in nor use tokens, links they made stay.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    email: str
    name: str
    role: PrincipalRole
    created_at: datetime
    disabled: bool = False


class ApiToken(BaseModel):
    """An API token of a user, as stored: everything but the token itself.

    Attributes:
        id: a UUID string; what ``revoke`` takes.
        user_id: the owner.
        name: a label chosen by the owner (``"ci"``), 1-100 characters.
        created_at: when it was issued.
        expires_at: when it stops working (``None``: never).
        revoked_at: when it was revoked (``None``: not revoked).
        last_used_at: the last authenticated use, to the minute (``None``: never used).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    user_id: str
    name: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        """True when the token is neither revoked nor expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


class SessionLink(BaseModel):
    """A link that lets whoever holds it act as the candidate of one session.

    Attributes:
        id: a UUID string.
        session_id: the one session it grants.
        created_by: the principal id of the interviewer or admin who made it.
        created_at: when it was made.
        expires_at: when it stops working (always set).
        revoked_at: when it was revoked (``None``: not revoked).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    session_id: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        """True when the link is neither revoked nor expired at ``now``."""
        return self.revoked_at is None and now < self.expires_at

    def principal(self) -> Principal:
        """The candidate this link makes of its holder: ``link:<id>``, granted one session."""
        return Principal(
            id=f"link:{self.id}",
            role=PrincipalRole.CANDIDATE,
            sessions=frozenset({self.session_id}),
        )


class WebSession(BaseModel):
    """A signed-in browser: the cookie's hash is stored, the CSRF token is not secret-hashed.

    Attributes:
        id: a UUID string.
        user_id: who signed in.
        csrf_token: the value forms must echo back (compare with
            :func:`hmac.compare_digest`); useless without the cookie.
        created_at: when they signed in.
        expires_at: when the cookie stops working.
        revoked_at: when they signed out (``None``: still signed in).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    user_id: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        """True when the browser session is neither closed nor expired at ``now``."""
        return self.revoked_at is None and now < self.expires_at


def principal_of(user: User) -> Principal:
    """The principal a user acts as: their id, role and e-mail address."""
    return Principal(id=user.id, role=user.role, email=user.email)
