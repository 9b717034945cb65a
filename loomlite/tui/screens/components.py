"""Components: state, restarts, messages in and out, handler time, last error."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from loomlite.tui.payload import mask_text
from loomlite.tui.screens.base import LoomliteScreen
from loomlite.tui.snapshot import Snapshot
from loomlite.tui.widgets import LiveTable, format_count, format_seconds

__all__ = ["ComponentsScreen"]


class ComponentsScreen(LoomliteScreen):
    DEFAULT_CSS = """
    ComponentsScreen #components { height: auto; max-height: 2fr; }
    ComponentsScreen #component-error { height: 1fr; border-top: solid $primary; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._selected: str | None = None

    def compose_body(self) -> ComposeResult:
        table = LiveTable(id="components", cursor_type="row")
        for label in (
            "component",
            "state",
            "restarts",
            "in",
            "out",
            "errors",
            "in flight",
            "p50",
            "p95",
            "p99",
            "last error",
        ):
            table.add_column(label, key=label)
        yield table
        with VerticalScroll(id="component-error"):
            yield Static("Select a component to see its last error.", id="last-error")

    def show_snapshot(self, snapshot: Snapshot) -> None:
        rows = []
        for name in sorted(snapshot.components):
            row = snapshot.components[name]
            state = Text(row.state, "green" if row.state == "running" else "red")
            last_error = self._last_error(row.last_error)
            last = last_error.splitlines()[0][:60] if last_error else "—"
            cells = (
                name,
                state,
                format_count(row.restarts),
                format_count(row.messages_in),
                format_count(row.messages_out),
                format_count(row.errors),
                format_count(row.in_flight),
                format_seconds(row.handler_p50),
                format_seconds(row.handler_p95),
                format_seconds(row.handler_p99),
                last,
            )
            rows.append((name, cells))
        table = self.query_one("#components", LiveTable)
        table.show_rows(rows)
        if self._selected is not None and self._selected in snapshot.components:
            table.move_cursor(row=table.get_row_index(self._selected), animate=False)
        self._show_error(snapshot)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._selected = event.row_key.value
        latest = self.loom.latest
        if latest is not None:
            self._show_error(latest)

    def _show_error(self, snapshot: Snapshot) -> None:
        row = snapshot.components.get(self._selected or "")
        text = "Select a component to see its last error."
        if row is not None:
            last_error = self._last_error(row.last_error)
            text = f"{row.name}: {last_error or 'no error so far'}"
        self.query_one("#last-error", Static).update(Text(text))

    def _last_error(self, error: str | None) -> str | None:
        """Return ``error`` with emails and phone numbers masked when masking is on."""
        if error is None or not self.loom.masked:
            return error
        return mask_text(error)
