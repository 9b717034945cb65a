"""Alembic migrations on SQLite and Postgres: round trips, drift, 0002 data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    TableClause,
    column,
    inspect,
    select,
    table,
)
from sqlalchemy.exc import IntegrityError

from loomlite.contract import CATALOG, Envelope
from loomlite.contract.models import CalendarEvent, EmailEvent, GPSReading
from loomlite.errors import SinkError
from loomlite.sink import Sink, build_metadata, create_engine, migrate, row_from_message
from loomlite.sink.migrate import RevisionChange
from loomlite.sink.schema import schema_table_names

pytestmark = pytest.mark.anyio

T0 = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
HEAD = "0003_consumer_activity"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh Postgres database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'loomlite.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(
                lambda sync: inspect(sync).get_table_names()
            )
    finally:
        await engine.dispose()
    return set(names)


async def column_names(url: str, table_name: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda sync: inspect(sync).get_columns(table_name)
            )
    finally:
        await engine.dispose()
    return [column["name"] for column in columns]


def catalog_tables() -> set[str]:
    return schema_table_names()


async def test_upgrade_downgrade_round_trip(database_url: str) -> None:
    first = await migrate.upgrade(database_url)
    tables_at_head = await table_names(database_url)
    revision_at_head = await migrate.current(database_url)
    down = await migrate.downgrade(database_url, "base")
    tables_at_base = await table_names(database_url)
    revision_at_base = await migrate.current(database_url)
    again = await migrate.upgrade(database_url)
    at_head = await migrate.upgrade(database_url)

    assert first == RevisionChange(None, HEAD)
    assert tables_at_head == catalog_tables() | {"alembic_version"}
    assert revision_at_head == HEAD
    assert down == RevisionChange(HEAD, None)
    assert tables_at_base == {"alembic_version"}
    assert revision_at_base is None
    assert again == RevisionChange(None, HEAD)
    assert at_head == RevisionChange(HEAD, HEAD)
    assert await table_names(database_url) == catalog_tables() | {"alembic_version"}


async def test_head_matches_catalog(database_url: str) -> None:
    await migrate.upgrade(database_url)

    assert await migrate.check(database_url) == []


async def test_check_lists_missing_content_hash(database_url: str) -> None:
    await migrate.upgrade(database_url, "0001_initial")

    differences = await migrate.check(database_url)
    described = sorted(migrate.describe_difference(d) for d in differences)

    assert described == [
        "add column external_calendar_events_raw.content_hash",
        "add column external_email_events_raw.content_hash",
        "add constraint uq_external_calendar_events_raw_content_hash on "
        "external_calendar_events_raw (content_hash)",
        "add constraint uq_external_email_events_raw_content_hash on "
        "external_email_events_raw (content_hash)",
        "add table consumer_activity",
    ]


async def test_check_ignores_broker_tables(database_url: str) -> None:
    await migrate.upgrade(database_url)
    broker_metadata = MetaData()
    Table("broker_records", broker_metadata, Column("offset", Integer))
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(broker_metadata.create_all)
    finally:
        await engine.dispose()

    differences = await migrate.check(database_url)
    await migrate.downgrade(database_url, "base")

    assert differences == []
    assert await table_names(database_url) == {"alembic_version", "broker_records"}


async def test_sink_writes_after_upgrade(database_url: str) -> None:
    await migrate.upgrade(database_url)
    fix = GPSReading(
        device_id="phone-1",
        recorded_at=T0,
        received_at=T0,
        latitude=52.5,
        longitude=13.4,
    )

    async with Sink(database_url) as sink:
        inserted = await sink.write("device.sensor.gps.raw", [fix])
        rows = await sink.rows("device.sensor.gps.raw")

    assert inserted == 1
    assert rows[0]["recorded_at"] == T0


async def test_unknown_revision_is_reported(database_url: str) -> None:
    with pytest.raises(SinkError, match="Can't locate revision identified by 'zzz'"):
        await migrate.upgrade(database_url, "zzz")


# -- 0002_content_hash with rows already stored -------------------------------


def email(index: int, content_hash: str | None = None) -> EmailEvent:
    return EmailEvent(
        device_id="mailbox-1",
        recorded_at=T0 + timedelta(minutes=index),
        received_at=T0 + timedelta(minutes=index),
        message_id_external=f"<{index}@example.org>",
        subject=f"subject {index}",
        content_hash=content_hash,
    )


def calendar_event(index: int, content_hash: str | None = None) -> CalendarEvent:
    return CalendarEvent(
        device_id="calendar-1",
        recorded_at=T0 + timedelta(hours=index),
        received_at=T0,
        event_id=f"event-{index}",
        title=f"meeting {index}",
        start_time=T0 + timedelta(hours=index),
        content_hash=content_hash,
    )


FACTORIES: dict[str, Callable[..., Envelope]] = {
    "external.email.events.raw": email,
    "external.calendar.events.raw": calendar_event,
}


def table_before_0002(topic: str) -> TableClause:
    """The topic's table as 0001_initial creates it: no content_hash."""
    spec = CATALOG.get(topic)
    assert spec.table is not None
    full = build_metadata().tables[spec.table.name]
    columns = [column(c.name, c.type) for c in full.c if c.name != "content_hash"]
    return table(full.name, *columns)


def row_before_0002(topic: str, message: Envelope) -> dict[str, Any]:
    row = row_from_message(CATALOG.get(topic), message)
    del row["content_hash"]
    return row


async def insert_rows(
    url: str, target: TableClause, rows: list[dict[str, Any]]
) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(target.insert(), rows)
    finally:
        await engine.dispose()


async def select_rows(url: str, target: TableClause) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(select(target).order_by(target.c.id))
            return [dict(row) for row in result.mappings()]
    finally:
        await engine.dispose()


@pytest.mark.parametrize("topic", sorted(FACTORIES))
async def test_content_hash_keeps_existing_rows(database_url: str, topic: str) -> None:
    make = FACTORIES[topic]
    before = table_before_0002(topic)
    await migrate.upgrade(database_url, "0001_initial")
    await insert_rows(
        database_url, before, [row_before_0002(topic, make(i)) for i in range(3)]
    )

    await migrate.upgrade(database_url, "0002_content_hash")
    after = table(
        before.name, *[column(c.name, c.type) for c in before.c], column("content_hash")
    )
    rows_at_0002 = await select_rows(database_url, after)

    assert [row["id"] for row in rows_at_0002] == [1, 2, 3]
    assert [row["content_hash"] for row in rows_at_0002] == [None, None, None]
    assert rows_at_0002[0]["recorded_at"] == T0

    duplicate = [
        row_from_message(CATALOG.get(topic), make(i, "f" * 64)) for i in (7, 8)
    ]
    await insert_rows(database_url, after, duplicate[:1])
    with pytest.raises(IntegrityError):
        await insert_rows(database_url, after, duplicate[1:])

    await migrate.downgrade(database_url, "0001_initial")
    rows_at_0001 = await select_rows(database_url, before)

    assert [row["id"] for row in rows_at_0001] == [1, 2, 3, 4]
    assert "content_hash" not in await column_names(database_url, before.name)
