"""Spoken interview answers and their transcription queue through SQLAlchemy Core.

It shares the engine of :class:`~rehearse.storage.sql.SQLStore` (``SpokenStore(store.engine)``)
and its migrations (revision 0007). One ``spoken_answers`` row is the recording, its
transcription job and its result:

* **Saved first**: ``add`` gives the recording the session's next sequence number
  (gap-free: PostgreSQL serialises adds of one session on an advisory lock, SQLite
  writers are serial already), calls ``store_file`` inside the transaction and inserts
  the row as ``pending``, so a failed write leaves neither a row nor a number used.
* **The queue**: ``claim`` leases the oldest ready row (pending and due, or processing
  with an expired lease: its worker died) with ``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL; ``settle`` writes a result only for the lease's owner, so a recording
  taken over after a crash is written into the answer exactly once.
* **Statuses** move as :data:`rehearse.domain.spoken.SPOKEN_TRANSITIONS` allows; the
  guard runs under the row lock.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, func, insert, select, text, update

from rehearse.domain.spoken import SpokenAnswerStatus, check_spoken_transition
from rehearse.errors import SpokenAnswerNotFoundError
from rehearse.storage import transactions
from rehearse.storage.leases import LeasedQueue
from rehearse.storage.schema import spoken_answers

_T = spoken_answers.c
_S = SpokenAnswerStatus
_QUEUE = LeasedQueue(
    spoken_answers,
    key=(_T.session_id, _T.sequence),
    order=(_T.available_at, _T.created_at),
    waiting=_S.PENDING.value,
    leased=_S.PROCESSING.value,
)


@dataclass(frozen=True)
class SpokenRecord:
    """One stored spoken answer.

    Attributes:
        session_id / sequence: the interview session and the recording's number (1, 2 ...).
        question_id: the plan item it answers.
        actor: who recorded it.
        original_filename: the sender's base name, information only.
        stored_filename: ``NNN_audio.<ext>`` under the session folder's ``audio/``.
        mime_type / duration_seconds / size_bytes: the recording.
        status: where it is (:class:`SpokenAnswerStatus`).
        attempts: transcription tries so far.
        transcript: what the transcriber heard, once transcribed.
        quality_flag: why the transcript is too poor to score, or ``None``.
        analysis: the speech analysis (words, pauses, metrics), JSON-ready, or ``None``.
        submitted_text: the text scored (the transcript, or the candidate's correction).
        error: why transcription failed, or ``None``.
        created_at / updated_at: aware UTC.
        lease_owner / lease_expires_at: the worker holding it while ``processing``.
    """

    session_id: str
    sequence: int
    question_id: str
    actor: str
    original_filename: str | None
    stored_filename: str
    mime_type: str
    duration_seconds: float
    size_bytes: int
    status: SpokenAnswerStatus
    attempts: int
    transcript: str | None
    quality_flag: str | None
    analysis: dict[str, Any] | None
    submitted_text: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    lease_owner: str | None = field(default=None, compare=False)
    lease_expires_at: datetime | None = field(default=None, compare=False)


class SpokenStore:
    """Durable spoken answers on the engine of a migrated ``SQLStore``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _write(self, what: str) -> AbstractContextManager[Connection]:
        return transactions.write(self.engine, what)

    def _read(self, what: str) -> AbstractContextManager[Connection]:
        return transactions.read(self.engine, what)

    def add(
        self,
        session_id: str,
        make: Callable[[int], dict[str, Any]],
        store_file: Callable[[int, str], None],
        now: datetime,
    ) -> SpokenRecord:
        """Store the session's next recording: ``make(sequence)`` gives the row's values.

        ``store_file(sequence, stored_filename)`` writes the recording inside the
        transaction; if it raises, nothing is stored and no number is used.

        Raises:
            DataStoreError: the database failed.
        """
        with self._write(f"save a spoken answer of session {session_id}") as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                    {"key": f"rehearse.spoken_answers:{session_id}"},
                )
            last = connection.execute(
                select(func.max(_T.sequence)).where(_T.session_id == session_id)
            ).scalar_one()
            sequence = int(last or 0) + 1
            values = make(sequence)
            store_file(sequence, values["stored_filename"])
            row = {
                **values,
                "session_id": session_id,
                "sequence": sequence,
                "status": _S.PENDING.value,
                "attempts": 0,
                "available_at": now,
                "created_at": now,
                "updated_at": now,
            }
            connection.execute(insert(spoken_answers), row)
            return _load(_one(connection, session_id, sequence))

    def get(self, session_id: str, sequence: int) -> SpokenRecord:
        """One recording.

        Raises:
            SpokenAnswerNotFoundError: the session has no recording ``sequence``.
        """
        with self._read(f"read spoken answer {sequence} of session {session_id}") as connection:
            return _load(_one(connection, session_id, sequence))

    def list(self, session_id: str) -> list[SpokenRecord]:
        """Every recording of the session, in sequence order."""
        with self._read(f"list spoken answers of session {session_id}") as connection:
            rows = connection.execute(
                select(spoken_answers).where(_T.session_id == session_id).order_by(_T.sequence)
            ).all()
        return [_load(r._mapping) for r in rows]

    def move(
        self,
        session_id: str,
        sequence: int,
        target: SpokenAnswerStatus,
        now: datetime,
        **values: Any,
    ) -> SpokenRecord:
        """Move one recording to ``target`` (guarded), setting ``values`` too.

        Raises:
            SpokenAnswerNotFoundError: no such recording.
            SpokenAnswerRefusedError: the move is not allowed from its status.
        """
        with self._write(f"update spoken answer {sequence} of session {session_id}") as conn:
            current = _load(_one(conn, session_id, sequence, lock=True))
            check_spoken_transition(session_id, sequence, current.status, target)
            conn.execute(
                update(spoken_answers)
                .where(_T.session_id == session_id, _T.sequence == sequence)
                .values(status=target.value, updated_at=now, **values)
            )
            return _load(_one(conn, session_id, sequence))

    # -- the queue --------------------------------------------------------------------

    def has_ready(self, now: datetime) -> bool:
        """Whether a recording waits for transcription; a read (no write lock when idle)."""
        with self._read("look for spoken answers to transcribe") as connection:
            return _QUEUE.has_ready(connection, now)

    def claim(
        self,
        owner: str,
        now: datetime,
        lease_until: datetime,
        only: tuple[str, int] | None = None,
    ) -> SpokenRecord | None:
        """Lease the oldest ready recording (or ``only`` that one) to ``owner``.

        Ready: pending and due, or processing with an expired lease. It becomes
        ``processing``; ``attempts`` counts this try. ``None`` when none is ready.
        """
        where = () if only is None else (_T.session_id == only[0], _T.sequence == only[1])
        with self._write("claim a spoken answer to transcribe") as connection:
            claimed = _QUEUE.claim(connection, owner, now, lease_until, *where)
            if claimed is None:
                return None
            row, _attempts = claimed
            return _load(_one(connection, row.session_id, row.sequence))

    def renew(self, record: SpokenRecord, now: datetime, lease_until: datetime) -> bool:
        """Extend the lease; ``False`` when ``record.lease_owner`` lost it."""
        with self._write(f"renew spoken answer {record.sequence}") as connection:
            return _QUEUE.renew(connection, _key(record), record.lease_owner, now, lease_until)

    def settle(
        self,
        record: SpokenRecord,
        target: SpokenAnswerStatus,
        now: datetime,
        **values: Any,
    ) -> bool:
        """Write a transcription result (or a retry, or a failure) if the lease is held.

        Returns:
            ``False`` when another worker took the recording over: nothing is written.
        """
        check_spoken_transition(record.session_id, record.sequence, _S.PROCESSING, target)
        with self._write(f"settle spoken answer {record.sequence}") as connection:
            return _QUEUE.settle(
                connection, _key(record), record.lease_owner, now, target.value, **values
            )

    def waiting(self) -> int:
        """Recordings not yet transcribed (pending or processing)."""
        with self._read("count spoken answers to transcribe") as connection:
            return int(
                connection.execute(
                    select(func.count())
                    .select_from(spoken_answers)
                    .where(_T.status.in_((_S.PENDING.value, _S.PROCESSING.value)))
                ).scalar_one()
            )


def _key(record: SpokenRecord) -> tuple[str, int]:
    return (record.session_id, record.sequence)


def _one(
    connection: Connection, session_id: str, sequence: int, *, lock: bool = False
) -> RowMapping:
    query = select(spoken_answers).where(_T.session_id == session_id, _T.sequence == sequence)
    if lock:
        query = query.with_for_update()
    row = connection.execute(query).one_or_none()
    if row is None:
        raise SpokenAnswerNotFoundError(session_id, sequence)
    return row._mapping


def _load(row: RowMapping) -> SpokenRecord:
    return SpokenRecord(
        session_id=row["session_id"],
        sequence=row["sequence"],
        question_id=row["question_id"],
        actor=row["actor"],
        original_filename=row["original_filename"],
        stored_filename=row["stored_filename"],
        mime_type=row["mime_type"],
        duration_seconds=row["duration_seconds"],
        size_bytes=row["size_bytes"],
        status=SpokenAnswerStatus(row["status"]),
        attempts=row["attempts"],
        transcript=row["transcript"],
        quality_flag=row["quality_flag"],
        analysis=row["analysis"],
        submitted_text=row["submitted_text"],
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        lease_owner=row["lease_owner"],
        lease_expires_at=row["lease_expires_at"],
    )
