"""The TUI attached to a ``loomlite up`` that runs as a separate process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import anyio.to_thread
import pytest
from textual.widgets import DataTable

from loomlite.tui.app import LoomliteApp
from loomlite.tui.screens.messages import MessagesScreen
from loomlite.tui.source import AttachSource
from loomlite.tui.widgets import format_count
from tests.tui.helpers import column, finish_workers, show

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

LOOMLITE = Path(sys.executable).with_name("loomlite")
HEART_RATE = "device.health.heartrate.raw"


class UpProcess:
    """``loomlite up`` on the demo profile with a durable broker.

    Its output is read on a thread all along, so the child never blocks on a
    full pipe.
    """

    def __init__(self, state_dir: Path) -> None:
        command = [
            str(LOOMLITE),
            "up",
            "--profile",
            "demo",
            # Ten virtual minutes from 07:00 at ten times real speed: data
            # flows for a minute, and the simulated owner is not yet walking,
            # whose accelerometer stream would make the drain at Ctrl-C long.
            "--speed",
            "10",
            "--duration",
            "10m",
            "--state-dir",
            str(state_dir),
            "--no-panel",
        ]
        environment = {
            **os.environ,
            "LOOMLITE_BROKER": "durable",
            "PYTHONUNBUFFERED": "1",
        }
        self.child = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment,
        )
        self.output: list[str] = []
        self.running = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.child.stdout is not None
        for line in self.child.stdout:
            self.output.append(line)
            if "pipeline running" in line:
                self.running.set()
        self.running.set()

    def stop(self) -> int:
        if self.child.poll() is None:
            self.child.send_signal(signal.SIGINT)
        try:
            return self.child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            tail = "".join(self.output[-60:])
            raise AssertionError(f"loomlite up did not stop:\n{tail}") from None
        finally:
            if self.child.poll() is None:
                self.child.kill()
            self._reader.join(timeout=10)


@pytest.fixture
def up_process(tmp_path: Path) -> Iterator[UpProcess]:
    process = UpProcess(tmp_path)
    try:
        yield process
    finally:
        process.stop()


async def wait_until(app: LoomliteApp, condition, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    with anyio.fail_after(timeout):
        while not condition():
            await app.wait_for_ticks(1)


async def test_attach_sees_topics_rates_and_messages_change(
    up_process: UpProcess, tmp_path: Path
) -> None:
    started = await anyio.to_thread.run_sync(up_process.running.wait, 120)
    assert started
    assert up_process.child.poll() is None, "".join(up_process.output[-40:])

    app = LoomliteApp(AttachSource(tmp_path), refresh_interval=0.2)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(
            app, lambda: app.latest is not None and HEART_RATE in app.latest.topics
        )
        assert app.latest is not None
        first_total = app.latest.messages
        first_samples = app.latest.taken_at

        await wait_until(
            app,
            lambda: (
                app.latest is not None
                and app.latest.messages > first_total
                and app.latest.taken_at > first_samples
            ),
        )
        assert app.latest is not None
        assert any(topic.publish_rate > 0 for topic in app.latest.topics.values())

        await show(pilot, "2")
        topics = app.screen.query_one("#topics", DataTable)
        assert HEART_RATE in column(topics, "topic")

        def drawn_and_shown() -> tuple[str, str, tuple[str, ...]]:
            """Return the drawn published cell, the latest snapshot's count
            and the row keys, in the order of the table."""
            topic_names = column(topics, "topic")
            drawn = column(topics, "published")[topic_names.index(HEART_RATE)]
            assert app.latest is not None
            latest = app.latest.topics[HEART_RATE].published_total
            return drawn, format_count(latest), tuple(topic_names)

        # Each tick must draw the new count. A tick that adds a topic redraws
        # every row, so the loop waits for a change in place, with the same
        # rows, which LiveTable makes by updating single cells.
        previous: tuple[str, tuple[str, ...]] | None = None
        with anyio.fail_after(60):
            while True:
                await app.wait_for_ticks(1)
                drawn, latest, names = drawn_and_shown()
                assert drawn == latest
                if (
                    previous is not None
                    and previous[1] == names
                    and previous[0] != drawn
                ):
                    break
                previous = (drawn, names)
        assert previous is not None
        assert int(drawn.replace(",", "")) > int(previous[0].replace(",", ""))

        await show(pilot, "3")
        screen = app.screen
        assert isinstance(screen, MessagesScreen)
        screen.load(HEART_RATE, "end")
        await finish_workers(pilot)
        table = screen.query_one("#messages", DataTable)
        seen = table.row_count
        assert seen > 0

        await pilot.press("f")
        await wait_until(app, lambda: table.row_count > seen)
        assert column(table, "key")[-1] != "—"

    assert up_process.stop() == 0, "".join(up_process.output[-40:])
