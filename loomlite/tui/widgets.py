"""Small widgets and text helpers shared by the screens."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich.json import JSON
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, Static
from textual.widgets.data_table import RowKey

from loomlite.tui.payload import mask_payload

__all__ = [
    "ConfirmScreen",
    "LiveTable",
    "PayloadView",
    "format_count",
    "format_rate",
    "format_seconds",
    "format_time",
    "sparkline",
]

_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 20) -> str:
    """Draw the last ``width`` values as block characters scaled to their max."""
    recent = list(values)[-width:]
    if not recent:
        return ""
    top = max(recent)
    if top <= 0:
        return _BARS[0] * len(recent)
    last = len(_BARS) - 1
    return "".join(_BARS[round(max(value, 0.0) / top * last)] for value in recent)


def format_rate(rate: float) -> str:
    return f"{rate:,.1f}/s"


def format_count(count: int | None) -> str:
    return "—" if count is None else f"{count:,}"


def format_seconds(seconds: float | None) -> str:
    """Format a duration in milliseconds, or a dash when unknown."""
    return "—" if seconds is None else f"{seconds * 1000:.2f} ms"


def format_time(moment: datetime | None) -> str:
    return "—" if moment is None else moment.isoformat(timespec="milliseconds")


class LiveTable(DataTable[Any]):
    """The DataTable of every screen: strings shown literally, and rows that
    a snapshot replaces on every tick updated cell by cell.

    ``show_rows`` compares the new rows with those shown. When the same keys
    come back in the same order, only the cells that differ are updated, and
    Textual measures just those cells. A rebuilt table would measure every
    cell again, at ten ticks a second more work than the rest of the frame.
    Any other change rebuilds the table.

    Strings are shown as they are: DataTable would read them as Rich markup,
    and a device id or a note such as ``[/]`` would then fail to render or
    change the style of what follows.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._displayed: list[tuple[str, tuple[Any, ...]]] = []

    def add_row(
        self,
        *cells: Any,
        height: int | None = 1,
        key: str | None = None,
        label: Any = None,
    ) -> Any:
        return super().add_row(
            *(_literal(cell) for cell in cells), height=height, key=key, label=label
        )

    def update_cell(
        self, row_key: Any, column_key: Any, value: Any, *, update_width: bool = False
    ) -> None:
        super().update_cell(
            row_key, column_key, _literal(value), update_width=update_width
        )

    def show_rows(self, rows: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Show ``rows``, each a row key and its cells in column order."""
        new = [(key, tuple(cells)) for key, cells in rows]
        displayed = self._displayed
        if [key for key, _ in new] != [key for key, _ in displayed]:
            self.clear()
            for key, cells in new:
                self.add_row(*cells, key=key)
        else:
            columns = list(self.columns.values())
            for (key, cells), (_, before) in zip(new, displayed, strict=True):
                if cells == before:
                    continue
                for column, cell, old in zip(columns, cells, before, strict=True):
                    if cell == old:
                        continue
                    # Only a wider cell resizes its column. Asked to resize
                    # for a narrower one, DataTable measures the whole column.
                    text = _literal(cell)
                    wider = (
                        isinstance(text, Text) and text.cell_len > column.content_width
                    )
                    self.update_cell(key, column.key, text, update_width=wider)
        self._displayed = new

    def clear(self, columns: bool = False) -> LiveTable:
        self._displayed = []
        super().clear(columns)
        return self

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # NOTE: DataTable (Textual 8.2) caches drawn cells without their
        # column widths. A table taller than its rows draws a new row at once,
        # at the old widths, and measures it only when idle, so those cells
        # stayed narrow. This overrides a private method: recheck it when
        # Textual changes.
        widths = [column.content_width for column in self.columns.values()]
        super()._update_dimensions(new_rows)
        if widths != [column.content_width for column in self.columns.values()]:
            self._clear_caches()
            self.refresh()


def _literal(cell: Any) -> Any:
    return Text(cell) if isinstance(cell, str) else cell


class PayloadView(Static):
    """A JSON payload, masked when the app's masking is on."""

    DEFAULT_CSS = """
    PayloadView { height: auto; padding: 0 1; }
    """

    def show(self, payload: Any | None, *, masked: bool) -> None:
        if payload is None:
            self.update(Text("Select a row to see its payload.", style="dim"))
            return
        shown = mask_payload(payload) if masked else payload
        self.update(JSON.from_data(shown, default=str, sort_keys=False))


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; dismisses with True on yes."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Grid {
        grid-size: 2; grid-gutter: 1 2; grid-rows: auto 3;
        padding: 1 2; width: 64; height: auto; border: thick $error;
        background: $surface;
    }
    ConfirmScreen Label { column-span: 2; width: 100%; }
    ConfirmScreen Button { width: 100%; }
    """

    BINDINGS = [("y", "answer(True)", "Yes"), ("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Grid():
            yield Label(self.question)
            yield Button("Yes (y)", variant="error", id="yes")
            yield Button("No (n)", variant="primary", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
