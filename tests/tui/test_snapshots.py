"""Snapshot tests: each screen drawn from the frozen state directory.

Update the stored SVGs after an intended change with
``pytest tests/tui/test_snapshots.py --snapshot-update`` and review them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from loomlite.tui.app import LoomliteApp
from loomlite.tui.screens.messages import MessagesScreen
from loomlite.tui.screens.trace import TraceScreen
from loomlite.tui.source import AttachSource
from tests.tui.helpers import finish_workers

SIZE = (150, 44)


def frozen_app(state_dir: Path) -> LoomliteApp:
    # The frozen statistics are old on purpose, so the header must not
    # call them stale.
    source = AttachSource(state_dir, stale_samples=None)
    # The state directory's path differs on every run; the header shows this.
    source.description = "attached to state"
    # The timer never fires: each test draws one snapshot with refresh_now,
    # so no redraw lands while the screenshot is taken.
    return LoomliteApp(source, refresh_interval=3600)


async def show(pilot: Pilot[None], key: str) -> None:
    app = pilot.app
    assert isinstance(app, LoomliteApp)
    await pilot.press(key)
    await app.refresh_now()
    await settle(pilot)


async def settle(pilot: Pilot[None]) -> None:
    """Wait for workers, then for every table to size its columns.

    A DataTable measures new rows when its message queue is idle, and on a
    busy machine that can come after the screenshot. Textual 8 clears
    ``_require_update_dimensions`` once the table has measured them.
    """
    await finish_workers(pilot)
    for _ in range(100):
        tables = pilot.app.screen.query(DataTable)
        if not any(table._require_update_dimensions for table in tables):
            break
        await pilot.pause()
    await pilot.wait_for_scheduled_animations()


def press(key: str) -> Callable[[Pilot[None]], Awaitable[None]]:
    async def run_before(pilot: Pilot[None]) -> None:
        await show(pilot, key)

    return run_before


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("1", "topology"),
        ("2", "topics"),
        ("5", "errors"),
        ("6", "components"),
    ],
)
def test_screen_snapshot(
    key: str, name: str, frozen_state_dir: Path, snap_compare: object
) -> None:
    assert snap_compare(  # type: ignore[operator]
        frozen_app(frozen_state_dir), run_before=press(key), terminal_size=SIZE
    )


def test_messages_snapshot(frozen_state_dir: Path, snap_compare: object) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await show(pilot, "3")
        screen = pilot.app.screen
        assert isinstance(screen, MessagesScreen)
        screen.load("external.email.events.raw", "start")
        await settle(pilot)

    assert snap_compare(  # type: ignore[operator]
        frozen_app(frozen_state_dir), run_before=run_before, terminal_size=SIZE
    )


def test_messages_masked_snapshot(frozen_state_dir: Path, snap_compare: object) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await show(pilot, "3")
        screen = pilot.app.screen
        assert isinstance(screen, MessagesScreen)
        screen.load("external.email.events.raw", "start")
        await settle(pilot)
        await pilot.press("m")
        # The notification about masking would cover the payload.
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(  # type: ignore[operator]
        frozen_app(frozen_state_dir), run_before=run_before, terminal_size=SIZE
    )


def test_trace_snapshot(frozen_state_dir: Path, snap_compare: object) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await show(pilot, "4")
        screen = pilot.app.screen
        assert isinstance(screen, TraceScreen)
        screen.start_lookup("trace-gps-phone-1-002")
        await settle(pilot)

    assert snap_compare(  # type: ignore[operator]
        frozen_app(frozen_state_dir), run_before=run_before, terminal_size=SIZE
    )


def test_sink_snapshot(frozen_state_dir: Path, snap_compare: object) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await show(pilot, "7")
        await pilot.press("c")
        await settle(pilot)

    assert snap_compare(  # type: ignore[operator]
        frozen_app(frozen_state_dir), run_before=run_before, terminal_size=SIZE
    )
