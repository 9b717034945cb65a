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

    ``max_committed_bytes`` bounds memory without losing data: after a commit,
    a partition that contains more record bytes than this deletes its oldest
    records, but only those that every active group subscribed to the topic
    has committed. Records that such a group has not committed stay whatever
    their size, and a partition of a topic without active groups keeps all
    its records. None turns this off.
    """

    kind = "memory"

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        rate_window: float = 10.0,
        max_committed_bytes: int | None = None,
    ) -> None:
        if max_committed_bytes is not None and (
            isinstance(max_committed_bytes, bool)
            or not isinstance(max_committed_bytes, int)
            or max_committed_bytes < 1
        ):
            raise ValueError(
                "max_committed_bytes must be a positive number of bytes or None, "
                f"got {max_committed_bytes!r}"
            )
        super().__init__(clock, rate_window=rate_window)
        self.max_committed_bytes = max_committed_bytes

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
        fields = (topic, log.partition, offset, timestamp_ns, key, value, headers, size)
        if log.min_floor is None and log.plain_end == offset:
            # Without active groups no consumer fetches the record, so the log
            # keeps the plain tuple, which the garbage collector stops tracking.
            log.records.append(fields)
            log.end = log.plain_end = offset + 1
            return _new_tuple(Record, fields)
        # The log keeps the returned Record until a check converts it to a
        # plain tuple, so a consumer that keeps up reads this object.
        record: Record = _new_tuple(Record, fields)
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
        fields = (
            log.topic,
            log.partition,
            offset,
            timestamp_ns,
            key,
            value,
            headers,
            size,
        )
        record: Record = _new_tuple(Record, fields)
        log.records.append(record)
        log.end = offset + 1
        self._after_append(log, now_ns)
        log.convert_old_records()
        return record

    async def commit_offsets(
        self, group: GroupState, offsets: Mapping[PartitionLog, int]
    ) -> None:
        self._apply_commit(group, offsets)
        if self.max_committed_bytes is not None:
            for log in offsets:
                self._trim_committed(log, self.max_committed_bytes)

    def _trim_committed(self, log: PartitionLog, max_bytes: int) -> None:
        """Delete the oldest records of ``log`` beyond ``max_bytes``, but none
        at or after the slowest active group's floor."""
        floor = log.min_floor
        if floor is None or floor <= log.log_start:
            return
        log.account_bytes()
        if log.bytes <= max_bytes:
            return
        new_start = min(log.bytes_start(max_bytes), floor)
        if log.trim_to(new_start):
            self._on_trimmed(log, new_start)

    async def read_records(
        self, log: PartitionLog, offset: int, max_records: int
    ) -> list[Record]:
        # The memory broker caches every retained record.
        return log.read_cached(offset, max_records)
