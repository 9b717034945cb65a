"""The broker interface that the memory, durable and Kafka brokers implement.

Semantics follow Kafka: each topic has partitions, each partition is an
append-only log of records with offsets counting up from 0, a record's key
picks its partition, and consumer groups track a committed offset per
partition. A committed offset is the offset of the next record to read, as in
Kafka. Records are plain bytes; the contract layer encodes and decodes them.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

__all__ = [
    "Broker",
    "BrokerState",
    "BrokerStatistics",
    "Consumer",
    "GroupPartitionStatistics",
    "Header",
    "OffsetReset",
    "PartitionStatistics",
    "Record",
    "RecordMetadata",
    "RetentionPolicy",
    "TopicConfig",
    "TopicPartition",
    "TopicStatistics",
    "nanos_to_timestamp",
    "record_size",
    "timestamp_to_nanos",
]

Header = tuple[str, bytes]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class TopicPartition(tuple[str, int]):
    """A topic name and a partition number, ordered by topic, then partition.

    A tuple underneath, so that hashing and comparing it (dictionary keys on
    the broker's fetch and commit paths) run in C.
    """

    __slots__ = ()

    def __new__(cls, topic: str, partition: int) -> Self:
        return tuple.__new__(cls, (topic, partition))

    def __getnewargs__(self) -> tuple[str, int]:
        return (self[0], self[1])

    @property
    def topic(self) -> str:
        return self[0]

    @property
    def partition(self) -> int:
        return self[1]

    def __str__(self) -> str:
        return f"{self[0]}[{self[1]}]"

    def __repr__(self) -> str:
        return f"TopicPartition(topic={self[0]!r}, partition={self[1]})"


def timestamp_to_nanos(timestamp: datetime) -> int:
    """Convert an aware datetime to integer nanoseconds since the Unix epoch.

    Raises ValueError for a naive datetime and TypeError for other types.
    """
    try:
        return (timestamp - _EPOCH) // _MICROSECOND * 1000
    except TypeError:
        if isinstance(timestamp, datetime):
            raise ValueError(
                f"timestamp must be timezone-aware, got naive {timestamp!r}; "
                "pass datetime(..., tzinfo=UTC)"
            ) from None
        raise TypeError(
            f"timestamp must be a datetime, got {type(timestamp).__name__}"
        ) from None


def nanos_to_timestamp(nanos: int) -> datetime:
    """Convert nanoseconds since the Unix epoch to an aware UTC datetime.

    datetime has microsecond resolution, so this drops the last three digits.
    """
    return _EPOCH + timedelta(microseconds=nanos // 1000)


# Record and RecordMetadata are tuples underneath. A frozen dataclass spends
# about 2.5 us in __init__ on a slow machine, more than an asyncio.Queue needs
# to carry a message, so the broker builds records with tuple.__new__ instead.
# The timestamp is stored as integer nanoseconds, and the datetime is built
# only when the attribute is read.


def record_size(key: str | None, value: bytes, headers: tuple[Header, ...]) -> int:
    """Return the bytes of a record that count against byte retention: the
    UTF-8 key, the value, and each header's name (in characters) and value."""
    size = len(value)
    if key is not None:
        size += len(key.encode())
    for name, data in headers:
        size += len(name) + len(data)
    return size


class RecordMetadata(tuple[Any, ...]):
    """The position of a published record: topic, partition, offset, timestamp.

    Instances are immutable, hashable and compare by value.
    """

    __slots__ = ()

    def __new__(
        cls, topic: str, partition: int, offset: int, timestamp: datetime
    ) -> Self:
        return tuple.__new__(
            cls, (topic, partition, offset, timestamp_to_nanos(timestamp))
        )

    def __getnewargs__(self) -> tuple[Any, ...]:
        return (self[0], self[1], self[2], self.timestamp)

    @property
    def topic(self) -> str:
        topic: str = self[0]
        return topic

    @property
    def partition(self) -> int:
        partition: int = self[1]
        return partition

    @property
    def offset(self) -> int:
        offset: int = self[2]
        return offset

    @property
    def timestamp_ns(self) -> int:
        """The timestamp in nanoseconds since the Unix epoch."""
        nanos: int = self[3]
        return nanos

    @property
    def timestamp(self) -> datetime:
        """The record's timestamp as an aware UTC datetime."""
        return nanos_to_timestamp(self[3])

    def __repr__(self) -> str:
        return (
            f"RecordMetadata(topic={self.topic!r}, partition={self.partition}, "
            f"offset={self.offset}, timestamp={self.timestamp.isoformat()})"
        )


class Record(RecordMetadata):
    """One record of a partition log.

    ``timestamp`` is the producer's time for the record (for loomlite
    messages, the event time ``recorded_at``) as an aware UTC datetime.
    A record is also the RecordMetadata of its own position.
    """

    __slots__ = ()

    def __new__(
        cls,
        topic: str,
        partition: int,
        offset: int,
        timestamp: datetime,
        key: str | None,
        value: bytes,
        headers: tuple[Header, ...] = (),
    ) -> Self:
        headers = tuple(headers)
        size = record_size(key, value, headers)
        nanos = timestamp_to_nanos(timestamp)
        fields = (topic, partition, offset, nanos, key, value, headers, size)
        return tuple.__new__(cls, fields)

    def __getnewargs__(self) -> tuple[Any, ...]:
        return (*self[:3], self.timestamp, *self[4:7])

    @property
    def key(self) -> str | None:
        key: str | None = self[4]
        return key

    @property
    def value(self) -> bytes:
        value: bytes = self[5]
        return value

    @property
    def headers(self) -> tuple[Header, ...]:
        headers: tuple[Header, ...] = self[6]
        return headers

    @property
    def size(self) -> int:
        """Bytes that count against byte retention: key, value and headers."""
        size: int = self[7]
        return size

    def header(self, name: str) -> bytes | None:
        """Return the last value of header ``name``, or None."""
        for key, value in reversed(self[6]):
            if key == name:
                found: bytes = value
                return found
        return None

    def __repr__(self) -> str:
        value = self.value
        value_text = repr(value) if len(value) <= 40 else f"<{len(value)} bytes>"
        return (
            f"Record(topic={self.topic!r}, partition={self.partition}, "
            f"offset={self.offset}, timestamp={self.timestamp.isoformat()}, "
            f"key={self.key!r}, value={value_text}, headers={self.headers!r})"
        )


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Limits after which the oldest records of a partition are deleted.

    ``max_age`` compares a record's timestamp with the broker clock's now.
    ``max_pending`` bounds how far the slowest subscribed group may lag behind
    a partition's end; a publish beyond it waits (backpressure) instead of
    dropping anything. None disables a limit.
    """

    max_age: timedelta | None = None
    max_records: int | None = None
    max_bytes: int | None = None
    max_pending: int | None = 10_000


@dataclass(frozen=True, slots=True)
class TopicConfig:
    name: str
    partitions: int = 1
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)


class OffsetReset(enum.StrEnum):
    """The start position of a group that has no valid committed offset."""

    EARLIEST = "earliest"
    LATEST = "latest"
    NONE = "none"  # raise OffsetOutOfRangeError


class BrokerState(enum.StrEnum):
    CREATED = "created"
    RUNNING = "running"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class PartitionStatistics:
    topic: str
    partition: int
    log_start_offset: int
    end_offset: int
    records: int
    bytes: int


@dataclass(frozen=True, slots=True)
class TopicStatistics:
    name: str
    partitions: tuple[PartitionStatistics, ...]
    published_total: int
    publish_rate: float  # records per second over the broker's rate window
    retention: RetentionPolicy

    @property
    def end_offsets(self) -> dict[int, int]:
        return {p.partition: p.end_offset for p in self.partitions}

    @property
    def records(self) -> int:
        return sum(p.records for p in self.partitions)

    @property
    def bytes(self) -> int:
        return sum(p.bytes for p in self.partitions)


@dataclass(frozen=True, slots=True)
class GroupPartitionStatistics:
    group: str
    topic: str
    partition: int
    committed: int | None
    end_offset: int
    # end_offset minus committed. Without a commit, the lag counts from the
    # offset where the group started (its offset-reset position), or from the
    # log start offset when the group has no members.
    lag: int
    members: int  # members of the group that subscribe to the topic
    consumed_total: int
    consume_rate: float  # records per second over the broker's rate window
    # Times the group's position fell outside the retained log and was moved
    # by its offset-reset policy.
    offset_resets: int = 0


@dataclass(frozen=True, slots=True)
class BrokerStatistics:
    """A point-in-time snapshot; cheap to take, safe to keep."""

    kind: str
    state: BrokerState
    taken_at: datetime
    topics: Mapping[str, TopicStatistics]
    groups: tuple[GroupPartitionStatistics, ...]

    def lag(self, group: str, topic: str | None = None) -> int:
        """Total lag of ``group``, optionally limited to one topic."""
        return sum(
            g.lag
            for g in self.groups
            if g.group == group and (topic is None or g.topic == topic)
        )


class Consumer(ABC):
    """One member of a consumer group.

    A member is assigned some partitions of its topics (all of them when it is
    the only member). ``fetch`` advances the member's position without
    committing; ``commit`` stores offsets for the group. A new member of the
    group, or this one after a rebalance, resumes from the committed offsets,
    never from another member's uncommitted position.
    """

    group: str
    topics: tuple[str, ...]

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @abstractmethod
    async def start(self) -> None:
        """Join the group and take an assignment."""

    @abstractmethod
    async def close(self) -> None:
        """Leave the group without committing; idempotent."""

    @abstractmethod
    async def fetch(
        self, max_records: int = 500, timeout: float | None = None
    ) -> list[Record]:
        """Return up to ``max_records`` records from the assigned partitions.

        Waits until at least one record is available, or ``timeout`` seconds of
        real time have passed (then returns an empty list).
        """

    @abstractmethod
    async def commit(self, offsets: Mapping[TopicPartition, int] | None = None) -> None:
        """Commit ``offsets`` (next offset to read), or the current positions."""

    @abstractmethod
    def assignment(self) -> frozenset[TopicPartition]:
        """Partitions this member currently reads."""

    @abstractmethod
    def position(self, partition: TopicPartition) -> int:
        """Offset of the next record ``fetch`` returns from ``partition``."""

    @abstractmethod
    async def committed(self, partition: TopicPartition) -> int | None:
        """The group's committed offset for ``partition``, or None."""

    @abstractmethod
    async def seek(self, partition: TopicPartition, offset: int) -> None:
        """Move this member's position in ``partition`` to ``offset``."""

    @abstractmethod
    async def seek_to_time(
        self, timestamp: datetime, partitions: Sequence[TopicPartition] | None = None
    ) -> None:
        """Move to the first record at or after ``timestamp`` (or the end)."""


class Broker(ABC):
    """A set of topics with partition logs and consumer groups."""

    kind: str = "abstract"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    @abstractmethod
    def state(self) -> BrokerState: ...

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None:
        """Stop accepting calls, wake waiters and release resources; idempotent."""

    @abstractmethod
    async def create_topic(self, config: TopicConfig) -> None:
        """Create a topic, or update the retention policy of an existing one.

        Creating an existing topic with a different partition count raises
        BrokerError, because keys would move to other partitions.
        """

    @abstractmethod
    def topics(self) -> dict[str, TopicConfig]: ...

    @abstractmethod
    async def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: str | None = None,
        headers: Sequence[Header] = (),
        timestamp: datetime | None = None,
    ) -> RecordMetadata:
        """Append a record and return where it landed.

        The key picks the partition (the same key always maps to the same
        partition). The call returns once the record is stored: for the
        durable broker, once it is on disk. It waits while the partition's
        slowest group lags by ``max_pending`` records or more.
        """

    @abstractmethod
    def consumer(
        self,
        group: str,
        topics: Sequence[str],
        *,
        offset_reset: OffsetReset = OffsetReset.EARLIEST,
    ) -> Consumer:
        """Create a group member for ``topics``; use it as an async context."""

    @abstractmethod
    async def read(
        self, topic: str, partition: int, offset: int, max_records: int = 100
    ) -> list[Record]:
        """Read retained records from ``offset`` on, outside any group."""

    @abstractmethod
    async def offset_for_time(
        self, topic: str, partition: int, timestamp: datetime
    ) -> int:
        """Offset of the first record at or after ``timestamp``, or the end offset."""

    @abstractmethod
    def log_start_offset(self, topic: str, partition: int) -> int: ...

    @abstractmethod
    def end_offset(self, topic: str, partition: int) -> int: ...

    @abstractmethod
    def statistics(self) -> BrokerStatistics: ...

    @abstractmethod
    async def delete_group(self, group: str) -> None:
        """Forget a group's committed offsets; its members must be closed."""

    async def enforce_retention(self) -> int:
        """Delete the records that break their topic's retention policy.

        Returns how many records were deleted. Brokers whose server enforces
        retention on its own schedule, such as Kafka, delete nothing here.
        """
        return 0
