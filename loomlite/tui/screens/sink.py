"""Sink: tables with rows written, write rate, rows stored and last write.

Rows written and the last write come from the sink's counters in each
snapshot. The write rate is the change in rows written between two
snapshots. ``c`` counts the rows each table contains now, in a worker.
"""

from __future__ import annotations

from datetime import UTC, datetime

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import ProgressBar, Static

from loomlite.tui.screens.base import LoomliteScreen
from loomlite.tui.snapshot import Snapshot
from loomlite.tui.source import READ_ERRORS
from loomlite.tui.widgets import LiveTable, format_count, format_rate, format_time

__all__ = ["SinkScreen"]


class SinkScreen(LoomliteScreen):
    DEFAULT_CSS = """
    SinkScreen ProgressBar { height: 1; }
    """
    BINDINGS = [Binding("c", "count_rows", "Count rows")]

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}
        self._previous: Snapshot | None = None
        self._rates: dict[str, float] = {}
        # Real time at which a table's rows-written counter last grew.
        self._grew_at: dict[str, datetime] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("Waiting for the sink.", id="sink-summary")
        yield ProgressBar(id="sink-progress", show_eta=False)
        table = LiveTable(id="tables", cursor_type="row")
        for label in (
            "table",
            "rows written",
            "write rate",
            "rows stored",
            "last write",
        ):
            table.add_column(label, key=label)
        yield table

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False

    def show_snapshot(self, snapshot: Snapshot) -> None:
        summary = self.query_one("#sink-summary", Static)
        if snapshot.runtime_state == "waiting":
            summary.update("Waiting for a run: no statistics have arrived yet.")
            return
        if snapshot.tables is None:
            summary.update("No sink statistics: the run has no persist component.")
            return
        self._update_rates(snapshot)
        written = sum(t.rows_written for t in snapshot.tables.values())
        summary.update(
            f"{len(snapshot.tables)} tables written · {written:,} rows · "
            f"{snapshot.sink_pending:,} pending · "
            f"{snapshot.sink_errors} failed writes · "
            f"last commit {format_time(snapshot.last_write_at)}"
        )
        names = sorted(set(snapshot.tables) | set(self.counts))
        rows: list[tuple[str, tuple[str, ...]]] = []
        for name in names[: self.loom.row_limit]:
            entry = snapshot.tables.get(name)
            cells = (
                name,
                format_count(None if entry is None else entry.rows_written),
                format_rate(self._rates.get(name, 0.0)),
                format_count(self.counts.get(name)),
                format_time(self._grew_at.get(name)),
            )
            rows.append((name, cells))
        self.query_one("#tables", LiveTable).show_rows(rows)

    def _update_rates(self, snapshot: Snapshot) -> None:
        previous = self._previous
        self._previous = snapshot
        if previous is None or previous.tables is None or snapshot.tables is None:
            return
        elapsed = snapshot.taken_at - previous.taken_at
        if elapsed <= 0:
            return
        now = datetime.fromtimestamp(snapshot.taken_at, UTC)
        for name, entry in snapshot.tables.items():
            before = previous.tables.get(name)
            delta = entry.rows_written - (0 if before is None else before.rows_written)
            self._rates[name] = delta / elapsed
            if delta > 0:
                self._grew_at[name] = now

    def action_count_rows(self) -> None:
        self._count()

    @work(exclusive=True, group="sink-count")
    async def _count(self) -> None:
        source = self.source
        if source is None or source.sink is None:
            self.notify("no sink database to count", severity="warning")
            return
        progress = self.query_one(ProgressBar)
        names = sorted(source.sink.metadata.tables)
        progress.update(total=len(names), progress=0)
        progress.display = True
        counts: dict[str, int] = {}
        try:
            for index, name in enumerate(names, start=1):
                counts.update(await source.sink.counts([name]))
                progress.update(progress=index)
        except READ_ERRORS as exc:
            self.notify(f"counting rows failed: {exc}", severity="error", markup=False)
            return
        finally:
            progress.display = False
        self.counts = {name: count for name, count in counts.items() if count}
        latest = self.loom.latest
        if latest is not None:
            self.show_snapshot(latest)
