"""Export the SVG screenshots in docs/tui/ from the frozen state directory.

Run ``python -m tests.tui.docs_screenshots`` from the repository root after
a change to a screen; it rebuilds the same data the snapshot tests use.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import anyio
from textual.pilot import Pilot

from loomlite.tui.app import LoomliteApp
from loomlite.tui.screens.messages import MessagesScreen
from loomlite.tui.screens.trace import TraceScreen
from loomlite.tui.source import AttachSource
from tests.tui.conftest import write_frozen_state
from tests.tui.test_snapshots import settle

DOCS = Path(__file__).resolve().parents[2] / "docs" / "tui"
SIZE = (150, 44)


async def load_messages(pilot: Pilot[None]) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, MessagesScreen)
    screen.load("external.email.events.raw", "start")


async def look_up_trace(pilot: Pilot[None]) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, TraceScreen)
    screen.start_lookup("trace-gps-phone-1-002")


async def count_rows(pilot: Pilot[None]) -> None:
    await pilot.press("c")


async def mask(pilot: Pilot[None]) -> None:
    await load_messages(pilot)
    await settle(pilot)
    await pilot.press("m")
    pilot.app.clear_notifications()


SHOTS = (
    ("topology", "1", None),
    ("topics", "2", None),
    ("messages", "3", load_messages),
    ("messages-masked", "3", mask),
    ("trace", "4", look_up_trace),
    ("errors", "5", None),
    ("components", "6", None),
    ("sink", "7", count_rows),
)


async def export(state_dir: Path) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    for name, key, action in SHOTS:
        # The frozen statistics are old on purpose, so the header must not
        # call them stale.
        source = AttachSource(state_dir, stale_samples=None)
        source.description = "attached to state"
        app = LoomliteApp(source, refresh_interval=3600)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press(key)
            await app.refresh_now()
            await settle(pilot)
            if action is not None:
                await action(pilot)
                await settle(pilot)
            app.save_screenshot(f"{name}.svg", path=str(DOCS))
        print(f"wrote {DOCS / name}.svg")


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        state_dir = Path(directory) / "state"
        state_dir.mkdir()
        await write_frozen_state(state_dir)
        await export(state_dir)


if __name__ == "__main__":
    anyio.run(main)
