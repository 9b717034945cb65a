"""The monitor component: rates, lag and component health over time.

Every ``components.monitor.interval`` real seconds the monitor samples the
runtime's statistics (the broker's topics and consumer groups, and every
component's counters) and appends the values to bounded histories of the
last ``components.monitor.history`` samples. ``MonitorComponent.statistics``
returns the latest values with those histories. Topics that never received a
record are left out until their first record arrives.

It also writes the latest snapshot to ``<state_dir>/statistics.json`` after
each sample, atomically (a temporary file renamed over the old one), so that
a process started later, such as a terminal UI, can read it. The file is one
JSON object; times are Unix seconds of real time, and each history is a list
of ``[time, value]`` pairs, oldest first::

    {
      "version": 1,
      "taken_at": 1714550400.25,          # real time of the sample
      "clock_time": "2024-05-01T08:00:00+00:00",  # runtime clock, or null
      "interval": 5.0,                    # seconds between samples
      "samples": 12,                      # samples taken since start
      "runtime_state": "running",         # or null outside a Runtime
      "totals": {
        "messages": 1234,                 # records published to all topics
        "rows_written": 1200,             # null when no sink is attached
        "errors": 2,                      # records sent to error topics
        "max_lag": 3,                     # the largest total lag of a group
        "max_lag_group": "persist.device.sensor.gps.raw",  # or null
        "loop_lag_max_seconds": 0.004,    # maximum event-loop block, or null
        "loop_lag_last_seconds": 0.001    # latest event-loop lag, or null
      },
      "topics": {
        "<topic>": {
          "published_total": 640,
          "publish_rate": 12.5,           # records per real second
          "end_offsets": {"0": 320, "1": 320},
          "history": {"publish_rate": [[t, v], ...], "end_offset": [[t, v], ...]}
        }
      },
      "groups": {
        "<group>": {
          "lag": 3,
          "history": {"lag": [[t, v], ...]},
          "partitions": [
            {"topic": "<topic>", "partition": 0, "committed": 317,
             "end_offset": 320, "lag": 3, "history": {"lag": [[t, v], ...]}}
          ]
        }
      },
      "sink": {                           # null when no sink is attached
        "rows_written": {"<table>": 1200},
        "errors": 0, "pending_rows": 0,
        "last_write_at": "2024-05-01T08:00:00+00:00"   # or null
      },
      "components": {
        "<component>": {
          "state": "running", "restarts": 0, "messages_in": 640,
          "messages_out": 640, "errors": 0, "in_flight": 0,
          "handler_seconds": {"p50": 0.0004, "p95": 0.001, "p99": 0.002},
          "last_error": null,
          "backends": {                   # the model backend of each stage
            "<stage>": {"backend": "silero", "circuit": "closed", "calls": 40,
                        "failures": 0, "timeouts": 0, "rejected": 0,
                        "circuit_opened": 0, "busy_seconds": 0.3,
                        "max_call_seconds": 0.02, "last_error": null}
          },
          "history": {"messages_in": [[t, v], ...], "messages_out": [...],
                      "errors": [...]}
        }
      }
    }

Each sample also logs one INFO status line, at most once per
``components.monitor.status_log_interval`` real seconds. A terminal panel
that shows the status turns the line off with ``components.monitor.status_log``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from loomlite.broker.base import BrokerState, BrokerStatistics
from loomlite.components.monitor_statistics import (
    ComponentHealth,
    GroupLag,
    MonitorStatistics,
    PartitionLag,
    Point,
    SinkHealth,
    TopicHealth,
)
from loomlite.runtime.component import Component
from loomlite.runtime.loop_lag import LoopLag
from loomlite.runtime.settings import MonitorSettings
from loomlite.runtime.statistics import ComponentStatistics

if TYPE_CHECKING:
    from loomlite.sink import SinkStatistics

__all__ = [
    "STATISTICS_FILE_NAME",
    "ComponentHealth",
    "GroupLag",
    "MonitorComponent",
    "MonitorStatistics",
    "PartitionLag",
    "Point",
    "TopicHealth",
]

logger = logging.getLogger(__name__)

STATISTICS_FILE_NAME = "statistics.json"

SinkStatisticsSource = Callable[[], "SinkStatistics | None"]


class _Histories:
    """Bounded series of points, created on first use and keyed by any label."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._series: dict[tuple[str, ...], deque[Point]] = {}

    def add(self, key: tuple[str, ...], moment: float, value: float) -> None:
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = deque(maxlen=self.capacity)
        series.append((moment, value))

    def get(self, key: tuple[str, ...]) -> tuple[Point, ...]:
        return tuple(self._series.get(key, ()))


