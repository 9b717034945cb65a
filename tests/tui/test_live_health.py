"""Components, Topology, Topics and Sink on a live pipeline whose values
change: a crash and restart, a lint warning, count and byte retention, and
rows written between two ticks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest
from textual.widgets import DataTable, Static, Tree

from loomlite.broker.base import RetentionPolicy, TopicConfig
from loomlite.contract import CATALOG
from loomlite.runtime.component import Component
from loomlite.testing import Pipeline, pipeline
from loomlite.tui.app import LoomliteApp
from loomlite.tui.screens.components import ComponentsScreen
from loomlite.tui.screens.sink import SinkScreen
from loomlite.tui.screens.topics import TopicsScreen
from loomlite.tui.screens.topology import TopologyScreen
from loomlite.tui.source import LiveSource
from tests.tui.conftest import EMAIL, GPS, NEVER, START, email, gps_fix
from tests.tui.helpers import column, static_text, tree_labels

pytestmark = pytest.mark.anyio

SIZE = (160, 48)
GEOCODED = "location.address.geocoded"
# Published by Unread below, and neither consumed by the pipeline's
# components nor stored in a table, which topology lint warns about.
UNREAD = "media.audio.environment_classified"


class Flaky(Component):
    """A background loop that crashes on its first start only."""

    name = "flaky"

    def __init__(self) -> None:
        self.starts = 0

    async def run(self) -> None:
        self.starts += 1
        if self.starts == 1:
            raise RuntimeError("sensor bus lost")
        await anyio.sleep_forever()


class Unread(Component):
    """A component that may publish a topic nothing reads."""

    name = "unread"
    publishes = (UNREAD,)

    async def run(self) -> None:
        await anyio.sleep_forever()


@pytest.fixture
async def health_pipeline() -> AsyncIterator[Pipeline]:
    """Enrich and persist, with Flaky and Unread beside them."""
    test_pipeline = pipeline(
        components=["enrich", Flaky(), Unread(), "persist"],
        start=START,
        supervisor={"restart_initial_delay": 0.01, "restart_max_delay": 0.05},
    )
    async with test_pipeline as running:
        yield running


def health_app(running: Pipeline, **options: float) -> LoomliteApp:
    persist = running.component("persist")
    source = LiveSource(
        running.runtime,
        db_url=running.db_url,
        sink_statistics=persist.sink_statistics,  # type: ignore[attr-defined]
    )
    return LoomliteApp(source, **options)  # type: ignore[arg-type]


def row_of(table: DataTable[object], key_column: str, key: str) -> dict[str, str]:
    """Return the cells of the row whose ``key_column`` shows ``key``."""
    keys = column(table, key_column)
    index = keys.index(key)
    return {
        str(name.value): str(table.get_cell_at((index, position)))
        for position, name in enumerate(table.columns)
    }


async def test_components_show_restart_and_error(
    health_pipeline: Pipeline,
) -> None:
    def restarted() -> bool:
        statistics = health_pipeline.statistics().components["flaky"]
        return statistics.restarts == 1 and statistics.state.value == "running"

    await health_pipeline.wait_for(restarted)
    app = health_app(health_pipeline, refresh_interval=NEVER)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await app.refresh_now()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ComponentsScreen)
        table = screen.query_one("#components", DataTable)

        cells = row_of(table, "component", "flaky")
        assert cells["restarts"] == "1"
        assert cells["state"] == "running"
        assert cells["last error"] == "RuntimeError: sensor bus lost"
        enrich = row_of(table, "component", "enrich")
        assert enrich["restarts"] == "0"
        assert enrich["last error"] == "—"

        table.focus()
        table.move_cursor(row=column(table, "component").index("flaky"))
        await pilot.pause()
        detail = static_text(screen.query_one("#last-error", Static))
        assert "flaky: RuntimeError: sensor bus lost" in detail


async def test_topology_marks_lint_warning(health_pipeline: Pipeline) -> None:
    app = health_app(health_pipeline, refresh_interval=NEVER)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        await app.refresh_now()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TopologyScreen)
        status = static_text(screen.query_one("#topology-status", Static))
        assert "1 lint warning(s)" in status

        labels = tree_labels(screen.query_one(Tree))
        assert "⚠ lint warnings (1)" in labels
        warnings = [
            label for label in labels if label.startswith(f"⚠ topic '{UNREAD}'")
        ]
        assert len(warnings) == 1
        assert "no component consumes it" in warnings[0]
        assert f"⚠ {UNREAD}: produced but neither consumed nor stored" in labels


async def test_topics_show_count_and_byte_retention(
    health_pipeline: Pipeline,
) -> None:
    broker = health_pipeline.broker
    topics = broker.topics()
    await broker.create_topic(
        TopicConfig(GPS, topics[GPS].partitions, RetentionPolicy(max_records=40))
    )
    for index in range(12):
        await health_pipeline.publish(GPS, gps_fix(index))
    for index in range(3):
        await health_pipeline.publish(EMAIL, email(index))
    await health_pipeline.run_until_idle()
    email_bytes = broker.statistics().topics[EMAIL].bytes
    assert email_bytes
    await broker.create_topic(
        TopicConfig(
            EMAIL, topics[EMAIL].partitions, RetentionPolicy(max_bytes=email_bytes * 4)
        )
    )

    app = health_app(health_pipeline, refresh_interval=NEVER)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await app.refresh_now()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TopicsScreen)
        table = screen.query_one("#topics", DataTable)

        assert row_of(table, "topic", GPS)["retention"] == "30%"
        assert row_of(table, "topic", EMAIL)["retention"] == "25%"
        geocoded = row_of(table, "topic", GEOCODED)
        max_age = CATALOG.get(GEOCODED).retention.max_age
        assert max_age is not None
        assert geocoded["retention"] == f"by age, {max_age.days} d"


async def test_sink_shows_write_rate(health_pipeline: Pipeline) -> None:
    app = health_app(health_pipeline, refresh_interval=NEVER)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("7")
        await app.refresh_now()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SinkScreen)

        for index in range(12):
            await health_pipeline.publish(GPS, gps_fix(index))
        await health_pipeline.run_until_idle()
        await app.refresh_now()
        await pilot.pause()

        table = screen.query_one("#tables", DataTable)
        cells = row_of(table, "table", "device_sensor_gps_raw")
        assert cells["rows written"] == "12"
        assert cells["write rate"] != "0.0/s"
        assert float(cells["write rate"].removesuffix("/s").replace(",", "")) > 0
        assert cells["last write"] != "—"
