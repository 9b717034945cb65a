"""Sources of the TUI's data: the runtime in this process, or a state directory.

``LiveSource`` wraps a running Runtime: snapshots come from its
``statistics()``, records from its broker. ``ThreadedLiveSource`` does the
same for a runtime whose event loop runs in another thread, as ``loomlite
tui --profile`` runs it, so that the pipeline's handlers never delay a
frame. ``AttachSource`` reads what a
``loomlite up`` in another process publishes in its state directory:
``statistics.json``, ``topology.json``, the durable broker's file and the
sink database, all read-only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from sqlalchemy.exc import SQLAlchemyError

from loomlite.broker.base import Broker, BrokerState, Record
from loomlite.broker.durable import DurableBroker
from loomlite.broker.factory import DURABLE_FILE_NAME
from loomlite.components.monitor import STATISTICS_FILE_NAME, MonitorComponent
from loomlite.components.monitor_statistics import Point
from loomlite.errors import BrokerError, LoomliteError, OffsetOutOfRangeError
from loomlite.runtime.runtime import Runtime
from loomlite.runtime.topology import Edge
from loomlite.runtime.topology_file import TOPOLOGY_FILE_NAME, read_topology_file
from loomlite.tui.broker_file import BrokerFile, PartitionRange
from loomlite.tui.sink_reader import SinkReader
from loomlite.tui.snapshot import Snapshot, snapshot_from_json, snapshot_from_runtime

__all__ = [
    "READ_ERRORS",
    "AttachSource",
    "LiveSource",
    "Source",
    "ThreadedLiveSource",
    "TopologyView",
]

T = TypeVar("T")

# Counting retained records in the broker file scans its index, so the
# attached mode refreshes retention at most this often, in real seconds.
_RETENTION_REFRESH = 5.0
# The monitor's default sample interval in seconds, used until statistics.json
# names one.
_DEFAULT_INTERVAL = 5.0
# Samples the monitor may miss before the attached TUI calls the file stale.
_STALE_SAMPLES = 3.0


@dataclass(frozen=True, slots=True)
class TopologyView:
    """Components, edges and lint warnings of a running pipeline."""

    components: tuple[str, ...]
    edges: tuple[Edge, ...]
    warnings: tuple[str, ...]


class Source(ABC):
    """Snapshots, records and the sink of one pipeline."""

    description: str = ""
    sink: SinkReader | None = None
    notice: str | None = None
    """A warning to show beside ``description``, such as stale statistics."""

    @abstractmethod
    async def snapshot(self) -> Snapshot: ...

    @abstractmethod
    def topology(self) -> TopologyView | None: ...

    @abstractmethod
    async def partitions(self, topic: str) -> list[PartitionRange]:
        """Return (partition, log start, end offset) of each partition."""

    @abstractmethod
    async def read(
        self, topic: str, partition: int, offset: int, limit: int
    ) -> list[Record]: ...

    async def read_retained(
        self, topic: str, partition: int, offset: int, limit: int
    ) -> list[Record]:
        """Return up to ``limit`` records from ``offset`` on, or from the
        oldest retained record once retention has deleted ``offset``.

        A running broker deletes old records while a screen scans, so an
        offset listed a moment ago may be gone by the time it is read.
        """
        while True:
            try:
                return await self.read(topic, partition, offset, limit)
            except OffsetOutOfRangeError as exc:
                if offset >= exc.start:
                    raise
                offset = exc.start

    @abstractmethod
    async def offset_for_time(
        self, topic: str, partition: int, timestamp: datetime
    ) -> int | None:
        """Offset of the first record at or after ``timestamp``, or None."""

    @property
    def broker(self) -> Broker | None:
        """The broker to publish to for a redrive, or None when read-only."""
        return None

    async def with_broker(self, function: Callable[[Broker], Awaitable[T]]) -> T:
        """Return ``await function(broker)``, run where the broker lives.

        Raises BrokerError when the source is read-only.
        """
        broker = self.broker
        if broker is None:
            raise BrokerError(f"{self.description}: the broker is read-only here")
        return await function(broker)

    async def close(self) -> None:
        if self.sink is not None:
            await self.sink.close()


class LiveSource(Source):
    """The runtime of this process. ``sink_statistics`` returns the sink's
    counters (``PersistComponent.sink_statistics`` fits) or None."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        db_url: str | None = None,
        sink_statistics: Callable[[], Any] | None = None,
    ) -> None:
        self.runtime = runtime
        self.description = f"in-process, {runtime.settings.profile or 'default'}"
        self.sink = None if db_url is None else SinkReader(db_url)
        self._sink_statistics = sink_statistics
        self._monitor = next(
            (c for c in runtime.components if isinstance(c, MonitorComponent)), None
        )
        self._file: BrokerFile | None = None
        self._histories: dict[str, tuple[Point, ...]] = {}
        self._histories_read: float | None = None
        self._last: Snapshot | None = None

    def _rate_histories(self) -> dict[str, tuple[Point, ...]]:
        """Return the monitor's rate histories, copied at most once a second,
        because they change only when the monitor samples."""
        if self._monitor is None:
            return {}
        now = time.monotonic()
        last = self._histories_read
        if last is None or now - last >= 1.0:
            self._histories = self._monitor.rate_histories()
            self._histories_read = now
        return self._histories

    async def snapshot(self) -> Snapshot:
        return self.take_snapshot()

    def take_snapshot(self) -> Snapshot:
        """Return a snapshot of the runtime. Call it in the runtime's thread."""
        histories = self._rate_histories()
        sink = None if self._sink_statistics is None else self._sink_statistics()
        statistics = self.runtime.statistics()
        if statistics.broker is None and self._last is not None:
            # The run has ended and the broker is closed: keep showing its
            # last counters beside the components' final state.
            latest = snapshot_from_runtime(time.time(), statistics, {}, None)
            return replace(
                self._last,
                taken_at=latest.taken_at,
                runtime_state=latest.runtime_state,
                components=latest.components,
            )
        self._last = snapshot_from_runtime(time.time(), statistics, histories, sink)
        return self._last

    def topology(self) -> TopologyView | None:
        topology = self.runtime.topology
        return TopologyView(
            components=tuple(sorted(c.name for c in topology.components)),
            edges=topology.edges(),
            warnings=topology.lint().warnings,
        )

    @property
    def broker(self) -> Broker | None:
        broker = self.runtime.broker
        return broker if broker.state is BrokerState.RUNNING else None

    def _closed_file(self) -> BrokerFile:
        """Return a reader of the broker's file once the run has ended."""
        broker = self.runtime.broker
        if not isinstance(broker, DurableBroker):
            raise BrokerError(
                "the run has ended and its memory broker kept the records only "
                "while it ran; use LOOMLITE_BROKER=durable to browse them after"
            )
        if self._file is None:
            self._file = BrokerFile(broker.path)
        return self._file

    async def partitions(self, topic: str) -> list[PartitionRange]:
        broker = self.broker
        if broker is None:
            return await self._closed_file().partitions(topic)
        count = broker.topics()[topic].partitions
        return [
            (p, broker.log_start_offset(topic, p), broker.end_offset(topic, p))
            for p in range(count)
        ]

    async def read(
        self, topic: str, partition: int, offset: int, limit: int
    ) -> list[Record]:
        broker = self.broker
        if broker is None:
            return await self._closed_file().read(topic, partition, offset, limit)
        return await broker.read(topic, partition, offset, limit)

    async def offset_for_time(
        self, topic: str, partition: int, timestamp: datetime
    ) -> int | None:
        broker = self.broker
        if broker is None:
            file = self._closed_file()
            return await file.offset_for_time(topic, partition, timestamp)
        offset = await broker.offset_for_time(topic, partition, timestamp)
        return None if offset >= broker.end_offset(topic, partition) else offset

    async def close(self) -> None:
        if self._file is not None:
            self._file.close()
        await super().close()


