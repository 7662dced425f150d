"""SQLite engines: the embedded default (a file in the user's data directory, or memory).

Durability and concurrency settings: WAL journal with ``synchronous=FULL`` (a
committed change survives power loss), a 10 s busy timeout, foreign keys on, and
write transactions opened with ``BEGIN IMMEDIATE`` so two writers never both read
then collide at commit. Inside one process writes also pass one lock (the
datasette habit: one writer), so threads queue instead of spinning on busy.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from rehearse.errors import ConfigurationError

WRITE_OPTION = "rehearse_write"

#: Connections a file database keeps open: one for each thread that may query at once
#: (a server's request threads are AnyIO's 40, plus its background owner). With
#: SQLAlchemy's default of 5, every request past the fifth opened a fresh connection
#: and ran the pragmas below, then closed it (4% of a loaded server's CPU, issue 16).
POOL_SIZE = 48


def is_memory(url: str) -> bool:
    """True for an in-memory SQLite URL (``sqlite://`` or ``sqlite:///:memory:``)."""
    database = make_url(url).database
    return database in (None, "", ":memory:")


def create_sqlite_engine(url: str) -> Engine:
    """An engine for ``url`` with rehearse's pragmas; creates the file's folder.

    Raises:
        ConfigurationError: the folder cannot be created.
    """
    memory = is_memory(url)
    if not memory:
        path = Path(make_url(url).database or "")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(
                f"database_url={url!r}: cannot create folder {path.parent}: {exc.strerror}"
            ) from None
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 10}}
    if memory:
        kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_size"] = POOL_SIZE
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        # straight to the driver: SQLAlchemy's statement machinery around a constant
        # BEGIN cost a tenth of a session change (issue 16 profile)
        statement = "BEGIN IMMEDIATE" if write else "BEGIN"
        try:
            connection.connection.driver_connection.execute(statement)
        except sqlite3.Error as exc:  # "database is locked" ... as SQLAlchemy's error
            raise DBAPIError.instance(statement, (), exc, sqlite3.Error) from exc

    return engine
