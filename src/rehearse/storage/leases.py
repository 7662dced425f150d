"""Leased work queues in a table: the one rule both transcription queues follow.

A queue row is *waiting* (due at ``available_at``) or *leased* to a worker until
``lease_expires_at``. A row is ready when it is waiting and due, or leased with an
expired lease (its worker died). ``claim`` leases the oldest ready row with ``FOR UPDATE
SKIP LOCKED`` on PostgreSQL (SQLite writers are serial already), so workers never wait
on each other; a renewal or a result is only written while the worker still holds the
lease, so a row taken over after a crash is settled exactly once.

Used by :mod:`rehearse.storage.spoken` (interview answers) and
:mod:`rehearse.storage.voice` (voice sessions' audio entries), seed ``003_*``'s workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Row, Table, and_, or_, select, update


@dataclass(frozen=True)
class LeasedQueue:
    """How one table keeps its queue.

    Attributes:
        table: the table; it has ``status``, ``attempts``, ``lease_owner``,
            ``lease_expires_at``, ``available_at`` and ``updated_at`` columns.
        key: the columns naming one row (its primary key).
        order: the columns ordering the ready rows, oldest first.
        waiting: the ``status`` value of a row waiting to be claimed.
        leased: the ``status`` value of a row a worker holds.
    """

    table: Table
    key: Sequence[Column[Any]]
    order: Sequence[Column[Any]]
    waiting: str
    leased: str

    def ready(self, now: datetime) -> Any:
        """The condition of a row a worker may claim at ``now``."""
        c = self.table.c
        return or_(
            and_(c.status == self.waiting, c.available_at <= now),
            and_(c.status == self.leased, c.lease_expires_at <= now),
        )

    def held(self, key: Sequence[Any], owner: str | None) -> tuple[Any, ...]:
        """The condition that the row ``key`` is still leased to ``owner``."""
        c = self.table.c
        return (
            *(column == value for column, value in zip(self.key, key, strict=True)),
            c.status == self.leased,
            c.lease_owner == owner,
        )

    def has_ready(self, connection: Connection, now: datetime) -> bool:
        """Whether any row is ready at ``now``."""
        query = select(*self.key).where(self.ready(now)).limit(1)
        return connection.execute(query).first() is not None

    def claim(
        self,
        connection: Connection,
        owner: str,
        now: datetime,
        lease_until: datetime,
        *where: Any,
        columns: Sequence[Column[Any]] = (),
    ) -> tuple[Row[Any], int] | None:
        """Lease the oldest ready row (within ``where``) to ``owner`` until ``lease_until``.

        Returns:
            ``(row of the key columns then ``columns``, attempts counting this one)``, or
            ``None`` when none is ready.
        """
        row = connection.execute(
            select(*self.key, *columns)
            .where(self.ready(now), *where)
            .order_by(*self.order)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).one_or_none()
        if row is None:
            return None
        c = self.table.c
        attempts = connection.execute(
            update(self.table)
            .where(*(column == value for column, value in zip(self.key, row, strict=False)))
            .values(
                status=self.leased,
                attempts=c.attempts + 1,
                lease_owner=owner,
                lease_expires_at=lease_until,
                updated_at=now,
            )
            .returning(c.attempts)
        ).scalar_one()
        return row, int(attempts)

    def renew(
        self,
        connection: Connection,
        key: Sequence[Any],
        owner: str | None,
        now: datetime,
        lease_until: datetime,
    ) -> bool:
        """Extend the lease; ``False`` when ``owner`` lost it (write no result then)."""
        result = connection.execute(
            update(self.table)
            .where(*self.held(key, owner))
            .values(lease_expires_at=lease_until, updated_at=now)
        )
        return result.rowcount == 1

    def settle(
        self,
        connection: Connection,
        key: Sequence[Any],
        owner: str | None,
        now: datetime,
        status: str,
        **values: Any,
    ) -> bool:
        """Release the lease with a result ``status`` (and ``values``) if ``owner`` holds it.

        Returns:
            ``False`` when another worker took the row over: nothing is written.
        """
        result = connection.execute(
            update(self.table)
            .where(*self.held(key, owner))
            .values(
                status=status, lease_owner=None, lease_expires_at=None, updated_at=now, **values
            )
        )
        return result.rowcount == 1
