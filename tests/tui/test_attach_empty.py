"""Attached to a state directory where no run has started yet."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from loomlite.tui.app import LoomliteApp
from loomlite.tui.source import AttachSource
from tests.tui.helpers import finish_workers, show, static_text

pytestmark = pytest.mark.anyio


async def test_empty_state_dir_says_no_run_yet(tmp_path: Path) -> None:
    app = LoomliteApp(AttachSource(tmp_path), refresh_interval=0.1)
    async with app.run_test(size=(150, 44)) as pilot:
        await app.wait_for_ticks(2)
        await show(pilot, "7")
        sink = static_text(app.screen.query_one("#sink-summary", Static))
        await show(pilot, "5")
        await finish_workers(pilot)
        errors = static_text(app.screen.query_one("#errors-status", Static))

    assert sink.strip() == "Waiting for a run: no statistics have arrived yet."
    assert "persist component" not in sink
    assert f"no run found in {tmp_path} yet" in errors
    assert "keeps its records in memory" not in errors
