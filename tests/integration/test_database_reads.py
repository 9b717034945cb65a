"""The consumer activity table and the snapshot reads, on SQLite and Postgres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError

from loomlite.contract.models import GPSReading, ImageData
from loomlite.sink import Sink, build_metadata, migrate
from loomlite.sink.consumer_activity import (
    ConsumerActivity,
    MessageActivity,
    consumer_activity_table,
    read_consumer_activity,
    record_consumer_activity,
)
from loomlite.sink.engine import read_transaction
from loomlite.sink.snapshot import BinaryValue, newest_rows, summarise_tables

pytestmark = pytest.mark.anyio

T0 = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
PHONE = "phone-1"
LAPTOP = "laptop-1"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh Postgres database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'loomlite.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def database_url(empty_database: str) -> str:
    """The database of ``empty_database`` at the newest revision."""
    await migrate.upgrade(empty_database)
    return empty_database


def gps(device: str, minutes: int) -> GPSReading:
    at = T0 + timedelta(minutes=minutes)
    return GPSReading(
        device_id=device,
        recorded_at=at,
        received_at=at,
        latitude=46.0 + minutes / 100,
        longitude=13.0,
    )


def consumed(topic: str, message: dict[str, object], minutes: int) -> MessageActivity:
    return MessageActivity(topic, message, T0 + timedelta(minutes=minutes))


async def record(sink: Sink, activity: ConsumerActivity) -> None:
    async with sink.engine.begin() as connection:
        await record_consumer_activity(connection, activity)


async def read_activity(sink: Sink, limit: int = 10) -> list[dict[str, object]]:
    async with read_transaction(sink.engine, statement_timeout_ms=5_000) as connection:
        return await read_consumer_activity(connection, limit=limit)


async def test_activity_upsert_keeps_halves(database_url: str) -> None:
    first = ConsumerActivity(
        "stt-1", consumed("device.audio.raw", {"chunk": 1}, 0), None, T0
    )
    second = ConsumerActivity(
        "stt-1",
        None,
        consumed("media.text.transcribed.words", {"text": "hi"}, 1),
        T0 + timedelta(minutes=1),
    )

    async with Sink(database_url) as sink:
        await record(sink, first)
        await record(sink, second)
        rows = await read_activity(sink)

    [row] = rows
    assert row["consumer_id"] == "stt-1"
    assert row["last_consumed_topic"] == "device.audio.raw"
    assert row["last_consumed_message"] == {"chunk": 1}
    assert row["last_consumed_at"] == T0
    assert row["last_produced_topic"] == "media.text.transcribed.words"
    assert row["last_produced_message"] == {"text": "hi"}
    assert row["last_produced_at"] == T0 + timedelta(minutes=1)
    assert row["updated_at"] == T0 + timedelta(minutes=1)


async def test_activity_read_newest_first(database_url: str) -> None:
    async with Sink(database_url) as sink:
        for minutes, name in enumerate(("ocr-1", "vad-1", "stt-1")):
            message = consumed("device.audio.raw", {}, minutes)
            updated = T0 + timedelta(minutes=minutes)
            await record(sink, ConsumerActivity(name, message, None, updated))
        two = await read_activity(sink, limit=2)

    assert [row["consumer_id"] for row in two] == ["stt-1", "vad-1"]


async def test_activity_consumer_id_unique(database_url: str) -> None:
    values = {"consumer_id": "stt-1", "updated_at": T0}

    async with Sink(database_url) as sink:
        async with sink.engine.begin() as connection:
            await connection.execute(insert(consumer_activity_table).values(values))
        with pytest.raises(DBAPIError, match=r"(?i)unique"):
            async with sink.engine.begin() as connection:
                await connection.execute(insert(consumer_activity_table).values(values))


async def test_summary_counts_per_device(database_url: str) -> None:
    tables = build_metadata().tables
    gps_table = tables["device_sensor_gps_raw"]
    sleep_table = tables["device_health_sleep_raw"]

    async with Sink(database_url) as sink:
        await sink.write(
            "device.sensor.gps.raw", [gps(PHONE, 0), gps(PHONE, 5), gps(LAPTOP, 9)]
        )
        async with read_transaction(
            sink.engine, statement_timeout_ms=5_000
        ) as connection:
            everything = await summarise_tables(connection, [gps_table, sleep_table])
            phone = await summarise_tables(
                connection, [gps_table, sleep_table], device_id=PHONE
            )

    assert [(s.table, s.rows) for s in everything] == [
        ("device_sensor_gps_raw", 3),
        ("device_health_sleep_raw", 0),
    ]
    assert everything[0].newest_recorded_at == T0 + timedelta(minutes=9)
    assert everything[1].newest_recorded_at is None
    assert phone[0].rows == 2
    assert phone[0].newest_recorded_at == T0 + timedelta(minutes=5)


async def test_newest_rows_summarise_binary(database_url: str) -> None:
    image = ImageData(
        device_id=PHONE,
        recorded_at=T0,
        received_at=T0,
        image_data=b"\x89PNG" + bytes(96),
        width=1,
        height=1,
    )
    table = build_metadata().tables["device_image_camera_raw"]

    async with Sink(database_url) as sink:
        await sink.write("device.image.camera.raw", [image])
        async with read_transaction(
            sink.engine, statement_timeout_ms=5_000
        ) as connection:
            [row] = await newest_rows(connection, table, limit=5)

    assert row["image_data"] == BinaryValue(100)
    assert row["width"] == 1
    assert row["recorded_at"] == T0


async def test_newest_rows_order_and_limit(database_url: str) -> None:
    table = build_metadata().tables["device_sensor_gps_raw"]
    messages = [gps(PHONE, minutes) for minutes in (3, 0, 7, 5)]

    async with Sink(database_url) as sink:
        await sink.write("device.sensor.gps.raw", [*messages, gps(LAPTOP, 9)])
        async with read_transaction(
            sink.engine, statement_timeout_ms=5_000
        ) as connection:
            rows = await newest_rows(connection, table, limit=3, device_id=PHONE)

    assert [row["recorded_at"] for row in rows] == [
        T0 + timedelta(minutes=7),
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=3),
    ]


async def test_read_transaction_lets_sink_write(database_url: str) -> None:
    table = build_metadata().tables["device_sensor_gps_raw"]

    async with Sink(database_url) as sink:
        async with read_transaction(
            sink.engine, statement_timeout_ms=5_000
        ) as connection:
            before = await summarise_tables(connection, [table])
            # A reader holding the write lock would make this wait for the
            # busy timeout of 30 s, longer than the deadline.
            with anyio.fail_after(10):
                inserted = await sink.write("device.sensor.gps.raw", [gps(PHONE, 1)])
            during = await summarise_tables(connection, [table])
        after = await sink.count("device.sensor.gps.raw")

    assert inserted == 1
    assert before[0].rows == 0
    assert during[0].rows == 0
    assert after == 1


@pytest.mark.postgres
async def test_read_transaction_rejects_writes(postgres_url: str) -> None:
    values = {"consumer_id": "stt-1", "updated_at": T0}
    await migrate.upgrade(postgres_url)

    async with Sink(postgres_url) as sink:
        with pytest.raises(DBAPIError, match="read-only transaction"):
            async with read_transaction(
                sink.engine, statement_timeout_ms=5_000
            ) as connection:
                await connection.execute(insert(consumer_activity_table).values(values))


@pytest.mark.postgres
async def test_read_transaction_cancels_slow_statement(postgres_url: str) -> None:
    async with Sink(postgres_url) as sink:
        with pytest.raises(DBAPIError, match="statement timeout"):
            async with read_transaction(
                sink.engine, statement_timeout_ms=50
            ) as connection:
                await connection.execute(select(func.pg_sleep(5)))
