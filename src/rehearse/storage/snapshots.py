"""Question snapshots stored once, by digest (issue 16, migration 0008).

A ``questions_planned`` event keeps a snapshot of every planned question (text, key
points, reference answer ...), so a report can be rebuilt however the bank changes
later. Inline, that was twelve kilobytes per session, encoded and written with every
create, for the same few hundred bank questions. The store writes the event compactly
instead: ``{"seed", "question_ids", "snapshots": [digest, ...]}``, each digest naming a
row of ``question_snapshots`` (the snapshot's canonical JSON, written once, never
changed). Reads put the snapshots back under ``"questions"``, so every reader (reports,
exports, the events API) sees the event exactly as before; events written inline
(before migration 0008, or imported) read as they are.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, bindparam, select

from rehearse.errors import DataStoreError
from rehearse.storage.prepared import Prepared
from rehearse.storage.schema import question_snapshots

PLANNED = "questions_planned"
#: snapshots kept decoded for reads, and digests kept for writes (per store)
CACHE_SIZE = 4096

_INSERTS: dict[str, Prepared] = {}


def _insert(dialect: str) -> Prepared:
    """INSERT of a snapshot that does nothing if it is there (the dialect loaded lazily)."""
    found = _INSERTS.get(dialect)
    if found is None:
        values: dict[str, Any] = {"digest": bindparam("digest"), "body": bindparam("body")}
        if dialect == "postgresql":
            from sqlalchemy.dialects import postgresql

            statement: Any = postgresql.insert(question_snapshots).values(values)
        else:
            from sqlalchemy.dialects import sqlite

            statement = sqlite.insert(question_snapshots).values(values)
        found = _INSERTS[dialect] = Prepared(statement.on_conflict_do_nothing())
    return found


_SELECT = select(question_snapshots.c.digest, question_snapshots.c.body)


def canonical(snapshot: Mapping[str, Any]) -> str:
    """The snapshot's canonical JSON (sorted keys, no spaces): what its digest is of."""
    return json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest_of(body: str) -> str:
    """The digest naming a snapshot: SHA-256 of its canonical JSON, 32 hex digits."""
    return hashlib.sha256(body.encode()).hexdigest()[:32]


class Snapshots:
    """Compacts plans on write and expands them on read, for one database.

    Thread-safe. Digests are remembered as stored only after the transaction that
    wrote them committed (:meth:`committed`), so a rolled-back plan never leaves an
    event naming a missing snapshot.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: id(snapshot dict) -> (the dict, its digest, its canonical JSON)
        self._encoded: dict[int, tuple[Mapping[str, Any], str, str]] = {}
        #: digests whose row is committed
        self._stored: set[str] = set()
        #: digest -> the snapshot's canonical JSON (decoded per read: readers get their own)
        self._bodies: dict[str, str] = {}

    def _encode(self, snapshot: Mapping[str, Any]) -> tuple[str, str]:
        found = self._encoded.get(id(snapshot))
        if found is not None and found[0] is snapshot:
            return found[1], found[2]
        body = canonical(snapshot)
        digest = digest_of(body)
        with self._lock:
            if len(self._encoded) >= CACHE_SIZE:
                self._encoded.clear()
            # kept by identity: the domain hands out one dict per bank question
            self._encoded[id(snapshot)] = (snapshot, digest, body)
        return digest, body

    def compact(
        self, connection: Connection, data: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[str]]:
        """A plan's data with digests for its snapshots; writes the snapshots not stored yet.

        Returns:
            ``(data to store, digests written now)``: pass the digests to
            :meth:`committed` once the transaction commits.
        """
        digests: list[str] = []
        written: list[str] = []
        for snapshot in data["questions"]:
            digest, body = self._encode(snapshot)
            digests.append(digest)
            if digest not in self._stored and digest not in written:
                _insert(connection.dialect.name).run(connection, {"digest": digest, "body": body})
                written.append(digest)
        compact = {key: value for key, value in data.items() if key != "questions"}
        compact["snapshots"] = digests
        return compact, written

    def committed(self, digests: Iterable[str]) -> None:
        """Remember ``digests`` as stored (their transaction committed)."""
        with self._lock:
            if len(self._stored) >= CACHE_SIZE:
                self._stored.clear()  # only costs re-writing (a no-op) a few snapshots
            self._stored.update(digests)

    def bodies(self, connection: Connection, digests: Iterable[str]) -> dict[str, str]:
        """The canonical JSON of the snapshots ``digests`` name (read once per process).

        Raises:
            DataStoreError: a digest names no stored snapshot (the database lost rows).
        """
        wanted = set(digests)
        found = {d: body for d in wanted if (body := self._bodies.get(d)) is not None}
        missing = [d for d in wanted if d not in found]
        if missing:
            rows = connection.execute(_SELECT.where(question_snapshots.c.digest.in_(missing)))
            fresh = {str(digest): str(body) for digest, body in rows}
            lost = [d for d in missing if d not in fresh]
            if lost:
                raise DataStoreError(
                    f"question snapshot {lost[0]} is missing from question_snapshots: the "
                    "database lost rows a plan needs; restore it from a backup"
                )
            with self._lock:
                if len(self._bodies) + len(fresh) > CACHE_SIZE:
                    self._bodies.clear()
                self._bodies.update(fresh)
            found |= fresh
        return found

    def expanded(self, connection: Connection, data: Mapping[str, Any]) -> Mapping[str, Any]:
        """A plan's event data with its snapshots under ``"questions"`` (as written inline).

        Data without ``"snapshots"`` (inline, or not a plan) is returned as it is.

        Raises:
            DataStoreError: as :meth:`bodies`.
        """
        if "snapshots" not in data or "questions" in data:
            return data
        bodies = self.bodies(connection, data["snapshots"])
        inline = {key: value for key, value in data.items() if key != "snapshots"}
        inline["questions"] = [json.loads(bodies[digest]) for digest in data["snapshots"]]
        return inline
