"""The SQL store: sessions and events through SQLAlchemy Core, on SQLite or PostgreSQL.

One implementation serves both backends; what differs (engine settings, how a write
transaction begins) lives in :mod:`rehearse.storage.sqlite` and
:mod:`rehearse.storage.postgres`. Optimistic concurrency: every change updates the
row ``WHERE id = :id AND version = :read_version`` and appends events under a unique
``(session_id, seq)``; a writer that loses either check gets
:class:`ConcurrentUpdateError` and nothing of its change is kept. Driver errors become
:class:`DataStoreError`, naming the operation and the session. The progress
projections (:mod:`.projections`, with the progress domain) and the realtime event
types are imported by the writes that use them, so a command that only reads loads
neither (issue 8 item 5).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from rehearse.domain.access import Principal, PrincipalRole, candidate_identity
from rehearse.domain.config import SessionConfig
from rehearse.domain.events import Event, NewEvent
from rehearse.domain.lifecycle import SessionStatus
from rehearse.domain.plan import InterviewState, ReportStatus
from rehearse.domain.sessions import EPOCH, MICROSECOND, Session, from_us, to_us
from rehearse.errors import (
    ConcurrentUpdateError,
    ConfigurationError,
    DataStoreError,
    SessionNotFoundError,
)
from rehearse.storage import migrate, postgres, snapshots, transactions
from rehearse.storage.committed import CommittedEvents
from rehearse.storage.group_commit import GroupCommit
from rehearse.storage.prepared import Prepared, PreparedInsert
from rehearse.storage.schema import (
    session_events,
    session_links,
    session_questions,
    session_scores,
    sessions,
)
from rehearse.storage.snapshots import Snapshots
from rehearse.storage.store import (
    AMBIGUOUS_SHOWN,
    MIN_ID_PREFIX,
    Mutation,
    SessionPage,
    SessionQuery,
)

if TYPE_CHECKING:
    from rehearse.domain.realtime import PendingEvent

_T = TypeVar("_T")
_COLUMNS = [column for column in sessions.c]

# Statements are built once with bind parameters: building an UPDATE with literal
# values on every call costs more than the commit itself (see benchmarks/).
_SELECT_ONE = select(*_COLUMNS).where(sessions.c.id == bindparam("session_id"))
_VERSION = select(sessions.c.version).where(sessions.c.id == bindparam("session_id"))
_SELECT_VERSION = Prepared(_VERSION)
# a change reads the row's version and its progress summary in one statement (one
# round trip on PostgreSQL, where the row is locked; the summary row is only ever
# written under that lock)
_HEAD = select(sessions.c.version, *session_scores.c).select_from(
    sessions.outerjoin(session_scores, session_scores.c.session_id == sessions.c.id)
)
_HEAD = _HEAD.where(sessions.c.id == bindparam("session_id"))
_SELECT_HEAD = Prepared(_HEAD)
_SELECT_HEAD_FOR_UPDATE = Prepared(_HEAD.with_for_update(of=sessions))


@lru_cache(maxsize=16)
def _recent_questions(by_email: bool, count: int) -> Prepared:
    """The question ids of one candidate's newest ``count`` sessions (see the store)."""
    column = "candidate_email" if by_email else "candidate_name"
    # written out: Core renders a constant LIMIT in a subquery with a bound OFFSET
    return Prepared(
        text(
            "SELECT question_id FROM session_questions WHERE session_id IN ("  # noqa: S608
            f"SELECT id FROM sessions WHERE lower({column}) = :key "
            f"ORDER BY created_at DESC, id DESC LIMIT {int(count)})"
        )
    )


@lru_cache(maxsize=256)
def _update_of(columns: frozenset[str]) -> Prepared:
    """An UPDATE of just these columns, guarded by id and version.

    Setting only the changed columns lets SQLite leave untouched indexes alone,
    which makes each durable commit write fewer pages.
    """
    return Prepared(
        update(sessions)
        .where(
            sessions.c.id == bindparam("match_id"), sessions.c.version == bindparam("match_version")
        )
        .values({name: bindparam(name) for name in sorted(columns)})
    )


_INSERT_SESSION = Prepared(
    insert(sessions).values({column.name: bindparam(column.name) for column in _COLUMNS})
)
_EVENT_COLUMNS = ("session_id", "seq", "type", "at", "actor", "data")
_INSERT_EVENTS = PreparedInsert(session_events, _EVENT_COLUMNS)
#: values per events row as the driver takes them: session_id, seq, type, at (us),
#: actor, data (JSON text)
_ROW_WIDTH = 6


_POSTGRES_HEADS = (
    "SELECT id, last_seq FROM sessions WHERE id = ANY(%s::text[]) ORDER BY id FOR UPDATE"
)


