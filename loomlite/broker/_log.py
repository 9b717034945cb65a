"""The in-memory state of one partition, shared by the memory and durable brokers.

A log covers the retained offsets ``log_start .. end - 1``. PartitionLog keeps
all of them, which is what the memory broker needs. IndexedPartitionLog, for
the durable broker, keeps each retained record's timestamp and size in compact
arrays but only a bounded window of recent records, ``cache_start .. end - 1``,
and reads older ones from disk.

A log stores older records as plain tuples of their fields and builds Record
objects when they are read. The garbage collector stops tracking a plain
tuple of strings, numbers and bytes at its first collection, but it tracks
every instance of a tuple subclass such as Record for as long as it lives.
With 200,000 retained Records a full collection took 45 ms, and with plain
tuples 13 ms (CPython 3.11, 2-core AMD EPYC).

While a topic has active groups, the memory broker stores the Record that
``publish`` returns, so that a consumer that keeps up reads that same object
instead of building a second one. ``plain_end`` separates the two forms:
offsets before it contain plain tuples, and offsets from it on may contain
Records. At each check the broker
converts committed Records, and any RECENT_RECORDS or more behind the end, to
plain tuples (see ``convert_old_records``), so at most about RECENT_RECORDS
Records per partition stay tracked.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from datetime import timedelta
from itertools import repeat
from operator import itemgetter
from typing import Any, cast

import anyio

from loomlite.broker._rate import RateMeter
from loomlite.broker.base import Record, RetentionPolicy, TopicPartition

__all__ = [
    "CHECK_EVERY",
    "NO_LIMIT",
    "RECENT_RECORDS",
    "YIELD_EVERY",
    "IndexedPartitionLog",
    "PartitionLog",
    "RecordFields",
]

RecordFields = tuple[Any, ...]
"""The eight fields of a Record in a plain tuple, as a log stores them."""

# A publish takes the slow path at every multiple of CHECK_EVERY of a
# partition's offsets, which applies byte and age retention and samples the
# publish rate, and yields to other tasks at every multiple of YIELD_EVERY.
CHECK_EVERY = 256
YIELD_EVERY = 4096

# The memory broker converts a stored Record to a plain tuple at the latest
# when it is this many offsets behind the end. Two yields of a publisher leave
# room for a consumer that wakes at each yield and reads up to the end.
# NOTE: the bound is per partition and conversion runs only at checks. Each
# partition whose groups lag, or that stopped receiving records before they
# were committed, keeps up to this many tracked Records: with 100 such
# partitions of 2,000 records a full collection took 41 ms instead of 13 ms.
RECENT_RECORDS = 2 * YIELD_EVERY

NO_LIMIT = sys.maxsize

# Deleted entries at the head of a list stay until they are at least half of
# the list, and for the durable broker's index arrays also at least this many.
# Then they are dropped in one step, so a trim costs O(1) amortised instead of
# shifting the whole list each time. Record lists have no such minimum, and
# a trim replaces their deleted records with a placeholder at once, because a
# few audio records take megabytes.
_COMPACT_AFTER = 4096

# Between two trims, a log may exceed max_records or max_bytes by this
# fraction of the limit (1/16), so that a full log is not trimmed on every
# publish. enforce_retention trims to the exact limit.
_OVERSHOOT_DIVISOR = 16

_ONE_MICROSECOND = timedelta(microseconds=1)

# Placeholder in the slot of a deleted record, until its list is compacted.
_RELEASED = ("", -1, -1, 0, None, b"", (), 0)
_size_of = itemgetter(7)  # Record keeps its size as its eighth item
_new_tuple = tuple.__new__
# Slicing a whole Record returns a plain tuple of its fields.
_plain_fields = itemgetter(slice(None))


class PartitionLog:
    """Offsets, retained records, retention state and waiters of one partition.

    The memory broker's publish appends to ``records`` and ``end`` directly
    while ``end < check_at``, and runs the full checks otherwise.
    ``check_at`` is the smallest of: ``wait_at`` (backpressure), the next
    multiple of CHECK_EVERY, the offset at which count retention trims, and
    ``end`` itself while a consumer waits in ``readers``. Limits that do not
    apply are NO_LIMIT (``sys.maxsize``).

    ``bytes`` counts the retained records before ``accounted_end``;
    ``account_bytes`` brings it up to date. The memory broker calls it when it
    needs the total: for byte retention and for statistics.

    ``floors`` maps each active group subscribed to the topic to the offset
    its lag counts from (its committed offset, or where it started), and
    ``wait_at`` is ``min_floor + max_pending``. ``pending``
    counts records that the durable broker accepted but has not yet written.
    """

    __slots__ = (
        "_records_head",
        "accounted_end",
        "age_deadline_ns",
        "bytes",
        "cache_start",
        "check_at",
        "checked_end",
        "end",
        "floors",
        "log_start",
        "max_age_ns",
        "max_bytes",
        "max_pending",
        "max_records",
        "meter",
        "min_floor",
        "partition",
        "pending",
        "plain_end",
        "readers",
        "records",
        "restored_end",
        "space_event",
        "storage_id",
        "topic",
        "tp",
        "trim_bytes_at",
        "trim_records_at",
        "wait_at",
    )

    def __init__(
        self,
        topic: str,
        partition: int,
        retention: RetentionPolicy,
        meter: RateMeter,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.tp = TopicPartition(topic, partition)
        self.storage_id: int | None = None  # the durable broker's row id
        self.meter = meter  # publish rate; samples ``published``
        self.log_start = 0
        self.end = 0
        self.restored_end = 0  # end offset when the broker started
        self.accounted_end = 0
        self.bytes = 0
        self.pending = 0
        self.cache_start = 0
        self.records: list[RecordFields] = []
        self.plain_end = 0
        self.checked_end = 0  # end at the memory broker's previous check
        self._records_head = 0
        self.readers: set[anyio.Event] = set()
        self.floors: dict[str, int] = {}
        self.min_floor: int | None = None
        self.space_event: anyio.Event | None = None
        self.wait_at = NO_LIMIT
        self.check_at = 0
        self.age_deadline_ns = NO_LIMIT
        self.max_age_ns: int | None = None
        self.max_records: int | None = None
        self.max_bytes: int | None = None
        self.max_pending: int | None = None
        self.trim_records_at = NO_LIMIT
        self.trim_bytes_at = NO_LIMIT
        self.apply_policy(retention)

    def apply_policy(self, retention: RetentionPolicy) -> None:
        """Take the limits of ``retention``; the next enforcement applies them."""
        age = retention.max_age
        self.max_age_ns = None if age is None else age // _ONE_MICROSECOND * 1000
        self.max_records = retention.max_records
        self.max_bytes = retention.max_bytes
        self.max_pending = retention.max_pending
        self.trim_records_at = _with_overshoot(self.max_records)
        self.trim_bytes_at = _with_overshoot(self.max_bytes)
        self.update_age_deadline()
        self._update_wait_at()

    @property
    def published(self) -> int:
        """Records appended since the broker started."""
        return self.end - self.restored_end

    def update_check_at(self) -> None:
        if self.readers:
            self.check_at = self.end
            return
        periodic = (self.end // CHECK_EVERY + 1) * CHECK_EVERY
        count_limit = self.log_start + self.trim_records_at
        self.check_at = min(self.wait_at, periodic, count_limit)

    # -- records ---------------------------------------------------------------

    def append(self, record: Record) -> None:
        """Append ``record``, whose offset must be ``end``, and wake readers."""
        self.records.append(tuple(record))  # see the module docstring
        self.end += 1
        self.plain_end = self.end
        if self.age_deadline_ns == NO_LIMIT:
            self.update_age_deadline()
        if self.readers:
            self.wake_readers()

    def account_bytes(self) -> None:
        """Add the sizes of records appended since the last call to ``bytes``."""
        if self.accounted_end < self.end:
            self.bytes += self._sizes_between(self.accounted_end, self.end)
            self.accounted_end = self.end

    def read_cached(self, offset: int, max_records: int) -> list[Record]:
        """Return up to ``max_records`` records from ``offset`` on, which must
        lie in ``cache_start .. end``."""
        head = self._records_head - self.cache_start
        stop = offset + max_records
        if offset >= self.plain_end:
            # Only stored Records: the caller gets the same objects.
            return cast("list[Record]", self.records[head + offset : head + stop])
        plain_stop = min(stop, self.plain_end)
        fields = self.records[head + offset : head + plain_stop]
        records: list[Record] = list(
            map(_new_tuple, repeat(Record, len(fields)), fields)
        )
        if stop > plain_stop:
            stored = self.records[head + plain_stop : head + stop]
            records += cast("list[Record]", stored)
        return records

    def convert_old_records(self) -> None:
        """Convert stored Records to plain tuples at a check of the memory
        broker.

        Without active groups no consumer fetches the records, so all are
        converted. Otherwise the committed ones are converted, at most as
        many as were published since the previous check, and any Record
        RECENT_RECORDS or more behind the end in any case. While a partition
        is busy, each check then frees about as many Records as it created
        since the previous one. The garbage collector's count of new objects
        therefore stays flat, and publishing alone seldom starts a
        generation-0 collection.
        """
        published = self.end - self.checked_end
        self.checked_end = self.end
        floor = self.min_floor
        if floor is None:
            self.convert_to_plain(self.end)
            return
        until = max(self.end - RECENT_RECORDS, min(floor, self.plain_end + published))
        self.convert_to_plain(until)

    def convert_to_plain(self, until: int) -> None:
        """Replace the stored Records before offset ``until`` with plain tuples
        of their fields (see the module docstring)."""
        start = max(self.plain_end, self.cache_start)
        until = min(until, self.end)
        if until <= start:
            return
        head = self._records_head - self.cache_start
        stored = self.records[head + start : head + until]
        self.records[head + start : head + until] = map(_plain_fields, stored)
        self.plain_end = until

    def _timestamp_at(self, offset: int) -> int:
        nanos: int = self.records[self._records_head + offset - self.cache_start][3]
        return nanos

    def _size_at(self, offset: int) -> int:
        size: int = self.records[self._records_head + offset - self.cache_start][7]
        return size

    def _sizes_between(self, first: int, last: int) -> int:
        head = self._records_head - self.cache_start
        return sum(map(_size_of, self.records[head + first : head + last]))

    def offset_for_time(self, timestamp_ns: int) -> int:
        """Return the first retained offset whose timestamp is at or after
        ``timestamp_ns``, or ``end`` when there is none.

        Producers set timestamps, so they need not grow with the offset; this
        scans the log instead of bisecting it.
        """
        for offset in range(self.log_start, self.end):
            if self._timestamp_at(offset) >= timestamp_ns:
                return offset
        return self.end

    # -- retention -------------------------------------------------------------

    def retention_start(self, now_ns: int | None) -> int:
        """Return the log start offset that the retention limits allow.

        Age is checked only when ``now_ns`` is given. Each limit deletes a
        prefix of the log. Byte retention keeps the newest record even when it
        alone exceeds ``max_bytes``, so that a consumer can still read it. Age
        retention stops at the first record younger than ``max_age``, so an
        old record behind a younger one waits for it.
        """
        start = self.log_start
        if self.max_records is not None:
            start = max(start, self.end - self.max_records)
        if self.max_bytes is not None:
            self.account_bytes()
            if self.bytes > self.max_bytes:
                start = max(start, self.bytes_start(self.max_bytes))
        if self.max_age_ns is not None and now_ns is not None:
            start = max(start, self._age_start(now_ns - self.max_age_ns))
        return start

    def bytes_start(self, max_bytes: int) -> int:
        """Return the first offset from which the retained records contain at
        most ``max_bytes``, but at most the offset of the newest record.

        ``bytes`` must be up to date (see ``account_bytes``).
        """
        excess = self.bytes - max_bytes
        offset = self.log_start
        while excess > 0 and offset < self.end - 1:
            excess -= self._size_at(offset)
            offset += 1
        return offset

    def _age_start(self, cutoff_ns: int) -> int:
        offset = self.log_start
        while offset < self.end and self._timestamp_at(offset) < cutoff_ns:
            offset += 1
        return offset

    def trim_to(self, new_start: int) -> int:
        """Delete the records before ``new_start`` and return how many."""
        if new_start <= self.log_start:
            return 0
        removed = new_start - self.log_start
        # Only records before accounted_end are in bytes.
        accounted = min(new_start, self.accounted_end)
        if accounted > self.log_start:
            self.bytes -= self._sizes_between(self.log_start, accounted)
        self.accounted_end = max(self.accounted_end, new_start)
        self._drop_index(removed)
        if self.cache_start < new_start:
            self._drop_cached(new_start - self.cache_start)
        self.log_start = new_start
        self.update_age_deadline()
        self.update_check_at()
        return removed

    def _drop_index(self, count: int) -> None:
        """Forget the index entries of the ``count`` oldest retained records."""

    def _drop_cached(self, count: int) -> None:
        self.cache_start += count
        # The placeholders that replace dropped records are plain tuples.
        self.plain_end = max(self.plain_end, self.cache_start)
        first = self._records_head
        head = self._records_head = first + count
        if 2 * head >= len(self.records):
            del self.records[:head]
            self._records_head = 0
        else:
            # The slots stay until the head is compacted, but the records
            # and their values leave memory now.
            self.records[first:head] = [_RELEASED] * count

    def update_age_deadline(self) -> None:
        """Set ``age_deadline_ns`` from the oldest record and ``max_age``."""
        if self.max_age_ns is None or self.end == self.log_start:
            self.age_deadline_ns = NO_LIMIT
        else:
            self.age_deadline_ns = self._timestamp_at(self.log_start) + self.max_age_ns

    # -- backpressure and waiters ----------------------------------------------

    def add_reader(self, event: anyio.Event) -> None:
        """Wake ``event`` at the next append, which takes the slow path for it."""
        self.readers.add(event)
        self.check_at = self.end

    def wake_readers(self) -> None:
        for event in self.readers:
            event.set()
        self.readers.clear()

    def wake_publishers(self) -> None:
        if self.space_event is not None:
            self.space_event.set()
            self.space_event = None

    def must_wait(self) -> bool:
        """Return whether a publish must wait for the slowest group to commit."""
        return self.end + self.pending >= self.wait_at

    def set_floors(self, floors: Iterable[tuple[str, int]]) -> None:
        """Set the lag floor of each given group, then wake waiting publishers."""
        for group, offset in floors:
            self.floors[group] = offset
        self._update_wait_at()

    def remove_floor(self, group: str) -> None:
        if self.floors.pop(group, None) is not None:
            self._update_wait_at()

    def _update_wait_at(self) -> None:
        self.min_floor = min(self.floors.values()) if self.floors else None
        if self.min_floor is None or self.max_pending is None:
            self.wait_at = NO_LIMIT
        else:
            self.wait_at = self.min_floor + self.max_pending
        self.update_check_at()
        self.wake_publishers()


class IndexedPartitionLog(PartitionLog):
    """A partition log that caches only its recent records as objects.

    Every retained record's timestamp and size stay in arrays, enough for
    retention and time lookups. The cache keeps at most ``max_cache_records``
    records and ``max_cache_bytes`` bytes, but always the newest record.
    ``bytes`` is always up to date.
    """

    __slots__ = (
        "_index_head",
        "_sizes",
        "_timestamps",
        "cache_bytes",
        "max_cache_bytes",
        "max_cache_records",
    )

    def __init__(
        self,
        topic: str,
        partition: int,
        retention: RetentionPolicy,
        meter: RateMeter,
        *,
        max_cache_records: int,
        max_cache_bytes: int,
    ) -> None:
        self._timestamps = array("q")
        self._sizes = array("q")
        self._index_head = 0
        self.cache_bytes = 0
        self.max_cache_records = max_cache_records
        self.max_cache_bytes = max_cache_bytes
        super().__init__(topic, partition, retention, meter)

    def restore(
        self, log_start: int, timestamps: array[int], sizes: array[int]
    ) -> None:
        """Load the index of a log recovered from disk, with nothing cached."""
        self.log_start = log_start
        self.end = log_start + len(timestamps)
        self.restored_end = self.end
        self.accounted_end = self.end
        self.cache_start = self.end
        self.plain_end = self.end
        self._timestamps = timestamps
        self._sizes = sizes
        self._index_head = 0
        self.bytes = sum(sizes)
        self.update_age_deadline()
        self.update_check_at()

    def append(self, record: Record) -> None:
        size = record.size
        self._timestamps.append(record.timestamp_ns)
        self._sizes.append(size)
        self.cache_bytes += size
        self.bytes += size
        self.accounted_end = self.end + 1
        super().append(record)
        self._evict_cache()

    def account_bytes(self) -> None:
        """Do nothing: ``append`` keeps ``bytes`` up to date."""

    def _timestamp_at(self, offset: int) -> int:
        return self._timestamps[self._index_head + offset - self.log_start]

    def _size_at(self, offset: int) -> int:
        return self._sizes[self._index_head + offset - self.log_start]

    def _sizes_between(self, first: int, last: int) -> int:
        head = self._index_head - self.log_start
        return sum(self._sizes[head + first : head + last])

    def offset_for_time(self, timestamp_ns: int) -> int:
        head = self._index_head
        for index in range(head, len(self._timestamps)):
            if self._timestamps[index] >= timestamp_ns:
                return self.log_start + index - head
        return self.end

    def trim_to(self, new_start: int) -> int:
        if self.cache_start < new_start:
            # Uncache first, while the index still has the sizes.
            self._drop_cached(min(new_start, self.end) - self.cache_start)
        return super().trim_to(new_start)

    def _drop_index(self, count: int) -> None:
        self._index_head += count
        head = self._index_head
        if head >= _COMPACT_AFTER and 2 * head >= len(self._sizes):
            del self._timestamps[:head]
            del self._sizes[:head]
            self._index_head = 0

    def _drop_cached(self, count: int) -> None:
        self.cache_bytes -= self._sizes_between(
            self.cache_start, self.cache_start + count
        )
        super()._drop_cached(count)

    def _evict_cache(self) -> None:
        cached_records = self.end - self.cache_start
        excess = max(0, cached_records - self.max_cache_records)
        first = self.cache_start
        cached_bytes = self.cache_bytes - self._sizes_between(first, first + excess)
        # Keep the newest record even when it alone exceeds the byte limit.
        while cached_bytes > self.max_cache_bytes and excess < cached_records - 1:
            cached_bytes -= self._size_at(first + excess)
            excess += 1
        if excess:
            self._drop_cached(excess)


def _with_overshoot(limit: int | None) -> int:
    if limit is None:
        return NO_LIMIT
    return limit + limit // _OVERSHOOT_DIVISOR
