"""PostgreSQL engines: the scale backend, shared by several ``rehearse serve`` workers.

URLs look like ``postgresql+psycopg://user@host:5432/dbname`` (psycopg 3). Plain
``postgresql://`` URLs are taken to mean psycopg 3 too. Transactions run at READ
COMMITTED; conflicting writers are caught by the session ``version`` check.

Round trips are the cost of a change here (issue 16): a session change sends its
writes in one batch (:func:`pipelined`), and a pooled connection is checked for life
without a query (:func:`_check_alive`, instead of SQLAlchemy's ``pool_pre_ping``,
which spent a round trip on every checkout).
"""

from __future__ import annotations

import logging
import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError

#: ``Connection.info`` key of the pipeline a connection is in (see :func:`pipelined`).
PIPELINE = "rehearse_pipeline"
log = logging.getLogger("rehearse.storage")


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver when the URL names no driver."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def create_postgres_engine(url: str) -> Engine:
    """An engine with a pool sized for one server worker that drops dead connections.

    A connection the server closed (a restart, ``pg_terminate_backend``) is found at
    checkout and replaced, without a query (see :func:`_check_alive`).
    """
    engine = create_engine(
        normalise_url(url),
        pool_size=10,
        max_overflow=20,
        connect_args={"connect_timeout": 10},
    )
    event.listen(engine, "checkout", _check_alive)
    event.listen(engine, "after_cursor_execute", _sync_in_pipeline)
    return engine


def _check_alive(dbapi_connection: Any, _record: object, _proxy: object) -> None:
    """Refuse a pooled connection the server has closed; the pool then opens a new one.

    An idle connection in the pool has nothing to read: if its socket is readable, the
    server sent something, in practice its goodbye before closing (a restart, a
    terminated backend; libpq itself notices only at the next query). Such a connection
    is replaced, as is one already known closed. Costs one ``select`` call, no round
    trip; a connection dropped for some harmless message costs only a reconnect.

    Raises:
        DisconnectionError: the connection is dead (the pool retries with a new one).
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("connection closed")
    readable, _, _ = select.select([dbapi_connection.pgconn.socket], [], [], 0)
    if readable:
        raise DisconnectionError("the server sent a message to an idle connection")


def in_pipeline(connection: Connection) -> bool:
    """True inside :func:`pipelined` on ``connection``."""
    return connection.info.get(PIPELINE) is not None


class Pipelined:
    """One write transaction whose statements travel in batches (psycopg pipeline mode).

    The transaction is sent by hand, BEGIN queued with the first statement (psycopg's
    own BEGIN waits for its answer: a round trip of its own), and
    :meth:`commit` queues COMMIT behind the writes. Statements run through the driver
    (:mod:`rehearse.storage.prepared`) are queued; reading a result (a ``fetchone``)
    sends the queue and waits, so reads stay correct, and SQLAlchemy Core statements
    are sent at once as outside a pipeline (:func:`_sync_in_pipeline`). Row counts of
    queued writes are known after :meth:`sync`; what is still queued when the block
    ends (the COMMIT, and the writes before it) is sent then, in one round trip.

    Use through :func:`pipelined`.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.driver: Any = connection.connection.driver_connection
        self.pipeline: Any = None

    def sync(self) -> None:
        """Send what is queued and wait for every result (one round trip).

        Raises:
            sqlalchemy.exc.DBAPIError: as :func:`pipelined`.
        """
        with self._mapped():
            self.pipeline.sync()

    def commit(self) -> None:
        """Queue COMMIT behind the writes; it is sent, with them, as the block ends.

        If a statement before it failed, the server skips the COMMIT: nothing is kept,
        and leaving the block raises that statement's error.
        """
        self.driver.execute(b"COMMIT")

    @contextmanager
    def _mapped(self) -> Iterator[None]:
        dialect = self.connection.dialect
        try:
            yield
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                "(pipelined statements)", None, exc, dialect.loaded_dbapi.Error
            ) from exc


@contextmanager
def pipelined(connection: Connection) -> Iterator[Pipelined]:
    """A write transaction on ``connection`` in pipeline mode; call ``commit()`` to keep it.

    ``connection`` must have no transaction open on the server (a fresh one from the
    pool, inside SQLAlchemy's lazy ``begin()``, which then finds nothing to commit or
    roll back). Leaving the block without :meth:`Pipelined.commit` (an error, a refused
    change) rolls the transaction back.

    Raises:
        sqlalchemy.exc.DBAPIError: a statement failed (an ``IntegrityError`` for a
            constraint), as SQLAlchemy would raise it; nothing was kept.
    """
    batch = Pipelined(connection)
    driver = batch.driver
    driver.autocommit = True  # our BEGIN, not psycopg's (which waits for its reply)
    try:
        with batch._mapped(), driver.pipeline() as pipeline:
            batch.pipeline = pipeline
            connection.info[PIPELINE] = pipeline
            try:
                driver.execute(b"BEGIN")
                yield batch
            finally:
                connection.info.pop(PIPELINE, None)
    finally:
        _close_transaction(driver)


def _close_transaction(driver: Any) -> None:
    """Roll back what was not committed and give the connection psycopg's own BEGINs back.

    A connection that broke meanwhile is left as it is: SQLAlchemy sees the error that
    broke it and drops the connection from the pool.
    """
    if driver.closed or driver.broken:
        return
    try:
        if driver.pgconn.transaction_status != 0:  # not committed (IDLE): roll back
            driver.execute(b"ROLLBACK")
        driver.autocommit = False
    except driver.Error:  # the connection failed now: the pool will replace it
        log.warning("could not close a pipelined transaction", exc_info=True)


def _sync_in_pipeline(
    connection: Connection,
    _cursor: object,
    _statement: str,
    _parameters: object,
    _context: object,
    _executemany: bool,
) -> None:
    """Inside :func:`pipelined`, wait for a Core statement's result before Core reads it."""
    pipeline = connection.info.get(PIPELINE)
    if pipeline is not None:
        pipeline.sync()
