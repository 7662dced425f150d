"""Who is calling: the local user, or (with ``--auth``) a token, a login cookie or a candidate link.

Local mode (the default on a loopback address) needs no login: every request is the
local user, an admin of their own machine. With ``--auth`` a request proves who it is
with, in order: an ``Authorization: Bearer`` API token; the ``rehearse_session`` login
cookie (secure, HttpOnly, SameSite=Lax; unsafe methods also need its CSRF token in the
``X-CSRF-Token`` header or a ``csrf_token`` form field); or a candidate link cookie for
one session. In both modes an unsafe request whose ``Origin`` names another site is
refused, so a web page elsewhere cannot drive a local rehearse.
"""

from __future__ import annotations

import hmac
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

    Raises:
        AccessDeniedError: ``Origin`` names a host other than the one addressed.
    """
    if _method(connection) not in UNSAFE | {"WEBSOCKET"}:
        return
    request = connection
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise AccessDeniedError(f"cross-site request from {origin} refused")


def resolve_principal(request: HTTPConnection, form: dict[str, Any] | None = None) -> Principal:
    """The principal of a request (see the module docstring for the order of checks).

    Raises:
        NotAuthenticatedError: auth is on and the request has no valid credentials.
        AccessDeniedError: a cookie-authenticated unsafe request lacks its CSRF token,
            or a cross-site request.
    """
    check_origin(request)
    state = request.app.state
    if not state.auth_enabled:
        return LOCAL_PRINCIPAL
    accounts = state.accounts
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return accounts.principal_for_token(header[7:].strip())  # type: ignore[no-any-return]
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        principal, web_session = accounts.principal_for_web_session(cookie)
        if _method(request) in UNSAFE:
            sent = request.headers.get(CSRF_HEADER) or (form or {}).get("csrf_token") or ""
            if not hmac.compare_digest(str(sent), web_session.csrf_token):
                raise AccessDeniedError(
                    "missing or wrong CSRF token; reload the page and try again"
                )
        request.state.csrf_token = web_session.csrf_token
        return principal  # type: ignore[no-any-return]
    link = request.cookies.get(LINK_COOKIE)
    if link:
        return accounts.principal_for_link(link)  # type: ignore[no-any-return]
    raise NotAuthenticatedError("sign in, or send an API token as 'Authorization: Bearer <token>'")
