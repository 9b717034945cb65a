"""Record broker topics to a JSON-lines file and replay them.

Each line of a recording is one broker record::

    {"topic": "device.sensor.gps.raw", "partition": 0, "offset": 12,
     "timestamp": "2025-06-02T07:00:01.500000+00:00", "key": "phone-0",
     "headers": [["trace", {"$base64": "..."}]], "value": {...}}

``value`` is the message's JSON object when writing that object back as
compact JSON gives the original bytes exactly. Any other value, and every
header value, is written as ``{"$base64": "..."}``, so a recording is
lossless. Lines are ordered by timestamp, then topic, partition and offset.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from loomlite.broker.base import Broker, Header, Record

__all__ = [
    "BASE64_MARKER",
    "INSPECTION_EPOCH",
    "OffsetRange",
    "RecordedMessage",
    "TimeRange",
    "arrival_time",
    "decode_line",
    "encode_record",
    "read_recording",
    "record_topics",
    "sorted_by_arrival",
    "sorted_by_time",
]

logger = logging.getLogger(__name__)

BASE64_MARKER = "$base64"
"""Key of the one-entry object that contains bytes as base64 text."""

_READ_BATCH = 1000
INSPECTION_EPOCH = datetime(1970, 1, 2, tzinfo=UTC)
"""Clock time of commands that open a broker file to read or append.

Age-based retention compares record timestamps with the broker clock, so a
clock this far in the past deletes nothing when the file is opened."""


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Record timestamps from ``start`` (inclusive) to ``end`` (exclusive)."""

    start: datetime | None = None
    end: datetime | None = None

    def contains(self, moment: datetime) -> bool:
        if self.start is not None and moment < self.start:
            return False
        return self.end is None or moment < self.end


@dataclass(frozen=True, slots=True)
class OffsetRange:
    """Offsets from ``start`` (inclusive) to ``end`` (exclusive) in each partition."""

    start: int | None = None
    end: int | None = None


@dataclass(frozen=True, slots=True)
class RecordedMessage:
    """One line of a recording."""

    topic: str
    partition: int
    offset: int
    timestamp: datetime
    key: str | None
    value: bytes
    headers: tuple[Header, ...] = ()


def _bytes_to_json(data: bytes) -> dict[str, str]:
    return {BASE64_MARKER: base64.b64encode(data).decode("ascii")}


def _json_to_bytes(item: Any, where: str) -> bytes:
    if not (isinstance(item, dict) and set(item) == {BASE64_MARKER}):
        raise ValueError(f"{where}: expected {{{BASE64_MARKER!r}: ...}}, got {item!r}")
    return base64.b64decode(item[BASE64_MARKER], validate=True)


def _value_to_json(value: bytes) -> Any:
    """Return the message object when it re-encodes to ``value`` exactly."""
    try:
        parsed = json.loads(value)
    except ValueError:
        return _bytes_to_json(value)
    if isinstance(parsed, dict) and set(parsed) != {BASE64_MARKER}:
        again = json.dumps(parsed, separators=(",", ":"), ensure_ascii=False)
        if again.encode() == value:
            return parsed
    return _bytes_to_json(value)


def encode_record(record: Record | RecordedMessage) -> str:
    """Return one line of a recording, without the newline."""
    line = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": record.timestamp.isoformat(),
        "key": record.key,
        "headers": [[name, _bytes_to_json(data)] for name, data in record.headers],
        "value": _value_to_json(record.value),
    }
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False)


def _decode_headers(items: Any, where: str) -> tuple[Header, ...]:
    pairs = isinstance(items, list) and all(
        isinstance(pair, list) and len(pair) == 2 for pair in items
    )
    if not pairs:
        raise ValueError(
            f"headers {repr(items)[:80]} are invalid: expected a list of "
            "[name, value] pairs"
        )
    return tuple(
        (str(name), _json_to_bytes(raw, f"{where} header {name!r}"))
        for name, raw in items
    )


