"""Who is calling: the local user, or (with ``--auth``) a token, a login cookie or a candidate link.

Local mode (the default on a loopback address) needs no login: every request is the
local user, an admin of their own machine. With ``--auth`` a request proves who it is
with, in order: an ``Authorization: Bearer`` API token; the ``rehearse_session`` login
cookie (secure, HttpOnly, SameSite=Lax); or a candidate link cookie for one session. An
unknown, expired or revoked credential is 401, like a missing one. Unsafe methods sent
with a cookie (login or link) also need the cookie's CSRF token in the ``X-CSRF-Token``
header or a ``csrf_token`` form field (403 otherwise).

In both modes (issue 10, item 4) an unsafe request or WebSocket handshake whose
``Origin`` names another site, or is ``null`` (a sandboxed frame, a ``data:`` page), is
refused, and :func:`check_host` refuses a ``Host`` outside the allowed hosts, so a web
page elsewhere cannot drive a local rehearse, not even by DNS rebinding.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from rehearse.domain.access import LOCAL_PRINCIPAL, Principal
from rehearse.errors import AccessDeniedError
from rehearse.web.errors import NotAuthenticatedError

SESSION_COOKIE = "rehearse_session"
LINK_COOKIE = "rehearse_link"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _method(connection: HTTPConnection) -> str:
    # WebSockets have no CORS: their handshake is checked like an unsafe request
    return connection.scope.get("method") or "WEBSOCKET"


def check_origin(connection: HTTPConnection) -> None:
    """Refuse an unsafe request (or WebSocket) sent by a page of another origin.

    A missing ``Origin`` is allowed (curl, API clients, same-origin GET-like navigations);
    ``Origin: null`` is what a sandboxed iframe or a ``data:`` page sends, so it is refused.

    Raises:
        AccessDeniedError: ``Origin`` is ``null`` or names a host other than the one addressed.
    """
    if _method(connection) not in UNSAFE | {"WEBSOCKET"}:
        return
    origin = connection.headers.get("origin")
    if origin is None:
        return
    if origin.strip().lower() == "null":
        raise AccessDeniedError("request from an opaque origin (Origin: null) refused")
    if urlsplit(origin).netloc.lower() != connection.headers.get("host", "").lower():
        raise AccessDeniedError(f"cross-site request from {origin} refused")


def host_name(host_header: str) -> str:
    """The host name of a ``Host`` header value, lower case, without port or brackets."""
    value = host_header.strip().lower()
    if value.startswith("["):  # [::1]:8000
        return value[1 : value.find("]")] if "]" in value else value[1:]
    if value.count(":") == 1:
        return value.rsplit(":", 1)[0]
    return value


def check_host(host_header: str | None, allowed: Collection[str]) -> None:
    """Refuse a request whose ``Host`` is not one the server answers to (DNS rebinding).

    Args:
        host_header: the request's ``Host`` header (``None`` when missing).
        allowed: host names allowed (lower case, no port); ``"*"`` allows any.

    Raises:
        AccessDeniedError: the host is missing or not in ``allowed``.
    """
    if "*" in allowed:
        return
    name = host_name(host_header or "")
    if name not in allowed:
        raise AccessDeniedError(
            f"Host {host_header!r} is not served here; allowed: {', '.join(sorted(allowed))} "
            "(add it to REHEARSE_ALLOWED_HOSTS)"
        )


def link_csrf_token(link_token: str) -> str:
    """The CSRF token of a candidate link cookie: derived from the secret, never stored.

    A page of another site cannot read the cookie, so it cannot compute this token.
    """
    return hashlib.sha256(b"rehearse-link-csrf:" + link_token.encode()).hexdigest()[:43]


def _check_csrf(connection: HTTPConnection, expected: str, form: dict[str, Any] | None) -> None:
    if _method(connection) not in UNSAFE:
        return
    sent = connection.headers.get(CSRF_HEADER) or (form or {}).get("csrf_token") or ""
    if not hmac.compare_digest(str(sent).encode(), expected.encode()):
        raise AccessDeniedError("missing or wrong CSRF token; reload the page and try again")


def resolve_principal(request: HTTPConnection, form: dict[str, Any] | None = None) -> Principal:
    """The principal of a request (see the module docstring for the order of checks).

    Raises:
        NotAuthenticatedError: auth is on and the request has no valid credentials
            (missing, unknown, expired or revoked).
        AccessDeniedError: a cookie-authenticated unsafe request lacks its CSRF token,
            or a cross-site request.
    """
    check_origin(request)
    state = request.app.state
    if not state.auth_enabled:
        return LOCAL_PRINCIPAL
    accounts = state.accounts
    header = request.headers.get("authorization", "")
    try:
        if header.lower().startswith("bearer "):
            return accounts.principal_for_token(header[7:].strip())  # type: ignore[no-any-return]
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            principal, web_session = accounts.principal_for_web_session(cookie)
            csrf = web_session.csrf_token
        else:
            link = request.cookies.get(LINK_COOKIE)
            if not link:
                raise NotAuthenticatedError(
                    "sign in, or send an API token as 'Authorization: Bearer <token>'"
                )
            principal, csrf = accounts.principal_for_link(link), link_csrf_token(link)
    except AccessDeniedError as error:  # a bad credential is "not signed in", not "forbidden"
        raise NotAuthenticatedError(str(error)) from None
    _check_csrf(request, csrf, form)
    request.state.csrf_token = csrf
    return principal  # type: ignore[no-any-return]