@lru_cache(maxsize=128)
def _sqlite_heads(count: int) -> str:
    marks = ", ".join(["?"] * count)
    return (
        "SELECT json_group_array(json_array(id, last_seq)) FROM sessions "  # noqa: S608
        f"WHERE id IN ({marks})"
    )


@lru_cache(maxsize=128)
def _sqlite_bump(count: int) -> str:
    """One UPDATE moving the heads of ``count`` sessions: (id, last_seq) pairs, then the ids.

    One statement, not one per session: each statement is a step that releases and
    retakes the GIL, which a busy event loop makes wait (bench_realtime.py).
    """
    cases = " ".join(["WHEN ? THEN ?"] * count)
    marks = ", ".join(["?"] * count)
    return (
        f"UPDATE sessions SET last_seq = CASE id {cases} END, version = version + 1 "  # noqa: S608
        f"WHERE id IN ({marks})"
    )


#: how far back a retried batch looks for its events (events of one session per batch)
_DEDUPE_WINDOW = 5000
log = logging.getLogger("rehearse.storage")


class SQLStore:
    """A :class:`~rehearse.storage.store.Store` over a SQLAlchemy engine.

    Args:
        engine: from :func:`create_sqlite_engine` or :func:`create_postgres_engine`.
        migrate_on_open: apply pending migrations now (default); ``False`` leaves the
            schema alone (for ``rehearse db upgrade`` to report before/after).

    Raises:
        DataStoreError: the database cannot be reached or migrated.
    """

    def __init__(self, engine: Engine, *, migrate_on_open: bool = True) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        #: PostgreSQL: read the row FOR UPDATE in write transactions, so writers of one
        #: session queue instead of failing the version check and retrying (16 writers on
        #: one row starve optimistic retries). The version check stays as the guarantee.
        self.lock_rows = self.dialect == "postgresql"
        #: SQLite: concurrent changes of this process share one durable commit, each in
        #: its own savepoint (issue 16); PostgreSQL writers run in parallel instead.
        self.group = GroupCommit(engine, _integrity) if self.dialect == "sqlite" else None
        self.cache = SessionCache()
        #: plans are stored with their question snapshots by digest (issue 16)
        self.snapshots = Snapshots()
        #: called after every commit that appended events, with those events (issue 14:
        #: the realtime notifier wakes subscribers); a failing listener is logged, never
        #: raised into the writer, whose change is already durable.
        self.listeners: list[Callable[[CommittedEvents], None]] = []
        if migrate_on_open:
            self.upgrade()

    def upgrade(self) -> tuple[str | None, str]:
        """Apply pending migrations; returns (revision before, revision after).

        Raises:
            DataStoreError: the migration failed; the database keeps its old revision.
        """
        try:
            return migrate.upgrade(self.engine)
        except SQLAlchemyError as exc:
            raise DataStoreError(
                f"cannot migrate the database: {transactions.reason(exc)}"
            ) from exc

    def close(self) -> None:
        """Dispose of the connection pool (the group commit's kept connection first)."""
        if self.group is not None:
            self.group.close()
        self.engine.dispose()

    # -- writes -----------------------------------------------------------------

    def _write(self, what: str) -> AbstractContextManager[Connection]:
        return transactions.write(self.engine, what, _integrity)

    def _change(
        self,
        what: str,
        work: Callable[[Connection], _T],
        checks: list[Callable[[], None]] | None = None,
    ) -> _T:
        """Run ``work`` in a write transaction: grouped with concurrent changes on SQLite.

        On PostgreSQL ``work``'s statements are pipelined (:func:`postgres.pipelined`):
        BEGIN travels with the first statement and COMMIT with the last writes, so a
        create is one round trip and a change three (BEGIN and the row's locked read,
        the writes, COMMIT) instead of one per statement. ``checks`` (appended by
        ``work``: a write's row count, known only once the writes are back) run
        before the COMMIT is sent; one that raises rolls everything back.
        """
        if self.group is not None:
            return self.group.run(work, what)
        with self._write(what) as connection:
            if self.dialect != "postgresql":
                return work(connection)
            with postgres.pipelined(connection) as batch:
                result = work(connection)
                if checks:
                    batch.sync()
                    for check in checks:
                        check()
                batch.commit()
            return result

    def create(self, session: Session, events: Sequence[NewEvent], actor: str) -> Session:
        """Insert ``session`` and ``events`` (numbered from 1) in one transaction."""
        stored = session.model_copy(update={"last_seq": len(events), "version": 1})
        written: list[str] = []

        def work(connection: Connection) -> list[Event]:
            written.clear()
            _INSERT_SESSION.run(connection, session_values(stored))
            return _append(
                connection, stored, 1, events, actor, None, None, self.snapshots, written
            )

        appended = self._change(f"create session {session.id}", work)
        self.snapshots.committed(written)
        self._committed(appended)
        return self.cache.put(stored)

    def mutate(
        self,
        session_id: str,
        mutation: Mutation,
        actor: str,
        expected_version: int | None = None,
    ) -> tuple[Session, list[Event]]:
        """Apply ``mutation`` to the stored session atomically (see :class:`Store`)."""
        written: list[str] = []
        checks: list[Callable[[], None]] = []

        def work(connection: Connection) -> tuple[Session, list[Event]]:
            written.clear()
            checks.clear()
            current, scores = self._read_for_update(connection, session_id)
            if expected_version is not None and expected_version != current.version:
                raise ConcurrentUpdateError(session_id, expected_version, current.version)
            changed, new_events = mutation(current)
            if not new_events:
                return current, []
            stored = changed.model_copy(
                update={
                    "version": current.version + 1,
                    "last_seq": current.last_seq + len(new_events),
                }
            )
            values = changed_values(current, stored)
            statement = _update_of(frozenset(values))
            values |= {"match_id": session_id, "match_version": current.version}
            cursor = statement.execute(connection, values)

            def check() -> None:  # the version guard: exactly one row moved on
                try:
                    if cursor.rowcount != 1:
                        raise ConcurrentUpdateError(session_id, current.version)
                finally:
                    cursor.close()

            if postgres.in_pipeline(connection):
                checks.append(check)  # the row count arrives with the other writes
            else:
                check()
            first = current.last_seq + 1
            appended = _append(
                connection,
                stored,
                first,
                new_events,
                actor,
                current,
                scores,
                self.snapshots,
                written,
            )
            return stored, appended

        stored, events = self._change(f"update session {session_id}", work, checks)
        self.snapshots.committed(written)
        if not events:
            return stored, []
        self._committed(events)
        return self.cache.put(stored), events

    def _read_for_update(self, connection: Connection, session_id: str) -> tuple[Session, Any]:
        """The stored session (decoded only when its version is not cached) and its summary.

        A session never changes under one version, so the cached copy of the version
        just read (inside the write transaction, under the row lock on PostgreSQL) is
        exactly what the row holds; decoding its JSON columns cost more than the commit.
        The summary is the ``session_scores`` row as the driver returns it (``None``
        when there is none), for :func:`projections.project_change`.
        """
        read = _SELECT_HEAD_FOR_UPDATE if self.lock_rows else _SELECT_HEAD
        head = read.first(connection, {"session_id": session_id})
        if head is None:
            raise SessionNotFoundError(session_id)
        scores = None if head[1] is None else head[1:]
        cached = self.cache.get(session_id, head[0])
        if cached is not None:
            return cached, scores
        row = connection.execute(_SELECT_ONE, {"session_id": session_id}).one()
        return _session(row._mapping), scores

    # -- reads ------------------------------------------------------------------

    def _read(self, what: str) -> AbstractContextManager[Connection]:
        return transactions.read(self.engine, what)

    def get(self, session_id: str) -> Session | None:
        """The stored session, or ``None``.

        Reads the row's version first (one primary-key lookup); the row itself is read
        and decoded only when that version is not in the :class:`SessionCache`.
        """
        with self._read(f"read session {session_id}") as connection:
            head = _SELECT_VERSION.first(connection, {"session_id": session_id})
            if head is None:
                return None
            version = head[0]
            cached = self.cache.get(session_id, version)
            if cached is not None:
                return cached  # a version never changes: decoding the row again is waste
            row = connection.execute(_SELECT_ONE, {"session_id": session_id}).one_or_none()
        return None if row is None else self.cache.put(_session(row._mapping))

    def peek(self, session_id: str) -> Session | None:
        """The newest version of the session this process has read or written, or ``None``.

        No database access, so it may be stale (another process may have changed it
        since): only for work that a change re-checks against the stored row, such as
        scoring an answer before the transaction that stores it (issue 16).
        """
        return self.cache.newest(session_id)

    def list_sessions(self, query: SessionQuery) -> SessionPage:
        """A page of sessions, newest first, by keyset cursor or offset.

        The page is found by (id, version) alone, an index-only scan; rows are decoded
        only for versions not already in the :class:`SessionCache` (decoding the JSON
        columns of 50 rows cost more than the query, benchmarks/bench_sessions.py).
        """
        conditions = _conditions(query)
        page = select(sessions.c.id, sessions.c.version, sessions.c.created_at).where(*conditions)
        if query.cursor:
            created_us, last_id = _decode_cursor(query.cursor)
            page = page.where(
                tuple_(sessions.c.created_at, sessions.c.id) < (from_us(created_us), last_id)
            )
        page = page.order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
        page = page.limit(query.limit + 1).offset(query.offset)
        with self._read("list sessions") as connection:
            rows = connection.execute(page).all()
            keys = [(row.id, row.version) for row in rows[: query.limit]]
            found = {key: hit for key in keys if (hit := self.cache.get(*key)) is not None}
            missing = [
                session_id for session_id, version in keys if (session_id, version) not in found
            ]
            if missing:
                fresh = connection.execute(select(*_COLUMNS).where(sessions.c.id.in_(missing)))
                for row in fresh:
                    session = self.cache.put(_session(row._mapping))
                    found[(session.id, session.version)] = session
                    # a writer may have moved it on between the two reads: take the newer
                    found.setdefault(next(k for k in keys if k[0] == session.id), session)
            total = None
            if query.include_total:
                count = select(func.count()).select_from(sessions).where(*conditions)
                total = int(connection.execute(count).scalar_one())
        items = [found[key] for key in keys]
        next_cursor = _encode_cursor(items[-1]) if len(rows) > query.limit else None
        return SessionPage(sessions=items, total=total, next_cursor=next_cursor)

    def get_events(
        self,
        session_id: str,
        after_seq: int = 0,
        limit: int | None = None,
        types: Sequence[str] = (),
    ) -> list[Event]:
        """Events with ``seq > after_seq`` (of ``types``, if given), oldest first, <= ``limit``."""
        statement = (
            select(session_events)
            .where(session_events.c.session_id == session_id, session_events.c.seq > after_seq)
            .order_by(session_events.c.seq)
        )
        if types:
            statement = statement.where(session_events.c.type.in_(list(types)))
        if limit is not None:
            statement = statement.limit(limit)
        with self._read(f"read events of session {session_id}") as connection:
            rows = connection.execute(statement).all()
            return [
                Event(
                    session_id=row.session_id,
                    seq=row.seq,
                    type=row.type,
                    at=row.at,
                    actor=row.actor,
                    data=row.data
                    if row.type != snapshots.PLANNED
                    else self.snapshots.expanded(connection, row.data),
                    position=row.id,
                )
                for row in rows
            ]

    def recent_question_ids(
        self, *, email: str | None, name: str, sessions_back: int
    ) -> frozenset[str]:
        """Ids of the questions planned in the candidate's newest ``sessions_back`` sessions.

        The candidate is ``email`` (any case) when given, else ``name`` (any case). One
        prebuilt statement: the sessions through ``ix_sessions_email_lower`` /
        ``ix_sessions_name_lower``, their questions through ``session_questions``'
        primary key (issue 16: create draws its plan by index, not by decoding the
        candidate's sessions).
        """
        statement = _recent_questions(email is not None, sessions_back)
        key = (email if email is not None else name).lower()
        with self._read("read the candidate's recent questions") as connection:
            cursor = statement.execute(connection, {"key": key})
            try:
                return frozenset(str(row[0]) for row in cursor.fetchall())
            finally:
                cursor.close()

    def due_for_expiry(self, now: datetime, limit: int) -> list[str]:
        """Active sessions whose deadline has passed, found through ``ix_sessions_deadline``."""
        statement = (
            select(sessions.c.id)
            .where(sessions.c.deadline_at <= now, sessions.c.status == SessionStatus.ACTIVE.value)
            .order_by(sessions.c.deadline_at)
            .limit(limit)
        )
        with self._read("find sessions due to expire") as connection:
            return list(connection.execute(statement).scalars())

    def resolve_session_id(self, prefix: str, visible_to: Principal | None = None) -> str:
        """The whole id of the one session (``visible_to`` may see) whose id starts ``prefix``.

        ``prefix`` is compared case-insensitively (ids are lower-case UUIDs); a whole id is
        returned at once. Others need at least :data:`MIN_ID_PREFIX` characters and are
        found with ``LIKE 'prefix%'`` (issue 11 item 6: ``rehearse report 05c0f6``).

        Raises:
            ConfigurationError: a prefix shorter than :data:`MIN_ID_PREFIX` that is not a
                whole id, or one shared by several sessions; the message names up to
                :data:`AMBIGUOUS_SHOWN` of them, ``errors[0]["candidates"]`` lists them.
            SessionNotFoundError: no session id starts with ``prefix``.
        """
        given = prefix.strip().lower()
        visible = _conditions(SessionQuery(visible_to=visible_to))
        with self._read(f"resolve session id {prefix!r}") as connection:
            exact = connection.execute(
                select(sessions.c.id).where(sessions.c.id == given, *visible)
            ).scalar()
            if exact is not None:
                return str(exact)
            if len(given) < MIN_ID_PREFIX:
                message = (
                    f"session_id={prefix!r}: give the whole id or at least {MIN_ID_PREFIX} "
                    "of its first characters"
                )
                raise ConfigurationError(
                    message, [{"field": "session_id", "value": prefix, "message": message}]
                )
            found = [
                str(found_id)
                for found_id in connection.execute(
                    select(sessions.c.id)
                    .where(sessions.c.id.startswith(given, autoescape=True), *visible)
                    .order_by(sessions.c.id)
                    .limit(AMBIGUOUS_SHOWN + 1)
                ).scalars()
            ]
        if not found:
            raise SessionNotFoundError(prefix)
        if len(found) == 1:
            return found[0]
        shown = found[:AMBIGUOUS_SHOWN]
        more = " and more" if len(found) > AMBIGUOUS_SHOWN else ""
        message = (
            f"session_id={prefix!r}: matches several sessions ({', '.join(shown)}{more}); "
            "give more characters"
        )
        raise ConfigurationError(
            message,
            [{"field": "session_id", "value": prefix, "message": message, "candidates": shown}],
        )

    def delete(self, session_id: str) -> bool:
        """Remove the session, its events, links, spoken answers and progress rows at once.

        One transaction.

        The candidate's running progress totals are recounted in the same transaction,
        so progress never counts a deleted session.

        Returns:
            ``True`` when a session was removed, ``False`` when there was none.
        """
        from rehearse.storage.schema import (
            answer_scores,
            answer_topics,
            session_scores,
            spoken_answers,
        )

        children = (answer_topics, answer_scores, session_questions, session_scores, spoken_answers)
        with self._write(f"delete session {session_id}") as connection:
            for table in (*children, session_links, session_events):
                connection.execute(delete(table).where(table.c.session_id == session_id))
            removed = connection.execute(delete(sessions).where(sessions.c.id == session_id))
            if removed.rowcount:
                from rehearse.storage import projections

                projections.refresh_totals(connection)
        return bool(removed.rowcount)

    # -- batched appends (issue 14) --------------------------------------------------

    def append_events(
        self,
        batch: Sequence[PendingEvent],
        *,
        dedupe: bool = False,
        unless_type: str | None = None,
    ) -> CommittedEvents:
        """Append events of many sessions in ONE transaction; returns them as stored.

        Each event gets the next ``seq`` of its session, in batch order; each session's
        ``last_seq`` and ``version`` move on as in :meth:`mutate`, so ordinary writers
        stay consistent (a writer that read the old version fails its version check and
        retries). Rows are locked in id order on PostgreSQL, so two batch writers never
        deadlock. The stored events carry their ``position``.

        Args:
            batch: the events, in the order each session's log should hold them.
            dedupe: skip events whose ``data["event_id"]`` is already in their session's
                recent log (for a retry after a failure that may have committed).
            unless_type: skip the events of every session whose log already holds an
                event of this type (checked under the row lock: exactly once, whichever
                of several workers tries).

        Raises:
            SessionNotFoundError: a session of the batch does not exist; nothing is written.
            DataStoreError: the database failed; nothing is written.
        """
        if not batch:
            return CommittedEvents.of([])
        ids = sorted({event.session_id for event in batch})
        postgres = self.dialect == "postgresql"
        with self._write(f"append {len(batch)} events") as connection:
            # the heads are read and moved through the driver with statements made once:
            # SQLAlchemy's per-statement work was most of a batch's fixed cost
            cursor: Any = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            if postgres:
                cursor.execute(_POSTGRES_HEADS, (ids,))
                last = dict(cursor.fetchall())
            else:  # one row, not one per session: each row is a step, a GIL release
                cursor.execute(_sqlite_heads(len(ids)), ids)
                last = dict(json.loads(cursor.fetchone()[0] or "[]"))
            for session_id in ids:
                if session_id not in last:
                    raise SessionNotFoundError(session_id)
            if dedupe:
                batch = _unseen(connection, batch)
            if unless_type is not None:
                done = select(session_events.c.session_id).where(
                    session_events.c.session_id.in_(ids), session_events.c.type == unless_type
                )
                closed = set(connection.execute(done).scalars())
                batch = [event for event in batch if event.session_id not in closed]
            if not batch:
                return CommittedEvents.of([])
            first = dict(last)
            # the rows as one flat list of the driver's parameters, six per event (what
            # a multi-row INSERT binds; PostgreSQL's columns are slices of it)
            params: list[Any] = []
            extend = params.extend
            for event in batch:
                session_id = event.session_id
                seq = last[session_id] = last[session_id] + 1
                encoded = event.encoded
                extend(
                    (
                        session_id,
                        seq,
                        event.type,
                        (event.at - EPOCH) // MICROSECOND,  # to_us, without a call per row
                        event.actor,
                        json.dumps(event.data) if encoded is None else encoded,
                    )
                )
            moved = [sid for sid in ids if last[sid] != first[sid]]
            heads = [last[sid] for sid in moved]
            if not postgres:  # on PostgreSQL the INSERT moves them (one round trip)
                pairs = [value for pair in zip(moved, heads, strict=True) for value in pair]
                cursor.execute(_sqlite_bump(len(moved)), [*pairs, *moved])
            cursor.close()
            positions = _insert_many(connection, self.dialect, params, (moved, heads))
            stored = CommittedEvents(
                batch, params[1::_ROW_WIDTH], positions, dict(zip(moved, heads, strict=True))
            )
            # realtime updates (the three kinds and components' own types) cannot change
            # progress: a batch of only those skips the projection (its loop over every
            # event was a measurable share of the writer's time, bench_realtime.py)
            from rehearse.domain.realtime import RESERVED_TYPES

            if not RESERVED_TYPES.isdisjoint(stored.types):
                from rehearse.storage import projections

                projections.project(connection, list(stored))  # same transaction
        self._committed(stored)
        return stored

    def _committed(self, events: Sequence[Event]) -> None:
        if not events:
            return
        if not isinstance(events, CommittedEvents):
            events = CommittedEvents.of(events)
        for listener in self.listeners:
            try:
                listener(events)
            except Exception:  # the change is durable; a listener must not undo the reply
                log.exception("event listener failed")


