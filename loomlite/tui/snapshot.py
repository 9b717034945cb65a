"""One refresh of the TUI: topics, lag, components and sink in plain rows.

A Snapshot is built either from the live runtime's ``statistics()`` (the
in-process mode) or from the ``statistics.json`` that ``loomlite up``
publishes in its state directory (the attached mode), so every screen draws
the same rows in both modes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loomlite.broker.base import BrokerStatistics, RetentionPolicy
from loomlite.components.monitor_statistics import Point
from loomlite.runtime.runtime import RuntimeStatistics

__all__ = [
    "ComponentRow",
    "LagRow",
    "Snapshot",
    "TableRow",
    "TopicRow",
    "snapshot_from_json",
    "snapshot_from_runtime",
]


@dataclass(frozen=True, slots=True)
class TopicRow:
    """A topic's counters; ``records`` and ``bytes`` are what retention keeps.

    ``rate_history`` contains records per second, oldest first. Retention fields
    are None when the source does not know them.
    """

    name: str
    published_total: int
    publish_rate: float
    end_offsets: Mapping[int, int]
    rate_history: tuple[float, ...] = ()
    records: int | None = None
    bytes: int | None = None
    retention: RetentionPolicy | None = None

    @property
    def retention_used(self) -> float | None:
        """The largest fraction of a count or byte limit in use, or None."""
        retention = self.retention
        if retention is None:
            return None
        fractions = []
        if retention.max_records and self.records is not None:
            fractions.append(self.records / retention.max_records)
        if retention.max_bytes and self.bytes is not None:
            fractions.append(self.bytes / retention.max_bytes)
        return max(fractions) if fractions else None


@dataclass(frozen=True, slots=True)
class LagRow:
    group: str
    topic: str
    partition: int
    committed: int | None
    end_offset: int
    lag: int


@dataclass(frozen=True, slots=True)
class ComponentRow:
    """A component's counters; handler times are seconds or None."""

    name: str
    state: str
    restarts: int
    messages_in: int
    messages_out: int
    errors: int
    in_flight: int
    handler_p50: float | None
    handler_p95: float | None
    handler_p99: float | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class TableRow:
    """Rows the sink inserted into one table since the run started."""

    name: str
    rows_written: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything one refresh draws. ``taken_at`` is Unix seconds of real time."""

    taken_at: float
    clock_time: datetime | None = None
    runtime_state: str | None = None
    topics: Mapping[str, TopicRow] = field(default_factory=dict)
    lags: tuple[LagRow, ...] = ()
    components: Mapping[str, ComponentRow] = field(default_factory=dict)
    tables: Mapping[str, TableRow] | None = None
    sink_errors: int = 0
    sink_pending: int = 0
    last_write_at: datetime | None = None

    @property
    def messages(self) -> int:
        return sum(topic.published_total for topic in self.topics.values())


def snapshot_from_runtime(
    taken_at: float,
    runtime: RuntimeStatistics,
    rate_histories: Mapping[str, tuple[Point, ...]],
    sink: Any | None,
) -> Snapshot:
    """Build a Snapshot from live statistics.

    ``rate_histories`` maps a topic to its publish-rate history from the
    monitor; ``sink`` is a SinkStatistics or None when no sink is open.
    """
    histories = {
        name: tuple(value for _, value in points)
        for name, points in rate_histories.items()
    }
    broker = runtime.broker
    return Snapshot(
        taken_at=taken_at,
        clock_time=None if broker is None else broker.taken_at,
        runtime_state=runtime.state.value,
        topics=_broker_topics(broker, histories),
        lags=_broker_lags(broker),
        components={
            name: ComponentRow(
                name=name,
                state=stats.state.value,
                restarts=stats.restarts,
                messages_in=stats.messages_in,
                messages_out=stats.messages_out,
                errors=stats.errors,
                in_flight=stats.in_flight,
                handler_p50=stats.handler_p50,
                handler_p95=stats.handler_p95,
                handler_p99=stats.handler_p99,
                last_error=stats.last_error,
            )
            for name, stats in runtime.components.items()
        },
        tables=None if sink is None else _tables(sink.rows_written),
        sink_errors=0 if sink is None else sink.errors,
        sink_pending=0 if sink is None else sink.pending_rows,
        last_write_at=None if sink is None else sink.last_write_at,
    )


def _broker_topics(
    broker: BrokerStatistics | None, histories: Mapping[str, tuple[float, ...]]
) -> dict[str, TopicRow]:
    if broker is None:
        return {}
    return {
        name: TopicRow(
            name=name,
            published_total=topic.published_total,
            publish_rate=topic.publish_rate,
            end_offsets=topic.end_offsets,
            rate_history=histories.get(name, ()),
            records=topic.records,
            bytes=topic.bytes,
            retention=topic.retention,
        )
        for name, topic in broker.topics.items()
    }


def _broker_lags(broker: BrokerStatistics | None) -> tuple[LagRow, ...]:
    if broker is None:
        return ()
    return tuple(
        LagRow(
            group=entry.group,
            topic=entry.topic,
            partition=entry.partition,
            committed=entry.committed,
            end_offset=entry.end_offset,
            lag=entry.lag,
        )
        for entry in broker.groups
    )


def _tables(rows_written: Mapping[str, int]) -> dict[str, TableRow]:
    return {
        name: TableRow(name=name, rows_written=count)
        for name, count in sorted(rows_written.items())
    }


def snapshot_from_json(
    document: Mapping[str, Any],
    retention: Mapping[str, tuple[int, int, RetentionPolicy]] | None = None,
) -> Snapshot:
    """Build a Snapshot from a ``statistics.json`` document.

    ``retention`` maps a topic to the records and bytes its log keeps and its
    policy, read from the durable broker's file when there is one. Raises
    ValueError naming the version when the document has another layout.
    """
    version = document.get("version")
    if version != 1:
        raise ValueError(
            f"statistics.json has version {version!r} but this TUI reads "
            "version 1; attach with the loomlite version that runs 'up'"
        )
    retention = retention or {}
    topics = {}
    for name, item in document.get("topics", {}).items():
        records, size, policy = retention.get(name, (None, None, None))
        topics[name] = TopicRow(
            name=name,
            published_total=int(item["published_total"]),
            publish_rate=float(item["publish_rate"]),
            end_offsets={int(p): int(o) for p, o in item["end_offsets"].items()},
            rate_history=tuple(v for _, v in item["history"]["publish_rate"]),
            records=records,
            bytes=size,
            retention=policy,
        )
    lags = tuple(
        LagRow(
            group=group,
            topic=entry["topic"],
            partition=int(entry["partition"]),
            committed=entry["committed"],
            end_offset=int(entry["end_offset"]),
            lag=int(entry["lag"]),
        )
        for group, item in document.get("groups", {}).items()
        for entry in item["partitions"]
    )
    components = {
        name: ComponentRow(
            name=name,
            state=item["state"],
            restarts=int(item["restarts"]),
            messages_in=int(item["messages_in"]),
            messages_out=int(item["messages_out"]),
            errors=int(item["errors"]),
            in_flight=int(item["in_flight"]),
            handler_p50=item["handler_seconds"]["p50"],
            handler_p95=item["handler_seconds"]["p95"],
            handler_p99=item["handler_seconds"]["p99"],
            last_error=item["last_error"],
        )
        for name, item in document.get("components", {}).items()
    }
    sink = document.get("sink")
    clock_time = document.get("clock_time")
    return Snapshot(
        taken_at=float(document.get("taken_at") or 0.0),
        clock_time=None if clock_time is None else datetime.fromisoformat(clock_time),
        runtime_state=document.get("runtime_state"),
        topics=topics,
        lags=lags,
        components=components,
        tables=None if sink is None else _tables(sink["rows_written"]),
        sink_errors=0 if sink is None else int(sink["errors"]),
        sink_pending=0 if sink is None else int(sink["pending_rows"]),
        last_write_at=_time_or_none(None if sink is None else sink["last_write_at"]),
    )


def _time_or_none(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def retention_policy(
    max_age_us: int | None,
    max_records: int | None,
    max_bytes: int | None,
    max_pending: int | None,
) -> RetentionPolicy:
    """Build a RetentionPolicy from the columns of the broker's topic table."""
    max_age = None if max_age_us is None else timedelta(microseconds=max_age_us)
    return RetentionPolicy(max_age, max_records, max_bytes, max_pending)
