"""The edge guard: checks a request passes before the app reads a byte of its body (issue 10).

One pure ASGI middleware, in this order:

1. ``Host`` must be one the server answers to (:func:`~rehearse.web.auth.check_host`),
   for HTTP and WebSocket alike: a DNS-rebinding page cannot reach a local rehearse.
2. An unsafe request from another origin, or from ``Origin: null``, is refused (403).
3. With ``--auth``, an ``/api/`` request is authenticated here (401 / 403), so an
   unauthenticated client cannot make the server read, let alone buffer, its body.
4. The body is bounded while it streams in: a declared ``Content-Length`` over the
   limit is refused at once, and a chunked body is cut off at the limit (413), by
   Starlette's :class:`~starlette.middleware.body_limit.RequestBodyLimitResponder`.
   Whiteboard uploads get ``max_upload_bytes``, every other route ``max_body_bytes``.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from fastapi.concurrency import run_in_threadpool
from starlette.middleware.body_limit import RequestBodyLimitResponder
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from rehearse.errors import RehearseError
from rehearse.web.auth import check_host, check_origin, resolve_principal
from rehearse.web.errors import PayloadTooLargeError, error_response

UPLOAD_PATH = re.compile(r"^/api/v1/sessions/[^/]+/questions/.+/whiteboard$")
#: Spoken answers and chat-bot voice notes: multipart audio up to ``max_audio_bytes``.
AUDIO_PATH = re.compile(r"^/api/v1/(sessions/[^/]+/audio|voice/[^/]+/messages)$")
#: A zip export restored by an admin: up to ``max_import_bytes``.
IMPORT_PATH = re.compile(r"^/api/v1/imports/archive$")
#: The chat-bot webhook signs in with its own bot token (checked before its body is read).
BOT_PATH = re.compile(r"^/api/v1/voice/[^/]+/messages$")
#: Room for the multipart envelope around an audio file, bytes.
MULTIPART_OVERHEAD = 64 * 1024
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_ADDRESSES = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 (names, not a bind)


def allowed_hosts_for(bound: str, configured: Collection[str] = ()) -> frozenset[str]:
    """The host names a server bound to ``bound`` answers to.

    The bound address itself (with ``localhost``, ``127.0.0.1`` and ``::1`` when it is a
    loopback address) plus ``configured`` (``REHEARSE_ALLOWED_HOSTS``). A server bound
    to every interface (``0.0.0.0``, ``::``) cannot know its names: it allows only
    ``configured`` and loopback when a list is given, and any host otherwise.

    >>> sorted(allowed_hosts_for("127.0.0.1", ["interviews.local"]))
    ['127.0.0.1', '::1', 'interviews.local', 'localhost']
    """
    from rehearse.cli.serve import is_loopback

    names = frozenset(name.strip().lower() for name in configured if name.strip())
    host = bound.strip().strip("[]").lower()
    if "*" in names:
        return frozenset({"*"})
    if host in WILDCARD_ADDRESSES:
        return names | LOOPBACK_HOSTS if names else frozenset({"*"})
    return names | {host} | (LOOPBACK_HOSTS if is_loopback(host) else frozenset())


class EdgeGuard:
    """ASGI middleware applying the checks of the module docstring.

    Args:
        app: the wrapped app.
        allowed_hosts: host names (lower case, no port) the ``Host`` header may name;
            ``None`` checks nothing (an app built in-process for tests), ``"*"`` allows any.
        max_body_bytes: limit of every request body but uploads, bytes.
        max_upload_bytes: limit of a whiteboard upload, bytes.
        max_audio_bytes: limit of an audio file posted to the audio routes, bytes (the
            multipart envelope may add :data:`MULTIPART_OVERHEAD`; the route itself then
            refuses a file over the limit by name).
        max_import_bytes: limit of a zip export posted to ``/api/v1/imports/archive``,
            bytes (it carries the sessions' files: recordings, whiteboards).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: Collection[str] | None,
        max_body_bytes: int,
        max_upload_bytes: int,
        max_audio_bytes: int = 0,
        max_import_bytes: int = 0,
    ) -> None:
        self.app = app
        self.allowed_hosts = frozenset(allowed_hosts) if allowed_hosts is not None else None
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.max_audio_bytes = max_audio_bytes
        self.max_import_bytes = max_import_bytes

    def limit_for(self, scope: Scope) -> int:
        """The body limit of a request, bytes."""
        if scope.get("method") == "PUT" and UPLOAD_PATH.match(scope["path"]):
            return self.max_upload_bytes
        if scope.get("method") == "POST" and AUDIO_PATH.match(scope["path"]):
            return max(self.max_audio_bytes + MULTIPART_OVERHEAD, self.max_body_bytes)
        if scope.get("method") == "POST" and IMPORT_PATH.match(scope["path"]):
            return max(self.max_import_bytes, self.max_body_bytes)
        return self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse the request early, or pass it on with its body bounded."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        try:
            if self.allowed_hosts is not None:
                check_host(connection.headers.get("host"), self.allowed_hosts)
            if scope["type"] == "websocket":  # origin and access: the stream closes with a code
                await self.app(scope, receive, send)
                return
            check_origin(connection)
            signed_in = not BOT_PATH.match(scope["path"])  # the bot webhook has its own token
            if (
                scope["path"].startswith("/api/")
                and connection.app.state.auth_enabled
                and signed_in
            ):
                # a credential lookup is database I/O: off the event loop
                principal = await run_in_threadpool(resolve_principal, connection)
                scope.setdefault("state", {})["principal"] = principal
            limit = self.limit_for(scope)
            declared = _content_length(connection)
            if declared is not None and declared > limit:
                audio = AUDIO_PATH.match(scope["path"]) is not None
                setting = " (max_audio_bytes and its multipart envelope)" if audio else ""
                raise PayloadTooLargeError(
                    f"request body is {declared} bytes; at most {limit} allowed here{setting}"
                )
        except RehearseError as error:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4403, "reason": str(error)[:120]})
                return
            await error_response(error)(scope, receive, send)
            return
        await RequestBodyLimitResponder(self.app, limit)(scope, receive, send)


def _content_length(connection: HTTPConnection) -> int | None:
    value = connection.headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)
