"""UtcDateTime: timestamps stored in UTC and read back aware."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from loomlite.sink import UtcDateTime, create_engine

metadata = MetaData()
moments = Table(
    "moments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime(), nullable=True),
)

NAIVE = datetime(2024, 3, 10, 8, 30, 15, 123456)
AWARE_UTC = NAIVE.replace(tzinfo=UTC)
AWARE_PLUS_TWO = datetime(2024, 3, 10, 10, 30, 15, 123456, timezone(timedelta(hours=2)))


async def stored(path: Path, values: list[datetime | None]) -> list[tuple[object, ...]]:
    """Insert ``values`` and return (raw text, value read back) per row."""
    engine = create_engine(path)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            await connection.execute(moments.insert(), [{"at": v} for v in values])
        async with engine.connect() as connection:
            read = (await connection.execute(select(moments.c.at))).scalars().all()
            raw = await connection.exec_driver_sql("SELECT at FROM moments")
            return list(zip(raw.scalars().all(), read, strict=True))
    finally:
        await engine.dispose()


@pytest.mark.anyio
async def test_naive_and_aware_read_back_equal(tmp_path: Path) -> None:
    rows = await stored(tmp_path / "t.db", [NAIVE, AWARE_UTC, AWARE_PLUS_TWO])

    for _, value in rows:
        assert value == AWARE_UTC
        assert value.tzinfo is UTC


@pytest.mark.anyio
async def test_sqlite_stores_fixed_width_utc_text(tmp_path: Path) -> None:
    rows = await stored(tmp_path / "t.db", [NAIVE, AWARE_PLUS_TWO])

    for text, _ in rows:
        assert text == "2024-03-10T08:30:15.123456+00:00"


@pytest.mark.anyio
async def test_sqlite_text_sorts_by_time(tmp_path: Path) -> None:
    later_whole_second = datetime(2024, 3, 10, 8, 30, 16, tzinfo=UTC)
    earlier_other_zone = datetime(
        2024, 3, 10, 9, 0, tzinfo=timezone(timedelta(hours=1))
    )
    values: list[datetime | None] = [later_whole_second, AWARE_UTC, earlier_other_zone]

    rows = await stored(tmp_path / "t.db", values)
    texts = sorted(str(text) for text, _ in rows)

    assert [datetime.fromisoformat(text) for text in texts] == sorted(
        v for v in values if v is not None
    )


@pytest.mark.anyio
async def test_null_stays_null(tmp_path: Path) -> None:
    rows = await stored(tmp_path / "t.db", [None])

    assert rows == [(None, None)]


def test_non_datetime_is_rejected() -> None:
    processor = UtcDateTime().bind_processor(sqlite.dialect())
    assert processor is not None

    with pytest.raises(TypeError, match=r"expected a datetime .* got '2024-01-01'"):
        processor("2024-01-01")


def test_postgres_type_is_timestamptz() -> None:
    ddl = UtcDateTime().compile(dialect=postgresql.dialect())

    assert ddl == "TIMESTAMP WITH TIME ZONE"


def test_postgres_bind_converts_to_utc() -> None:
    value = UtcDateTime().process_bind_param(AWARE_PLUS_TWO, postgresql.dialect())

    assert value == AWARE_UTC
    assert isinstance(value, datetime)
    assert value.tzinfo is UTC
