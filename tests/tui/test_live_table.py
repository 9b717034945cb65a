"""LiveTable draws new rows at their measured widths."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from loomlite.tui.widgets import LiveTable

pytestmark = pytest.mark.anyio


class OneTable(App[None]):
    # Taller than its rows, so the table draws a row as soon as it is added.
    CSS = "LiveTable { height: 8; }"

    def compose(self) -> ComposeResult:
        table = LiveTable(id="table")
        table.add_column("kind", key="kind")
        yield table


async def test_row_drawn_before_measuring_gets_full_width() -> None:
    app = OneTable()
    async with app.run_test(size=(60, 10)) as pilot:
        await pilot.pause()
        table = app.query_one(LiveTable)
        table.add_row("message", key="0")
        # Drawn now, the cell is as wide as the header; the table measures
        # the row when idle.
        app.export_screenshot()
        await pilot.pause()
        screenshot = app.export_screenshot().replace("&#160;", " ")

    assert table.columns["kind"].content_width == len("message")
    assert "message" in screenshot
