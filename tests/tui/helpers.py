"""Helpers that read what a TUI screen shows."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Static, Tree

from loomlite.tui.app import LoomliteApp


def column(table: DataTable[Any], key: str) -> list[str]:
    """Return the text of one column, top to bottom."""
    return [str(value) for value in table.get_column(key)]


def static_text(widget: Static) -> str:
    """Return what a Static widget shows, as plain text."""
    console = Console(width=400, record=True)
    console.print(widget.render())
    return console.export_text()


def tree_labels(tree: Tree[Any]) -> list[str]:
    """Return the plain label of every node below the root, depth first."""
    labels: list[str] = []

    def walk(node: Any) -> None:
        for child in node.children:
            labels.append(child.label.plain)
            walk(child)

    walk(tree.root)
    return labels


async def show(pilot: Pilot[None], key: str) -> None:
    """Press a screen key and wait until the screen has drawn a snapshot."""
    app = pilot.app
    assert isinstance(app, LoomliteApp)
    await pilot.press(key)
    await app.wait_for_ticks(1)
    await pilot.pause()


async def finish_workers(pilot: Pilot[None]) -> None:
    """Wait for the screen's workers (scans, lookups, redrives) to finish."""
    await pilot.app.screen.workers.wait_for_complete()
    await pilot.pause()


async def finish_workers_of(pilot: Pilot[None], screen: Any) -> None:
    """Wait for the workers of ``screen``, which may not be the one shown."""
    await screen.workers.wait_for_complete()
    await pilot.pause()
