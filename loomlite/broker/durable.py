"""DurableBroker: the memory broker's semantics with the logs in a SQLite file.

A record becomes visible to consumers, and ``publish`` returns, only after
the transaction that contains it has committed. Publishes and commits that
arrive while a transaction is being written wait for the next one, so many
of them share one commit (group commit). A new DurableBroker on the same file
resumes with the topics, retained records, log start offsets and committed
offsets that the file contains.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import anyio

from loomlite.broker._core import LogBroker
from loomlite.broker._groups import GroupState
from loomlite.broker._log import IndexedPartitionLog, PartitionLog
from loomlite.broker._store import SqliteStore, StoredState, WriteBatch
from loomlite.broker._topic import normalise_payload
from loomlite.broker.base import (
    Header,
    Record,
    RecordMetadata,
    TopicConfig,
    TopicPartition,
    timestamp_to_nanos,
)
from loomlite.clock import Clock
from loomlite.errors import BrokerError, BrokerStorageError

__all__ = ["DurableBroker"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
_new_tuple = tuple.__new__

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


def _lock_broker_file(path: Path) -> int | None:
    """Take the exclusive lock of the broker file ``path`` and return the
    lock file's descriptor, or None where ``fcntl`` is missing.

    The lock is on ``<path>.lock`` so that it never interferes with SQLite's
    own locks on the file. The kernel drops it when the process ends, also
    on SIGKILL, so a crash leaves no stale lock.
    """
    if fcntl is None:
        return None
    lock_path = path.with_name(path.name + ".lock")
    try:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise BrokerStorageError(
            f"cannot open the lock file {lock_path}: {error.strerror}", path=str(path)
        ) from error
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
        os.close(descriptor)
        raise BrokerStorageError(
            f"the broker file is in use by process {holder or '(unknown)'}, so "
            "stop the loomlite command that uses this state directory and try again",
            path=str(path),
        ) from None
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode("ascii"), 0)
    return descriptor


def _unlock_broker_file(descriptor: int | None) -> None:
    if descriptor is not None:
        with contextlib.suppress(OSError):
            os.close(descriptor)


class _Batch:
    """Changes waiting for, or in, one write transaction."""

    __slots__ = ("commits", "done", "error", "records", "trims")

    def __init__(self) -> None:
        self.records: list[tuple[PartitionLog, Record]] = []
        self.commits: list[tuple[GroupState, dict[PartitionLog, int]]] = []
        self.trims: dict[PartitionLog, int] = {}
        self.done = anyio.Event()
        self.error: BrokerError | None = None

    def __bool__(self) -> bool:
        return bool(self.records or self.commits or self.trims)

    def rows(self) -> WriteBatch:
        return WriteBatch(
            records=[
                (_storage_id(log), r[2], r[3], r[4], r[5], r[6], r[7])
                for log, r in self.records
            ],
            commits=[
                (group.name, log.topic, log.partition, offset)
                for group, offsets in self.commits
                for log, offset in offsets.items()
            ],
            trims=[(start, _storage_id(log)) for log, start in self.trims.items()],
        )


def _storage_id(log: PartitionLog) -> int:
    if log.storage_id is None:
        raise BrokerError(f"internal error: {log.tp} has no row in the broker file")
    return log.storage_id


class DurableBroker(LogBroker):
    """A broker whose logs and committed offsets live in a SQLite file.

    ``path`` is the file, which the database sink may share. ``synchronous``
    is FULL (survives a power loss) or NORMAL (survives a crash of the
    process, faster on slow disks). ``busy_timeout`` is how many seconds a
    write waits for another connection before it is retried; waits never
    reach the caller as "database is locked". Each partition keeps its newest
    ``max_cache_records`` records, at most ``max_cache_bytes`` bytes, in
    memory; consumers that lag further behind read from the file.

    Only one broker may use a file at a time: ``start`` takes an exclusive
    ``flock`` on ``<path>.lock`` and raises BrokerStorageError naming the
    holder's process id when another broker, in any process, holds it.

    NOTE: the durable broker needs the asyncio event loop, because its writer
    thread reports finished writes with ``loop.call_soon_threadsafe``. On
    systems without ``fcntl`` (Windows) the lock is not taken.
    """

    kind = "durable"

    def __init__(
        self,
        path: str | os.PathLike[str],
        clock: Clock | None = None,
        *,
        rate_window: float = 10.0,
        synchronous: str = "FULL",
        busy_timeout: float = 5.0,
        max_cache_records: int = 1024,
        max_cache_bytes: int = 1 << 20,
    ) -> None:
        super().__init__(clock, rate_window=rate_window)
        if max_cache_records < 1 or max_cache_bytes < 1:
            raise ValueError(
                "max_cache_records and max_cache_bytes must be at least 1, got "
                f"{max_cache_records!r} and {max_cache_bytes!r}"
            )
        self.path = Path(path)
        self._store = SqliteStore(
            self.path, synchronous=synchronous, busy_timeout=busy_timeout
        )
        self._max_cache_records = max_cache_records
        self._max_cache_bytes = max_cache_bytes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._open_batch = _Batch()
        self._in_flight: _Batch | None = None
        self._write_error: BrokerStorageError | None = None
        self._lock: int | None = None

    def __repr__(self) -> str:
        return f"DurableBroker(path={str(self.path)!r}, state={self._state.value!r})"

    def _new_log(self, config: TopicConfig, partition: int) -> PartitionLog:
        return IndexedPartitionLog(
            config.name,
            partition,
            config.retention,
            self._new_meter(),
            max_cache_records=self._max_cache_records,
            max_cache_bytes=self._max_cache_bytes,
        )

    # -- threads ---------------------------------------------------------------

    async def _run(
        self,
        executor: ThreadPoolExecutor | None,
        function: Callable[..., T],
        *args: object,
    ) -> T:
        """Run ``function`` in ``executor``'s thread, translating sqlite3 errors."""
        if executor is None:
            raise BrokerStorageError("the broker file is not open", path=str(self.path))
        try:
            return await asyncio.wrap_future(executor.submit(function, *args))
        except sqlite3.Error as error:
            raise BrokerStorageError(
                f"{function.__name__} failed: {error}", path=str(self.path)
            ) from error

    # -- lifecycle -------------------------------------------------------------

    async def _open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._lock = _lock_broker_file(self.path)
        self._writer = ThreadPoolExecutor(
            1, thread_name_prefix="loomlite-broker-writer"
        )
        self._reader = ThreadPoolExecutor(
            1, thread_name_prefix="loomlite-broker-reader"
        )
        try:
            stored = await self._run(self._writer, self._store.open_writer)
            await self._run(self._reader, self._store.open_reader)
        except BaseException:
            await self._shutdown_threads()
            _unlock_broker_file(self._lock)
            self._lock = None
            raise
        self._restore(stored)
        removed = self._retain_all()
        logger.info(
            "opened broker file %s: %d topic(s), %d retained record(s), "
            "%d group(s); retention deleted %d record(s)",
            self.path,
            len(self._topics),
            sum(
                log.end - log.log_start for t in self._topics.values() for log in t.logs
            ),
            len(self._groups),
            removed,
        )

    def _restore(self, stored: StoredState) -> None:
        for stored_topic in stored.topics:
            ids = [p.storage_id for p in stored_topic.partitions]
            topic = self._add_topic(stored_topic.config, ids)
            for log, stored_partition in zip(
                topic.logs, stored_topic.partitions, strict=True
            ):
                if isinstance(log, IndexedPartitionLog):
                    log.restore(
                        stored_partition.log_start,
                        stored_partition.timestamps,
                        stored_partition.sizes,
                    )
        for group_name, topic_name, partition, offset in stored.offsets:
            group = self._groups.get(group_name)
            if group is None:
                group = self._groups[group_name] = GroupState(
                    group_name, self._rate_window
                )
            group.committed[TopicPartition(topic_name, partition)] = offset

    async def _release(self) -> None:
        # close() already woke publishers that wait for space; they raise.
        # Records and commits that were accepted are still written.
        while True:
            batch = self._in_flight
            if batch is None:
                if not self._open_batch:
                    break
                self._dispatch()
                continue
            await batch.done.wait()
        try:
            await self._run(self._writer, self._store.close_writer)
            await self._run(self._reader, self._store.close_reader)
        finally:
            await self._shutdown_threads()
            _unlock_broker_file(self._lock)
            self._lock = None

    async def _shutdown_threads(self) -> None:
        for executor in (self._writer, self._reader):
            if executor is not None:
                executor.shutdown(wait=False)
        self._writer = None
        self._reader = None

    # -- writing ---------------------------------------------------------------

    def _check_writable(self) -> None:
        if self._write_error is not None:
            raise BrokerStorageError(
                "the broker stopped writing after an earlier write failed "
                f"({self._write_error}); close it and open the file again",
                path=str(self.path),
            ) from self._write_error

    async def _submit(self) -> None:
        """Wait until the open batch, which the caller just added to, is written."""
        batch = self._open_batch
        if self._in_flight is None:
            self._dispatch()
        await batch.done.wait()
        if batch.error is not None:
            raise batch.error

    def _dispatch(self) -> None:
        batch = self._open_batch
        self._open_batch = _Batch()
        self._in_flight = batch
        loop = self._loop
        if self._writer is None or loop is None:
            raise BrokerStorageError("the broker file is not open", path=str(self.path))
        future = self._writer.submit(self._store.write, batch.rows())

        def written(done: Future[None]) -> None:
            loop.call_soon_threadsafe(self._on_written, batch, done)

        future.add_done_callback(written)

    def _on_written(self, batch: _Batch, future: Future[None]) -> None:
        error = future.exception()
        if error is None:
            try:
                self._apply(batch)
            except Exception as apply_error:  # an internal error: stop writing
                self._fail(batch, apply_error)
        else:
            self._fail(batch, error)
        self._in_flight = None
        batch.done.set()
        if self._open_batch:
            self._dispatch()

    def _apply(self, batch: _Batch) -> None:
        touched: dict[PartitionLog, None] = {}
        for log, record in batch.records:
            log.pending -= 1
            if record[2] != log.end:
                raise BrokerError(
                    f"internal error: record {record[2]} of {log.tp} was written "
                    f"after offset {log.end - 1}; please report this loomlite bug"
                )
            log.append(record)
            touched[log] = None
        for log in touched:
            self._after_append(log, None)
        for group, offsets in batch.commits:
            self._apply_commit(group, offsets)

    def _fail(self, batch: _Batch, error: BaseException) -> None:
        logger.error(
            "writing %d record(s) and %d commit(s) to broker file %s failed; the "
            "broker accepts no more writes",
            len(batch.records),
            len(batch.commits),
            self.path,
            exc_info=error,
        )
        failure = BrokerStorageError(f"write failed: {error}", path=str(self.path))
        failure.__cause__ = error
        self._write_error = failure
        batch.error = failure
        # The open batch has offsets after the failed ones, so it cannot be
        # written either.
        waiting = self._open_batch
        self._open_batch = _Batch()
        waiting.error = failure
        waiting.done.set()
        # Publishers that wait for space would wait forever: no commit can
        # be stored any more. Wake them so that they raise.
        for topic in self._topics.values():
            for log in topic.logs:
                log.wake_publishers()

    def _on_trimmed(self, log: PartitionLog, new_start: int) -> None:
        if self._write_error is not None:
            return
        self._open_batch.trims[log] = new_start
        if self._in_flight is None and self._writer is not None:
            self._dispatch()

    # -- the Broker interface --------------------------------------------------

    async def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: str | None = None,
        headers: Sequence[Header] = (),
        timestamp: datetime | None = None,
    ) -> RecordMetadata:
        """Append a record and return it once it is written to the file.

        A publish that is cancelled while it waits for the write may still be
        stored.
        """
        self.require_running("publish")
        self._check_writable()
        log, size = self.topic_state(topic).route(key)
        value, headers, headers_size = normalise_payload(value, headers)
        size += headers_size + len(value)
        if timestamp is None:
            timestamp_ns = self._now_ns()
        else:
            timestamp_ns = timestamp_to_nanos(timestamp)
        if log.must_wait():
            await self._wait_for_space(log)
            self._check_writable()

        offset = log.end + log.pending
        log.pending += 1
        record = _new_tuple(
            Record,
            (topic, log.partition, offset, timestamp_ns, key, value, headers, size),
        )
        self._open_batch.records.append((log, record))
        await self._submit()
        return record

    async def commit_offsets(
        self, group: GroupState, offsets: Mapping[PartitionLog, int]
    ) -> None:
        self._check_writable()
        self._open_batch.commits.append((group, dict(offsets)))
        await self._submit()

    async def read_records(
        self, log: PartitionLog, offset: int, max_records: int
    ) -> list[Record]:
        if offset >= log.cache_start:
            return log.read_cached(offset, max_records)
        limit = min(max_records, log.cache_start - offset)
        records = await self._run(
            self._reader,
            self._store.read,
            _storage_id(log),
            log.topic,
            log.partition,
            offset,
            limit,
        )
        if not records and offset >= log.log_start:
            raise BrokerStorageError(
                f"records from offset {offset} of {log.tp} are missing from the "
                "file although the log still retains them",
                path=str(self.path),
            )
        return records

    async def _store_topic(self, config: TopicConfig) -> Sequence[int | None]:
        self._check_writable()
        return await self._run(self._writer, self._store.save_topic, config)

    async def _delete_stored_group(self, group: str) -> None:
        self._check_writable()
        await self._run(self._writer, self._store.delete_group, group)
