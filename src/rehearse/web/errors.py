"""Expected errors as HTTP responses: one JSON shape, ``{"error", "message", ...}``.

The status follows the error class (issue 4): 422 invalid input, 404 not found, 409 an
action refused in the session's state, 403 access denied, 401 not signed in, 413 too
large, 503 the database failed.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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
    UserNotFoundError,
)

STATUS: dict[type[RehearseError], int] = {
    ConfigurationError: 422,
    SessionNotFoundError: 404,
    QuestionNotFoundError: 404,
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
        fields: list[dict[str, Any]] = []
        for item in error.errors():
            location = [str(part) for part in item["loc"] if part not in ("body", "query", "path")]
            value = item.get("input")
            fields.append(
                {
                    "field": ".".join(location) or "body",
                    "value": value if isinstance(value, str | int | float | bool | None) else None,
                    "message": describe_error(item, SessionConfig),
                }
            )
        message = "; ".join(f"{f['field']}={f['value']!r}: {f['message']}" for f in fields)
        body = {
            "error": "ConfigurationError",
            "message": f"invalid request: {message}",
            "fields": fields,
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        body = {"error": "HTTPError", "message": str(error.detail)}
        return JSONResponse(body, status_code=error.status_code, headers=error.headers)