#: SQLite allows 32,766 parameters in one statement; six per row
_SQLITE_ROWS_PER_STATEMENT = 5000


@lru_cache(maxsize=64)
def _sqlite_insert(rows: int) -> str:
    values = ", ".join(["(?, ?, ?, ?, ?, ?)"] * rows)
    columns = "session_id, seq, type, at, actor, data"
    return f"INSERT INTO session_events ({columns}) VALUES {values}"  # noqa: S608 (placeholders only)


_POSTGRES_INSERT = (
    "WITH bump AS (UPDATE sessions AS s SET last_seq = v.last_seq, version = s.version + 1 "
    "FROM unnest(%b::text[], %b::int[]) AS v(id, last_seq) WHERE s.id = v.id) "
    "INSERT INTO session_events (session_id, seq, type, at, actor, data) "
    "SELECT * FROM unnest(%b::text[], %b::int[], %b::text[], %b::bigint[], %b::text[], "
    "%b::text[]::json[]) RETURNING id, session_id, seq"
)


def _insert_many(
    connection: Connection,
    dialect: str,
    params: list[Any],
    heads: tuple[list[str], list[int]] = ([], []),
) -> Sequence[int]:
    """Insert event rows through the driver; returns their ids in row order.

    ``params`` holds the rows' values one after the other, :data:`_ROW_WIDTH` per row
    (session_id, seq, type, at in microseconds, actor, data as JSON text). On
    PostgreSQL the same statement moves ``heads`` (session ids, their new
    ``last_seq``), saving a round trip per batch.

    The batch writer's hot path: SQLAlchemy's per-row parameter processing cost more
    than the database's own work (benchmarks/bench_realtime.py), so rows go to the
    driver as plain values, encoded as the ``Instant`` and ``JSON`` column types do.
    """
    raw: Any = connection.connection.driver_connection
    cursor = raw.cursor()
    width = _ROW_WIDTH
    count = len(params) // width
    try:
        if dialect == "postgresql":
            columns = [*heads, *(params[column::width] for column in range(width))]
            cursor.execute(_POSTGRES_INSERT, columns)  # %b: binary arrays, no escaping
            ids = {(sid, seq): key for key, sid, seq in cursor.fetchall()}
            return [ids[pair] for pair in zip(params[0::width], params[1::width], strict=True)]
        # one multi-row statement per chunk: one sqlite3_step (and one release of the
        # GIL) instead of one per row, which under a busy event loop costs a thread
        # switch per row
        step = _SQLITE_ROWS_PER_STATEMENT * width
        for offset in range(0, len(params), step):
            chunk = params[offset : offset + step]
            cursor.execute(_sqlite_insert(len(chunk) // width), chunk)
        # one writer holds the database (BEGIN IMMEDIATE), so SQLite numbers the rows
        # max(id)+1, +2, ...; the count proves it, else the ids are read back
        last, found_count = cursor.execute(
            "SELECT last_insert_rowid(), count(*) FROM session_events "
            "WHERE id BETWEEN last_insert_rowid() - ? AND last_insert_rowid()",
            (count - 1,),
        ).fetchone()
        first = last - count + 1
        if found_count == count:
            return range(first, last + 1)
        found = {
            (sid, seq): key
            for key, sid, seq in cursor.execute(
                "SELECT id, session_id, seq FROM session_events WHERE id >= ?", (first,)
            )
        }
        return [found[pair] for pair in zip(params[0::width], params[1::width], strict=True)]
    finally:
        cursor.close()


def _unseen(connection: Connection, batch: Sequence[PendingEvent]) -> list[PendingEvent]:
    """The events of ``batch`` whose ``event_id`` is not yet in their session's recent log."""
    seen: set[tuple[str, str]] = set()
    for session_id in {event.session_id for event in batch}:
        recent = (
            select(session_events.c.data)
            .where(session_events.c.session_id == session_id)
            .order_by(session_events.c.seq.desc())
            .limit(_DEDUPE_WINDOW)
        )
        for data in connection.execute(recent).scalars():
            if isinstance(data, dict) and "event_id" in data:
                seen.add((session_id, str(data["event_id"])))
    return [
        event
        for event in batch
        if "event_id" not in event.data
        or (event.session_id, str(event.data["event_id"])) not in seen
    ]


class SessionCache:
    """Decoded sessions by (id, version), least recently used dropped first.

    A stored session never changes under the same version (every change bumps it), so
    an entry can never be stale, even with several processes writing: a reader always
    looks up the version it just read. Seed 002's in-memory session cache, made safe.
    """

    def __init__(self, size: int = 4096) -> None:
        self._entries: OrderedDict[tuple[str, int], Session] = OrderedDict()
        self._newest: dict[str, int] = {}
        self._size = size
        self._lock = threading.Lock()

    def newest(self, session_id: str) -> Session | None:
        """The highest version of the session this cache holds; it may be stale."""
        with self._lock:
            version = self._newest.get(session_id)
            return None if version is None else self._entries.get((session_id, version))

    def get(self, session_id: str, version: int) -> Session | None:
        """The decoded session at this version, if cached."""
        with self._lock:
            session = self._entries.get((session_id, version))
            if session is not None:
                self._entries.move_to_end((session_id, version))
            return session

    def put(self, session: Session) -> Session:
        """Remember ``session``; returns it."""
        with self._lock:
            self._entries[(session.id, session.version)] = session
            self._entries.move_to_end((session.id, session.version))
            if session.version >= self._newest.get(session.id, 0):
                self._newest[session.id] = session.version
            while len(self._entries) > self._size:
                (dropped, version), _ = self._entries.popitem(last=False)
                if self._newest.get(dropped) == version:
                    del self._newest[dropped]
        return session


def _append(
    connection: Connection,
    session: Session,
    first_seq: int,
    events: Sequence[NewEvent],
    actor: str,
    before: Session | None,
    scores: Any,
    plans: Snapshots | None = None,
    written: list[str] | None = None,
) -> list[Event]:
    """Insert ``events`` of ``session`` (now stored as ``session``) and project them.

    Rows go to one prebuilt INSERT as plain values; each event's data is JSON-encoded
    once, by the column type. ``before`` is the session as it was (``None`` on create),
    so the projection needs no read of the row just written; ``scores`` is its summary
    row if the caller read it (see :func:`projections.project_change`). With ``plans``,
    a plan's question snapshots are stored by digest (:mod:`.snapshots`); the digests
    written now are added to ``written``. The events returned hold the data as given.
    """
    session_id = session.id
    rows: list[dict[str, Any]] = [
        {
            "session_id": session_id,
            "seq": first_seq + offset,
            "type": event.type.value,
            "at": event.at,
            "actor": actor,
            "data": event.data,
        }
        for offset, event in enumerate(events)
    ]
    if not rows:
        return []
    inserted = rows
    if plans is not None and any(row["type"] == snapshots.PLANNED for row in rows):
        inserted = []
        for row in rows:
            if row["type"] == snapshots.PLANNED and "questions" in row["data"]:
                data, new = plans.compact(connection, row["data"])
                row = dict(row, data=data)
                if written is not None:
                    written.extend(new)
            inserted.append(row)
    _INSERT_EVENTS.run(connection, inserted)
    # built without re-validation: every field was checked when the domain made it
    stored = [Event.model_construct(**row, position=None) for row in rows]
    from rehearse.storage import projections

    projections.project_change(connection, before, session, stored, scores)
    return stored


def changed_values(before: Session, after: Session) -> dict[str, Any]:
    """The ``sessions`` columns whose value differs between ``before`` and ``after``.

    Compares field by field; the JSON columns (``config``, ``interview``) are encoded
    only when their object changed, not on every change (the profile of issue 16).
    """
    values: dict[str, Any] = {}
    for name, column in _PLAIN_FIELDS:
        value = getattr(after, name)
        if value != getattr(before, name):
            values[column] = value
    if after.status is not before.status:
        values["status"] = after.status.value
    if after.report_status is not before.report_status:
        values["report_status"] = after.report_status.value if after.report_status else None
    if after.config is not before.config and after.config != before.config:
        values |= config_columns(after.config)
    if after.interview is not before.interview and after.interview != before.interview:
        values["interview"] = after.interview.model_dump(mode="json") if after.interview else None
    return values


#: Session fields stored as they are, by column name.
_PLAIN_FIELDS = tuple(
    (name, name)
    for name in (
        "version",
        "last_seq",
        "created_by",
        "candidate_id",
        "created_at",
        "updated_at",
        "started_at",
        "ended_at",
        "resumed_at",
        "deadline_at",
        "active_us",
        "prompt_tokens",
        "completion_tokens",
        "budget_warned",
    )
)


def config_columns(config: SessionConfig) -> dict[str, Any]:
    """The ``sessions`` columns a config fills: the JSON and the fields stored beside it."""
    return {
        "candidate_name": config.candidate_name,
        "candidate_email": config.candidate_email,
        "role": config.role.value,
        "level": config.level.value,
        "interview_type": config.interview_type.value,
        "mode": config.mode.value,
        "time_limit_seconds": config.time_limit_seconds,
        "token_budget": config.token_budget,
        "config": config.to_json(),
    }


def session_values(session: Session) -> dict[str, Any]:
    """The ``sessions`` row of a session, column name to value."""
    return {
        "id": session.id,
        "status": session.status.value,
        "version": session.version,
        "last_seq": session.last_seq,
        **config_columns(session.config),
        "created_by": session.created_by,
        "candidate_id": session.candidate_id,
        "created_at": session.created_at,
        "updated_at": session.updated_at,
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "resumed_at": session.resumed_at,
        "deadline_at": session.deadline_at,
        "active_us": session.active_us,
        "prompt_tokens": session.prompt_tokens,
        "completion_tokens": session.completion_tokens,
        "budget_warned": session.budget_warned,
        "interview": session.interview.model_dump(mode="json") if session.interview else None,
        "report_status": session.report_status.value if session.report_status else None,
    }


def _session(row: Any) -> Session:
    return Session(
        id=row["id"],
        config=SessionConfig.model_validate(row["config"]),
        status=SessionStatus(row["status"]),
        version=row["version"],
        last_seq=row["last_seq"],
        created_by=row["created_by"],
        candidate_id=row["candidate_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        resumed_at=row["resumed_at"],
        active_us=row["active_us"],
        deadline_at=row["deadline_at"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        budget_warned=row["budget_warned"],
        interview=InterviewState.model_validate(row["interview"]) if row["interview"] else None,
        report_status=ReportStatus(row["report_status"]) if row["report_status"] else None,
    )


def _conditions(query: SessionQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.statuses:
        conditions.append(sessions.c.status.in_([s.value for s in query.statuses]))
    if query.candidate:
        text = query.candidate.strip().lower()
        conditions.append(
            or_(
                func.lower(sessions.c.candidate_name).contains(text, autoescape=True),
                # issue 11, item 13: part of an e-mail address finds it too
                func.lower(sessions.c.candidate_email).contains(text, autoescape=True),
            )
        )
    if query.candidate_email_is:
        conditions.append(
            func.lower(sessions.c.candidate_email) == query.candidate_email_is.lower()
        )
    if query.candidate_name_is:
        conditions.append(func.lower(sessions.c.candidate_name) == query.candidate_name_is.lower())
    if query.role:
        conditions.append(sessions.c.role == query.role)
    if query.created_after:
        conditions.append(sessions.c.created_at >= query.created_after)
    if query.created_before:
        conditions.append(sessions.c.created_at < query.created_before)
    if query.created_by:
        conditions.append(sessions.c.created_by == query.created_by)
    principal = query.visible_to
    if principal is not None and principal.role is not PrincipalRole.ADMIN:
        # the same rules as rehearse.domain.access.can_access, as SQL
        if principal.role is PrincipalRole.INTERVIEWER:
            mine = [sessions.c.created_by == principal.id]
        else:  # a candidate: the sessions naming them (one rule: candidate_identity)
            identity = candidate_identity(principal)
            mine = [sessions.c.candidate_id.in_(sorted(identity.ids))]
            if identity.emails:
                emails = sorted(identity.emails)
                mine.append(func.lower(sessions.c.candidate_email).in_(emails))
        if principal.sessions:
            mine.append(sessions.c.id.in_(sorted(principal.sessions)))
        conditions.append(or_(*mine))
    return conditions


def _encode_cursor(session: Session) -> str:
    raw = json.dumps([to_us(session.created_at), session.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_us, session_id = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(created_us, int) or not isinstance(session_id, str):
            raise ValueError(cursor)
        from_us(created_us)  # an instant datetime can hold (a crafted one overflows)
        session_id.encode("utf-8")  # a lone surrogate cannot reach the database
    except (ValueError, TypeError, OverflowError, binascii.Error):
        raise ConfigurationError(
            f"cursor={cursor!r}: not a cursor from a previous page; pass next_cursor as given",
            [{"field": "cursor", "value": cursor, "message": "malformed"}],
        ) from None
    return created_us, session_id


def _integrity(exc: IntegrityError, what: str) -> Exception:
    text = str(exc.orig)
    if "uq_session_events_session_seq" in text or "session_events.session_id" in text:
        return ConcurrentUpdateError(what.rsplit(" ", 1)[-1], -1)
    return DataStoreError(f"could not {what}: {transactions.reason(exc)}")
