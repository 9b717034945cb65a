"""The live status panel of ``loomlite up`` and its end-of-run summary.

The panel reads only ``statistics()`` snapshots (runtime, broker, sink), which
are synchronous, so drawing it does not await the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from loomlite.clock import Clock
from loomlite.contract import CATALOG
from loomlite.contract.catalog import TopicKind
from loomlite.runtime.runtime import Runtime, RuntimeStatistics
from loomlite.session import SessionReport
from loomlite.sink import SinkStatistics

__all__ = ["StatusPanel", "render_summary"]

_ERROR_TOPICS = frozenset(spec.name for spec in CATALOG.by_kind(TopicKind.ERROR))
_TOP_TOPICS = 12


@dataclass
class StatusPanel:
    """A rich renderable that redraws from the latest snapshots on each refresh."""

    runtime: Runtime
    clock: Clock
    sink_statistics: Callable[[], SinkStatistics | None]
    start: datetime
    until: datetime | None
    speed: str

    def __rich__(self) -> RenderableType:
        statistics = self.runtime.statistics()
        parts: list[RenderableType] = [self._header()]
        parts.append(self._components(statistics))
        if statistics.broker is not None:
            parts.append(self._topics(statistics))
        parts.append(self._sink())
        return Group(*parts)

    def _header(self) -> Text:
        now = self.clock.now()
        line = Text()
        line.append("loomlite up", style="bold")
        line.append(f"  event time {now:%Y-%m-%d %H:%M:%S}Z  speed {self.speed}")
        if self.until is not None:
            total = (self.until - self.start).total_seconds()
            done = (now - self.start).total_seconds()
            share = 0.0 if total <= 0 else min(max(done / total, 0.0), 1.0)
            line.append(f"  {share:6.1%} of the duration")
        line.append("  (Ctrl-C stops and drains)", style="dim")
        return line

    def _components(self, statistics: RuntimeStatistics) -> Table:
        table = Table(title="components", title_justify="left", expand=True)
        for column in ("component", "state", "restarts", "in", "out", "errors"):
            table.add_column(column, justify="right" if column[0] in "rioe" else "left")
        table.add_column("p95 ms", justify="right")
        for name, component in statistics.components.items():
            p95 = component.handler_p95
            table.add_row(
                name,
                component.state.value,
                str(component.restarts),
                f"{component.messages_in:,}",
                f"{component.messages_out:,}",
                f"{component.errors:,}",
                "-" if p95 is None else f"{p95 * 1000:.1f}",
            )
        return table

    def _topics(self, statistics: RuntimeStatistics) -> Table:
        snapshot = statistics.broker
        assert snapshot is not None
        lag: dict[str, int] = {}
        for group in snapshot.groups:
            lag[group.topic] = max(lag.get(group.topic, 0), group.lag)
        busiest = sorted(
            snapshot.topics.values(), key=lambda t: t.published_total, reverse=True
        )
        table = Table(title="topics (busiest first)", title_justify="left", expand=True)
        table.add_column("topic")
        table.add_column("rate/s", justify="right")
        table.add_column("messages", justify="right")
        table.add_column("max lag", justify="right")
        for topic in busiest[:_TOP_TOPICS]:
            if not topic.published_total:
                break
            style = "red" if topic.name in _ERROR_TOPICS else ""
            table.add_row(
                Text(topic.name, style=style),
                f"{topic.publish_rate:,.1f}",
                f"{topic.published_total:,}",
                f"{lag.get(topic.name, 0):,}",
            )
        errors = sum(
            t.published_total
            for t in snapshot.topics.values()
            if t.name in _ERROR_TOPICS
        )
        table.caption = f"error-topic messages: {errors:,}"
        return table

    def _sink(self) -> Text:
        sink = self.sink_statistics()
        if sink is None:
            return Text("sink: not open", style="dim")
        written = sum(sink.rows_written.values())
        return Text(
            f"rows written {written:,} in {sink.batches:,} batches, "
            f"pending {sink.pending_rows:,}, write errors {sink.errors:,}"
        )


def render_summary(report: SessionReport, console: Console) -> None:
    """Print the end-of-run summary: messages, rows, errors and scores."""
    console.rule("summary")
    console.print(
        f"event time {report.start:%Y-%m-%d %H:%M} → {report.end:%Y-%m-%d %H:%M} UTC "
        f"in {report.real_seconds:.1f} s real time; database {report.database}"
    )
    if report.loop_lag_max_seconds is not None:
        console.print(
            "event loop blocked for at most "
            f"{report.loop_lag_max_seconds * 1000:.1f} ms"
        )

    messages = Table(title="messages per topic", title_justify="left")
    messages.add_column("topic")
    messages.add_column("messages", justify="right")
    for topic, count in report.messages.items():
        if topic not in _ERROR_TOPICS:
            messages.add_row(topic, f"{count:,}")
    console.print(messages)

    rows = Table(title="rows per table", title_justify="left")
    rows.add_column("table")
    rows.add_column("rows", justify="right")
    rows.add_column("written this run", justify="right")
    for table_name, count in report.rows.items():
        written = report.rows_written.get(table_name, 0)
        rows.add_row(table_name, f"{count:,}", f"{written:,}")
    console.print(rows)

    if report.errors:
        errors = Table(title="errors", title_justify="left")
        errors.add_column("error topic")
        errors.add_column("messages", justify="right")
        for topic, count in report.errors.items():
            errors.add_row(Text(topic, style="red"), f"{count:,}")
        console.print(errors)
    else:
        console.print("errors: none")

    _render_backends(report, console)

    scores = Table(title="ground-truth scores", title_justify="left")
    scores.add_column("device")
    scores.add_column("steps derived / taken", justify="right")
    scores.add_column("step error", justify="right")
    scores.add_column("region entries found / made", justify="right")
    scores.add_column("spurious entries", justify="right")
    visits = {visit.device_id: visit for visit in report.visits}
    for step in report.steps:
        visit = visits.get(step.device_id)
        scores.add_row(
            step.device_id[:8],
            f"{step.derived:,} / {step.truth:,}",
            f"{step.error:.1%}",
            "-" if visit is None else f"{visit.matched} / {visit.expected}",
            "-" if visit is None else str(len(visit.spurious)),
        )
    console.print(scores)


def _render_backends(report: SessionReport, console: Console) -> None:
    real = [row for row in report.backends if row["calls"] or row["failures"]]
    if not real:
        return
    table = Table(title="model backends", title_justify="left")
    for column in ("stage", "backend", "circuit"):
        table.add_column(column)
    for column in ("calls", "failures", "timeouts", "rejected", "busy s", "max call s"):
        table.add_column(column, justify="right")
    for row in real:
        circuit = row["circuit"]
        table.add_row(
            row["stage"],
            row["backend"],
            Text(circuit, style="green" if circuit == "closed" else "red"),
            f"{row['calls']:,}",
            f"{row['failures']:,}",
            f"{row['timeouts']:,}",
            f"{row['rejected']:,}",
            f"{row['busy_seconds']:.2f}",
            f"{row['max_call_seconds']:.3f}",
        )
    console.print(table)
