"""The refresh loop: row caps, one batched update per tick, a fixed rate."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Static

from loomlite.tui.app import LoomliteApp
from loomlite.tui.screens.messages import MessagesScreen
from loomlite.tui.screens.topics import TopicsScreen
from tests.tui.conftest import GPS, GPS_PARTITION, NEVER, Pipeline, gps_fix
from tests.tui.helpers import column, finish_workers, show, static_text
from tests.tui.test_live import SIZE, live_app

pytestmark = pytest.mark.anyio


def offsets(numbers: range) -> list[str]:
    return [f"{GPS_PARTITION}@{number}" for number in numbers]


async def test_topics_table_shows_row_limit(live_pipeline: Pipeline) -> None:
    app = live_app(live_pipeline, row_limit=3)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "2")
        assert app.latest is not None
        with_records = sorted(
            name for name, row in app.latest.topics.items() if row.published_total
        )
        assert len(with_records) > 3
        table = app.screen.query_one("#topics", DataTable)
        assert table.row_count == 3
        assert column(table, "topic") == with_records[:3]
        summary = static_text(app.screen.query_one("#topics-summary", Static))
        assert f"{len(with_records) - 3} not shown (row limit)" in summary


async def test_messages_load_shows_row_limit(live_pipeline: Pipeline) -> None:
    app = live_app(live_pipeline, row_limit=5)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "3")
        screen = app.screen
        assert isinstance(screen, MessagesScreen)
        table = screen.query_one("#messages", DataTable)

        screen.load(GPS, "end")
        await finish_workers(pilot)
        assert column(table, "partition@offset") == offsets(range(7, 12))

        screen.load(GPS, "start")
        await finish_workers(pilot)
        assert column(table, "partition@offset") == offsets(range(5))


async def test_follow_keeps_row_limit(live_pipeline: Pipeline) -> None:
    app = live_app(live_pipeline, row_limit=5)
    async with app.run_test(size=SIZE) as pilot:
        await show(pilot, "3")
        screen = app.screen
        assert isinstance(screen, MessagesScreen)
        table = screen.query_one("#messages", DataTable)
        screen.load(GPS, "end")
        await finish_workers(pilot)
        await pilot.press("f")
        assert screen.following

        for index in range(12, 15):
            await live_pipeline.runtime.publish(GPS, gps_fix(index))
        await app.refresh_now()
        await finish_workers(pilot)

        assert table.row_count == 5
        assert column(table, "partition@offset") == offsets(range(10, 15))


class RefreshSpy:
    """Record, for one tick, the batches entered, the widgets refreshed while
    the screen draws the snapshot, and the screen's compositor updates."""

    def __init__(self, app: LoomliteApp, monkeypatch: pytest.MonkeyPatch) -> None:
        self.app = app
        self.batches = 0
        self.drawing = False
        # (widget, batch depth when it requested a refresh)
        self.refreshes: list[tuple[Widget, int]] = []
        self.compositor_updates = 0
        spy = self

        original_batch = LoomliteApp.batch_update

        def batch_update(self: LoomliteApp) -> Any:
            spy.batches += 1
            return original_batch(self)

        original_refresh = Widget.refresh

        def refresh(self: Widget, *args: Any, **kwargs: Any) -> Any:
            if spy.drawing:
                spy.refreshes.append((self, spy.app._batch_count))
            return original_refresh(self, *args, **kwargs)

        original_compositor = Screen._compositor_refresh

        def compositor_refresh(self: Screen[Any]) -> None:
            if self is spy.app.screen:
                spy.compositor_updates += 1
            original_compositor(self)

        monkeypatch.setattr(LoomliteApp, "batch_update", batch_update)
        monkeypatch.setattr(Widget, "refresh", refresh)
        monkeypatch.setattr(Screen, "_compositor_refresh", compositor_refresh)

    def watch(self, screen: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        original: Callable[..., None] = screen.show_snapshot

        def show_snapshot(snapshot: Any) -> None:
            self.drawing = True
            try:
                original(snapshot)
            finally:
                self.drawing = False

        monkeypatch.setattr(screen, "show_snapshot", show_snapshot)

    def reset(self) -> None:
        self.batches = 0
        self.refreshes = []
        self.compositor_updates = 0


async def test_tick_draws_in_one_batch(
    live_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = live_app(live_pipeline, refresh_interval=NEVER)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await app.refresh_now()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TopicsScreen)
        spy = RefreshSpy(app, monkeypatch)
        spy.watch(screen, monkeypatch)

        # New GPS fixes change the summary line and several cells at once.
        for index in range(12, 20):
            await live_pipeline.runtime.publish(GPS, gps_fix(index))
        await live_pipeline.runtime.run_until_idle(timeout=30)
        await pilot.pause()
        spy.reset()
        await app.refresh_now()
        await pilot.pause()

        assert spy.batches == 1
        widgets = {id(widget) for widget, _ in spy.refreshes}
        assert len(widgets) >= 2
        outside = [widget for widget, depth in spy.refreshes if depth == 0]
        assert outside == []
        assert spy.compositor_updates == 1


async def test_ticks_come_from_one_timer(
    live_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    intervals: list[tuple[float, str]] = []
    original = LoomliteApp.set_interval

    def set_interval(
        self: LoomliteApp, interval: float, callback: Any = None, **kwargs: Any
    ) -> Any:
        intervals.append((interval, getattr(callback, "__name__", repr(callback))))
        return original(self, interval, callback, **kwargs)

    monkeypatch.setattr(LoomliteApp, "set_interval", set_interval)
    app = live_app(live_pipeline, refresh_interval=NEVER)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.pause()
        assert intervals == [(NEVER, "_tick")]
        ticks = app.ticks

        for index in range(1000):
            await live_pipeline.runtime.publish(GPS, gps_fix(100 + index))
        await live_pipeline.runtime.run_until_idle(timeout=60)
        await pilot.pause()

        assert app.ticks == ticks


async def test_frame_time_taken_after_draw(
    live_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = live_app(live_pipeline, refresh_interval=NEVER)
    # time.monotonic() when the shown screen last composited an update.
    composited: list[float] = []
    original = Screen._compositor_refresh

    def compositor_refresh(self: Screen[Any]) -> None:
        original(self)
        if self is app.screen:
            composited.append(time.monotonic())

    monkeypatch.setattr(Screen, "_compositor_refresh", compositor_refresh)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await app.refresh_now()
        await pilot.pause()
        assert app.last_frame_at is not None
        intervals = len(app.frame_intervals)

        for index in range(12, 15):
            await live_pipeline.runtime.publish(GPS, gps_fix(index))
        await live_pipeline.runtime.run_until_idle(timeout=30)
        before_tick = time.monotonic()
        await app.refresh_now()
        assert app.last_frame_at < before_tick
        await pilot.pause()

        drawn = [moment for moment in composited if moment >= before_tick]
        assert drawn
        assert app.last_frame_at >= drawn[0]
        assert len(app.frame_intervals) == intervals + 1
