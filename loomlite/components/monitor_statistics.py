"""The monitor's snapshot types and their JSON form in ``statistics.json``.

The JSON layout is documented in ``loomlite.components.monitor``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loomlite.runtime.statistics import BackendStatistics

__all__ = [
    "FORMAT_VERSION",
    "ComponentHealth",
    "GroupLag",
    "MonitorStatistics",
    "PartitionLag",
    "Point",
    "SinkHealth",
    "TopicHealth",
]

FORMAT_VERSION = 1
"""The ``version`` field of ``statistics.json``."""

Point = tuple[float, float]
"""One history entry: Unix seconds of real time and the value then."""


@dataclass(frozen=True, slots=True)
class TopicHealth:
    """The latest counters of one topic and their history."""

    name: str
    published_total: int
    publish_rate: float
    end_offsets: Mapping[int, int]
    publish_rate_history: tuple[Point, ...]
    end_offset_history: tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """The lag of one consumer group on one partition, with its history."""

    group: str
    topic: str
    partition: int
    committed: int | None
    end_offset: int
    lag: int
    lag_history: tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class GroupLag:
    """The total lag of one consumer group, its partitions and its history."""

    group: str
    lag: int
    partitions: tuple[PartitionLag, ...]
    lag_history: tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """One component's latest statistics and the history of its counters.

    Handler times are in seconds, or None before the first handler call.
    """

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
    messages_in_history: tuple[Point, ...]
    messages_out_history: tuple[Point, ...]
    errors_history: tuple[Point, ...]
    backends: tuple[BackendStatistics, ...] = ()
    """The model backend of each stage, with its circuit state."""


@dataclass(frozen=True, slots=True)
class SinkHealth:
    """The sink's counters: rows inserted per table since start, failed
    writes, rows waiting to be written and the time of the last commit."""

    rows_written: Mapping[str, int]
    errors: int
    pending_rows: int
    last_write_at: datetime | None


@dataclass(frozen=True, slots=True)
class MonitorStatistics:
    """The monitor's latest sample and the histories.

    ``to_json`` gives the object stored in ``statistics.json``, whose layout
    the ``loomlite.components.monitor`` docstring describes. ``taken_at`` is
    None before the first sample.
    """

    taken_at: float | None
    clock_time: datetime | None
    interval: float
    samples: int
    runtime_state: str | None
    messages: int
    rows_written: int | None
    errors: int
    max_lag: int
    max_lag_group: str | None
    topics: Mapping[str, TopicHealth] = field(default_factory=dict)
    groups: Mapping[str, GroupLag] = field(default_factory=dict)
    components: Mapping[str, ComponentHealth] = field(default_factory=dict)
    loop_lag_max: float | None = None
    """Maximum event-loop block since the start, in real seconds."""
    loop_lag_last: float | None = None
    """Event-loop lag of the latest measurement, in real seconds."""
    sink: SinkHealth | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the snapshot as the JSON object ``statistics.json`` holds."""
        return {
            "version": FORMAT_VERSION,
            "taken_at": self.taken_at,
            "clock_time": None
            if self.clock_time is None
            else self.clock_time.isoformat(),
            "interval": self.interval,
            "samples": self.samples,
            "runtime_state": self.runtime_state,
            "totals": {
                "messages": self.messages,
                "rows_written": self.rows_written,
                "errors": self.errors,
                "max_lag": self.max_lag,
                "max_lag_group": self.max_lag_group,
                "loop_lag_max_seconds": self.loop_lag_max,
                "loop_lag_last_seconds": self.loop_lag_last,
            },
            "topics": {name: _topic_json(topic) for name, topic in self.topics.items()},
            "groups": {name: _group_json(group) for name, group in self.groups.items()},
            "sink": None if self.sink is None else _sink_json(self.sink),
            "components": {
                name: _component_json(health)
                for name, health in self.components.items()
            },
        }


def _points(history: tuple[Point, ...]) -> tuple[Point, ...]:
    # json writes tuples as arrays, so the history goes out as it is: copying
    # each point into a list cost the event loop tens of milliseconds per
    # report at the default 300 samples a series.
    return history


def _topic_json(topic: TopicHealth) -> dict[str, Any]:
    return {
        "published_total": topic.published_total,
        "publish_rate": topic.publish_rate,
        "end_offsets": {str(p): offset for p, offset in topic.end_offsets.items()},
        "history": {
            "publish_rate": _points(topic.publish_rate_history),
            "end_offset": _points(topic.end_offset_history),
        },
    }


def _group_json(group: GroupLag) -> dict[str, Any]:
    partitions = [
        {
            "topic": partition.topic,
            "partition": partition.partition,
            "committed": partition.committed,
            "end_offset": partition.end_offset,
            "lag": partition.lag,
            "history": {"lag": _points(partition.lag_history)},
        }
        for partition in group.partitions
    ]
    return {
        "lag": group.lag,
        "history": {"lag": _points(group.lag_history)},
        "partitions": partitions,
    }


def _sink_json(sink: SinkHealth) -> dict[str, Any]:
    last = sink.last_write_at
    return {
        "rows_written": dict(sink.rows_written),
        "errors": sink.errors,
        "pending_rows": sink.pending_rows,
        "last_write_at": None if last is None else last.isoformat(),
    }


def _component_json(health: ComponentHealth) -> dict[str, Any]:
    return {
        "state": health.state,
        "restarts": health.restarts,
        "messages_in": health.messages_in,
        "messages_out": health.messages_out,
        "errors": health.errors,
        "in_flight": health.in_flight,
        "handler_seconds": {
            "p50": health.handler_p50,
            "p95": health.handler_p95,
            "p99": health.handler_p99,
        },
        "last_error": health.last_error,
        "backends": {
            backend.stage: _backend_json(backend) for backend in health.backends
        },
        "history": {
            "messages_in": _points(health.messages_in_history),
            "messages_out": _points(health.messages_out_history),
            "errors": _points(health.errors_history),
        },
    }


def _backend_json(backend: BackendStatistics) -> dict[str, Any]:
    return {
        "backend": backend.backend,
        "circuit": backend.circuit,
        "calls": backend.calls,
        "failures": backend.failures,
        "timeouts": backend.timeouts,
        "rejected": backend.rejected,
        "circuit_opened": backend.circuit_opened,
        "busy_seconds": round(backend.busy_seconds, 6),
        "max_call_seconds": round(backend.max_call_seconds, 6),
        "last_error": backend.last_error,
    }
