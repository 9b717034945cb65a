"""The monitor component in a test pipeline: histories of rates, lag and
component health, the statistics.json snapshot and the status line."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from loomlite.components.monitor import (
    STATISTICS_FILE_NAME,
    MonitorComponent,
)
from loomlite.contract.models.external import EmailEvent
from loomlite.runtime import Component, Context, LoomliteSettings, subscribe
from loomlite.sink import SinkState, SinkStatistics
from loomlite.testing import Pipeline, pipeline

pytestmark = pytest.mark.anyio

START = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
EMAIL = "external.email.events.raw"
GROUP = "reader.general"


class Reader(Component):
    """Reads emails. Each handler call waits until ``release`` is set."""

    name = "reader"

    def __init__(self) -> None:
        self.entered = anyio.Event()
        self.release = anyio.Event()

    @subscribe(EMAIL, stage="general")
    async def on_email(self, message: EmailEvent, context: Context) -> None:
        self.entered.set()
        await self.release.wait()


def email(number: int) -> EmailEvent:
    moment = START + timedelta(minutes=number)
    return EmailEvent(
        device_id="email-fetcher-account-1",
        recorded_at=moment,
        received_at=moment,
        message_id_external=f"<{number}@mail.example.net>",
        subject=f"mail {number}",
    )


def make_settings(state_dir: Path, **monitor: Any) -> LoomliteSettings:
    values: dict[str, Any] = {"interval": 3600.0, "status_log_interval": 3600.0}
    values.update(monitor)
    return LoomliteSettings(
        state_dir=state_dir,
        clock="manual",
        start=START,
        components={"monitor": values},
        supervisor={"drain_timeout": 2.0},
    )


@asynccontextmanager
async def running(
    monitor: MonitorComponent, settings: LoomliteSettings, *others: Component
) -> AsyncIterator[Pipeline]:
    runtime = pipeline(
        settings=settings,
        components=[monitor, *others],
        db=None,
        start=START,
        inputs=[EMAIL],
    )
    async with runtime:
        # The loop's own first sample; the tests then sample when they choose.
        await monitor.wait_for_samples(1)
        yield runtime


def leftover_files(directory: Path) -> list[Path]:
    """Return temporary files that an interrupted write would leave behind."""
    return list(directory.glob(".statistics.json.*"))


def values(history: tuple[tuple[float, float], ...]) -> list[float]:
    return [value for _, value in history]


async def test_lag_per_group_appears_and_clears(tmp_path: Path) -> None:
    monitor, reader = MonitorComponent(), Reader()

    async with running(monitor, make_settings(tmp_path), reader) as runtime:
        for number in range(4):
            await runtime.publish(EMAIL, email(number))
        await reader.entered.wait()
        busy = await monitor.sample()
        reader.release.set()
        await runtime.run_until_idle(timeout=5)
        idle = await monitor.sample()

    assert busy.groups[GROUP].lag == 4
    assert busy.max_lag == 4
    assert busy.max_lag_group == GROUP
    partitions = busy.groups[GROUP].partitions
    assert sum(partition.lag for partition in partitions) == 4
    assert all(partition.topic == EMAIL for partition in partitions)
    assert idle.groups[GROUP].lag == 0
    assert values(idle.groups[GROUP].lag_history)[-2:] == [4, 0]


async def test_history_grows_with_samples(tmp_path: Path) -> None:
    monitor, reader = MonitorComponent(), Reader()
    reader.release.set()

    async with running(monitor, make_settings(tmp_path), reader) as runtime:
        await runtime.publish(EMAIL, email(0))
        await runtime.run_until_idle(timeout=5)
        await monitor.sample()
        await runtime.publish(EMAIL, email(1))
        await runtime.run_until_idle(timeout=5)
        snapshot = await monitor.sample()

    health = snapshot.components["reader"]
    topic = snapshot.topics[EMAIL]
    assert snapshot.samples == 3
    assert values(health.messages_in_history) == [0, 1, 2]
    assert values(topic.end_offset_history) == [1, 2]
    assert len(topic.publish_rate_history) == 2
    assert topic.published_total == 2
    assert health.state == "running"
    assert health.restarts == 0
    assert health.handler_p50 is not None
    assert snapshot.messages == 2
    times = [moment for moment, _ in health.messages_in_history]
    assert times == sorted(times)


async def test_history_keeps_last_samples(tmp_path: Path) -> None:
    monitor = MonitorComponent()

    async with running(monitor, make_settings(tmp_path, history=3)):
        for _ in range(5):
            snapshot = await monitor.sample()

    assert snapshot.samples == 6
    assert len(snapshot.components["monitor"].messages_in_history) == 3


async def test_idle_topics_are_left_out(tmp_path: Path) -> None:
    monitor = MonitorComponent()

    async with running(monitor, make_settings(tmp_path)) as runtime:
        await runtime.publish(EMAIL, email(0))
        snapshot = await monitor.sample()

    assert list(snapshot.topics) == [EMAIL]


async def test_statistics_json_is_written(tmp_path: Path) -> None:
    monitor, reader = MonitorComponent(), Reader()
    reader.release.set()
    path = tmp_path / STATISTICS_FILE_NAME

    async with running(monitor, make_settings(tmp_path), reader) as runtime:
        await runtime.publish(EMAIL, email(0))
        await runtime.run_until_idle(timeout=5)
        snapshot = await monitor.sample()
        text = path.read_text(encoding="utf-8")
        document = json.loads(text)

    assert document == json.loads(json.dumps(snapshot.to_json()))
    # Written entry by entry, the text is what one compact dumps would give.
    assert text == json.dumps(snapshot.to_json(), separators=(",", ":"))
    assert document["version"] == 1
    assert document["samples"] == 2
    assert document["runtime_state"] == "running"
    assert document["clock_time"] == START.isoformat()
    assert document["totals"]["messages"] == 1
    assert document["totals"]["rows_written"] is None
    assert document["topics"][EMAIL]["published_total"] == 1
    assert document["topics"][EMAIL]["history"]["end_offset"][-1][1] == 1
    assert document["groups"][GROUP]["lag"] == 0
    assert document["components"]["reader"]["messages_in"] == 1
    assert document["components"]["reader"]["state"] == "running"
    assert leftover_files(tmp_path) == []


async def test_statistics_json_shows_shutdown(tmp_path: Path) -> None:
    monitor = MonitorComponent()
    path = tmp_path / STATISTICS_FILE_NAME

    async with running(monitor, make_settings(tmp_path)):
        pass
    document = json.loads(path.read_text(encoding="utf-8"))

    assert document["runtime_state"] == "stopping"
    assert document["samples"] == 2


async def test_loop_samples_every_interval(tmp_path: Path) -> None:
    monitor = MonitorComponent()

    async with running(monitor, make_settings(tmp_path, interval=0.01)):
        with anyio.fail_after(5):
            await monitor.wait_for_samples(4)
        snapshot = monitor.statistics()

    assert snapshot.samples >= 4
    assert len(snapshot.components["monitor"].errors_history) >= 4


async def test_rows_written_from_sink(tmp_path: Path) -> None:
    statistics = SinkStatistics(
        state=SinkState.RUNNING,
        rows_written={"external_email_events_raw": 4, "gps": 3},
        rows_skipped={},
        batches=2,
        errors=0,
        pending_rows=0,
        last_write_at=None,
    )
    monitor = MonitorComponent(sink_statistics=lambda: statistics)

    async with running(monitor, make_settings(tmp_path)):
        snapshot = await monitor.sample()

    assert snapshot.rows_written == 7


async def test_status_line_is_rate_limited(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monitor = MonitorComponent()

    with caplog.at_level(logging.INFO, logger="loomlite.components.monitor"):
        async with running(monitor, make_settings(tmp_path)) as runtime:
            await runtime.publish(EMAIL, email(0))
            for _ in range(3):
                await monitor.sample()

    lines = [r.getMessage() for r in caplog.records if "status:" in r.getMessage()]
    assert len(lines) == 1
    assert "0 messages, no sink running, 0 errors, max lag 0" in lines[0]


async def test_status_line_can_be_turned_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monitor = MonitorComponent()
    settings = make_settings(tmp_path, status_log=False)

    with caplog.at_level(logging.INFO, logger="loomlite.components.monitor"):
        async with running(monitor, settings):
            await monitor.sample()

    assert not [r for r in caplog.records if "status:" in r.getMessage()]


async def test_unwritable_state_dir_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    monitor = MonitorComponent()

    with caplog.at_level(logging.DEBUG, logger="loomlite.components.monitor"):
        async with running(monitor, make_settings(blocker)):
            snapshot = await monitor.sample()

    failures = [r for r in caplog.records if "failed to write" in r.getMessage()]
    assert snapshot.samples == 2
    assert [r.levelno for r in failures][:1] == [logging.ERROR]
    assert all(r.levelno == logging.DEBUG for r in failures[1:])
    assert len(failures) == 3
