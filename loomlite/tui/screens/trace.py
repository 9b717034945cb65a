"""Trace: every message and row that carries one trace_id, with hop latency.

Enter a trace_id, or press ``t`` on a message in the Messages screen. The
lookup reads every retained record and every table, so it runs in a worker
with a progress bar.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Input, ProgressBar, Static

from loomlite.errors import BrokerError
from loomlite.tui.payload import mask_payload
from loomlite.tui.screens.base import LoomliteScreen
from loomlite.tui.screens.messages import summarise
from loomlite.tui.source import READ_ERRORS
from loomlite.tui.trace import TraceHop, find_trace
from loomlite.tui.widgets import LiveTable, PayloadView, format_time

__all__ = ["TraceScreen"]


class TraceScreen(LoomliteScreen):
    AUTO_FOCUS = "#hops"
    DEFAULT_CSS = """
    TraceScreen #hops { height: 1fr; }
    TraceScreen #hop-detail { height: 1fr; border-top: solid $primary; }
    TraceScreen ProgressBar { height: 1; }
    """
    BINDINGS = [
        Binding("slash", "focus_input", "trace_id"),
        Binding("escape", "focus_table", "To table", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.trace_id: str | None = None
        self.hops: list[TraceHop] = []
        self._selected: TraceHop | None = None

    def compose_body(self) -> ComposeResult:
        yield Input(placeholder="trace_id", id="trace-input")
        yield Static("Enter a trace_id, or press t on a message.", id="trace-status")
        yield ProgressBar(id="trace-progress", show_eta=False)
        table = LiveTable(id="hops", cursor_type="row")
        for label in ("#", "kind", "where", "received_at", "hop latency", "fields"):
            table.add_column(label, key=label)
        yield table
        with VerticalScroll(id="hop-detail"):
            yield PayloadView(id="hop-payload")

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False
        self._take_pending()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self._take_pending()

    def _take_pending(self) -> None:
        trace_id = self.loom.pending_trace
        if trace_id is None or not self.query(Input):
            return
        self.loom.pending_trace = None
        self.start_lookup(trace_id)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if value:
            self.start_lookup(value)
            return
        # Clear the earlier result, so that it does not pass for this input's.
        self.trace_id = None
        self.hops = []
        self._selected = None
        self._draw()
        self.query_one(PayloadView).show(None, masked=self.loom.masked)
        self._status("enter a trace_id to look up, or press t on a message")

    def start_lookup(self, trace_id: str) -> None:
        """Look up ``trace_id`` in a worker."""
        self.query_one(Input).value = trace_id
        self.trace_id = trace_id
        # Leave the text field, so the app's keys work while the lookup runs.
        self.query_one("#hops", DataTable).focus()
        self._lookup(trace_id)

    @work(exclusive=True, group="trace")
    async def _lookup(self, trace_id: str) -> None:
        source = self.source
        if source is None:
            self._status("the pipeline has not started yet", error=True)
            return
        progress = self.query_one(ProgressBar)
        progress.update(total=100, progress=0)
        progress.display = True
        self._status(f"looking up {trace_id} in every topic and table")
        unread: BrokerError | None = None
        try:
            try:
                hops = await find_trace(
                    source, trace_id, lambda done: progress.update(progress=done * 100)
                )
            except BrokerError as exc:
                # A run on the memory broker leaves no broker file to read, but
                # its rows are still in the database.
                if source.sink is None:
                    raise
                unread = exc
                hops = await find_trace(source, trace_id, messages=False)
        except READ_ERRORS as exc:
            self._status(f"trace lookup failed: {exc}", error=True)
            return
        finally:
            progress.display = False
        self.hops = hops
        messages = sum(1 for hop in hops if hop.kind == "message")
        summary = (
            f"trace {trace_id}: {messages} message(s), {len(hops) - messages} row(s)"
        )
        if unread is not None:
            summary += f"; messages not read: {unread}"
        self._status(summary)
        self._draw()
        self.query_one("#hops", DataTable).focus()

    def _status(self, text: str, *, error: bool = False) -> None:
        self.query_one("#trace-status", Static).update(
            Text(text, style="red" if error else "")
        )

    def _draw(self) -> None:
        table = self.query_one("#hops", DataTable)
        table.clear()
        masked = self.loom.masked
        for index, hop in enumerate(self.hops[: self.loom.row_limit]):
            latency = "—" if hop.latency is None else f"+{hop.latency * 1000:,.0f} ms"
            payload = mask_payload(hop.payload) if masked else hop.payload
            table.add_row(
                str(index + 1),
                hop.kind,
                hop.where,
                format_time(hop.received_at),
                latency,
                summarise(payload, width=60),
                key=str(index),
            )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        self._selected = None if key is None else self.hops[int(key)]
        payload = None if self._selected is None else self._selected.payload
        self.query_one(PayloadView).show(payload, masked=self.loom.masked)

    def mask_changed(self, masked: bool) -> None:
        self._draw()
        payload = None if self._selected is None else self._selected.payload
        self.query_one(PayloadView).show(payload, masked=masked)

    def action_focus_input(self) -> None:
        self.query_one(Input).focus()

    def action_focus_table(self) -> None:
        self.query_one("#hops", DataTable).focus()
