"""MemoryBroker: partition logs, groups and offsets kept in this process only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from loomlite.broker._core import LogBroker
from loomlite.broker._groups import GroupState
from loomlite.broker._log import PartitionLog
from loomlite.broker._topic import normalise_payload
from loomlite.broker.base import Header, Record, RecordMetadata, timestamp_to_nanos
from loomlite.clock import Clock

__all__ = ["MemoryBroker"]

_new_tuple = tuple.__new__
_NO_HEADERS: tuple[Header, ...] = ()  # the empty-tuple singleton


class MemoryBroker(LogBroker):
    """A broker whose logs live in memory and end with the process.

    Retention limits decide how many records each partition keeps; without
    ``max_records`` or ``max_bytes`` a log grows until its records pass
    ``max_age``. ``rate_window`` is the span in seconds of monotonic time over
    which statistics report publish and consume rates.
    """

    kind = "memory"

    def __init__(
        self, clock: Clock | None = None, *, rate_window: float = 10.0
    ) -> None:
        super().__init__(clock, rate_window=rate_window)

    async def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: str | None = None,
        headers: Sequence[Header] = _NO_HEADERS,
        timestamp: datetime | None = None,
    ) -> RecordMetadata:
        """Append a record and return it: a Record is its own RecordMetadata.

        Waits only while the topic's slowest active group lags by
        ``max_pending`` records. A publisher that never has to wait would keep
        the event loop to itself, so publish also yields to other tasks once
        per 4096 records of a partition.
        """
        # The broker's hot path. Most publishes only append: the rest
        # (backpressure, waking readers, retention, rate samples) runs in
        # _append_checked when the offset reaches log.check_at.
        try:
            log, size = self._routes[topic][key]
        except KeyError:
            log, size = self._route(topic, key)
        if headers is not _NO_HEADERS or value.__class__ is not bytes:
            value, headers, headers_size = normalise_payload(value, headers)
            size += headers_size
        if timestamp is None:
            timestamp_ns = self._now_ns()
        else:
            timestamp_ns = timestamp_to_nanos(timestamp)
        size += len(value)

        offset = log.end
        if offset >= log.check_at:
            now_ns = timestamp_ns if timestamp is None else None
            return await self._append_checked(
                log, key, value, headers, size, timestamp_ns, now_ns
            )
        record = _new_tuple(
            Record,
            (topic, log.partition, offset, timestamp_ns, key, value, headers, size),
        )
        log.records.append(record)
        log.end = offset + 1
        return record

    async def _append_checked(
        self,
        log: PartitionLog,
        key: str | None,
        value: bytes,
        headers: tuple[Header, ...],
        size: int,
        timestamp_ns: int,
        now_ns: int | None,
    ) -> Record:
        offset = await self._before_append(log)
        record = _new_tuple(
            Record,
            (log.topic, log.partition, offset, timestamp_ns, key, value, headers, size),
        )
        log.records.append(record)
        log.end = offset + 1
        self._after_append(log, now_ns)
        return record

    async def commit_offsets(
        self, group: GroupState, offsets: Mapping[PartitionLog, int]
    ) -> None:
        self._apply_commit(group, offsets)

    async def read_records(
        self, log: PartitionLog, offset: int, max_records: int
    ) -> list[Record]:
        # The memory broker caches every retained record.
        return log.read_cached(offset, max_records)
