"""Group commit on SQLite: changes that queue while the writer is busy share one fsync.

SQLite has one writer, and each durable commit waits for the disk. Writers of this
process queue on one lock per engine (:mod:`rehearse.storage.transactions`); with a
:class:`GroupCommit` the first of them to arrive leads: it takes the lock, then runs
every change queued by then, each in its own ``SAVEPOINT``, inside one ``BEGIN
IMMEDIATE`` transaction, and commits once. A change that fails rolls back to its
savepoint (nothing of it is kept) and its caller gets its error; the others commit.
If the commit itself fails, every change of the batch fails and none is kept. A caller
returns only after the commit that holds its change, so each change is as durable as
before. Writers that arrive while a batch commits form the next batch; its first
member leads it.

The batches run on one connection that the group keeps checked out between them
(checking a connection out of the pool and back in, with the pool's reset, cost about
a fifth of a lifecycle change's own work: issue 16's profile). Only the leader, under
the writer lock, uses it; after any failure it goes back to the pool and the next batch
takes a fresh one, so a connection in an unknown state is never reused.

PostgreSQL does not use this: its writers run in parallel, each session's row locked.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from rehearse.errors import DataStoreError
from rehearse.storage import transactions
from rehearse.storage.sqlite import WRITE_OPTION

T = TypeVar("T")

#: Turns a constraint violation into the store's error (see ``transactions.write``).
OnIntegrity = Callable[[IntegrityError, str], Exception]


class _Change(Generic[T]):
    """One queued change: its work, its outcome, and the event its caller waits on."""

    __slots__ = ("committed", "done", "error", "lead", "result", "what", "work")

    def __init__(self, work: Callable[[Connection], T], what: str) -> None:
        self.work = work
        self.what = what
        self.done = threading.Event()
        self.lead = False
        self.committed = False
        self.result: T | None = None
        self.error: BaseException | None = None


class GroupCommit:
    """Runs changes on ``engine``, several to a durable commit when they queue up.

    Args:
        engine: a SQLite engine (its writer lock is the one every store on it shares).
        on_integrity: maps a constraint violation of a change to the store's error.
    """

    def __init__(self, engine: Engine, on_integrity: OnIntegrity) -> None:
        self.engine = engine
        self.on_integrity = on_integrity
        self._mutex = threading.Lock()
        self._queue: list[_Change[Any]] = []
        self._leading = False
        #: the connection batches run on, kept between batches (used under the writer lock)
        self._connection: Connection | None = None
        #: batches committed and changes in them (for tests and benchmarks)
        self.batches = 0
        self.changes = 0

    def queued(self) -> int:
        """Changes waiting for the next batch."""
        with self._mutex:
            return len(self._queue)

    def run(self, work: Callable[[Connection], T], what: str) -> T:
        """Run ``work(connection)`` in a write transaction; returns what it returned.

        Returns after the commit holding the change. ``work`` must not open another
        write transaction on this engine.

        Raises:
            Exception: what ``work`` raised (its change rolled back); ``DataStoreError``
                naming ``what`` when the database failed, the commit included.
        """
        change: _Change[T] = _Change(work, what)
        with self._mutex:
            self._queue.append(change)
            if not self._leading:
                self._leading = change.lead = True
        if not change.lead:
            change.done.wait()
        if change.lead:  # first to arrive, or handed the lead by the batch before
            self._lead()
        if change.error is not None:
            raise change.error
        return change.result  # type: ignore[return-value]

    def close(self) -> None:
        """Return the kept connection to the pool (before the engine is disposed)."""
        with _writer_lock(self.engine):
            self._release()

    def _writer(self) -> Connection:
        """The kept connection, checked out of the pool on first use or after a failure."""
        if self._connection is None:
            self._connection = self.engine.connect().execution_options(**{WRITE_OPTION: True})
        return self._connection

    def _release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _lead(self) -> None:
        """Commit one batch (everything queued once the lock is ours), then hand over."""
        batch: list[_Change[Any]] = []
        try:
            with _writer_lock(self.engine):
                with self._mutex:
                    batch, self._queue = self._queue, []
                self._commit(batch)
        finally:
            with self._mutex:
                if self._queue:
                    # the first writer that queued meanwhile leads the next batch
                    self._queue[0].lead = True
                    self._queue[0].done.set()
                else:
                    self._leading = False
            for change in batch:
                if not change.committed and change.error is None:  # interrupted
                    change.error = DataStoreError(f"could not {change.what}: not committed")
                change.done.set()

    def _commit(self, batch: list[_Change[Any]]) -> None:
        alone = len(batch) == 1
        try:
            connection = self._writer()
            with connection.begin():
                for change in batch:
                    if alone:  # nothing to keep apart: the transaction is the savepoint
                        change.result = change.work(connection)
                        continue
                    with _savepoint(connection):
                        try:
                            change.result = change.work(connection)
                        except Exception as exc:
                            change.error = self._mapped(exc, change.what)
                            raise _RolledBack from exc
                kept = [change for change in batch if change.error is None]
        except BaseException as exc:
            # the commit (or the one change of a batch of one) failed: nothing was kept,
            # and the connection goes back to the pool (the pool resets or discards it)
            with contextlib.suppress(Exception):  # the batch's own error is reported
                self._release()
            if not isinstance(exc, Exception):
                raise
            for change in batch:
                if change.error is None:
                    change.error = self._mapped(exc, change.what)
            return
        for change in kept:
            change.committed = True
        self.batches += 1
        self.changes += len(kept)

    def _mapped(self, exc: Exception, what: str) -> Exception:
        """The store's error for ``exc``, as ``transactions.write`` maps it."""
        if isinstance(exc, IntegrityError):
            mapped = self.on_integrity(exc, what)
        elif isinstance(exc, SQLAlchemyError):
            mapped = DataStoreError(f"could not {what}: {transactions.reason(exc)}")
        else:
            return exc
        mapped.__cause__ = exc
        return mapped


class _RolledBack(Exception):
    """A change of a batch failed; its savepoint was rolled back (caught there)."""


@contextmanager
def _savepoint(connection: Connection) -> Iterator[None]:
    """``SAVEPOINT`` ... ``RELEASE``, or ``ROLLBACK TO`` when the block fails.

    Issued on the driver: SQLAlchemy keeps the outer transaction; the savepoint is the
    batch's own business. A failed change's exception is swallowed here (the change
    already holds its error) so the batch goes on.
    """
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute("SAVEPOINT rehearse_change")
    try:
        yield
    except _RolledBack:
        driver.execute("ROLLBACK TO rehearse_change")
        driver.execute("RELEASE rehearse_change")
        return
    driver.execute("RELEASE rehearse_change")


def _writer_lock(engine: Engine) -> AbstractContextManager[object]:
    return transactions.writer_lock(engine)
