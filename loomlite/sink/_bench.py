"""The sink benchmark: GPS messages into SQLite, through the Sink and raw.

``loomlite bench`` compares the two rates. Both write the same GPS table,
created from ``build_metadata`` in a fresh file, with the same pragmas, and
commit one transaction per BATCH_SIZE rows. The Sink side starts from the
JSON bytes the broker carries and takes each slice through ``decode`` and
``Sink.write`` to a committed transaction. The raw side is the floor:
pre-built tuples inserted with one sqlite3 ``executemany`` per transaction,
and a plain INSERT without the Sink's conflict clause.
"""

from __future__ import annotations

import math
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy

from loomlite.contract import CATALOG, decode
from loomlite.contract.models import GPSReading
from loomlite.sink.engine import SQLITE_BUSY_TIMEOUT_MS, create_engine
from loomlite.sink.tables import build_metadata
from loomlite.sink.writer import Sink

__all__ = ["BATCH_SIZE", "GPS_TOPIC", "measure_raw_sqlite", "measure_sink"]

GPS_TOPIC = "device.sensor.gps.raw"
BATCH_SIZE = 500
_START = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


def gps_messages(count: int) -> list[GPSReading]:
    """Return ``count`` GPS fixes one second apart along a walk in a circle."""
    messages = []
    for index in range(count):
        angle = index / 600 * 2 * math.pi
        recorded_at = _START + timedelta(seconds=index)
        messages.append(
            GPSReading(
                device_id="bench-phone",
                recorded_at=recorded_at,
                received_at=recorded_at + timedelta(milliseconds=180),
                latitude=52.52 + 0.004 * math.sin(angle),
                longitude=13.405 + 0.006 * math.cos(angle),
                altitude=34.0 + index % 7,
                accuracy=4.5,
                heading=math.degrees(angle) % 360,
                speed=1.4,
                provider="gps",
            )
        )
    return messages


def _gps_table() -> sqlalchemy.Table:
    spec = CATALOG.get(GPS_TOPIC)
    assert spec.table is not None
    return build_metadata().tables[spec.table.name]


async def measure_sink(path: Path, rows: int) -> float:
    """Return the rate, in rows/s, of GPS message bytes becoming committed rows
    through ``decode`` and ``Sink.write`` in calls of BATCH_SIZE messages."""
    table = _gps_table()
    engine = create_engine(path)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(table.create)
    finally:
        await engine.dispose()
    payloads = [message.model_dump_json().encode() for message in gps_messages(rows)]
    spec = CATALOG.get(GPS_TOPIC)

    async with Sink(path, batch_size=BATCH_SIZE) as sink:
        started = time.perf_counter()
        for offset in range(0, rows, BATCH_SIZE):
            batch = payloads[offset : offset + BATCH_SIZE]
            await sink.write(GPS_TOPIC, [decode(spec, value) for value in batch])
        elapsed = time.perf_counter() - started
    return rows / elapsed


def measure_raw_sqlite(path: Path, rows: int) -> float:
    """Return the rate, in rows/s, of pre-built GPS tuples inserted into the
    same table with one sqlite3 ``executemany`` per BATCH_SIZE-row
    transaction."""
    table = _gps_table()
    columns = [column.name for column in table.c if column.name != "id"]
    statement = table.insert().compile(
        dialect=sqlalchemy.dialects.sqlite.dialect(paramstyle="qmark"),
        column_keys=columns,
    )
    parameters = [_raw_row(message, columns) for message in gps_messages(rows)]

    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        table.create(connection)
    engine.dispose()

    database = sqlite3.connect(path, isolation_level=None)
    try:
        database.execute("PRAGMA journal_mode=WAL")
        database.execute("PRAGMA synchronous=NORMAL")
        database.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
        database.execute("PRAGMA foreign_keys=ON")
        sql = str(statement)
        started = time.perf_counter()
        for offset in range(0, rows, BATCH_SIZE):
            database.execute("BEGIN IMMEDIATE")
            database.executemany(sql, parameters[offset : offset + BATCH_SIZE])
            database.execute("COMMIT")
        elapsed = time.perf_counter() - started
    finally:
        database.close()
    return rows / elapsed


def _raw_row(message: GPSReading, columns: list[str]) -> tuple[Any, ...]:
    values = message.model_dump()
    row = []
    for name in columns:
        value = values[name]
        if isinstance(value, datetime):
            value = value.isoformat(timespec="microseconds")
        row.append(value)
    return tuple(row)
