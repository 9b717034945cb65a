"""Screen keys pressed through the pilot on a pipeline in this process."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from loomlite.components.enrich.component import EnrichComponent
from loomlite.contract.models import GPSReading
from loomlite.runtime.context import Context
from loomlite.tui.app import LoomliteApp
from loomlite.tui.screens.errors import ErrorsScreen
from loomlite.tui.screens.messages import MessagesScreen
from loomlite.tui.screens.trace import TraceScreen
from loomlite.tui.widgets import ConfirmScreen
from tests.tui.conftest import (
    GEOCODING_ERRORS,
    GPS,
    GPS_PARTITION,
    NEVER,
    Pipeline,
    gps_fix,
)
from tests.tui.helpers import column, finish_workers, show
from tests.tui.test_live import SIZE, count_rows, live_app

pytestmark = pytest.mark.anyio


async def type_text(pilot: Pilot[None], text: str) -> None:
    await pilot.press(*text)


class Geocoder:
    """A geocoding handler that fails while ``broken`` is set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.broken = True
        original = EnrichComponent.on_fixes_for_geocoding
        geocoder = self

        async def geocode(
            self: EnrichComponent, messages: Sequence[GPSReading], context: Context
        ) -> None:
            if geocoder.broken:
                raise RuntimeError("geocoder unavailable")
            await original(self, messages, context)

        monkeypatch.setattr(EnrichComponent, "on_fixes_for_geocoding", geocode)


async def fail_fixes(pipeline: Pipeline, numbers: range) -> None:
    """Publish one GPS fix at a time, so each failure is one error message."""
    for number in numbers:
        await pipeline.runtime.publish(GPS, gps_fix(number, device="phone-7"))
        await pipeline.runtime.run_until_idle(timeout=30)


async def open_errors(pilot: Pilot[None]) -> ErrorsScreen:
    app = pilot.app
    assert isinstance(app, LoomliteApp)
    await pilot.press("5")
    await app.refresh_now()
    await finish_workers(pilot)
    screen = app.screen
    assert isinstance(screen, ErrorsScreen)
    return screen


async def test_messages_typed_load_next_filter(live_pipeline: Pipeline) -> None:
    app = live_app(live_pipeline, row_limit=5)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "3")
        screen = app.screen
        assert isinstance(screen, MessagesScreen)
        table = screen.query_one("#messages", DataTable)

        await type_text(pilot, GPS)
        await pilot.press("tab")
        await type_text(pilot, "start")
        await pilot.press("enter")
        await finish_workers(pilot)
        first_page = [f"{GPS_PARTITION}@{n}" for n in range(5)]
        assert column(table, "partition@offset") == first_page

        await pilot.press("n")
        await finish_workers(pilot)
        second_page = [f"{GPS_PARTITION}@{n}" for n in range(5, 10)]
        assert column(table, "partition@offset") == second_page

        await pilot.press("slash")
        filter_input = screen.query_one("#filter-input", Input)
        assert app.focused is filter_input
        await type_text(pilot, "message_id=gps-phone-0-003")
        await pilot.press("enter")
        await finish_workers(pilot)
        assert column(table, "partition@offset") == [f"{GPS_PARTITION}@3"]


async def test_trace_typed_after_slash(live_pipeline: Pipeline) -> None:
    app = live_app(live_pipeline)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "4")
        screen = app.screen
        assert isinstance(screen, TraceScreen)
        trace_input = screen.query_one("#trace-input", Input)
        assert app.focused is not trace_input

        await pilot.press("slash")
        assert app.focused is trace_input
        await type_text(pilot, "trace-gps-phone-0-004")
        await pilot.press("enter")
        await finish_workers(pilot)

        hops = screen.query_one("#hops", DataTable)
        where = column(hops, "where")
        assert f"{GPS}[{GPS_PARTITION}]@4" in where
        assert "device_sensor_gps_raw" in where
        assert "location_address_geocoded" in where


async def test_errors_g_reads_again(
    live_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    Geocoder(monkeypatch)
    await fail_fixes(live_pipeline, range(20, 22))
    app = live_app(live_pipeline, refresh_interval=NEVER)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_errors(pilot)
        table = screen.query_one("#errors", DataTable)
        assert table.row_count == 2

        # Without a tick the screen does not see the new errors until g.
        await fail_fixes(live_pipeline, range(22, 24))
        await pilot.pause()
        assert table.row_count == 2

        await pilot.press("g")
        await finish_workers(pilot)
        assert table.row_count == 4
        assert set(column(table, "error topic")) == {GEOCODING_ERRORS}


async def test_errors_d_then_y_discards_one(
    live_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    Geocoder(monkeypatch)
    await fail_fixes(live_pipeline, range(20, 23))
    app = live_app(live_pipeline, refresh_interval=NEVER)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_errors(pilot)
        table = screen.query_one("#errors", DataTable)
        assert column(table, "status") == ["pending"] * 3

        table.focus()
        await pilot.press("down")
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await finish_workers(pilot)

        assert app.screen is screen
        assert column(table, "status") == ["pending", "discarded", "pending"]
        discarded = [list(result.discarded) for result in screen.last_results]
        assert discarded == [[screen.errors[1].message_id]]


async def test_errors_r_redrives_in_process(
    live_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    geocoder = Geocoder(monkeypatch)
    await fail_fixes(live_pipeline, range(20, 22))
    geocoded_before = count_rows(live_pipeline, "location_address_geocoded")
    app = live_app(live_pipeline, refresh_interval=NEVER)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_errors(pilot)
        table = screen.query_one("#errors", DataTable)
        assert column(table, "status") == ["pending", "pending"]

        geocoder.broken = False
        table.focus()
        await pilot.press("r")
        await finish_workers(pilot)
        await live_pipeline.runtime.run_until_idle(timeout=30)

        assert column(table, "status") == ["redriven", "pending"]
        geocoded = count_rows(live_pipeline, "location_address_geocoded")
        assert geocoded == geocoded_before + 1


async def test_q_closes_source_and_exits(
    live_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = live_app(live_pipeline)
    source = app.source
    assert source is not None
    closed: list[bool] = []
    original_close = source.close

    async def close() -> None:
        closed.append(True)
        await original_close()

    monkeypatch.setattr(source, "close", close)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "2")
        await pilot.press("q")
        await pilot.pause()
        assert closed == [True]
        assert not app.is_running
