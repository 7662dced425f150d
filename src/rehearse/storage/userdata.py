"""A user's data as rows: find, copy in (import) and remove (deletion), on one engine.

Import writes the sessions row and the events exactly as exported (ids, sequence numbers,
instants and actors kept) and runs the progress projections over them in the same
transaction, so the new installation's progress figures are the old one's. Deletion
removes every row that names the user's sessions or their candidate key, and their
account, in one transaction, and returns the counts per table.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, delete, func, insert, select

from rehearse.domain.events import Event
from rehearse.domain.sessions import Session
from rehearse.errors import ConfigurationError
from rehearse.storage import projections, transactions
from rehearse.storage.schema import (
    answer_scores,
    answer_topics,
    api_tokens,
    candidate_areas,
    candidate_questions,
    candidate_totals,
    progress_milestones,
    session_events,
    session_links,
    session_questions,
    session_scores,
    sessions,
    spoken_answers,
    users,
    web_sessions,
)
from rehearse.storage.sql import session_values

#: Tables keyed by session id, children first (deleted in this order).
SESSION_TABLES = (
    spoken_answers,
    answer_topics,
    answer_scores,
    session_questions,
    session_scores,
    session_links,
    session_events,
    sessions,
)
#: Tables keyed by candidate key.
CANDIDATE_TABLES = (candidate_areas, candidate_questions, candidate_totals, progress_milestones)
BATCH = 500


def session_ids(engine: Engine, key: str) -> list[str]:
    """Ids of the sessions counted under candidate ``key``, oldest first."""
    with transactions.read(engine, "find a user's sessions") as connection:
        return session_ids_in(connection, key)


def session_ids_in(connection: Connection, key: str) -> list[str]:
    """:func:`session_ids` inside a transaction of the caller's (a deletion's own)."""
    return list(
        connection.execute(
            select(session_scores.c.session_id)
            .where(session_scores.c.candidate_key == key)
            .order_by(session_scores.c.created_at, session_scores.c.session_id)
        ).scalars()
    )


def import_sessions(engine: Engine, entries: Sequence[tuple[Session, Sequence[Event]]]) -> int:
    """Insert sessions with their events as given, and project them; returns sessions added.

    Raises:
        ConfigurationError: a session id already exists here (nothing is imported).
    """
    with transactions.write(engine, "import sessions") as connection:
        ids = [session.id for session, _ in entries]
        taken = []
        for start in range(0, len(ids), BATCH):
            taken += list(
                connection.execute(
                    select(sessions.c.id).where(sessions.c.id.in_(ids[start : start + BATCH]))
                ).scalars()
            )
        if taken:
            raise ConfigurationError(
                f"session {taken[0]} already exists in this database ({len(taken)} of the "
                f"export's {len(ids)} do); import into a fresh database, or delete them first",
                [{"field": "sessions", "value": taken[0], "message": "already exists"}],
            )
        for session, events in entries:
            connection.execute(insert(sessions).values(session_values(session)))
            if events:
                connection.execute(
                    insert(session_events),
                    [e.model_dump(exclude={"position"}) for e in events],
                )
            projections.project(connection, list(events))
    return len(entries)


def delete_user(
    connection: Connection, key: str, ids: Sequence[str], account_email: str | None
) -> dict[str, int]:
    """Remove the rows of sessions ``ids``, of candidate ``key`` and of the account; counts."""
    counts: dict[str, int] = {}
    for table in SESSION_TABLES:
        column = table.c.id if table is sessions else table.c.session_id
        removed = 0
        for start in range(0, len(ids), BATCH):
            result = connection.execute(delete(table).where(column.in_(ids[start : start + BATCH])))
            removed += result.rowcount or 0
        counts[table.name] = removed
    for table in CANDIDATE_TABLES:
        counts[table.name] = (
            connection.execute(delete(table).where(table.c.candidate_key == key)).rowcount or 0
        )
    if account_email:
        user_ids = list(
            connection.execute(select(users.c.id).where(users.c.email == account_email)).scalars()
        )
        for table in (api_tokens, web_sessions):
            counts[table.name] = (
                connection.execute(delete(table).where(table.c.user_id.in_(user_ids))).rowcount or 0
            )
        counts["users"] = (
            connection.execute(delete(users).where(users.c.id.in_(user_ids))).rowcount or 0
        )
    return counts


def rows_naming(engine: Engine, key: str, ids: Sequence[str]) -> int:
    """How many rows still name the sessions ``ids`` or the candidate ``key`` (0 after deletion)."""
    total = 0
    with transactions.read(engine, "count a user's rows") as connection:
        for table in SESSION_TABLES:
            column = table.c.id if table is sessions else table.c.session_id
            for start in range(0, len(ids), BATCH):
                total += int(
                    connection.execute(
                        select(func.count())
                        .select_from(table)
                        .where(column.in_(ids[start : start + BATCH]))
                    ).scalar_one()
                )
        for table in CANDIDATE_TABLES:
            total += int(
                connection.execute(
                    select(func.count()).select_from(table).where(table.c.candidate_key == key)
                ).scalar_one()
            )
    return total


def account_email(engine: Engine, key: str) -> str | None:
    """The e-mail of the account whose e-mail is ``key``, if there is one."""
    with transactions.read(engine, "look up an account") as connection:
        found = connection.execute(select(users.c.email).where(users.c.email == key)).scalar()
    return None if found is None else str(found)
