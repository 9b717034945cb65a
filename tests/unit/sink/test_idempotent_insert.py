"""IdempotentInsert on SQLite: values bound column by column, NULL columns kept."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Double, Integer, MetaData, Table, Text

from loomlite.sink import UtcDateTime, create_engine
from loomlite.sink.statements import MAX_STATEMENT_PARAMETERS, IdempotentInsert

AT = datetime(2024, 6, 1, 8, 0, 0, 180000, tzinfo=UTC)


def sample_table() -> Table:
    return Table(
        "samples",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("key", Text, nullable=False, unique=True),
        Column("at", UtcDateTime(), nullable=True),
        Column("level", Double, nullable=True),
        Column("extra", JSON(none_as_null=True), nullable=True),
        Column("literal_null", JSON(none_as_null=False), nullable=True),
        info={"natural_key": ("key",)},
    )


async def insert_and_read(
    path: Path, rows: list[dict[str, Any]]
) -> tuple[int, list[tuple[Any, ...]]]:
    """Insert ``rows`` and return the count of new rows and the stored text."""
    table = sample_table()
    engine = create_engine(path)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(table.metadata.create_all)
            insert = IdempotentInsert(table, engine.dialect)
            inserted = await insert.execute(connection, rows)
            result = await connection.exec_driver_sql(
                "SELECT key, at, level, extra, literal_null FROM samples ORDER BY id"
            )
            return inserted, [tuple(row) for row in result.all()]
    finally:
        await engine.dispose()


def row(key: str, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "key": key,
        "at": None,
        "level": None,
        "extra": None,
        "literal_null": None,
    }
    base.update(values)
    return base


@pytest.mark.anyio
async def test_null_columns_stay_null(tmp_path: Path) -> None:
    inserted, stored = await insert_and_read(tmp_path / "t.db", [row("a"), row("b")])

    assert inserted == 2
    # JSON(none_as_null=False) stores None as the JSON text 'null', so its
    # processor still runs for a column of None.
    assert stored == [("a", None, None, None, "null"), ("b", None, None, None, "null")]


@pytest.mark.anyio
async def test_mixed_columns_bound_per_value(tmp_path: Path) -> None:
    rows = [
        row("a", at=AT, level=2, extra={"n": 1}),
        row("b"),
        row("c", at=datetime(2024, 6, 1, 10, 0), level=0.5, literal_null=[1]),
    ]

    inserted, stored = await insert_and_read(tmp_path / "t.db", rows)

    assert inserted == 3
    assert stored[0] == (
        "a",
        "2024-06-01T08:00:00.180000+00:00",
        2.0,
        '{"n": 1}',
        "null",
    )
    assert stored[1] == ("b", None, None, None, "null")
    assert stored[2] == ("c", "2024-06-01T10:00:00.000000+00:00", 0.5, None, "[1]")


@pytest.mark.anyio
async def test_repeated_key_not_counted(tmp_path: Path) -> None:
    inserted, stored = await insert_and_read(
        tmp_path / "t.db", [row("a", level=1.0), row("a", level=2.0)]
    )

    assert inserted == 1
    assert stored == [("a", None, 1.0, None, "null")]


@pytest.mark.anyio
async def test_rows_split_across_statements(tmp_path: Path) -> None:
    table = sample_table()
    engine = create_engine(tmp_path / "t.db")
    rows = [row(f"k{index}", level=float(index)) for index in range(7)]
    rows.append(row("k3", level=99.0))  # repeats a key from another statement
    try:
        async with engine.begin() as connection:
            await connection.run_sync(table.metadata.create_all)
            insert = IdempotentInsert(table, engine.dialect)
            insert._rows_per_statement = 3
            inserted = await insert.execute(connection, rows)
            result = await connection.exec_driver_sql(
                "SELECT key, level FROM samples ORDER BY id"
            )
            stored = [tuple(stored_row) for stored_row in result.all()]
    finally:
        await engine.dispose()

    assert inserted == 7
    assert stored == [(f"k{index}", float(index)) for index in range(7)]


@pytest.mark.anyio
async def test_empty_batch_inserts_nothing(tmp_path: Path) -> None:
    inserted, stored = await insert_and_read(tmp_path / "t.db", [])

    assert inserted == 0
    assert stored == []


@pytest.mark.anyio
async def test_statement_sizes_bounded(tmp_path: Path) -> None:
    table = sample_table()
    engine = create_engine(tmp_path / "t.db")
    try:
        insert = IdempotentInsert(table, engine.dialect)
    finally:
        await engine.dispose()
    per_statement = insert._rows_per_statement
    texts: set[str] = set()
    for count in range(1, 3 * per_statement + 2):
        rows = [row(f"k{index}") for index in range(count)]
        statements = list(insert._statements(rows))
        assert len(statements) <= 2, f"{count} rows gave {len(statements)} statements"
        texts.update(sql for sql, _ in statements)

    # One statement per remainder size plus the full one, whatever the count.
    assert len(texts) == per_statement
    for sql in texts:
        assert sql.count("?") <= MAX_STATEMENT_PARAMETERS
