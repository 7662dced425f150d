"""Accounts: users and passwords, API tokens, candidate links, browser sessions.

Secrets are made here and leave only once, as return values: storage keeps hashes
(scrypt for passwords, SHA-256 for random tokens, which carry 256 bits and need no
stretching), and nothing here logs. Every failed check of a secret raises
:class:`AccessDeniedError` with one message per kind of secret, so a caller cannot tell
an unknown e-mail from a wrong password, or a revoked token from a made-up one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta
from functools import lru_cache
from typing import Any

from pydantic import EmailStr, TypeAdapter, ValidationError

from rehearse.clock import Clock
from rehearse.domain.access import Principal, PrincipalRole
from rehearse.domain.accounts import ApiToken, SessionLink, User, WebSession, principal_of
from rehearse.errors import AccessDeniedError, ConfigurationError, UserNotFoundError
from rehearse.storage.accounts import AccountStore

__all__ = [
    "API_TOKEN_PREFIX",
    "AccountService",
    "hash_password",
    "hash_token",
    "verify_password",
]

#: Every API token starts with this, so secret scanners and people can recognise one.
API_TOKEN_PREFIX = "rh_"  # noqa: S105 - a public prefix, not a secret
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024  # scrypt hashes any length; this only bounds the work per request
MAX_NAME_CHARS = 200
MAX_TOKEN_NAME_CHARS = 100
MAX_TOKEN_DAYS = 3650
MIN_TTL_SECONDS = 60
MAX_TTL_SECONDS = 30 * 24 * 3600
DEFAULT_LINK_TTL_SECONDS = 7 * 24 * 3600
DEFAULT_WEB_SESSION_TTL_SECONDS = 12 * 3600
#: ``last_used_at`` is written at most this often per token, so reads stay reads.
TOKEN_TOUCH_SECONDS = 60

# scrypt cost (RFC 7914): n=2**14, r=8, p=1 takes 16 MiB and ~50 ms per hash.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SCRYPT_SALT_BYTES, SCRYPT_KEY_BYTES = 16, 32
_SCRYPT_MAX_MEM = 64 * 1024 * 1024

# messages, not secrets
_BAD_LOGIN = "invalid e-mail or password"
_BAD_TOKEN = "invalid, expired or revoked API token"  # noqa: S105
_BAD_LINK = "invalid, expired or revoked session link"
_BAD_WEB_SESSION = "not signed in, or the sign-in has expired; sign in again"

_EMAIL = TypeAdapter(EmailStr)


def hash_password(password: str) -> str:
    """A salted scrypt hash: ``scrypt$n$r$p$<salt hex>$<hash hex>`` (about 115 characters)."""
    salt = secrets.token_bytes(SCRYPT_SALT_BYTES)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${key.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    """True when ``password`` matches ``encoded`` (from :func:`hash_password`), in constant time.

    A malformed ``encoded`` string never matches.
    """
    try:
        scheme, n, r, p, salt_hex, key_hex = encoded.split("$")
        if scheme != "scrypt":
            return False
        key = _scrypt(password, bytes.fromhex(salt_hex), int(n), int(r), int(p))
        return hmac.compare_digest(key, bytes.fromhex(key_hex))
    except ValueError:
        return False


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=_SCRYPT_MAX_MEM,
        dklen=SCRYPT_KEY_BYTES,
    )


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # verified against when there is no real hash, so every login costs one scrypt
    return hash_password(secrets.token_urlsafe(16))


def hash_token(token: str) -> str:
    """The SHA-256 hex digest (64 characters) under which a random token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


