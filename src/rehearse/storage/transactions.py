"""Read and write transactions on one engine, shared by every store on it.

SQLite allows one writer: writers of this process queue on one lock per engine (shared
by the session and account stores) and open ``BEGIN IMMEDIATE`` transactions, so two
writers never both read and then collide at commit. PostgreSQL writers run in
parallel. Driver errors become :class:`DataStoreError` naming the operation.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from rehearse.errors import DataStoreError
from rehearse.storage.sqlite import WRITE_OPTION

_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def reason(exc: SQLAlchemyError) -> str:
    """The first line of the driver's message."""
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]


def writer_lock(engine: Engine) -> AbstractContextManager[object]:
    """The lock this process's writers of ``engine`` queue on (none for PostgreSQL)."""
    return _writer_lock(engine)


def _writer_lock(engine: Engine) -> AbstractContextManager[object]:
    if engine.dialect.name != "sqlite":
        return nullcontext()
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(engine, threading.Lock())


@contextmanager
def write(
    engine: Engine,
    what: str,
    on_integrity: Callable[[IntegrityError, str], Exception] | None = None,
) -> Iterator[Connection]:
    """A write transaction: committed on success, rolled back on any error.

    Raises:
        DataStoreError: the database failed ("could not <what>: <reason>").
        Exception: ``on_integrity(error, what)`` for a constraint violation, if given.
    """
    try:
        with _writer_lock(engine), engine.connect() as connection:
            connection = connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                yield connection
    except IntegrityError as exc:
        if on_integrity is None:
            raise DataStoreError(f"could not {what}: {reason(exc)}") from exc
        raise on_integrity(exc, what) from exc
    except SQLAlchemyError as exc:
        raise DataStoreError(f"could not {what}: {reason(exc)}") from exc


@contextmanager
def read(engine: Engine, what: str) -> Iterator[Connection]:
    """A read-only connection.

    On PostgreSQL it runs in autocommit: each statement sees what was committed when it
    began, exactly as in a READ COMMITTED transaction, without BEGIN and ROLLBACK.

    Raises:
        DataStoreError: the database failed ("could not <what>: <reason>").
    """
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                # each statement on its own, as READ COMMITTED reads them anyway: no
                # BEGIN and ROLLBACK round trips around a read (issue 16)
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection
    except SQLAlchemyError as exc:
        raise DataStoreError(f"could not {what}: {reason(exc)}") from exc