class ThreadedLiveSource(LiveSource):
    """The runtime of this process, running its event loop ``loop`` in another
    thread.

    Create it in that thread and call ``start_publishing`` there. A timer in
    the runtime's loop then takes a snapshot every ``interval`` real seconds,
    and ``snapshot`` returns the latest one without waiting for that loop: a
    busy pipeline makes the figures older, never the frames later. Reads of
    records and redrives run in the runtime's loop and are awaited from the
    TUI's.
    """

    def __init__(
        self,
        runtime: Runtime,
        loop: asyncio.AbstractEventLoop,
        *,
        interval: float,
        db_url: str | None = None,
        sink_statistics: Callable[[], Any] | None = None,
    ) -> None:
        super().__init__(runtime, db_url=db_url, sink_statistics=sink_statistics)
        if interval <= 0:
            raise ValueError(f"interval must be positive seconds, got {interval!r}")
        self.interval = interval
        self._loop = loop
        self._latest: Snapshot | None = None
        self._timer: asyncio.TimerHandle | None = None
        # Calls sent to the runtime's loop and not done yet. Once the run ends
        # no call is sent, and those still pending are cancelled, because a
        # loop that has stopped would never run them.
        self._calls_lock = threading.Lock()
        self._calls_closed = False
        self._pending: set[concurrent.futures.Future[Any]] = set()

    def start_publishing(self) -> None:
        """Take a snapshot now and then every ``interval``. Call this in the
        runtime's thread."""
        self._publish()

    def stop_publishing(self) -> None:
        """Take a last snapshot, stop, and cancel the calls still pending.
        Call this in the runtime's thread when the run has ended."""
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self._take()
        with self._calls_lock:
            self._calls_closed = True
            pending = list(self._pending)
        for future in pending:
            future.cancel()

    def _publish(self) -> None:
        self._take()
        self._timer = self._loop.call_later(self.interval, self._publish)

    def _take(self) -> None:
        self._latest = self.take_snapshot()

    async def snapshot(self) -> Snapshot:
        latest = self._latest
        if latest is None:
            raise BrokerError("the pipeline has not published a snapshot yet")
        return latest

    async def _in_runtime(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` in the runtime's loop and wait for it here."""
        with self._calls_lock:
            if self._calls_closed or self._loop.is_closed():
                coroutine.close()
                raise BrokerError("the run has ended; its event loop is closed")
            future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
            self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            # The runtime's loop cancelled the call while shutting down.
            raise BrokerError("the run ended before the call finished") from None

    async def partitions(self, topic: str) -> list[PartitionRange]:
        if self.broker is None:
            return await super().partitions(topic)
        return await self._in_runtime(super().partitions(topic))

    async def read(
        self, topic: str, partition: int, offset: int, limit: int
    ) -> list[Record]:
        if self.broker is None:
            return await super().read(topic, partition, offset, limit)
        return await self._in_runtime(super().read(topic, partition, offset, limit))

    async def offset_for_time(
        self, topic: str, partition: int, timestamp: datetime
    ) -> int | None:
        if self.broker is None:
            return await super().offset_for_time(topic, partition, timestamp)
        return await self._in_runtime(
            super().offset_for_time(topic, partition, timestamp)
        )

    async def with_broker(self, function: Callable[[Broker], Awaitable[T]]) -> T:
        broker = self.broker
        if broker is None:
            raise BrokerError("the run has ended; its broker is closed")

        async def call() -> T:
            return await function(broker)

        return await self._in_runtime(call())


class AttachSource(Source):
    """A ``loomlite up`` running in another process, read from ``state_dir``.

    ``db_url`` defaults to the SQLite file ``up`` uses in the state directory.
    Without a durable broker file the screens that show records report that
    the run keeps its records in memory. ``notice`` warns once statistics.json
    is older than ``stale_samples`` monitor intervals; None turns that off.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        db_url: str | None = None,
        stale_samples: float | None = _STALE_SAMPLES,
    ) -> None:
        if not state_dir.is_dir():
            raise FileNotFoundError(
                f"state directory {str(state_dir)!r} does not exist; pass the "
                "--state-dir of a running 'loomlite up'"
            )
        self.state_dir = state_dir
        self.description = f"attached to {state_dir}"
        self._db_url = db_url
        self._file: BrokerFile | None = None
        self._retention: dict[str, Any] = {}
        self._retention_read = 0.0
        self._topology: TopologyView | None = None
        self._snapshot: Snapshot | None = None
        self._version: tuple[int, int] | None = None
        self._interval = _DEFAULT_INTERVAL
        self.stale_samples = stale_samples
        self._open_files()

    def _open_files(self) -> None:
        """Open the database and broker file once ``up`` has created them."""
        if self.sink is None:
            database = self.state_dir / "loomlite.db"
            if self._db_url is not None:
                self.sink = SinkReader(self._db_url)
            elif database.is_file():
                self.sink = SinkReader(f"sqlite:///{database.as_posix()}")
        broker_path = self.state_dir / DURABLE_FILE_NAME
        if self._file is None and broker_path.is_file():
            self._file = BrokerFile(broker_path)

    def _require_file(self) -> BrokerFile:
        self._open_files()
        if self._file is None and not (self.state_dir / STATISTICS_FILE_NAME).exists():
            raise BrokerError(
                f"no run found in {self.state_dir} yet: start 'loomlite up "
                f"--state-dir {self.state_dir}' with LOOMLITE_BROKER=durable to "
                "browse its messages here"
            )
        if self._file is None:
            raise BrokerError(
                f"{self.state_dir} has no {DURABLE_FILE_NAME}: the run keeps its "
                "records in memory; start 'loomlite up' with LOOMLITE_BROKER=durable "
                "to browse messages from another process"
            )
        return self._file

    async def snapshot(self) -> Snapshot:
        path = self.state_dir / STATISTICS_FILE_NAME
        version = await anyio.to_thread.run_sync(_file_version, path)
        if version is None:
            return Snapshot(taken_at=time.time(), runtime_state="waiting")
        self._check_stale(version)
        now = time.monotonic()
        retention_due = now - self._retention_read > _RETENTION_REFRESH
        # The monitor rewrites the file once per sample, so between samples
        # the last snapshot is still current and the JSON is not parsed again.
        if (
            self._snapshot is not None
            and version == self._version
            and not (retention_due and self._file is not None)
        ):
            return self._snapshot
        document = await anyio.to_thread.run_sync(_read_json, path)
        if document is None:
            return Snapshot(taken_at=time.time(), runtime_state="waiting")
        self._open_files()
        if self._file is not None and retention_due:
            self._retention = await self._file.retention()
            self._retention_read = now
        try:
            self._snapshot = snapshot_from_json(document, self._retention)
        except (AttributeError, KeyError, TypeError) as exc:
            # The file passed the version check, but it may be hand-edited or
            # written by another program under the same name.
            raise ValueError(
                f"{path} is malformed: {type(exc).__name__}: {exc}; expected the "
                "file that the monitor of 'loomlite up' writes"
            ) from exc
        self._version = version
        self._interval = float(document.get("interval") or _DEFAULT_INTERVAL)
        return self._snapshot

    def _check_stale(self, version: tuple[int, int]) -> None:
        """Set ``notice`` when the monitor has not rewritten statistics.json
        for ``stale_samples`` intervals, as after ``up`` stopped or was killed."""
        if self.stale_samples is None:
            return
        age = time.time() - version[0] / 1e9
        if age <= self.stale_samples * self._interval:
            self.notice = None
            return
        self.notice = (
            f"{STATISTICS_FILE_NAME} not updated for {age:.0f} s, so "
            "'loomlite up' may have stopped"
        )

    def topology(self) -> TopologyView | None:
        if self._topology is None:
            path = self.state_dir / TOPOLOGY_FILE_NAME
            if not path.is_file():
                return None
            components, edges, warnings = read_topology_file(path)
            self._topology = TopologyView(components, edges, warnings)
        return self._topology

    async def partitions(self, topic: str) -> list[PartitionRange]:
        return await self._require_file().partitions(topic)

    async def read(
        self, topic: str, partition: int, offset: int, limit: int
    ) -> list[Record]:
        return await self._require_file().read(topic, partition, offset, limit)

    async def offset_for_time(
        self, topic: str, partition: int, timestamp: datetime
    ) -> int | None:
        file = self._require_file()
        return await file.offset_for_time(topic, partition, timestamp)

    async def close(self) -> None:
        if self._file is not None:
            self._file.close()
        await super().close()


def _file_version(path: Path) -> tuple[int, int] | None:
    """Return the modification time and size of ``path``, or None if absent."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    return status.st_mtime_ns, status.st_size


def _read_json(path: Path) -> dict[str, Any] | None:
    """Read ``path`` as JSON, or None while the file does not exist yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    document = json.loads(text)
    if not isinstance(document, dict):
        raise ValueError(f"{path} does not contain a JSON object")
    return document


READ_ERRORS: tuple[type[BaseException], ...] = (
    LoomliteError,
    OSError,
    sqlite3.Error,
    SQLAlchemyError,
)
"""Errors a read from a broker or sink can raise; screens show them."""
