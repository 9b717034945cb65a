"""The base of every TUI screen: header, footer and the snapshot hooks."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Header

from loomlite.tui.snapshot import Snapshot

if TYPE_CHECKING:
    from loomlite.tui.app import LoomliteApp
    from loomlite.tui.source import Source

__all__ = ["LoomliteScreen"]


class LoomliteScreen(Screen[None]):
    """A screen that the app's timer feeds one snapshot per tick."""

    @property
    def loom(self) -> LoomliteApp:
        from loomlite.tui.app import LoomliteApp

        return cast(LoomliteApp, self.app)

    @property
    def source(self) -> Source | None:
        return self.loom.source

    def compose(self) -> ComposeResult:
        yield Header()
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        latest = self.loom.latest
        if latest is not None:
            with self.app.batch_update():
                self.show_snapshot(latest)

    def show_snapshot(self, snapshot: Snapshot) -> None:
        """Draw ``snapshot``; called once per tick while the screen is shown."""

    def mask_changed(self, masked: bool) -> None:
        """Redraw whatever shows personal fields."""
