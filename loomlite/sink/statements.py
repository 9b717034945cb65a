"""The idempotent INSERT of a table, prepared once per table and dialect."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Dialect, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeEngine

from loomlite.errors import ConfigurationError
from loomlite.sink.types import UtcDateTime

__all__ = ["SUPPORTED_DIALECTS", "IdempotentInsert", "natural_key"]

SUPPORTED_DIALECTS = ("sqlite", "postgresql")

Row = dict[str, Any]
ColumnProcessor = Callable[[Sequence[Any]], Iterable[Any]]
"""A function that binds the values of one column, in row order."""


def natural_key(table: Table) -> tuple[str, ...]:
    """Return the natural key columns that ``table_for`` recorded on ``table``."""
    try:
        key: tuple[str, ...] = table.info["natural_key"]
    except KeyError:
        raise ConfigurationError(
            f"table {table.name!r} carries no natural key; build it with "
            "loomlite.sink.table_for"
        ) from None
    return key


class IdempotentInsert:
    """``INSERT … ON CONFLICT (natural key) DO NOTHING`` for one table.

    A table with unique columns besides the natural key (a dedupe hash) uses
    ``ON CONFLICT DO NOTHING`` without a target, which skips a row that
    repeats any of its unique values.

    ``execute`` inserts rows (dicts with a value for every column except
    ``id``) and returns how many were new. SQLite reports that count as the
    rowcount of an executemany. asyncpg reports no rowcount for executemany,
    so on Postgres the statement returns the ids of the inserted rows and
    they are counted.
    """

    def __init__(self, table: Table, dialect: Dialect) -> None:
        if dialect.name not in SUPPORTED_DIALECTS:
            raise ConfigurationError(
                f"the sink supports the dialects {SUPPORTED_DIALECTS!r}, "
                f"not {dialect.name!r}"
            )
        self.table = table
        self._columns = [column.name for column in table.c if column.name != "id"]
        key: Sequence[str] | None = natural_key(table)
        if table.info.get("unique"):
            key = None
        if dialect.name == "sqlite":
            self._prepare_sqlite(sqlite.insert(table), key, dialect)
        else:
            self._statement: Insert = (
                postgresql.insert(table)
                .on_conflict_do_nothing(index_elements=key)
                .returning(table.c.id)
            )
            self._sql = ""

    def _prepare_sqlite(
        self, statement: sqlite.Insert, key: Sequence[str] | None, dialect: Dialect
    ) -> None:
        # SQLAlchemy compiles the Core statement once, and rows are bound to it
        # as tuples through each column type's bind processor. That skips
        # SQLAlchemy's per-row work for dict parameters, which costs more than
        # the insert itself. The SQL text comes only from the compiler, whose
        # identifiers come from the code-defined catalog.
        statement = statement.on_conflict_do_nothing(index_elements=key)
        compiled = statement.compile(dialect=dialect, column_keys=self._columns)
        order = list(compiled.positiontup or ())
        if sorted(order) != sorted(self._columns):
            raise ConfigurationError(
                f"compiling the INSERT for table {self.table.name!r} gave the "
                f"parameters {order!r}, expected {self._columns!r}"
            )
        self._statement = statement
        self._sql = str(compiled)
        self._getter = operator.itemgetter(*order)
        # Each processor, with whether it binds None as None (SQL NULL).
        self._processors: list[tuple[int, ColumnProcessor, bool]] = []
        for index, name in enumerate(order):
            processor = _column_processor(self.table.c[name].type, dialect)
            if processor is not None:
                keeps_null = list(processor((None,))) == [None]
                self._processors.append((index, processor, keeps_null))

    async def execute(self, connection: AsyncConnection, rows: Sequence[Row]) -> int:
        """Insert ``rows`` inside the connection's transaction; count new rows."""
        if not self._sql:
            result = await connection.execute(self._statement, list(rows))
            return len(result.all())
        driver_result = await connection.exec_driver_sql(
            self._sql, self._parameters(rows)
        )
        return int(driver_result.rowcount)

    def _parameters(self, rows: Sequence[Row]) -> list[tuple[Any, ...]]:
        # Every table has the envelope's columns, so the getter returns tuples.
        getter = self._getter
        if not self._processors or not rows:
            return [getter(row) for row in rows]
        # Column by column: zip transposes the rows in C, and each column goes
        # through its processor in one call.
        columns: list[Sequence[Any]] = list(zip(*map(getter, rows), strict=True))
        bound: list[Iterable[Any]] = list(columns)
        for index, processor, keeps_null in self._processors:
            column = columns[index]
            # An optional field that no row in the batch has (a GPS fix's
            # metadata, say) needs no processor call per row.
            if keeps_null and column[0] is None and column.count(None) == len(column):
                continue
            bound[index] = processor(column)
        return list(zip(*bound, strict=True))


def _column_processor(
    column_type: TypeEngine[Any], dialect: Dialect
) -> ColumnProcessor | None:
    """Return the function that binds a column of ``column_type``, or None
    when its values are bound as they are."""
    if isinstance(column_type, UtcDateTime):
        column_processor = column_type.column_bind_processor(dialect)
        if column_processor is not None:
            return column_processor
    processor = column_type.bind_processor(dialect)
    if processor is None:
        return None
    # map calls the bind processor without a Python-level loop.
    return functools.partial(map, processor)
