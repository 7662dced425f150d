"""Statements compiled once per dialect and run on the driver's cursor (issue 16).

The write path of a session change runs a handful of small statements; SQLAlchemy's
per-execution work (cache key, parameter processing, result set-up) cost more than
the database's own work for each of them (benchmarks/bench_sessions.py --profile). A
:class:`Prepared` keeps the portable Core statement, compiles it once per dialect
and hands the driver plain values, converted by the statement's own column types
(``Instant`` to microseconds, ``JSON`` to text), so what is written is exactly what
SQLAlchemy would have written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

_Compiled = tuple[str, tuple[str, ...] | None, dict[str, Callable[[Any], Any]]]


class Prepared:
    """A Core statement compiled once per dialect, executed on the DBAPI cursor.

    Args:
        statement: an INSERT, UPDATE or SELECT with named bind parameters.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}
        self._results: dict[str, list[tuple[str, Callable[[Any], Any] | None]]] = {}
        self._lock = threading.Lock()

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            with self._lock:
                done = self.statement.compile(dialect=dialect)
                assert isinstance(done, SQLCompiler)  # a statement, not DDL
                names = tuple(done.positiontup or ()) if done.positional else None
                processors: dict[str, Callable[[Any], Any]] = {}
                for name, bind in done.binds.items():
                    processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                    if processor is not None:
                        processors[name] = processor
                compiled = self._compiled[dialect.name] = (done.string, names, processors)
        return compiled

    def _parameters(self, dialect: Dialect, values: Mapping[str, Any]) -> tuple[str, Any]:
        sql, names, processors = self._for(dialect)
        converted = {
            name: processors[name](value) if name in processors else value
            for name, value in values.items()
        }
        if names is not None:
            return sql, tuple(converted[name] for name in names)
        return sql, converted

    def execute(self, connection: Connection, values: Mapping[str, Any]) -> Any:
        """Run the statement once in ``connection``'s transaction; returns the DBAPI cursor.

        The caller reads rows (driver values: an ``Instant`` as microseconds, ``JSON``
        as decoded by the driver) or ``rowcount``, then closes it.

        Raises:
            the driver's own errors (the store's transaction maps them).
        """
        dialect = connection.dialect
        sql, parameters = self._parameters(dialect, values)
        cursor = _driver(connection).cursor()
        try:
            cursor.execute(sql, parameters)
        except dialect.loaded_dbapi.Error as exc:
            cursor.close()
            raise _wrapped(dialect, exc, sql, parameters) from exc
        except BaseException:
            cursor.close()
            raise
        return cursor

    def run(self, connection: Connection, values: Mapping[str, Any]) -> int:
        """Run a write once; returns the rows it touched."""
        cursor = self.execute(connection, values)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def _decoders(self, dialect: Dialect) -> list[tuple[str, Callable[[Any], Any] | None]]:
        decoders = self._results.get(dialect.name)
        if decoders is None:
            assert isinstance(self.statement, Select)
            decoders = [
                (
                    column.name,
                    column.type.dialect_impl(dialect).result_processor(dialect, None),
                )
                for column in self.statement.selected_columns
            ]
            self._results[dialect.name] = decoders
        return decoders

    def rows(self, connection: Connection, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every row of a SELECT, column name to value decoded by its type (as Core does)."""
        decoders = self._decoders(connection.dialect)
        cursor = self.execute(connection, values)
        try:
            found = cursor.fetchall()
        finally:
            cursor.close()
        return [
            {
                name: value if decode is None else decode(value)
                for (name, decode), value in zip(decoders, row, strict=True)
            }
            for row in found
        ]

    def first(self, connection: Connection, values: Mapping[str, Any]) -> Any:
        """The first row of a SELECT as the driver returns it (a tuple), or ``None``."""
        cursor = self.execute(connection, values)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()


def _wrapped(dialect: Dialect, exc: Exception, sql: str, parameters: Any) -> Exception:
    """A driver error as SQLAlchemy's (``IntegrityError`` ...), which the store maps."""
    return DBAPIError.instance(sql, parameters, exc, dialect.loaded_dbapi.Error)


def _driver(connection: Connection) -> Any:
    return connection.connection.driver_connection


class PreparedInsert:
    """A multi-row INSERT of ``columns`` into ``table``: one statement per chunk of rows.

    One statement whatever the number of rows (up to ``chunk``): one round trip on
    PostgreSQL, where psycopg's ``executemany`` set up a pipeline costing more than
    the insert, and one step on SQLite. Compiled once per row count.

    Args:
        table: the table.
        columns: the columns every row gives.
        chunk: rows per statement at most.
    """

    def __init__(self, table: Table, columns: Sequence[str], chunk: int = 200) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.chunk = chunk
        self._by_count: dict[int, Prepared] = {}

    def _of(self, count: int) -> Prepared:
        prepared = self._by_count.get(count)
        if prepared is None:
            rows = [
                {
                    name: bindparam(f"{name}_{i}", type_=self.table.c[name].type)
                    for name in self.columns
                }
                for i in range(count)
            ]
            prepared = self._by_count[count] = Prepared(insert(self.table).values(rows))
        return prepared

    def run(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` (each a mapping of every column in ``columns``)."""
        for offset in range(0, len(rows), self.chunk):
            part = rows[offset : offset + self.chunk]
            values = {
                f"{name}_{i}": row[name] for i, row in enumerate(part) for name in self.columns
            }
            self._of(len(part)).run(connection, values)
