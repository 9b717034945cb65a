"""The attached TUI opens the database and the broker file read-only, also
when their path contains characters that a SQLite URI treats specially."""

from __future__ import annotations

from pathlib import Path

import pytest

from loomlite.broker import DurableBroker
from loomlite.broker.base import TopicConfig
from loomlite.sink import migrate
from loomlite.tui.broker_file import BrokerFile
from loomlite.tui.sink_reader import SinkReader

pytestmark = pytest.mark.anyio

# '#' starts a URI fragment, '?' the query and '%' an escape, so each one
# cuts short or changes a path put into 'file:PATH?mode=ro' unencoded.
DIRECTORY_NAMES = ["run #1", "what?", "100%25 done", "s p ä"]


@pytest.mark.parametrize("name", DIRECTORY_NAMES)
async def test_sink_reader_opens_odd_path(tmp_path: Path, name: str) -> None:
    directory = tmp_path / name
    directory.mkdir()
    database = directory / "loomlite.db"
    await migrate.upgrade(str(database))
    reader = SinkReader(str(database))

    try:
        counts = await reader.counts(["device_sensor_gps_raw"])
    finally:
        await reader.close()

    assert counts == {"device_sensor_gps_raw": 0}
    assert _entries(tmp_path) == [directory]


@pytest.mark.parametrize("name", DIRECTORY_NAMES)
async def test_broker_file_opens_odd_path(tmp_path: Path, name: str) -> None:
    directory = tmp_path / name
    directory.mkdir()
    path = directory / "broker.sqlite3"
    broker = DurableBroker(path)
    await broker.start()
    await broker.create_topic(TopicConfig("device.sensor.gps.raw"))
    await broker.publish("device.sensor.gps.raw", b"{}", key="phone")
    await broker.close()
    reader = BrokerFile(path)

    try:
        partitions = await reader.partitions("device.sensor.gps.raw")
    finally:
        reader.close()

    assert partitions == [(0, 0, 1)]


def _entries(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())
