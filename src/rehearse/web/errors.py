"""Expected errors as HTTP responses: one JSON shape, ``{"error", "message", ...}``.

The status follows the error class (issue 4): 422 invalid input (an unparseable body
too: it is invalid input, never a bare 400), 404 not found, 409 an action refused in
the session's state (with ``state`` and ``action``), 403 access denied, 401 not signed
in or a credential unknown, expired or revoked, 405 with every allowed method in
``Allow``, 413 too large, 503 the database failed.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from rehearse.domain.config import SessionConfig, describe_error
from rehearse.errors import (
    AccessDeniedError,
    BudgetExceededError,
    ConcurrentUpdateError,
    ConfigurationError,
    DataStoreError,
    InvalidStateError,
    QuestionNotFoundError,
    RehearseError,
    SessionNotFoundError,
    SpokenAnswerNotFoundError,
    UserNotFoundError,
)

STATUS: dict[type[RehearseError], int] = {
    ConfigurationError: 422,
    SessionNotFoundError: 404,
    QuestionNotFoundError: 404,
    SpokenAnswerNotFoundError: 404,
    UserNotFoundError: 404,
    InvalidStateError: 409,
    BudgetExceededError: 409,
    ConcurrentUpdateError: 409,
    AccessDeniedError: 403,
    DataStoreError: 503,
}


class NotAuthenticatedError(RehearseError):
    """The request carries no valid credentials (HTTP 401)."""


class PayloadTooLargeError(RehearseError):
    """The request body is larger than allowed (HTTP 413)."""


STATUS[NotAuthenticatedError] = 401
STATUS[PayloadTooLargeError] = 413


def status_of(error: RehearseError) -> int:
    """The HTTP status of an error: the most specific class listed in :data:`STATUS`."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(error: RehearseError) -> JSONResponse:
    """The JSON response for ``error``."""
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, NotAuthenticatedError) else None
    return JSONResponse(error.to_dict(), status_code=status_of(error), headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn errors into the one JSON shape."""

    @app.exception_handler(RehearseError)
    async def _rehearse(request: Request, error: RehearseError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_body(error.errors()), status_code=422)

    @app.exception_handler(WebSocketRequestValidationError)
    async def _websocket_validation(
        websocket: WebSocket, error: WebSocketRequestValidationError
    ) -> None:
        # accepted, then closed with 4422: the browser sees the code (a close before the
        # accept is a bare HTTP 403); the reason names the field, within the 123-byte cap
        body = validation_body(error.errors())
        reason = body["message"].encode("utf-8")[:120].decode("utf-8", "ignore")
        await websocket.accept()
        await websocket.close(code=4422, reason=reason)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 413:  # cut off while streaming (rehearse.web.guard)
            limit = request.scope.get("starlette.max_body_size")
            return error_response(PayloadTooLargeError(f"request body over {limit} bytes"))
        if error.status_code == 400:  # a form or multipart body that cannot be parsed
            message = f"body: cannot be parsed ({error.detail}); send the documented form"
            return error_response(
                ConfigurationError(message, [{"field": "body", "value": None, "message": message}])
            )
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        body = {"error": "HTTPError", "message": str(error.detail)}
        return JSONResponse(body, status_code=error.status_code, headers=headers or None)


def validation_body(errors: Any) -> dict[str, Any]:
    """The 422 body of pydantic errors: ``{"error", "message", "fields": [...]}``."""
    fields: list[dict[str, Any]] = []
    for item in errors:
        location = [
            echo(str(part)) for part in item["loc"] if part not in ("body", "query", "path")
        ]
        fields.append(
            {
                "field": ".".join(location) or "body",
                "value": echo(item.get("input")),
                "message": describe_error(item, SessionConfig),
            }
        )
    message = "; ".join(f"{f['field']}={f['value']!r}: {f['message']}" for f in fields)
    return {
        "error": "ConfigurationError",
        "message": f"invalid request: {message}",
        "fields": fields,
    }


def echo(value: Any) -> Any:
    """A request value made safe to put back in a JSON error (``None`` for structures).

    ``NaN`` and infinities become their names and a lone surrogate its escape, so the
    error that names them can itself be encoded.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value if isinstance(value, int | float | bool | None) else None


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves at this request's path (for ``Allow``)."""
    methods: set[str] = set()
    scope = {**request.scope, "method": "GET", "type": "http"}
    routes = list(request.app.router.routes)
    while routes:
        route = routes.pop()
        included = getattr(route, "original_router", None)  # FastAPI's include_router wrapper
        if included is not None:
            routes.extend(included.routes)
        elif route.matches(scope)[0] is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)
