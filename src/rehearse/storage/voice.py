"""Voice sessions, audio entries, events and the transcription queue through SQLAlchemy Core.

It shares the engine of :class:`~rehearse.storage.sql.SQLStore` (``VoiceStore(store.engine)``)
and so its migrations (revision 0006). The rules come from the caller (the voice service)
as functions applied under a row lock; this module makes them atomic:

* **Gap-free sequence numbers**: ``add_entry`` locks the session row (``SELECT ... FOR
  UPDATE`` on PostgreSQL; SQLite's write transactions begin ``IMMEDIATE``), bumps
  ``last_sequence`` and inserts the entry, its job and its event in one transaction, so
  concurrent uploads get 1, 2, 3 ... and a failed upload leaves no hole.
* **The durable queue**: one ``voice_jobs`` row per entry. ``claim`` takes the oldest
  ready job (queued and due, or leased with an expired lease) with ``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL, so workers never wait on each other, and gives it a lease; a
  result is only accepted from the lease's owner (``complete``), so a job taken over
  after a crash is written into the result exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from rehearse.domain.voice import (
    AudioEntry,
    ErrorEntry,
    TranscriptionStatus,
    VoiceEvent,
    VoiceEventType,
    VoiceSession,
    VoiceSessionState,
)
from rehearse.errors import DataStoreError, SessionNotFoundError
from rehearse.storage import transactions
from rehearse.storage.leases import LeasedQueue
from rehearse.storage.schema import voice_audio_entries, voice_events, voice_jobs, voice_sessions

_QUEUE = LeasedQueue(
    voice_jobs,
    key=(voice_jobs.c.id,),
    order=(voice_jobs.c.available_at, voice_jobs.c.id),
    waiting="queued",
    leased="leased",
)

#: A rule applied to a locked session: the changed session and the events it records.
Change = Callable[[VoiceSession], tuple[VoiceSession, list[VoiceEvent]]]


class CollectingSessionExistsError(DataStoreError):
    """Another writer opened a collecting session for this chat at the same moment."""


@dataclass(frozen=True)
class Job:
    """A claimed transcription job.

    Attributes:
        id: the job row.
        session_id / sequence: the audio entry to transcribe.
        attempts: tries so far, this one included.
        lease_owner: the worker holding it.
        lease_expires_at: when another worker may take it over, aware UTC.
    """

    id: int
    session_id: str
    sequence: int
    attempts: int
    lease_owner: str
    lease_expires_at: datetime


class VoiceStore:
    """Durable voice sessions on the engine of a migrated ``SQLStore``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _write(self, what: str) -> AbstractContextManager[Connection]:
        return transactions.write(self.engine, what, on_integrity=_integrity)

    def _read(self, what: str) -> AbstractContextManager[Connection]:
        return transactions.read(self.engine, what)

    # -- sessions -------------------------------------------------------------------

    def create(
        self, session: VoiceSession, events: Sequence[VoiceEvent], close: Change
    ) -> list[VoiceSession]:
        """Insert ``session``; first apply ``close`` to the chat's collecting session, if any.

        Returns:
            The sessions ``close`` changed (none or one).

        Raises:
            CollectingSessionExistsError: another writer opened a collecting session for
                the chat concurrently (try again: ``close`` will then see it).
            DataStoreError: the database failed.
        """
        closed: list[VoiceSession] = []
        with self._write(f"create voice session {session.id}") as connection:
            if connection.dialect.name == "postgresql":
                # creates of one chat queue here: the partial unique index alone would
                # make concurrent ones fail and retry (SQLite writers are serial already)
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                    {"key": f"rehearse.voice_sessions.chat:{session.chat_id}"},
                )
            rows = connection.execute(
                select(voice_sessions)
                .where(
                    voice_sessions.c.chat_id == session.chat_id,
                    voice_sessions.c.state == VoiceSessionState.COLLECTING.value,
                )
                .with_for_update()
            ).all()
            for row in rows:
                current = _load(connection, row._mapping)
                changed, changes = close(current)
                _save(connection, changed, changes)
                closed.append(changed)
            connection.execute(insert(voice_sessions), _session_values(session))
            _append(connection, events)
        return closed

    def mutate(self, session_id: str, change: Change, what: str) -> VoiceSession:
        """Apply ``change`` to the locked session and store what it returns.

        Raises:
            SessionNotFoundError: no voice session has this id.
            InvalidStateError: raised by ``change``; nothing is written.
            DataStoreError: the database failed.
        """
        with self._write(f"{what} voice session {session_id}") as connection:
            current = _locked(connection, session_id)
            changed, changes = change(current)
            _save(connection, changed, changes)
        return changed

    def add_entry(
        self,
        session_id: str,
        make: Callable[[VoiceSession, int], tuple[AudioEntry, list[VoiceEvent]]],
        store_file: Callable[[AudioEntry], None],
        now: datetime,
    ) -> VoiceSession:
        """Add the next audio entry: ``make(session, sequence)``, then ``store_file(entry)``.

        ``make`` applies the rules (it raises to refuse); ``store_file`` writes the
        recording; both run inside the transaction, so a refusal or a failed write
        leaves no entry and no gap in the sequence.

        Raises:
            SessionNotFoundError: no voice session has this id.
            InvalidStateError: raised by ``make``.
            DataStoreError: the database failed.
        """
        with self._write(f"add audio to voice session {session_id}") as connection:
            current = _locked(connection, session_id)
            sequence = (
                int(
                    connection.execute(
                        select(voice_sessions.c.last_sequence).where(
                            voice_sessions.c.id == session_id
                        )
                    ).scalar_one()
                )
                + 1
            )
            entry, events = make(current, sequence)
            store_file(entry)
            connection.execute(
                update(voice_sessions)
                .where(voice_sessions.c.id == session_id)
                .values(last_sequence=sequence, updated_at=now)
            )
            connection.execute(
                insert(voice_audio_entries), {"session_id": session_id, **_entry_values(entry)}
            )
            connection.execute(
                insert(voice_jobs),
                {
                    "session_id": session_id,
                    "sequence": sequence,
                    "status": "queued",
                    "attempts": 0,
                    "available_at": now,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            _append(connection, events)
            return _load(connection, _row(connection, session_id))

    def update_entry(
        self,
        session_id: str,
        sequence: int,
        status: TranscriptionStatus,
        transcript_filename: str | None,
        error: str | None,
        events: Sequence[VoiceEvent] = (),
    ) -> VoiceSession:
        """Set one entry's transcription status (and transcript file name, error).

        Raises:
            SessionNotFoundError: no voice session has this id.
            LookupError: the session has no entry ``sequence``.
            DataStoreError: the database failed.
        """
        with self._write(f"update audio {sequence} of voice session {session_id}") as connection:
            _locked(connection, session_id)
            _set_entry(connection, session_id, sequence, status, transcript_filename, error)
            _append(connection, events)
            return _load(connection, _row(connection, session_id))

    def get(self, session_id: str) -> VoiceSession | None:
        """The session with its entries, or ``None``."""
        with self._read(f"read voice session {session_id}") as connection:
            row = connection.execute(
                select(voice_sessions).where(voice_sessions.c.id == session_id)
            ).one_or_none()
            return None if row is None else _load(connection, row._mapping)

    def collecting(self, chat_id: int | None) -> VoiceSession | None:
        """The newest collecting session (of ``chat_id``, or of any chat), or ``None``."""
        query = select(voice_sessions).where(
            voice_sessions.c.state == VoiceSessionState.COLLECTING.value
        )
        if chat_id is not None:
            query = query.where(voice_sessions.c.chat_id == chat_id)
        query = query.order_by(voice_sessions.c.created_at.desc(), voice_sessions.c.id.desc())
        with self._read("read the collecting voice session") as connection:
            row = connection.execute(query.limit(1)).one_or_none()
            return None if row is None else _load(connection, row._mapping)

    def list_sessions(self, limit: int) -> list[VoiceSession]:
        """The ``limit`` newest sessions, newest first."""
        with self._read("list voice sessions") as connection:
            rows = connection.execute(
                select(voice_sessions)
                .order_by(voice_sessions.c.created_at.desc(), voice_sessions.c.id.desc())
                .limit(limit)
            ).all()
            return [_load(connection, row._mapping) for row in rows]

    def unfinished(self) -> list[VoiceSession]:
        """Finalized sessions not yet processed (transcribing, transcribed, processing)."""
        states = ("transcribing", "transcribed", "processing")
        with self._read("list unfinished voice sessions") as connection:
            rows = connection.execute(
                select(voice_sessions)
                .where(voice_sessions.c.state.in_(states))
                .order_by(voice_sessions.c.created_at)
            ).all()
            return [_load(connection, row._mapping) for row in rows]

    def events(self, session_id: str) -> list[VoiceEvent]:
        """Every event of the session, oldest first."""
        with self._read(f"read events of voice session {session_id}") as connection:
            rows = connection.execute(
                select(voice_events)
                .where(voice_events.c.session_id == session_id)
                .order_by(voice_events.c.id)
            ).all()
        return [
            VoiceEvent(
                event_type=VoiceEventType(r.type),
                session_id=r.session_id,
                timestamp=r.at,
                details=r.details,
            )
            for r in rows
        ]

    # -- the queue --------------------------------------------------------------------

    def has_ready(self, now: datetime) -> bool:
        """Whether a job is ready; a read, so idle workers never take the write lock."""
        with self._read("look for transcription jobs") as connection:
            return _QUEUE.has_ready(connection, now)

    def claim(self, owner: str, now: datetime, lease_until: datetime) -> Job | None:
        """Lease the oldest ready job to ``owner`` until ``lease_until``; ``None`` if none.

        Ready: queued and due (``available_at <= now``), or leased with an expired lease
        (its worker died). The entry becomes ``processing``.
        """
        with self._write("claim a transcription job") as connection:
            claimed = _QUEUE.claim(
                connection,
                owner,
                now,
                lease_until,
                columns=(voice_jobs.c.session_id, voice_jobs.c.sequence),
            )
            if claimed is None:
                return None
            row, attempts = claimed
            _set_entry(
                connection, row.session_id, row.sequence, TranscriptionStatus.PROCESSING, None, None
            )
        return Job(row.id, row.session_id, row.sequence, attempts, owner, lease_until)

    def renew(self, job: Job, now: datetime, lease_until: datetime) -> bool:
        """Extend ``job``'s lease; ``False`` when the owner lost it (do not write a result)."""
        with self._write(f"renew transcription job {job.id}") as connection:
            return _QUEUE.renew(connection, (job.id,), job.lease_owner, now, lease_until)

    def complete(
        self,
        job: Job,
        now: datetime,
        status: TranscriptionStatus,
        transcript_filename: str | None,
        error: str | None,
        events: Sequence[VoiceEvent] = (),
    ) -> bool:
        """Settle ``job`` (done or failed) and its entry, if ``job.lease_owner`` still holds it.

        Returns:
            ``False`` when the lease was lost (another worker took the job over): nothing
            is written, so the entry's result is recorded exactly once.
        """
        with self._write(f"complete transcription job {job.id}") as connection:
            settled = _QUEUE.settle(
                connection,
                (job.id,),
                job.lease_owner,
                now,
                "done" if status is TranscriptionStatus.DONE else "failed",
                last_error=error,
            )
            if not settled:
                return False
            _set_entry(connection, job.session_id, job.sequence, status, transcript_filename, error)
            _append(connection, events)
        return True

    def pending_jobs(self) -> int:
        """Jobs not yet done or failed (queued or leased)."""
        with self._read("count transcription jobs") as connection:
            return int(
                connection.execute(
                    select(func.count())
                    .select_from(voice_jobs)
                    .where(voice_jobs.c.status.in_(("queued", "leased")))
                ).scalar_one()
            )

    def job_attempts(self, session_id: str, sequence: int) -> tuple[str, int]:
        """The status and attempts of the job of one entry (for tests and diagnostics).

        Raises:
            LookupError: the entry has no job.
        """
        with self._read("read a transcription job") as connection:
            row = connection.execute(
                select(voice_jobs.c.status, voice_jobs.c.attempts).where(
                    voice_jobs.c.session_id == session_id, voice_jobs.c.sequence == sequence
                )
            ).one_or_none()
        if row is None:
            raise LookupError(f"voice session {session_id} has no job for audio {sequence}")
        return str(row.status), int(row.attempts)


def _row(connection: Connection, session_id: str) -> RowMapping:
    row = connection.execute(
        select(voice_sessions).where(voice_sessions.c.id == session_id)
    ).one_or_none()
    if row is None:
        raise SessionNotFoundError(session_id)
    return row._mapping


def _locked(connection: Connection, session_id: str) -> VoiceSession:
    row = connection.execute(
        select(voice_sessions).where(voice_sessions.c.id == session_id).with_for_update()
    ).one_or_none()
    if row is None:
        raise SessionNotFoundError(session_id)
    return _load(connection, row._mapping)


def _load(connection: Connection, row: RowMapping) -> VoiceSession:
    entries = connection.execute(
        select(voice_audio_entries)
        .where(voice_audio_entries.c.session_id == row["id"])
        .order_by(voice_audio_entries.c.sequence)
    ).all()
    return VoiceSession(
        id=row["id"],
        chat_id=row["chat_id"],
        state=VoiceSessionState(row["state"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finalized_at=row["finalized_at"],
        errors=tuple(ErrorEntry.model_validate(e) for e in row["errors"]),
        audio_entries=tuple(
            AudioEntry(
                sequence=e.sequence,
                original_filename=e.original_filename,
                stored_filename=e.stored_filename,
                mime_type=e.mime_type,
                duration_seconds=e.duration_seconds,
                size_bytes=e.size_bytes,
                transcription_status=TranscriptionStatus(e.transcription_status),
                transcript_filename=e.transcript_filename,
                error=e.error,
                created_at=e.created_at,
            )
            for e in entries
        ),
    )


def _session_values(session: VoiceSession) -> dict[str, Any]:
    return {
        "id": session.id,
        "chat_id": session.chat_id,
        "state": session.state.value,
        "last_sequence": len(session.audio_entries),
        "errors": [e.model_dump(mode="json") for e in session.errors],
        "created_at": session.created_at,
        "updated_at": session.updated_at,
        "finalized_at": session.finalized_at,
    }


def _save(connection: Connection, session: VoiceSession, events: Sequence[VoiceEvent]) -> None:
    values = _session_values(session)
    del values["id"], values["last_sequence"], values["chat_id"], values["created_at"]
    connection.execute(
        update(voice_sessions).where(voice_sessions.c.id == session.id).values(**values)
    )
    _append(connection, events)


def _entry_values(entry: AudioEntry) -> dict[str, Any]:
    values = entry.model_dump()
    values["transcription_status"] = entry.transcription_status.value
    return values


def _set_entry(
    connection: Connection,
    session_id: str,
    sequence: int,
    status: TranscriptionStatus,
    transcript_filename: str | None,
    error: str | None,
) -> None:
    result = connection.execute(
        update(voice_audio_entries)
        .where(
            voice_audio_entries.c.session_id == session_id,
            voice_audio_entries.c.sequence == sequence,
        )
        .values(
            transcription_status=status.value,
            transcript_filename=transcript_filename,
            error=error,
        )
    )
    if result.rowcount != 1:
        raise LookupError(f"voice session {session_id} has no audio entry {sequence}")


def _append(connection: Connection, events: Sequence[VoiceEvent]) -> None:
    if events:
        connection.execute(
            insert(voice_events),
            [
                {
                    "session_id": e.session_id,
                    "type": e.event_type.value,
                    "at": e.timestamp,
                    "details": e.details,
                }
                for e in events
            ],
        )


def _integrity(exc: IntegrityError, what: str) -> Exception:
    if "uq_voice_sessions_collecting" in str(exc.orig) or "voice_sessions.chat_id" in str(exc.orig):
        return CollectingSessionExistsError(
            f"could not {what}: another collecting session was opened for the chat"
        )
    return DataStoreError(f"could not {what}: {transactions.reason(exc)}")
