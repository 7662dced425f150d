"""Migrated SQLite stores for tests: Alembic runs once per test process (issue 8 item 6).

The one place that makes test databases. A template file is migrated on first use and
copied with SQLite's backup API, into a file of the test's own
(:func:`migrated_sqlite_url`) or into memory (:func:`memory_store`, for property tests
that need a fresh store per example, where a migration each would cost a quarter of a
second). Each pytest-xdist worker is a process of its own, so each has its own template.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import cast

from rehearse.storage import SQLStore, open_store
from rehearse.storage.sqlite import create_sqlite_engine


@functools.cache
def sqlite_template() -> Path:
    """A SQLite file migrated to the head revision, made once per process."""
    folder = Path(tempfile.mkdtemp(prefix="rehearse-template-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "migrated.db"
    open_store(f"sqlite:///{path}").close()
    return path


def migrated_sqlite_url(target: Path) -> str:
    """Copy the migrated template to ``target``; returns its URL."""
    with sqlite3.connect(sqlite_template()) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    return f"sqlite:///{target}"


def memory_store() -> SQLStore:
    """A migrated, empty in-memory store (``sqlite://``), copied from the template."""
    engine = create_sqlite_engine("sqlite://")
    with sqlite3.connect(sqlite_template()) as source, engine.connect() as connection:
        source.backup(cast(sqlite3.Connection, connection.connection.dbapi_connection))
    source.close()
    return SQLStore(engine)


def emptied_postgres_schema(url: str) -> str:
    """Drop every table of the private PostgreSQL schema ``url`` names; returns ``url``.

    For tests that migrate it themselves (a process, a fresh store) rather than take
    the migrated store of the ``postgres_store`` fixture.
    """
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            tables = inspect(connection).get_table_names()
            if tables:
                connection.execute(text(f"DROP TABLE {', '.join(tables)} CASCADE"))
    finally:
        engine.dispose()
    return url


def named_connections(url: str, name: str) -> str:
    """``url`` with the ``application_name`` ``name``, to find (and cut) its connections."""
    from sqlalchemy.engine import make_url

    return (
        make_url(url)
        .update_query_dict({"application_name": name})
        .render_as_string(hide_password=False)
    )
