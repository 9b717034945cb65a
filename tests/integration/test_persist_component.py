"""The persist component and the runtime's sink in a test pipeline.

The runtime opens the sink in the component's ``setup`` (or in its own start,
for ``sink_factory``) and closes it under a shielded cancel scope at stop.
These tests check that stopping raises and logs nothing, the rows are stored
and no aiosqlite worker thread outlives the sink.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from loomlite.components.persist import persist_component
from loomlite.contract import CATALOG
from loomlite.contract.catalog import Catalog
from loomlite.contract.models import GPSReading
from loomlite.contract.models.external import EmailEvent
from loomlite.runtime import ComponentState, LoomliteSettings
from loomlite.sink import Sink, SinkState, migrate
from loomlite.testing import pipeline

pytestmark = pytest.mark.anyio

START = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
GPS = "device.sensor.gps.raw"
EMAIL = "external.email.events.raw"
WORKER_THREAD = "_connection_worker_thread"


def sqlite_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if WORKER_THREAD in t.name}


def assert_no_threads_left(started: set[threading.Thread]) -> None:
    assert started, "expected aiosqlite worker threads while the sink ran"
    for thread in started:
        thread.join(timeout=5)
    assert sqlite_threads() & started == set()


def problems(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the loomlite log lines at WARNING or above."""
    return [
        f"{record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.WARNING and record.name.startswith("loomlite")
    ]


def gps(index: int) -> GPSReading:
    moment = START + timedelta(seconds=index)
    return GPSReading(
        device_id="phone-1",
        recorded_at=moment,
        received_at=moment,
        latitude=52.52,
        longitude=13.405,
    )


def email(index: int) -> EmailEvent:
    moment = START + timedelta(minutes=index)
    return EmailEvent(
        device_id="email-fetcher-account-1",
        recorded_at=moment,
        received_at=moment,
        message_id_external=f"<{index}@mail.example.net>",
        subject=f"mail {index}",
    )


def make_settings(state_dir: Path) -> LoomliteSettings:
    return LoomliteSettings(
        state_dir=state_dir,
        clock="manual",
        start=START,
        supervisor={"drain_timeout": 2.0},
    )


async def stored_counts(url: str) -> dict[str, int]:
    async with Sink(url) as sink:
        return {topic: await sink.count(topic) for topic in (GPS, EMAIL)}


@pytest.fixture
async def database(tmp_path: Path) -> str:
    """The URL of a SQLite file migrated to the newest schema."""
    url = f"sqlite:///{tmp_path / 'loomlite.db'}"
    await migrate.upgrade(url)
    return url


async def test_persist_stores_and_stops_cleanly(
    tmp_path: Path, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    before = sqlite_threads()
    persist = persist_component(database, topics=[GPS, EMAIL])
    runtime = pipeline(
        settings=make_settings(tmp_path),
        components=[persist],
        db=None,
        start=START,
        inputs=[GPS, EMAIL],
    )

    async with runtime:
        for index in range(30):
            await runtime.publish(GPS, gps(index))
        for index in range(5):
            await runtime.publish(EMAIL, email(index))
        await runtime.run_until_idle(timeout=10)
        sink = persist.sink
        # A read connects the engine, which starts an aiosqlite thread.
        await sink.count(GPS)
        started = sqlite_threads() - before
        await runtime.stop()
        health = runtime.statistics().components["persist"]

    assert problems(caplog) == []
    assert health.state is ComponentState.STOPPED
    assert health.last_error is None
    assert health.messages_in == 35
    assert sink.state is SinkState.CLOSED
    assert persist.sink_statistics() is None
    assert_no_threads_left(started)
    assert await stored_counts(database) == {GPS: 30, EMAIL: 5}


async def test_sink_factory_closes_at_stop(
    tmp_path: Path, database: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    before = sqlite_threads()

    def open_sink(settings: LoomliteSettings, catalog: Catalog) -> Sink:
        return Sink(database, catalog)

    runtime = pipeline(
        settings=make_settings(tmp_path),
        components=[],
        db=None,
        start=START,
        catalog=CATALOG,
        sink_factory=open_sink,
    )

    async with runtime:
        sink: Any = runtime.runtime.sink
        inserted = await sink.write(GPS, [gps(index) for index in range(3)])
        # A read connects the engine, which starts an aiosqlite thread.
        await sink.count(GPS)
        started = sqlite_threads() - before

    assert problems(caplog) == []
    assert inserted == 3
    assert sink.state is SinkState.CLOSED
    assert_no_threads_left(started)
    assert await stored_counts(database) == {GPS: 3, EMAIL: 0}
