"""Storage backends, chosen by one value: the database URL.

``sqlite:///path/file.db`` (the default, in the user's data directory), ``sqlite://``
(in memory: tests and demos), ``postgresql+psycopg://user@host/db`` (many users).

Session folders on disk (seed ``003_*`` layout) are :mod:`rehearse.storage.folders`.
The SQL parts are imported on first use (PEP 562), so code that only needs the folders
(the question bank's imports, the CLI's start) does not load SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rehearse.storage.store import SessionPage, SessionQuery, Store

if TYPE_CHECKING:
    from rehearse.storage.sql import SQLStore

__all__ = ["SQLStore", "SessionPage", "SessionQuery", "Store", "open_store"]


def __getattr__(name: str) -> Any:
    if name == "SQLStore":
        from rehearse.storage.sql import SQLStore

        return SQLStore
    raise AttributeError(f"module 'rehearse.storage' has no attribute {name!r}")


def open_store(url: str, *, migrate_on_open: bool = True) -> SQLStore:
    """Open the store ``url`` names, migrating it to the current schema.

    Raises:
        ConfigurationError: the URL is malformed or names an unsupported database.
        DataStoreError: the database cannot be reached or migrated.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from rehearse.errors import ConfigurationError
    from rehearse.storage.postgres import create_postgres_engine
    from rehearse.storage.sql import SQLStore
    from rehearse.storage.sqlite import create_sqlite_engine

    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise ConfigurationError(
            f"database_url={url!r}: not a database URL; use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST:PORT/DB"
        ) from None
    if backend == "sqlite":
        engine = create_sqlite_engine(url)
    elif backend == "postgresql":
        engine = create_postgres_engine(url)
    else:
        raise ConfigurationError(
            f"database_url={url!r}: {backend} is not supported; use sqlite or postgresql"
        )
    return SQLStore(engine, migrate_on_open=migrate_on_open)
