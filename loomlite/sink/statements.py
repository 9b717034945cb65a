"""The idempotent INSERT of a table, prepared once per table and dialect."""

from __future__ import annotations

import functools
import itertools
import operator
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Dialect, Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.sql.dml import Insert
from sqlalchemy.types import TypeEngine

from loomlite.errors import ConfigurationError
from loomlite.sink.types import UtcDateTime

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["SUPPORTED_DIALECTS", "IdempotentInsert", "natural_key"]

SUPPORTED_DIALECTS = ("sqlite", "postgresql")

Row = dict[str, Any]

MAX_SQLITE_PARAMETERS = 32_766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999
"""SQLite's default limit on the parameters of one statement (raised from 999
in SQLite 3.32.0). NOTE: a library built with a lower limit rejects batches
that need more parameters than it allows."""

MAX_STATEMENT_PARAMETERS = 256
"""Maximum number of parameters in one multi-row INSERT that the sink sends
to SQLite.

sqlite3 keeps the last 128 prepared statements of each connection, and a
prepared INSERT takes about 80 bytes per parameter (measured with SQLite
3.40). Batches of up to 500 rows with any remainder made a statement for
nearly every row count of every table: about 20 MB of the full profile's
resident memory. Capped here, the cache takes at most about 2.6 MB. The sink
benchmark measured 76k rows/s against 78k rows/s with 500-row statements,
within the noise of five runs."""

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
    ``id``) and returns how many were new. On SQLite one INSERT carries many
    rows in its VALUES clause, and its rowcount is that count. asyncpg
    reports no rowcount for executemany, so on Postgres the statement returns
    the ids of the inserted rows and they are counted.
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
            # Imported here because SQLite runs never need it, and it takes
            # about 50 ms of the start.
            from sqlalchemy.dialects import postgresql

            self._statement: Insert = (
                postgresql.insert(table)
                .on_conflict_do_nothing(index_elements=key)
                .returning(table.c.id)
            )
            self._sql = ""

    def _prepare_sqlite(
        self, statement: sqlite.Insert, key: Sequence[str] | None, dialect: Dialect
    ) -> None:
        # SQLAlchemy compiles the Core statement once, and its VALUES row is
        # repeated for the rows of a batch, whose values go through each column
        # type's bind processor. That skips SQLAlchemy's per-row work for dict
        # parameters, which costs more than the insert itself. The SQL text
        # comes only from the compiler, whose identifiers come from the
        # code-defined catalog.
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
        self._split_values_clause(len(order))
        self._getter = operator.itemgetter(*order)
        # Each processor, with whether it binds None as None (SQL NULL).
        self._processors: list[tuple[int, ColumnProcessor, bool]] = []
        for index, name in enumerate(order):
            processor = _column_processor(self.table.c[name].type, dialect)
            if processor is not None:
                keeps_null = list(processor((None,))) == [None]
                self._processors.append((index, processor, keeps_null))

    def _split_values_clause(self, width: int) -> None:
        """Split the compiled SQL around its one row of placeholders, so that
        ``_statements`` can repeat that row."""
        row = "(" + ", ".join(["?"] * width) + ")"
        head, found, tail = self._sql.partition(row)
        if not found or not head.endswith(" VALUES ") or row in tail:
            raise ConfigurationError(
                f"the INSERT compiled for table {self.table.name!r} has no "
                f"single VALUES row {row!r}: {self._sql!r}; this SQLAlchemy "
                "version compiles SQLite INSERTs in a form the sink cannot batch"
            )
        self._sql_head = head
        self._sql_row = row
        self._sql_tail = tail
        limit = min(MAX_SQLITE_PARAMETERS, MAX_STATEMENT_PARAMETERS)
        self._rows_per_statement = max(1, limit // width)

    async def execute(self, connection: AsyncConnection, rows: Sequence[Row]) -> int:
        """Insert ``rows`` inside the connection's transaction; count new rows."""
        if not self._sql:
            result = await connection.execute(self._statement, list(rows))
            return len(result.all())
        inserted = 0
        for sql, parameters in self._statements(rows):
            # A list of tuples runs as one executemany, whose rowcount is the
            # sum over its executions.
            driver_result = await connection.exec_driver_sql(sql, parameters)
            inserted += int(driver_result.rowcount)
        return inserted

    def sqlite_statements(
        self, rows: Sequence[Row]
    ) -> list[tuple[str, list[tuple[Any, ...]] | tuple[Any, ...]]]:
        """Return the SQLite INSERTs of ``rows`` with their parameters, for a
        caller that runs them on its own sqlite3 connection.

        A list of parameter tuples is for one executemany, a tuple for one
        execute.
        """
        if not self._sql:
            raise ConfigurationError(
                f"the INSERT for table {self.table.name!r} was prepared for "
                "Postgres; only a SQLite insert has statements to run directly"
            )
        return list(self._statements(rows))

    def _statements(
        self, rows: Sequence[Row]
    ) -> Iterator[tuple[str, list[tuple[Any, ...]] | tuple[Any, ...]]]:
        """Yield the INSERT of ``_rows_per_statement`` rows with the
        parameters of each full group of rows, then the INSERT of the
        remaining rows with theirs."""
        # One statement with many rows costs SQLite less per row than an
        # executemany of one-row statements: measured with sqlite3 alone, 9.2
        # against 11.5 microseconds per GPS row in 500-row transactions
        # (SQLite 3.40, CPython 3.11, 2-core AMD EPYC). Full groups share one
        # statement, so a table needs at most _rows_per_statement statements
        # in sqlite3's cache.
        values = list(itertools.chain.from_iterable(self._parameters(rows)))
        width = len(self._columns)
        per_statement = self._rows_per_statement
        full, remainder = divmod(len(rows), per_statement)
        step = per_statement * width
        if full:
            groups = [tuple(values[i * step : (i + 1) * step]) for i in range(full)]
            yield self._sql_for(per_statement), groups
        if remainder:
            yield self._sql_for(remainder), tuple(values[full * step :])

    def _sql_for(self, count: int) -> str:
        rows_sql = ", ".join([self._sql_row] * count)
        return f"{self._sql_head}{rows_sql}{self._sql_tail}"

    def _parameters(self, rows: Sequence[Row]) -> Iterable[tuple[Any, ...]]:
        """Return the bound values of each row, in the SQL's column order."""
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
        return zip(*bound, strict=True)


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
