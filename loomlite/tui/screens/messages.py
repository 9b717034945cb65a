"""Messages: tail a topic live, or browse it from an offset or a time.

Type a topic, a start position (``end``, ``start``, an offset, or an ISO
8601 time) and optional filters (``device=phone-0 key=phone-0 field=value``)
and press Enter. The scan runs in a worker with a progress bar, so a replay
over a long log leaves the keys working. Binary fields show as their type
and size.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio.lowlevel
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.suggester import SuggestFromList
from textual.widgets import DataTable, Input, ProgressBar, Static

from loomlite.contract import CATALOG
from loomlite.contract.envelope import ENVELOPE_FIELDS
from loomlite.errors import UnknownTopicError
from loomlite.tui.payload import (
    DecodedRecord,
    decode_record,
    mask_payload,
    matches_filters,
    parse_filters,
)
from loomlite.tui.screens.base import LoomliteScreen
from loomlite.tui.snapshot import Snapshot
from loomlite.tui.source import READ_ERRORS
from loomlite.tui.widgets import LiveTable, PayloadView

__all__ = ["MessagesScreen", "parse_position", "summarise"]

_CHUNK = 500


def parse_position(text: str) -> str | int | datetime:
    """Parse a start position: 'end', 'start', an offset or an ISO 8601 time.

    Raises ValueError naming the text and the accepted forms.
    """
    value = text.strip().lower() or "end"
    if value in ("end", "start"):
        return value
    # isdigit() also accepts superscripts such as '²', which int() rejects.
    if value.isdecimal():
        return int(value)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"invalid start position {text!r}: expected 'end', 'start', an offset "
            "such as 1200, or a time such as 2025-06-02T08:00:00Z"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def summarise(payload: dict[str, Any], width: int = 80) -> str:
    """Return the topic's own fields as one short line.

    Envelope fields, empty values, hashes and a row's surrogate ``id`` are
    left out, because they carry little information at a glance.
    """
    parts = [
        f"{name}={value}"
        for name, value in payload.items()
        if name not in ENVELOPE_FIELDS
        and name != "id"
        and value not in (None, [], {})
        and not name.endswith("_hash")
    ]
    line = " ".join(parts)
    return line if len(line) <= width else line[: width - 1] + "…"


class MessagesScreen(LoomliteScreen):
    AUTO_FOCUS = "#messages"
    DEFAULT_CSS = """
    MessagesScreen Horizontal#message-inputs { height: 3; }
    MessagesScreen #topic-input { width: 2fr; }
    MessagesScreen #position-input { width: 1fr; }
    MessagesScreen #filter-input { width: 2fr; }
    MessagesScreen #messages { height: 1fr; }
    MessagesScreen #message-detail { height: 1fr; border-top: solid $primary; }
    MessagesScreen ProgressBar { height: 1; }
    """
    BINDINGS = [
        Binding("f", "toggle_follow", "Follow"),
        Binding("n", "next_page", "Next page"),
        Binding("t", "trace", "Trace message"),
        Binding("o", "focus_topic", "Topic"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("escape", "focus_table", "To table", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.records: list[DecodedRecord] = []
        self.positions: dict[int, int] = {}
        self.topic: str | None = None
        self.filters: dict[str, str] = {}
        self.following = False
        self.scanned = 0
        self._selected: DecodedRecord | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="message-inputs"):
            yield Input(
                placeholder="topic, e.g. device.sensor.gps.raw",
                suggester=SuggestFromList(CATALOG.names, case_sensitive=False),
                id="topic-input",
            )
            yield Input(placeholder="from: end", id="position-input")
            yield Input(
                placeholder="filter: device=phone-0 field=value", id="filter-input"
            )
        yield Static("Enter a topic and press Enter.", id="messages-status")
        yield ProgressBar(id="messages-progress", show_eta=False)
        table = LiveTable(id="messages", cursor_type="row")
        for label in ("time", "partition@offset", "key", "trace", "fields"):
            table.add_column(label, key=label)
        yield table
        with VerticalScroll(id="message-detail"):
            yield PayloadView(id="message-payload")

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False
        self.query_one(PayloadView).show(None, masked=self.loom.masked)
        # Nothing shows before a topic is chosen, so typing goes there first.
        self.query_one("#topic-input", Input).focus()

    # -- loading --------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.load()

    def load(
        self,
        topic: str | None = None,
        position: str | None = None,
        filters: str | None = None,
    ) -> None:
        """Start a scan with the inputs' values, or with the values given."""
        if topic is not None:
            self.query_one("#topic-input", Input).value = topic
        if position is not None:
            self.query_one("#position-input", Input).value = position
        if filters is not None:
            self.query_one("#filter-input", Input).value = filters
        try:
            name = CATALOG.resolve(self.query_one("#topic-input", Input).value.strip())
            start = parse_position(self.query_one("#position-input", Input).value)
            self.filters = parse_filters(self.query_one("#filter-input", Input).value)
        except (UnknownTopicError, ValueError) as exc:
            self._status(str(exc), error=True)
            return
        self.topic = name
        self.following = False
        self.records = []
        self.positions = {}
        # The screen's keys (follow, next page, masking) work while it scans.
        self.query_one("#messages", DataTable).focus()
        self._scan(name, start)

    @work(exclusive=True, group="messages-scan")
    async def _scan(self, topic: str, start: str | int | datetime) -> None:
        source = self.source
        if source is None:
            self._status("the pipeline has not started yet", error=True)
            return
        try:
            offsets = await self._start_offsets(topic, start)
        except READ_ERRORS as exc:
            self._status(str(exc), error=True)
            return
        await self._read_forward(topic, offsets, newest=start == "end")

    async def _start_offsets(
        self, topic: str, start: str | int | datetime
    ) -> dict[int, tuple[int, int]]:
        """Return partition -> (first offset to read, end offset)."""
        assert self.source is not None
        limit = self.loom.row_limit
        offsets: dict[int, tuple[int, int]] = {}
        for partition, log_start, end in await self.source.partitions(topic):
            if start == "end":
                first = max(log_start, end - limit)
            elif start == "start":
                first = log_start
            elif isinstance(start, int):
                first = min(max(start, log_start), end)
            else:
                assert isinstance(start, datetime)
                found = await self.source.offset_for_time(topic, partition, start)
                first = end if found is None else found
            offsets[partition] = (first, end)
        return offsets

    async def _read_forward(
        self, topic: str, offsets: dict[int, tuple[int, int]], *, newest: bool
    ) -> None:
        assert self.source is not None
        limit = self.loom.row_limit
        total = sum(end - first for first, end in offsets.values())
        progress = self.query_one(ProgressBar)
        progress.update(total=max(total, 1), progress=0)
        progress.display = True
        self.scanned = 0
        found: list[DecodedRecord] = []
        try:
            for partition, (offset, end) in offsets.items():
                while offset < end and (newest or len(found) < limit):
                    records = await self.source.read_retained(
                        topic, partition, offset, min(_CHUNK, end - offset)
                    )
                    if not records:
                        break
                    for record in records:
                        decoded = decode_record(record)
                        if matches_filters(decoded, self.filters):
                            found.append(decoded)
                    offset = records[-1].offset + 1
                    self.scanned += len(records)
                    progress.update(progress=self.scanned)
                    self._status(f"scanning {topic}: {self.scanned:,} of {total:,}")
                    # Lets the loop draw and handle keys between chunks.
                    await anyio.lowlevel.checkpoint()
                self.positions[partition] = offset
        except READ_ERRORS as exc:
            self._status(str(exc), error=True)
            return
        finally:
            progress.display = False
        found.sort(
            key=lambda d: (d.record.timestamp_ns, d.record.partition, d.record.offset)
        )
        if newest:
            self.records = found[-limit:]
        else:
            self.records = found[:limit]
            self._resume_after_shown(found[limit:])
        self._status(
            f"{topic}: {len(self.records)} message(s) shown of {self.scanned:,} scanned"
        )
        self._draw()
        self.query_one("#messages", DataTable).focus()

    def _resume_after_shown(self, cut: list[DecodedRecord]) -> None:
        """Move each partition's position back to its first record that the
        row limit cut, so that the next page starts there, not after the
        whole chunk the scan read."""
        for decoded in cut:
            record = decoded.record
            current = self.positions.get(record.partition, record.offset)
            self.positions[record.partition] = min(current, record.offset)

    @work(exclusive=True, group="messages-follow")
    async def _follow(self) -> None:
        topic = self.topic
        source = self.source
        if topic is None or source is None:
            return
        fresh: list[DecodedRecord] = []
        try:
            for partition, _, end in await source.partitions(topic):
                offset = self.positions.get(partition, end)
                if offset >= end:
                    self.positions[partition] = offset
                    continue
                records = await source.read_retained(topic, partition, offset, _CHUNK)
                for record in records:
                    decoded = decode_record(record)
                    if matches_filters(decoded, self.filters):
                        fresh.append(decoded)
                if records:
                    self.positions[partition] = records[-1].offset + 1
        except READ_ERRORS as exc:
            self.following = False
            self._status(f"following stopped: {exc}", error=True)
            return
        if fresh:
            fresh.sort(key=lambda d: (d.record.timestamp_ns, d.record.offset))
            self.records = (self.records + fresh)[-self.loom.row_limit :]
        try:
            if fresh:
                self._draw()
            self._status(f"following {topic}: {len(self.records)} message(s) shown")
        except NoMatches:
            # The app removed the screen's widgets while the reads ran.
            return

    def show_snapshot(self, snapshot: Snapshot) -> None:
        if self.following:
            self._follow()

    # -- drawing --------------------------------------------------------------

    def _status(self, text: str, *, error: bool = False) -> None:
        status = self.query_one("#messages-status", Static)
        status.update(Text(text, style="red" if error else ""))

    def _draw(self) -> None:
        table = self.query_one("#messages", DataTable)
        masked = self.loom.masked
        table.clear()
        for decoded in self.records:
            record = decoded.record
            payload = mask_payload(decoded.payload) if masked else decoded.payload
            table.add_row(
                record.timestamp.isoformat(timespec="milliseconds"),
                f"{record.partition}@{record.offset}",
                record.key or "—",
                (decoded.trace_id or "—")[:8],
                summarise(payload),
                key=f"{record.partition}@{record.offset}",
            )
        if self.records:
            table.move_cursor(row=len(self.records) - 1 if self.following else 0)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        self._selected = next(
            (
                d
                for d in self.records
                if f"{d.record.partition}@{d.record.offset}" == key
            ),
            None,
        )
        payload = None if self._selected is None else self._selected.payload
        self.query_one(PayloadView).show(payload, masked=self.loom.masked)

    def mask_changed(self, masked: bool) -> None:
        self._draw()
        payload = None if self._selected is None else self._selected.payload
        self.query_one(PayloadView).show(payload, masked=masked)

    # -- actions ------------------------------------------------------------

    def action_toggle_follow(self) -> None:
        if self.topic is None:
            self._status("load a topic first, then press f to follow it", error=True)
            return
        self.following = not self.following
        self._status(
            ("following " if self.following else "stopped following ") + self.topic
        )

    def action_next_page(self) -> None:
        if self.topic is None:
            return
        offsets = {}
        for partition, offset in self.positions.items():
            offsets[partition] = (offset, offset + 10**12)
        self._next_page(self.topic, offsets)

    @work(exclusive=True, group="messages-scan")
    async def _next_page(self, topic: str, offsets: dict[int, tuple[int, int]]) -> None:
        assert self.source is not None
        ends = {p: end for p, _, end in await self.source.partitions(topic)}
        bounded = {p: (first, ends.get(p, first)) for p, (first, _) in offsets.items()}
        if all(first >= end for first, end in bounded.values()):
            # The page on screen stays, because it is the last one.
            self._status(f"{topic}: no more messages after this page")
            return
        await self._read_forward(topic, bounded, newest=False)

    def action_trace(self) -> None:
        if self._selected is None or self._selected.trace_id is None:
            self._status("select a message with a trace_id first", error=True)
            return
        self.loom.trace(self._selected.trace_id)

    def action_focus_topic(self) -> None:
        self.query_one("#topic-input", Input).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#filter-input", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one("#messages", DataTable).focus()
