"""Read-only summaries of the topic tables: row counts, the newest event time
and the newest rows, with binary columns reduced to their size.

Every query is built with SQLAlchemy Core from the catalog's tables and runs
on the caller's connection, inside ``read_transaction``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    LargeBinary,
    Table,
    func,
    literal,
    select,
    union_all,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["BinaryValue", "TableSummary", "newest_rows", "summarise_tables"]

TIME_COLUMN = "recorded_at"


@dataclass(frozen=True, slots=True)
class TableSummary:
    """The row count and newest ``recorded_at`` of one table."""

    table: str
    rows: int
    newest_recorded_at: datetime | None


@dataclass(frozen=True, slots=True)
class BinaryValue:
    """A binary column's value, of which only the size is read."""

    size_bytes: int


def _where_device(query: Any, table: Table, device_id: str | None) -> Any:
    if device_id is None:
        return query
    return query.where(table.c.device_id == device_id)


async def summarise_tables(
    connection: AsyncConnection,
    tables: Sequence[Table],
    *,
    device_id: str | None = None,
) -> list[TableSummary]:
    """Return the summary of each of ``tables``, in the order given.

    ``device_id`` counts only that device's rows. All tables are read in one
    UNION ALL statement, so the counts come from one snapshot.
    """
    if not tables:
        return []
    parts: list[Any] = []
    for table in tables:
        part = select(
            literal(table.name).label("name"),
            func.count().label("rows"),
            func.max(table.c[TIME_COLUMN]).label("newest"),
        ).select_from(table)
        parts.append(_where_device(part, table, device_id))
    statement: Any = parts[0] if len(parts) == 1 else union_all(*parts)
    result = await connection.execute(statement)
    found = {
        row["name"]: (int(row["rows"]), row["newest"]) for row in result.mappings()
    }
    return [
        TableSummary(table.name, *found.get(table.name, (0, None))) for table in tables
    ]


def _readable(table: Table) -> list[ColumnElement[Any]]:
    """Return the table's columns with each binary column read as its length."""
    columns: list[ColumnElement[Any]] = []
    for column in table.columns:
        if isinstance(column.type, LargeBinary):
            columns.append(func.length(column).label(column.name))
        else:
            columns.append(column)
    return columns


async def newest_rows(
    connection: AsyncConnection,
    table: Table,
    *,
    limit: int,
    device_id: str | None = None,
) -> list[dict[str, Any]]:
    """Return up to ``limit`` rows of ``table``, the newest ``recorded_at``
    first, each binary value replaced by a BinaryValue.

    NOTE: no index leads with ``recorded_at``, so the database reads every
    matching row to find the newest ones: ``limit`` bounds the result, not
    the work. The natural key's index, which starts with ``device_id`` on
    every table except the error tables, narrows a ``device_id`` filter.
    """
    binary = {
        column.name for column in table.columns if isinstance(column.type, LargeBinary)
    }
    query = select(*_readable(table)).order_by(
        table.c[TIME_COLUMN].desc(), table.c.id.desc()
    )
    query = _where_device(query, table, device_id).limit(limit)
    result = await connection.execute(query)
    rows = []
    for mapping in result.mappings():
        row = dict(mapping)
        for name in binary:
            if row[name] is not None:
                row[name] = BinaryValue(int(row[name]))
        rows.append(row)
    return rows
