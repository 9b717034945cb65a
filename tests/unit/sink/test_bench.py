"""The sink benchmark's two measurements run and commit the same rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import anyio
import pytest

from loomlite.sink._bench import measure_raw_sqlite, measure_sink

# Every column but the random message_id and trace_id.
COLUMNS = (
    "schema_version, device_id, recorded_at, received_at, latitude, longitude, "
    "altitude, accuracy, heading, speed, provider, metadata"
)


def stored_rows(path: Path) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(
            f"SELECT {COLUMNS} FROM device_sensor_gps_raw ORDER BY id"
        ).fetchall()
    finally:
        connection.close()


@pytest.mark.anyio
async def test_measure_sink_commits_every_row(tmp_path: Path) -> None:
    rate = await measure_sink(tmp_path / "sink.db", 1_200)
    rows = stored_rows(tmp_path / "sink.db")

    assert rate > 0
    assert len(rows) == 1_200
    assert rows[0][1:3] == ("bench-phone", "2024-06-01T08:00:00.000000+00:00")


def test_measure_raw_sqlite_commits_every_row(tmp_path: Path) -> None:
    rate = measure_raw_sqlite(tmp_path / "raw.db", 1_200)
    rows = stored_rows(tmp_path / "raw.db")

    assert rate > 0
    assert len(rows) == 1_200
    assert rows[0][1:3] == ("bench-phone", "2024-06-01T08:00:00.000000+00:00")


def test_both_measurements_store_same_rows(tmp_path: Path) -> None:
    anyio.run(measure_sink, tmp_path / "sink.db", 50)
    measure_raw_sqlite(tmp_path / "raw.db", 50)

    assert stored_rows(tmp_path / "sink.db") == stored_rows(tmp_path / "raw.db")
