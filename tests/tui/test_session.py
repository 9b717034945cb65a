"""The TUI running its own pipeline in a second thread, as ``loomlite tui
--profile`` does."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from loomlite.runtime.profiles import load_settings
from loomlite.tui.app import LoomliteApp, SessionOptions

pytestmark = pytest.mark.anyio


def _session_app(state_dir: Path) -> LoomliteApp:
    settings = load_settings(
        "ci",
        state_dir=state_dir,
        duration=timedelta(hours=6),
        components={"monitor": {"status_log": False}},
    )
    return LoomliteApp(
        session=SessionOptions(settings, virtual=True), refresh_interval=0.05
    )


def _pipeline_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "loomlite-pipeline"]


def _stored_rows(database: Path) -> int:
    with sqlite3.connect(database) as connection:
        tables = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'alembic%'"
        ).fetchall()
        return sum(
            connection.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            for (name,) in tables
        )


async def test_exit_without_quit_drains_pipeline(tmp_path: Path) -> None:
    app = _session_app(tmp_path)

    async with app.run_test() as pilot:
        with anyio.fail_after(60):
            while app.source is None:
                await app.wait_for_ticks(1)
            await app.wait_for_ticks(2)
        # Leave the way an error or the app's own code does, without q.
        app.exit()
        await pilot.pause()

    report = app.session_report
    assert report is not None, "the pipeline did not finish before the app exited"
    assert _pipeline_threads() == []
    assert _stored_rows(tmp_path / "loomlite.db") == sum(report.rows.values())


async def test_quit_drains_before_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _session_app(tmp_path)
    # The session report at each call of exit: q exits only after the drain.
    reports_at_exit: list[object] = []
    original_exit = app.exit

    def exit_app(*args: object, **kwargs: object) -> None:
        reports_at_exit.append(app.session_report)
        original_exit(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(app, "exit", exit_app)
    async with app.run_test() as pilot:
        with anyio.fail_after(60):
            while app.source is None:
                await app.wait_for_ticks(1)
            await app.wait_for_ticks(2)
        await pilot.press("q")
        with anyio.fail_after(60):
            while not reports_at_exit:
                await pilot.pause()

    report = reports_at_exit[0]
    assert report is not None
    assert app.session_report is report
    assert _pipeline_threads() == []
    assert _stored_rows(tmp_path / "loomlite.db") == sum(report.rows.values())