@dataclass(slots=True)
class _Sample:
    """The raw statistics of the latest sample."""

    taken_at: float
    monotonic: float
    clock_time: datetime | None
    runtime_state: str | None
    broker: BrokerStatistics | None
    components: Mapping[str, ComponentStatistics]
    rates: dict[str, float]
    rows_written: int | None
    loop_lag: LoopLag | None = None
    sink: SinkStatistics | None = None


class MonitorComponent(Component):
    """Samples the runtime's statistics into bounded histories and a JSON file.

    ``sink_statistics`` returns the sink's counters, or None while no sink is
    open. ``PersistComponent.sink_statistics`` fits. Without it, the number
    of rows written is unknown and reported as None.
    """

    name = "monitor"

    def __init__(self, *, sink_statistics: SinkStatisticsSource | None = None) -> None:
        self._sink_statistics = sink_statistics
        self._settings = MonitorSettings()
        self._histories = _Histories(self._settings.history)
        self._latest: _Sample | None = None
        self._samples = 0
        self._sampled = anyio.Event()
        self._last_status_log: float | None = None
        self._write_failures = 0

    @property
    def path(self) -> Path:
        """The ``statistics.json`` file in the runtime's state directory."""
        return self.context.settings.state_dir / STATISTICS_FILE_NAME

    async def setup(self) -> None:
        options = self.context.options
        self._settings = (
            options if isinstance(options, MonitorSettings) else MonitorSettings()
        )
        if self._histories.capacity != self._settings.history:
            self._histories = _Histories(self._settings.history)

    async def run(self) -> None:
        # The interval is real time, not the runtime clock: the monitor reports
        # how the process runs (rates per real second, lag right now), and a
        # manual clock would never move on its own in a live run.
        tick = time.monotonic()
        while True:
            await self.sample()
            # Ticks are spaced from the first one, so the time a sample takes
            # does not add up over a long run.
            tick += self._settings.interval
            await anyio.sleep(max(tick - time.monotonic(), 0.0))

    async def teardown(self) -> None:
        # A last sample, so that the file shows the state at shutdown.
        await self.sample()

    async def sample(self) -> MonitorStatistics:
        """Take one sample now, write ``statistics.json`` and return the snapshot."""
        sample = self._collect()
        self._record(sample)
        self._latest = sample
        self._samples += 1
        snapshot = self.statistics()
        await self._write(snapshot)
        self._log_status(snapshot)
        self._sampled.set()
        self._sampled = anyio.Event()
        return snapshot

    async def wait_for_samples(self, count: int) -> None:
        """Wait until the monitor has taken ``count`` samples since it was created."""
        while self._samples < count:
            await self._sampled.wait()

    def rate_histories(self) -> dict[str, tuple[Point, ...]]:
        """Return each topic's publish-rate history, oldest first.

        A cheap subset of ``statistics()``, which copies every history of
        every group and partition too.
        """
        sample = self._latest
        if sample is None or sample.broker is None:
            return {}
        return {
            name: self._histories.get(("rate", name))
            for name, topic in sample.broker.topics.items()
            if topic.published_total > 0
        }

    def statistics(self) -> MonitorStatistics:
        """Return the latest values and the histories."""
        sample = self._latest
        if sample is None:
            return MonitorStatistics(
                taken_at=None,
                clock_time=None,
                interval=self._settings.interval,
                samples=0,
                runtime_state=None,
                messages=0,
                rows_written=None,
                errors=0,
                max_lag=0,
                max_lag_group=None,
            )
        groups = self._groups(sample)
        lag = sample.loop_lag
        max_lag_group = max(groups.values(), key=lambda g: g.lag, default=None)
        return MonitorStatistics(
            taken_at=sample.taken_at,
            clock_time=sample.clock_time,
            interval=self._settings.interval,
            samples=self._samples,
            runtime_state=sample.runtime_state,
            messages=_published_total(sample.broker),
            rows_written=sample.rows_written,
            errors=sum(stats.errors for stats in sample.components.values()),
            max_lag=0 if max_lag_group is None else max_lag_group.lag,
            max_lag_group=None if max_lag_group is None else max_lag_group.group,
            topics=self._topics(sample),
            groups=groups,
            components=self._components(sample),
            loop_lag_max=None if lag is None else lag.max_seconds,
            loop_lag_last=None if lag is None else lag.last_seconds,
            sink=_sink_health(sample.sink),
        )

    # -- sampling -----------------------------------------------------------

    def _collect(self) -> _Sample:
        context = self.context
        source = context.runtime_statistics
        if source is not None:
            runtime = source()
            state: str | None = runtime.state.value
            broker = runtime.broker
            components = runtime.components
            loop_lag = runtime.loop_lag
        else:
            state, components, loop_lag = None, {}, None
            running = context.broker.state is BrokerState.RUNNING
            broker = context.broker.statistics() if running else None
        now = time.monotonic()
        return _Sample(
            taken_at=time.time(),
            monotonic=now,
            clock_time=context.clock.now(),
            runtime_state=state,
            broker=broker,
            components=components,
            rates=self._rates(broker, now),
            rows_written=self._rows_written(),
            loop_lag=loop_lag,
            sink=None if self._sink_statistics is None else self._sink_statistics(),
        )

    def _rates(self, broker: BrokerStatistics | None, now: float) -> dict[str, float]:
        """Return each topic's records per second since the previous sample.

        The first sample, and a topic first seen now, take the broker's own
        rate over its rate window.
        """
        if broker is None:
            return {}
        previous = self._latest
        rates: dict[str, float] = {}
        for name, topic in broker.topics.items():
            before = None
            if previous is not None and previous.broker is not None:
                before = previous.broker.topics.get(name)
            elapsed = 0.0 if previous is None else now - previous.monotonic
            if before is None or elapsed <= 0:
                rates[name] = topic.publish_rate
            else:
                delta = topic.published_total - before.published_total
                rates[name] = delta / elapsed
        return rates

    def _rows_written(self) -> int | None:
        if self._sink_statistics is None:
            return None
        statistics = self._sink_statistics()
        if statistics is None:
            return None
        return sum(statistics.rows_written.values())

    def _record(self, sample: _Sample) -> None:
        moment = sample.taken_at
        histories = self._histories
        if sample.broker is not None:
            for name, topic in sample.broker.topics.items():
                if topic.published_total == 0:
                    continue
                histories.add(("rate", name), moment, sample.rates[name])
                end = sum(p.end_offset for p in topic.partitions)
                histories.add(("end", name), moment, end)
            totals: dict[str, int] = {}
            for entry in sample.broker.groups:
                key = ("lag", entry.group, entry.topic, str(entry.partition))
                histories.add(key, moment, entry.lag)
                totals[entry.group] = totals.get(entry.group, 0) + entry.lag
            for group, lag in totals.items():
                histories.add(("group", group), moment, lag)
        for name, stats in sample.components.items():
            histories.add(("in", name), moment, stats.messages_in)
            histories.add(("out", name), moment, stats.messages_out)
            histories.add(("errors", name), moment, stats.errors)

    # -- snapshot -----------------------------------------------------------

    def _topics(self, sample: _Sample) -> dict[str, TopicHealth]:
        if sample.broker is None:
            return {}
        histories = self._histories
        return {
            name: TopicHealth(
                name=name,
                published_total=topic.published_total,
                publish_rate=sample.rates[name],
                end_offsets=topic.end_offsets,
                publish_rate_history=histories.get(("rate", name)),
                end_offset_history=histories.get(("end", name)),
            )
            for name, topic in sample.broker.topics.items()
            if topic.published_total > 0
        }

    def _groups(self, sample: _Sample) -> dict[str, GroupLag]:
        if sample.broker is None:
            return {}
        partitions: dict[str, list[PartitionLag]] = {}
        for entry in sample.broker.groups:
            key = ("lag", entry.group, entry.topic, str(entry.partition))
            partitions.setdefault(entry.group, []).append(
                PartitionLag(
                    group=entry.group,
                    topic=entry.topic,
                    partition=entry.partition,
                    committed=entry.committed,
                    end_offset=entry.end_offset,
                    lag=entry.lag,
                    lag_history=self._histories.get(key),
                )
            )
        return {
            group: GroupLag(
                group=group,
                lag=sum(entry.lag for entry in entries),
                partitions=tuple(entries),
                lag_history=self._histories.get(("group", group)),
            )
            for group, entries in partitions.items()
        }

    def _components(self, sample: _Sample) -> dict[str, ComponentHealth]:
        histories = self._histories
        return {
            name: ComponentHealth(
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
                messages_in_history=histories.get(("in", name)),
                messages_out_history=histories.get(("out", name)),
                errors_history=histories.get(("errors", name)),
                backends=stats.backends,
            )
            for name, stats in sample.components.items()
        }

    # -- output -------------------------------------------------------------

    async def _write(self, snapshot: MonitorStatistics) -> None:
        """Replace ``statistics.json`` with ``snapshot``. Failures are logged.

        The first failure is logged as an error with its traceback, later ones
        at DEBUG, and the next success logs how many writes failed.
        """
        path = self.path
        try:
            # The snapshot holds only tuples and frozen records, so the
            # worker thread can turn it into JSON while the loop goes on.
            await anyio.to_thread.run_sync(_write_snapshot, path, snapshot)
        except (OSError, TypeError, ValueError) as exc:
            self._write_failures += 1
            level = logging.ERROR if self._write_failures == 1 else logging.DEBUG
            logger.log(
                level,
                "failed to write %s (%d failure(s) in a row): %s",
                path,
                self._write_failures,
                exc,
                exc_info=exc,
            )
            return
        if self._write_failures:
            logger.info(
                "wrote %s again after %d failed write(s)", path, self._write_failures
            )
            self._write_failures = 0

    def _log_status(self, snapshot: MonitorStatistics) -> None:
        settings = self._settings
        if not settings.status_log:
            return
        now = time.monotonic()
        last = self._last_status_log
        if last is not None and now - last < settings.status_log_interval:
            return
        self._last_status_log = now
        if snapshot.rows_written is None:
            rows = "no sink running"
        else:
            rows = f"{snapshot.rows_written} rows written"
        lag_group = snapshot.max_lag_group or "no group"
        logger.info(
            "status: %d messages, %s, %d errors, max lag %d (%s)",
            snapshot.messages,
            rows,
            snapshot.errors,
            snapshot.max_lag,
            lag_group,
        )