class AccountService:
    """Users, passwords, API tokens, candidate links and browser sessions.

    Args:
        store: the account tables (``AccountStore(sql_store.engine)``).
        clock: the time source; every instant stored or compared comes from it.

    Every method may also raise :class:`~rehearse.errors.DataStoreError` when the
    database fails.
    """

    def __init__(self, store: AccountStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    # -- users --------------------------------------------------------------------

    def create_user(
        self, email: str, name: str, role: PrincipalRole | str, password: str | None
    ) -> User:
        """Create a user; with ``password=None`` they sign in with API tokens only.

        Args:
            email: a syntactically valid address; stored lower-cased.
            name: display name, not blank, at most 200 characters (trimmed).
            role: ``candidate``, ``interviewer`` or ``admin``.
            password: at least 12 characters (at most 1024), or ``None``.

        Raises:
            ConfigurationError: one message naming every invalid field (never the
                password's value), or the e-mail address is taken.
        """
        errors: list[dict[str, Any]] = []
        address = _parse_email(email, errors)
        raw_name, name = name, name.strip()
        if not name:
            errors.append({"field": "name", "value": raw_name, "message": "must not be blank"})
        elif len(name) > MAX_NAME_CHARS:
            errors.append(
                {
                    "field": "name",
                    "value": name,
                    "message": f"must be at most {MAX_NAME_CHARS} characters (got {len(name)})",
                }
            )
        parsed_role = _parse_role(role, errors)
        if password is not None and not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
            errors.append(
                {
                    "field": "password",
                    "value": f"<{len(password)} characters>",
                    "message": f"must be {MIN_PASSWORD_CHARS}-{MAX_PASSWORD_CHARS} characters "
                    f"(got {len(password)})",
                }
            )
        _raise_if(errors)
        assert address is not None and parsed_role is not None
        user = User(
            id=str(uuid.uuid4()),
            email=address,
            name=name,
            role=parsed_role,
            created_at=self.clock.now(),
        )
        self.store.add_user(user, None if password is None else hash_password(password))
        return user

    def authenticate(self, email: str, password: str) -> Principal:
        """The principal of the user with this e-mail and password.

        The cost is the same (one scrypt) whether or not the user exists.

        Raises:
            AccessDeniedError: ``"invalid e-mail or password"`` for an unknown e-mail, a
                wrong password, a user without a password, or a disabled user alike.
        """
        found = self.store.credentials(email.strip().lower())
        user, encoded = found if found is not None else (None, None)
        matches = verify_password(password, encoded or _dummy_hash())
        if user is None or encoded is None or not matches or user.disabled:
            raise AccessDeniedError(_BAD_LOGIN)
        return principal_of(user)

    def list_users(self) -> list[User]:
        """Every user, oldest first, disabled ones included."""
        return self.store.list_users()

    def get_user(self, user_id: str) -> User | None:
        """The user with this id, or ``None``."""
        return self.store.user_by_id(user_id)

    def disable_user(self, email: str) -> User:
        """Disable a user: their password, tokens and browser sessions stop working at once.

        Idempotent. Returns the user as stored.

        Raises:
            UserNotFoundError: no user has this e-mail.
        """
        user = self.store.set_disabled(email.strip().lower(), True)
        if user is None:
            raise _unknown_user(email)
        return user

    # -- API tokens -----------------------------------------------------------------

    def create_token(
        self, email: str, name: str, ttl_days: int | None = None
    ) -> tuple[str, ApiToken]:
        """Issue an API token for a user; the plain token is returned now and never again.

        Args:
            email: the owner.
            name: a label, not blank, at most 100 characters.
            ttl_days: days until it expires, 1-3650; ``None`` for a token that does not expire.

        Returns:
            ``(token, record)``: ``token`` is ``"rh_"`` and 43 URL-safe characters; only
            its SHA-256 is stored.

        Raises:
            UserNotFoundError: no user has this e-mail.
            ConfigurationError: a disabled user, blank or long name, ttl out of range.
        """
        user = self._user(email)
        if user.disabled:
            raise ConfigurationError(
                f"email={user.email!r}: the user is disabled; tokens cannot be issued to them"
            )
        errors: list[dict[str, Any]] = []
        raw_name, name = name, name.strip()
        if not name or len(name) > MAX_TOKEN_NAME_CHARS:
            errors.append(
                {
                    "field": "name",
                    "value": raw_name,
                    "message": f"must be 1-{MAX_TOKEN_NAME_CHARS} characters, not blank",
                }
            )
        if ttl_days is not None and not 1 <= ttl_days <= MAX_TOKEN_DAYS:
            errors.append(
                {
                    "field": "ttl_days",
                    "value": ttl_days,
                    "message": f"must be between 1 and {MAX_TOKEN_DAYS} days, or none",
                }
            )
        _raise_if(errors)
        now = self.clock.now()
        token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = ApiToken(
            id=str(uuid.uuid4()),
            user_id=user.id,
            name=name,
            created_at=now,
            expires_at=None if ttl_days is None else now + timedelta(days=ttl_days),
        )
        self.store.add_token(record, hash_token(token))
        return token, record

    def list_tokens(self, email: str) -> list[ApiToken]:
        """The user's tokens, oldest first, revoked and expired ones included (never the token).

        Raises:
            UserNotFoundError: no user has this e-mail.
        """
        return self.store.list_tokens(self._user(email).id)

    def revoke_token(self, token_id: str) -> ApiToken:
        """Revoke a token now (idempotent: a revoked token keeps its first revocation time).

        Raises:
            UserNotFoundError: no token has this id.
        """
        record = self.store.revoke_token(token_id, self.clock.now())
        if record is None:
            raise UserNotFoundError("API token", "token_id", token_id)
        return record

    def principal_for_token(self, token: str) -> Principal:
        """The principal of an API token's owner; records the use at most once a minute.

        Raises:
            AccessDeniedError: the token is unknown, revoked or expired, or its owner is
                disabled (one message for all).
        """
        found = self.store.token_by_hash(hash_token(token))
        now = self.clock.now()
        if found is None or not found[0].usable_at(now) or found[1].disabled:
            raise AccessDeniedError(_BAD_TOKEN)
        record, user = found
        not_since = now - timedelta(seconds=TOKEN_TOUCH_SECONDS)
        if record.last_used_at is None or record.last_used_at < not_since:
            self.store.touch_token(record.id, now, not_since)
        return principal_of(user)

    # -- candidate links ------------------------------------------------------------

    def create_session_link(
        self,
        session_id: str,
        created_by: Principal,
        ttl_seconds: int = DEFAULT_LINK_TTL_SECONDS,
    ) -> tuple[str, SessionLink]:
        """A link token that makes its holder the candidate of one session.

        The caller checks first that ``created_by`` may act on the session
        (``SessionManager.validate_session_access``); this records who made the link.

        Args:
            session_id: the session granted.
            created_by: an interviewer or admin.
            ttl_seconds: lifetime, 60 s to 30 days (default 7 days).

        Returns:
            ``(token, link)``: ``token`` is 43 URL-safe characters, returned only now.

        Raises:
            AccessDeniedError: ``created_by`` is a candidate (links cannot make links).
            ConfigurationError: ``ttl_seconds`` out of range.
            SessionNotFoundError: no session has this id.
        """
        if created_by.role is PrincipalRole.CANDIDATE:
            raise AccessDeniedError(
                f"{created_by.id} is a candidate; only interviewers and admins create session links"
            )
        _check_ttl(ttl_seconds)
        now = self.clock.now()
        token = secrets.token_urlsafe(32)
        link = SessionLink(
            id=str(uuid.uuid4()),
            session_id=session_id,
            created_by=created_by.id,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
        self.store.add_session_link(link, hash_token(token))
        return token, link

    def list_session_links(self, session_id: str) -> list[SessionLink]:
        """The session's links, oldest first, revoked and expired ones included."""
        return self.store.list_session_links(session_id)

    def revoke_session_link(self, link_id: str) -> SessionLink:
        """Revoke a link now (idempotent).

        Raises:
            UserNotFoundError: no link has this id.
        """
        link = self.store.revoke_session_link(link_id, self.clock.now())
        if link is None:
            raise UserNotFoundError("session link", "link_id", link_id)
        return link

    def principal_for_link(self, token: str) -> Principal:
        """The candidate principal of a link: ``link:<id>``, granted exactly its one session.

        Raises:
            AccessDeniedError: the link is unknown, revoked or expired.
        """
        link = self.store.link_by_hash(hash_token(token))
        if link is None or not link.usable_at(self.clock.now()):
            raise AccessDeniedError(_BAD_LINK)
        return link.principal()

    # -- browser sessions -----------------------------------------------------------

    def open_web_session(
        self, principal_user_id: str, ttl_seconds: int = DEFAULT_WEB_SESSION_TTL_SECONDS
    ) -> tuple[str, WebSession]:
        """Sign a user in to the browser, after :meth:`authenticate`.

        Args:
            principal_user_id: the ``id`` of the authenticated principal (a user id).
            ttl_seconds: lifetime, 60 s to 30 days (default 12 hours).

        Returns:
            ``(cookie, web_session)``: ``cookie`` (43 URL-safe characters) is returned only
            now and stored as its SHA-256; ``web_session.csrf_token`` is what forms echo.

        Raises:
            AccessDeniedError: the user is unknown or disabled.
            ConfigurationError: ``ttl_seconds`` out of range.
        """
        _check_ttl(ttl_seconds)
        user = self.store.user_by_id(principal_user_id)
        if user is None or user.disabled:
            raise AccessDeniedError(_BAD_LOGIN)
        now = self.clock.now()
        cookie = secrets.token_urlsafe(32)
        web_session = WebSession(
            id=str(uuid.uuid4()),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
        )
        self.store.add_web_session(web_session, hash_token(cookie))
        return cookie, web_session

    def principal_for_web_session(self, token: str) -> tuple[Principal, WebSession]:
        """The signed-in principal of a session cookie, and the session (for its CSRF token).

        Raises:
            AccessDeniedError: the cookie is unknown, expired or closed, or the user is
                disabled (one message for all).
        """
        found = self.store.web_session_by_hash(hash_token(token))
        if found is None or not found[0].usable_at(self.clock.now()) or found[1].disabled:
            raise AccessDeniedError(_BAD_WEB_SESSION)
        web_session, user = found
        return principal_of(user), web_session

    def close_web_session(self, token: str) -> None:
        """Sign out: the cookie stops working. Idempotent; an unknown cookie is ignored."""
        self.store.revoke_web_session(hash_token(token), self.clock.now())

    # -- helpers --------------------------------------------------------------------

    def _user(self, email: str) -> User:
        user = self.store.user_by_email(email.strip().lower())
        if user is None:
            raise _unknown_user(email)
        return user


def _parse_email(email: str, errors: list[dict[str, Any]]) -> str | None:
    try:
        return str(_EMAIL.validate_python(email.strip())).lower()
    except ValidationError:
        errors.append(
            {"field": "email", "value": email, "message": "must be a valid e-mail address"}
        )
        return None


def _parse_role(role: PrincipalRole | str, errors: list[dict[str, Any]]) -> PrincipalRole | None:
    try:
        return PrincipalRole(role)
    except ValueError:
        allowed = ", ".join(r.value for r in PrincipalRole)
        errors.append({"field": "role", "value": role, "message": f"must be one of {allowed}"})
        return None


def _check_ttl(ttl_seconds: int) -> None:
    if not MIN_TTL_SECONDS <= ttl_seconds <= MAX_TTL_SECONDS:
        _raise_if(
            [
                {
                    "field": "ttl_seconds",
                    "value": ttl_seconds,
                    "message": f"must be between {MIN_TTL_SECONDS} and {MAX_TTL_SECONDS} "
                    "seconds (30 days)",
                }
            ]
        )


def _raise_if(errors: list[dict[str, Any]]) -> None:
    if errors:
        message = "; ".join(
            f"{e['field']}={e['value']!r}: {e['message']}"
            if e["field"] != "password"
            else f"password: {e['message']}"
            for e in errors
        )
        raise ConfigurationError(message, errors)


def _unknown_user(email: str) -> UserNotFoundError:
    return UserNotFoundError("user", "email", email)
