"""Errors: messages in the error topics, with redrive and discard.

Each row is one ProcessingError: the stage that failed, the exception and
the failed record. ``r`` redrives the highlighted message to its original
topic and ``R`` redrives every listed one, for after the stage is fixed.
``d`` and ``D`` discard, after a confirmation. Redrive and discard publish
to the broker, so they work only when the TUI runs the pipeline itself.
"""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, ProgressBar, Static

from loomlite.contract import CATALOG
from loomlite.contract.catalog import TopicKind
from loomlite.runtime.redrive import REDRIVE_GROUP, RedriveResult, discard, redrive
from loomlite.tui.payload import DecodedRecord, decode_record, mask_text
from loomlite.tui.screens.base import LoomliteScreen
from loomlite.tui.snapshot import Snapshot
from loomlite.tui.source import READ_ERRORS
from loomlite.tui.widgets import ConfirmScreen, LiveTable, PayloadView

__all__ = ["ErrorsScreen"]

_DONE = {"redrive": "redriven", "discard": "discarded"}


class ErrorsScreen(LoomliteScreen):
    DEFAULT_CSS = """
    ErrorsScreen #errors { height: 1fr; }
    ErrorsScreen #error-detail { height: 1fr; border-top: solid $primary; }
    ErrorsScreen ProgressBar { height: 1; }
    """
    BINDINGS = [
        Binding("r", "redrive_one", "Redrive"),
        Binding("R", "redrive_all", "Redrive all"),
        Binding("d", "discard_one", "Discard"),
        Binding("D", "discard_all", "Discard all"),
        Binding("g", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.errors: list[DecodedRecord] = []
        # message_id -> what this TUI did to it ("redriven", "discarded").
        self.handled: dict[str, str] = {}
        self._seen_total = -1
        # (error topic, partition) -> the redrive group's committed offset.
        self._committed: dict[tuple[str, int], int] = {}
        self.last_results: list[RedriveResult] = []
        self._selected: DecodedRecord | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("No error messages loaded yet.", id="errors-status")
        yield ProgressBar(id="errors-progress", show_eta=False)
        table = LiveTable(id="errors", cursor_type="row")
        for label in (
            "recorded",
            "error topic",
            "stage",
            "exception",
            "source",
            "status",
        ):
            table.add_column(label, key=label)
        yield table
        with VerticalScroll(id="error-detail"):
            yield Static(id="error-text")
            yield PayloadView(id="error-payload")

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False

    def show_snapshot(self, snapshot: Snapshot) -> None:
        committed = {
            (row.topic, row.partition): row.committed
            for row in snapshot.lags
            if row.group == REDRIVE_GROUP and row.committed is not None
        }
        if committed != self._committed:
            self._committed = committed
            self._draw()
        total = sum(
            snapshot.topics[spec.name].published_total
            for spec in CATALOG.by_kind(TopicKind.ERROR)
            if spec.name in snapshot.topics
        )
        if total != self._seen_total:
            self._seen_total = total
            self._load()

    def action_reload(self) -> None:
        self._load()

    @work(exclusive=True, group="errors-load")
    async def _load(self) -> None:
        source = self.source
        if source is None:
            return
        limit = self.loom.row_limit
        found: list[DecodedRecord] = []
        try:
            for spec in CATALOG.by_kind(TopicKind.ERROR):
                for partition, start, end in await source.partitions(spec.name):
                    first = max(start, end - limit)
                    for record in await source.read_retained(
                        spec.name, partition, first, limit
                    ):
                        found.append(decode_record(record))
        except READ_ERRORS as exc:
            self._status(f"reading the error topics failed: {exc}", error=True)
            return
        found.sort(key=lambda d: d.record.timestamp_ns)
        self.errors = found[-limit:]
        pending = len(self._pending())
        self._status(
            f"{len(self.errors)} error message(s) shown, {pending} pending; "
            "r redrive, R redrive all, d discard, D discard all"
        )
        self._draw()

    def _status(self, text: str, *, error: bool = False) -> None:
        self.query_one("#errors-status", Static).update(
            Text(text, style="red" if error else "")
        )

    def _draw(self) -> None:
        table = self.query_one("#errors", DataTable)
        table.clear()
        for index, decoded in enumerate(self.errors):
            payload = decoded.payload
            status = self._status_of(decoded)
            table.add_row(
                str(payload.get("recorded_at", "—")),
                decoded.record.topic,
                str(payload.get("stage", "—")),
                str(payload.get("error_type", "—")),
                f"{payload.get('source_topic')}@{payload.get('source_offset')}",
                status,
                key=str(index),
            )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        self._selected = None if key is None else self.errors[int(key)]
        self._show_detail()

    def _show_detail(self) -> None:
        selected = self._selected
        text = self.query_one("#error-text", Static)
        view = self.query_one(PayloadView)
        if selected is None:
            text.update("")
            view.show(None, masked=self.loom.masked)
            return
        payload = selected.payload
        message = str(payload.get("error_message", ""))
        traceback = str(payload.get("traceback") or "")[-1500:]
        if self.loom.masked:
            # Handlers often put the failed values into their exception.
            message, traceback = mask_text(message), mask_text(traceback)
        text.update(
            Text.assemble(
                (f"{payload.get('error_type')}: ", "bold red"),
                message,
                "\n",
                (traceback, "dim"),
            )
        )
        view.show(payload.get("source_value"), masked=self.loom.masked)

    def mask_changed(self, masked: bool) -> None:
        self._show_detail()

    # -- redrive and discard -------------------------------------------------

    def action_redrive_one(self) -> None:
        if self._selected is None:
            self._status("no error message selected to redrive", error=True)
            return
        self._apply("redrive", [self._selected])

    def action_redrive_all(self) -> None:
        if not self._pending():
            self._status("no pending error message to redrive", error=True)
            return
        self._apply("redrive", None)

    def action_discard_one(self) -> None:
        if self._selected is None:
            self._status("no error message selected to discard", error=True)
            return
        self._confirm_discard([self._selected])

    def action_discard_all(self) -> None:
        pending = self._pending()
        if not pending:
            self._status("no pending error message to discard", error=True)
            return
        self._confirm_discard(pending, everything=True)

    def _pending(self) -> list[DecodedRecord]:
        return [d for d in self.errors if self._status_of(d) == "pending"]

    def _status_of(self, decoded: DecodedRecord) -> str:
        """Return "pending", "handled" or what this TUI did to the message.

        A record before the redrive group's committed offset was redriven or
        discarded, by this TUI or by another tool.
        """
        done = self.handled.get(decoded.message_id or "")
        if done is not None:
            return done
        record = decoded.record
        committed = self._committed.get((record.topic, record.partition))
        if committed is not None and record.offset < committed:
            return "handled"
        return "pending"

    def _confirm_discard(
        self, chosen: list[DecodedRecord], *, everything: bool = False
    ) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self._apply("discard", None if everything else chosen)

        question = (
            f"Discard {len(chosen)} error message(s)? Their records will not be "
            "redriven."
        )
        self.app.push_screen(ConfirmScreen(question), answered)

    @work(exclusive=True, group="errors-apply")
    async def _apply(self, action: str, chosen: list[DecodedRecord] | None) -> None:
        """Redrive or discard ``chosen``, or everything pending when None."""
        source = self.source
        if source is None or source.broker is None:
            self.notify(
                f"cannot {action}: this TUI reads the run from its state directory; "
                "run the pipeline with 'loomlite tui --profile' to redrive",
                severity="error",
            )
            return
        function = redrive if action == "redrive" else discard
        selection: dict[str, list[str] | None] = {}
        if chosen is None:
            selection = {d.record.topic: None for d in self._pending()}
        else:
            for decoded in chosen:
                if decoded.message_id is not None:
                    ids = selection.setdefault(decoded.record.topic, [])
                    assert ids is not None
                    ids.append(decoded.message_id)
        progress = self.query_one(ProgressBar)
        progress.update(total=max(len(selection), 1), progress=0)
        progress.display = True
        results: list[RedriveResult] = []
        try:
            for done, (topic, ids) in enumerate(sorted(selection.items()), start=1):
                results.append(
                    await source.with_broker(
                        partial(function, error_topic=topic, message_ids=ids)
                    )
                )
                progress.update(progress=done)
        except READ_ERRORS as exc:
            self.notify(f"{action} failed: {exc}", severity="error", markup=False)
            return
        finally:
            progress.display = False
        for result in results:
            for message_id in (*result.redriven, *result.discarded):
                self.handled[message_id] = _DONE[action]
        self.last_results = results
        self.notify(_describe(action, results))
        self._draw()


def _describe(action: str, results: list[RedriveResult]) -> str:
    redriven = sum(len(result.redriven) for result in results)
    discarded = sum(len(result.discarded) for result in results)
    pending = sum(result.pending for result in results)
    problems = [problem for result in results for problem in result.problems]
    text = f"{action}: {redriven} redriven, {discarded} discarded, {pending} pending"
    if problems:
        text += f"; {len(problems)} problem(s), first: {problems[0]}"
    return text