def decode_line(line: str, where: str = "line") -> RecordedMessage:
    """Parse one line of a recording; raise ValueError naming ``where``."""
    try:
        item = json.loads(line)
        if not isinstance(item, dict):
            raise ValueError(f"expected a JSON object, got {type(item).__name__}")
        value = item["value"]
        if isinstance(value, dict) and set(value) == {BASE64_MARKER}:
            data = _json_to_bytes(value, f"{where} value")
        else:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            data = text.encode()
        headers = _decode_headers(item.get("headers", []), where)
        key = item.get("key")
        if key is not None and not isinstance(key, str):
            raise ValueError(f"key {key!r} is invalid: expected a string or null")
        timestamp = datetime.fromisoformat(item["timestamp"])
        if timestamp.tzinfo is None:
            raise ValueError(f"timestamp {item['timestamp']!r} has no UTC offset")
        return RecordedMessage(
            topic=str(item["topic"]),
            partition=int(item["partition"]),
            offset=int(item["offset"]),
            timestamp=timestamp,
            key=key,
            value=data,
            headers=headers,
        )
    except KeyError as exc:
        raise ValueError(
            f"invalid recording {where}: missing field {exc}; each line needs "
            "topic, partition, offset, timestamp and value"
        ) from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"invalid recording {where}: {exc}") from None


def read_recording(path: Path) -> Iterator[RecordedMessage]:
    """Yield the messages of the recording at ``path``, skipping blank lines."""
    with path.open("rb") as file:
        for number, raw in enumerate(file, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(
                    f"invalid recording line {number} of {path}: not UTF-8 "
                    f"text ({exc.reason} at byte {exc.start}); expected the "
                    "JSON lines that 'loomlite record' writes"
                ) from None
            if line.strip():
                yield decode_line(line, f"line {number} of {path}")


async def _partition_records(
    broker: Broker, topic: str, partition: int, offsets: OffsetRange
) -> AsyncIterator[Record]:
    start = broker.log_start_offset(topic, partition)
    end = broker.end_offset(topic, partition)
    if offsets.start is not None:
        start = max(start, offsets.start)
    if offsets.end is not None:
        end = min(end, offsets.end)
    offset = start
    while offset < end:
        batch = await broker.read(
            topic, partition, offset, min(_READ_BATCH, end - offset)
        )
        if not batch:
            return
        for record in batch:
            if record.offset >= end:
                return
            yield record
        offset = batch[-1].offset + 1


async def record_topics(
    broker: Broker,
    topics: Sequence[str],
    output: IO[str],
    *,
    times: TimeRange = TimeRange(),
    offsets: OffsetRange = OffsetRange(),
) -> int:
    """Write the retained records of ``topics`` in both ranges to ``output``.

    Returns how many lines were written. ``topics`` must be canonical names
    that the broker has.
    """
    selected: list[Record] = []
    for topic in topics:
        for partition in range(broker.topics()[topic].partitions):
            async for record in _partition_records(broker, topic, partition, offsets):
                if times.contains(record.timestamp):
                    selected.append(record)
    selected.sort(key=lambda r: (r.timestamp_ns, r.topic, r.partition, r.offset))
    for record in selected:
        output.write(encode_record(record))
        output.write("\n")
    logger.info("recorded %d message(s) of %d topic(s)", len(selected), len(topics))
    return len(selected)


def sorted_by_time(messages: Iterable[RecordedMessage]) -> Sequence[RecordedMessage]:
    """Return ``messages`` in timestamp order; equal times keep their order."""
    return sorted(messages, key=lambda m: m.timestamp)


def arrival_time(message: RecordedMessage) -> datetime:
    """Return when the recorded run received ``message``: its envelope's
    ``received_at``, or its timestamp when the value has none.

    A record's timestamp is its event time, which can lie days away from the
    run: a fetched calendar event is recorded at the time it takes place.
    """
    if not message.value.startswith(b"{"):
        return message.timestamp
    try:
        received = json.loads(message.value).get("received_at")
        moment = datetime.fromisoformat(received)
    except (ValueError, TypeError, AttributeError):
        return message.timestamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def sorted_by_arrival(
    messages: Iterable[RecordedMessage],
) -> Sequence[RecordedMessage]:
    """Return ``messages`` in the order the recorded run received them
    (``arrival_time``); equal times keep their timestamp order."""
    return sorted(sorted_by_time(messages), key=arrival_time)
