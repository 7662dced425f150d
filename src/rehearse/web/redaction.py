"""Secrets out of logs: candidate link tokens, query-string secrets and bearer tokens (issue 10).

:func:`redact` rewrites a path, URL or log line; :class:`RedactingFilter` applies it to
every record of a logger (rehearse's request log, uvicorn's access and error logs), so
a log shipped elsewhere never carries a credential.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"

#: Query parameters whose value is a secret (any case, ``-`` or ``_``).
SECRET_PARAMETERS = ("token", "access_token", "secret", "password", "api_key", "key", "csrf_token")

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # a candidate link: /join/<token>
    (re.compile(r"(/join/)[^/?#\s\"']+"), rf"\g<1>{REDACTED}"),
    # ?token=..., &api-key=..., ?client_secret=...
    (
        re.compile(
            r"([?&;](?:[\w.-]*(?:"
            + "|".join(p.replace("_", "[-_]?") for p in SECRET_PARAMETERS)
            + r"))=)[^&;#\s\"']*",
            re.IGNORECASE,
        ),
        rf"\g<1>{REDACTED}",
    ),
    # Authorization: Bearer <token>
    (re.compile(r"(bearer\s+)[\w.~+/=-]+", re.IGNORECASE), rf"\g<1>{REDACTED}"),
)


def redact(text: str) -> str:
    """``text`` with every secret replaced by ``[redacted]``.

    >>> redact("/join/abc123?next=/")
    '/join/[redacted]?next=/'
    >>> redact("/api/v1/x?after=3&token=s3cr3t")
    '/api/v1/x?after=3&token=[redacted]'
    """
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the message, its arguments and rehearse's ``path`` field."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; never drops it."""
        record.msg = _clean(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _clean(arg) for key, arg in record.args.items()}
        path = getattr(record, "path", None)
        if isinstance(path, str):
            record.__dict__["path"] = redact(path)
        return True


#: The loggers a server writes request lines to.
LOGGERS = ("rehearse", "rehearse.web", "uvicorn", "uvicorn.access", "uvicorn.error")


def install_redaction() -> None:
    """Put one :class:`RedactingFilter` on each of :data:`LOGGERS` (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