def _sink_health(statistics: SinkStatistics | None) -> SinkHealth | None:
    if statistics is None:
        return None
    return SinkHealth(
        rows_written=dict(statistics.rows_written),
        errors=statistics.errors,
        pending_rows=statistics.pending_rows,
        last_write_at=statistics.last_write_at,
    )


def _published_total(broker: BrokerStatistics | None) -> int:
    if broker is None:
        return 0
    return sum(topic.published_total for topic in broker.topics.values())


def _write_snapshot(path: Path, snapshot: MonitorStatistics) -> None:
    _write_json(path, snapshot.to_json())


def _write_json(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` to a temporary file beside ``path``, then rename it.

    ``os.replace`` is atomic on one file system, so a reader sees either the
    old file or the new one, never a partial write.
    """
    text = _dumps_in_pieces(document)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _dumps_in_pieces(document: dict[str, Any]) -> str:
    """Return ``document`` as compact JSON, encoded one entry at a time.

    The json module's C encoder holds the GIL until it has written the whole
    document, which for a long run's histories takes tens of milliseconds.
    The event loop's thread can take the GIL between two of these smaller
    calls, so it is never held up that long.
    """
    parts = []
    for key, value in document.items():
        if isinstance(value, dict):
            entries = ",".join(
                f"{_dumps(str(name))}:{_dumps(entry)}" for name, entry in value.items()
            )
            parts.append(f"{_dumps(key)}:{{{entries}}}")
        else:
            parts.append(f"{_dumps(key)}:{_dumps(value)}")
    return "{" + ",".join(parts) + "}"


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=False, separators=(",", ":"))
