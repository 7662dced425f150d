r"""Strict JSON request bodies: a route class that refuses what Python's ``json`` lets through.

Python's ``json.loads`` accepts ``NaN``, ``Infinity`` and ``1e999`` (as ``inf``), which
are not JSON (RFC 8259 section 6) and cannot be stored or echoed back, and lone
surrogates (``"\ud800"``), which are not Unicode text (RFC 8259 section 8.2) and
fail when written to the database. :class:`StrictJSONRoute` parses the body once,
before FastAPI does, and turns each of these, and a body that is not UTF-8, into a
422 naming the field (issue 10, item 6).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

Location = tuple[str | int, ...]


def find_unstorable(value: Any, location: Location = ()) -> tuple[Location, str, str] | None:
    """The first value JSON cannot carry: ``(location, error type, message)``, or ``None``.

    Non-finite numbers (``NaN``, ``Infinity``, ``1e999``) and strings holding a lone
    surrogate are found, in keys and values, depth first.
    """
    for where, item in _walk(value, location):
        if isinstance(item, float) and not math.isfinite(item):
            return where, "finite_number", "must be a finite number (not NaN or Infinity)"
        if isinstance(item, str) and not _is_unicode(item):
            return where, "string_unicode", "must be valid Unicode text (a lone surrogate)"
    return None


def _walk(value: Any, location: Location) -> Iterator[tuple[Location, Any]]:
    stack: list[tuple[Location, Any]] = [(location, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            for key, inner in reversed(list(item.items())):
                yield (*where, key), key
                stack.append(((*where, key), inner))
        elif isinstance(item, list):
            stack.extend(((*where, i), inner) for i, inner in reversed(list(enumerate(item))))
        else:
            yield where, item


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type in ("", "application/json") or content_type.endswith("+json")


def _invalid(location: Location, kind: str, message: str, value: Any) -> RequestValidationError:
    return RequestValidationError(
        [{"type": kind, "loc": ("body", *location), "msg": message, "input": value}]
    )


async def parse_strict_json(request: Request) -> None:
    """Parse a JSON body strictly and cache it where FastAPI reads it (``request.json()``).

    Raises:
        RequestValidationError: the body is not UTF-8, not JSON, or holds a non-finite
            number or a lone surrogate (each a 422 naming the field).
    """
    if request.method not in ("POST", "PUT", "PATCH", "DELETE") or not _is_json(request):
        return
    body = await request.body()
    if not body:
        return
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _invalid((), "json_invalid", f"not UTF-8 text (byte {error.start})", None) from None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        message = f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        raise _invalid((), "json_invalid", message, None) from None
    found = find_unstorable(parsed)
    if found is not None:
        location, kind, message = found
        raise _invalid(location, kind, message, _value_at(parsed, location))
    request._json = parsed  # Starlette's cache: FastAPI's own read finds it parsed


def _value_at(value: Any, location: Location) -> Any:
    for part in location:
        if isinstance(value, list) and isinstance(part, int):
            value = value[part]
            continue
        if not (isinstance(value, dict) and part in value):
            return part  # a key itself was the problem
        value = value[part]
    return value


class StrictJSONRoute(APIRoute):
    """An API route whose JSON body is parsed by :func:`parse_strict_json` first."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler, preceded by the strict parse."""
        handler = super().get_route_handler()
        if self.body_field is None:  # no JSON body (none, a form, or raw bytes read by hand)
            return handler

        async def strict_handler(request: Request) -> Response:
            await parse_strict_json(request)
            return await handler(request)

        return strict_handler
