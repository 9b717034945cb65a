"""The Sink against Postgres: idempotency, timestamps, failures, hostile text."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone
from typing import Any

import anyio
import pytest
from sqlalchemy import inspect

from loomlite.errors import SinkError
from loomlite.sink import Sink, build_metadata, create_engine, migrate
from loomlite.sink.schema import schema_table_names
from tests.unit.sink.cases import (
    HOSTILE_TEXTS,
    LIST_COLUMNS,
    TEXT_COLUMNS,
    hostile_messages,
)
from tests.unit.sink.small_catalog import (
    SMALL_CATALOG,
    T0,
    create_tables,
    digest,
    note,
    reading,
)

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


@pytest.fixture
async def small_database(postgres_url: str) -> str:
    """A fresh Postgres database with the small catalog's tables."""
    await create_tables(postgres_url)
    return postgres_url


@pytest.fixture
async def catalog_database(postgres_url: str) -> str:
    """A fresh Postgres database upgraded to the newest revision."""
    await migrate.upgrade(postgres_url)
    return postgres_url


async def scalar(url: str, sql: str) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return (await connection.exec_driver_sql(sql)).scalar()
    finally:
        await engine.dispose()


async def test_same_messages_twice_store_once(small_database: str) -> None:
    messages = [reading(i) for i in range(10)]

    async with Sink(small_database, SMALL_CATALOG) as sink:
        first = await sink.write("sensor.reading", messages)
        second = await sink.write("sensor.reading", messages)
        count = await sink.count("sensor.reading")

    assert first == 10
    assert second == 0
    assert count == 10


async def test_concurrent_writers_share_one_batch(small_database: str) -> None:
    results: dict[int, int] = {}

    async def write(index: int) -> None:
        messages = [reading(index * 10 + i) for i in range(5)]
        results[index] = await sink.write("sensor.reading", messages)

    async with Sink(small_database, SMALL_CATALOG, batch_size=50, max_delay=60) as sink:
        async with anyio.create_task_group() as group:
            for index in range(10):
                group.start_soon(write, index)
        stats = sink.statistics()

    assert results == {index: 5 for index in range(10)}
    assert stats.batches == 1


async def test_failing_table_fails_only_its_callers(small_database: str) -> None:
    # Postgres aborts the whole transaction at the first error, so the other
    # caller's rows survive only through the retry in their own transaction.
    engine = create_engine(small_database)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(
                build_metadata(SMALL_CATALOG).tables["text_note"].drop
            )
    finally:
        await engine.dispose()
    outcomes: dict[str, Any] = {}

    async def write(topic: str, messages: list[Any]) -> None:
        try:
            outcomes[topic] = await sink.write(topic, messages)
        except SinkError as exc:
            outcomes[topic] = exc

    async with Sink(small_database, SMALL_CATALOG, batch_size=4, max_delay=60) as sink:
        async with anyio.create_task_group() as group:
            group.start_soon(write, "text.note", [note(1), note(2)])
            group.start_soon(write, "sensor.reading", [reading(1), reading(2)])
        stored = await sink.count("sensor.reading")

    failure = outcomes["text.note"]
    assert outcomes["sensor.reading"] == 2
    assert isinstance(failure, SinkError)
    assert failure.table == "text_note"
    assert "UndefinedTableError" in str(failure)
    assert stored == 2


async def test_timestamps_read_back_aware_utc(small_database: str) -> None:
    naive = reading(0, recorded_at=T0.replace(tzinfo=None))
    plus_two = reading(
        1,
        recorded_at=(T0 + timedelta(seconds=1)).astimezone(
            timezone(timedelta(hours=2))
        ),
    )

    async with Sink(small_database, SMALL_CATALOG) as sink:
        await sink.write("sensor.reading", [naive, plus_two])
        rows = await sink.rows("sensor.reading")
        by_naive_filter = await sink.rows(
            "sensor.reading", where={"recorded_at": T0.replace(tzinfo=None)}
        )
    column_type = await scalar(
        small_database,
        "SELECT pg_typeof(recorded_at)::text FROM sensor_reading LIMIT 1",
    )

    assert [row["recorded_at"] for row in rows] == [T0, T0 + timedelta(seconds=1)]
    for row in rows:
        assert row["recorded_at"].tzinfo is UTC
    assert len(by_naive_filter) == 1
    assert column_type == "timestamp with time zone"


async def test_repeated_dedupe_hash_is_skipped(small_database: str) -> None:
    async with Sink(small_database, SMALL_CATALOG) as sink:
        first = await sink.write("external.digest", [digest(1, "abc")])
        second = await sink.write(
            "external.digest", [digest(1, "abc", device_id="fetcher-2")]
        )
        nulls = await sink.write("external.digest", [digest(2, None), digest(3, None)])

    assert first == 1
    assert second == 0
    assert nulls == 2


async def test_values_round_trip(small_database: str) -> None:
    message = note(1, words=2**62, pinned=True, tags=["a", "ü"], attachment=b"\x00\xff")

    async with Sink(small_database, SMALL_CATALOG) as sink:
        await sink.write("text.note", [message])
        (row,) = await sink.rows("text.note")

    assert row["words"] == 2**62
    assert row["pinned"] is True
    assert row["tags"] == ["a", "ü"]
    assert row["attachment"] == b"\x00\xff"


async def test_hostile_text_is_stored_verbatim(catalog_database: str) -> None:
    async with Sink(catalog_database) as sink:
        for topic, messages in hostile_messages().items():
            assert await sink.write(topic, messages) == len(HOSTILE_TEXTS), topic
        stored = {topic: await sink.rows(topic) for topic in TEXT_COLUMNS}
        filtered = await sink.rows(
            "digital.notes.raw", where={"device_id": HOSTILE_TEXTS[0]}
        )

    for topic, columns in TEXT_COLUMNS.items():
        for name in columns:
            values = [row[name] for row in stored[topic]]
            assert values == list(HOSTILE_TEXTS), f"{topic}.{name}"
    for topic, columns in LIST_COLUMNS.items():
        for name in columns:
            values = [row[name] for row in stored[topic]]
            assert values == [[text] for text in HOSTILE_TEXTS], f"{topic}.{name}"
    assert [row["content"] for row in filtered] == [HOSTILE_TEXTS[0]]


async def test_hostile_text_leaves_tables_intact(catalog_database: str) -> None:
    async with Sink(catalog_database) as sink:
        for topic, messages in hostile_messages().items():
            await sink.write(topic, messages)
    engine = create_engine(catalog_database)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(
                lambda sync: inspect(sync).get_table_names()
            )
    finally:
        await engine.dispose()

    assert set(names) == schema_table_names() | {"alembic_version"}
    assert await migrate.check(catalog_database) == []
    gps_rows = await scalar(
        catalog_database, "SELECT count(*) FROM device_sensor_gps_raw"
    )
    assert gps_rows == len(HOSTILE_TEXTS)
