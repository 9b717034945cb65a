"""Topics: rate with a sparkline, end offsets, retention used and lag.

The upper table lists every topic that has received a record (``a`` shows
the idle ones too). The lower one lists the lag of each consumer group and
partition on the highlighted topic.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from loomlite.contract import CATALOG
from loomlite.tui.screens.base import LoomliteScreen
from loomlite.tui.snapshot import Snapshot, TopicRow
from loomlite.tui.widgets import LiveTable, format_count, format_rate, sparkline

__all__ = ["TopicsScreen"]

_COLUMNS = (
    ("topic", "topic"),
    ("rate", "rate"),
    ("trend", "trend"),
    ("published", "published"),
    ("end", "end offsets"),
    ("retained", "retained"),
    ("retention", "retention used"),
    ("lag", "max lag"),
)


class TopicsScreen(LoomliteScreen):
    DEFAULT_CSS = """
    TopicsScreen #topics { height: 2fr; }
    TopicsScreen #lag { height: 1fr; }
    """
    BINDINGS = [
        Binding("a", "toggle_idle", "Idle topics"),
        Binding("s", "toggle_sort", "Sort by rate"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.show_idle = False
        self.sort_by_rate = False
        self._selected: str | None = None

    def compose_body(self) -> ComposeResult:
        yield Static(id="topics-summary")
        topics = LiveTable(id="topics", cursor_type="row")
        for key, label in _COLUMNS:
            topics.add_column(label, key=key)
        yield topics
        lag = LiveTable(id="lag", cursor_type="row")
        for label in ("group", "partition", "committed", "end offset", "lag"):
            lag.add_column(label, key=label)
        yield lag

    def show_snapshot(self, snapshot: Snapshot) -> None:
        rows = self._rows(snapshot)
        shown = [
            (row.name, self._cells(snapshot, row))
            for row in rows[: self.loom.row_limit]
        ]
        table = self.query_one("#topics", LiveTable)
        table.show_rows(shown)
        if self._selected is not None and self._selected in {r.name for r in rows}:
            table.move_cursor(row=table.get_row_index(self._selected), animate=False)
        hidden = max(len(rows) - self.loom.row_limit, 0)
        summary = (
            f"{len(rows)} topics · {snapshot.messages:,} messages · "
            f"{sum(r.publish_rate for r in rows):,.1f}/s"
        )
        if hidden:
            summary += f" · {hidden} not shown (row limit)"
        self.query_one("#topics-summary", Static).update(summary)
        self._show_lag(snapshot)

    def _rows(self, snapshot: Snapshot) -> list[TopicRow]:
        rows = dict(snapshot.topics)
        if not self.show_idle:
            rows = {n: r for n, r in rows.items() if r.published_total > 0}
        else:
            for spec in CATALOG:
                rows.setdefault(spec.name, TopicRow(spec.name, 0, 0.0, {}))
        ordered = sorted(rows.values(), key=lambda row: row.name)
        if self.sort_by_rate:
            ordered.sort(key=lambda row: -row.publish_rate)
        return ordered

    def _cells(self, snapshot: Snapshot, row: TopicRow) -> tuple[str, ...]:
        used = row.retention_used
        lags = [lag.lag for lag in snapshot.lags if lag.topic == row.name]
        ends = ",".join(str(row.end_offsets[p]) for p in sorted(row.end_offsets))
        return (
            row.name,
            format_rate(row.publish_rate),
            sparkline(row.rate_history),
            format_count(row.published_total),
            ends or "—",
            format_count(row.records),
            _retention_text(row, used),
            format_count(max(lags)) if lags else "—",
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "topics" or event.row_key.value is None:
            return
        self._selected = event.row_key.value
        latest = self.loom.latest
        if latest is not None:
            self._show_lag(latest)

    def _show_lag(self, snapshot: Snapshot) -> None:
        table = self.query_one("#lag", LiveTable)
        topic = self._selected
        table.show_rows(
            [
                (
                    f"{row.group}/{row.partition}",
                    (
                        row.group,
                        str(row.partition),
                        format_count(row.committed),
                        format_count(row.end_offset),
                        format_count(row.lag),
                    ),
                )
                for row in snapshot.lags
                if topic is not None and row.topic == topic
            ]
        )

    def action_toggle_idle(self) -> None:
        self.show_idle = not self.show_idle
        self._redraw()

    def action_toggle_sort(self) -> None:
        self.sort_by_rate = not self.sort_by_rate
        self._redraw()

    def _redraw(self) -> None:
        latest = self.loom.latest
        if latest is not None:
            self.show_snapshot(latest)


def _retention_text(row: TopicRow, used: float | None) -> str:
    """Show the share of a count or byte limit in use, or the age limit and
    how many records are gone. Besides age, the memory broker trims records
    that every group has committed once their bytes pass its budget."""
    if used is not None:
        return f"{used:.0%}"
    retention = row.retention
    if retention is None or retention.max_age is None:
        return "—"
    text = f"by age, {retention.max_age.total_seconds() / 86_400:g} d"
    if row.records is not None:
        removed = sum(row.end_offsets.values()) - row.records
        if removed > 0:
            text = f"{text}, {format_count(removed)} removed"
    return text
