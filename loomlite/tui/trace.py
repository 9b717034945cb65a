"""Find every message and row that carries one trace_id, in order.

The lookup reads every retained record of every topic and every sink table
with a ``trace_id`` column, so it can take seconds on a large run: the
Trace screen runs it in a worker and reports progress through ``progress``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio.lowlevel

from loomlite.contract import CATALOG
from loomlite.tui.payload import decode_record, describe_binary
from loomlite.tui.source import Source

__all__ = ["TraceHop", "find_trace"]

Progress = Callable[[float], None]
"""Called with the fraction of the lookup done, from 0 to 1."""

_CHUNK = 1000
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TraceHop:
    """One message (``kind`` "message") or row (``kind`` "row") of a trace.

    ``where`` is the topic with partition and offset, or the table; the
    row's ``id`` is in its payload. ``latency`` is seconds since the previous message's
    ``received_at``; rows have none, because the sink stores no write time.
    """

    kind: str
    where: str
    received_at: datetime | None
    latency: float | None
    payload: dict[str, Any]


async def find_trace(
    source: Source,
    trace_id: str,
    progress: Progress | None = None,
    *,
    messages: bool = True,
) -> list[TraceHop]:
    """Return the messages and rows of ``trace_id``, ordered by ``received_at``.

    Each row follows the message it was stored from (same ``message_id``).
    With ``messages`` false only the sink's rows are read, for a source
    whose broker records cannot be read.
    """
    report = progress or (lambda fraction: None)
    found: list[tuple[str, dict[str, Any]]] = []
    if messages:
        found = await _messages(source, trace_id, lambda f: report(f * 0.8))
    rows: list[tuple[str, dict[str, Any]]] = []
    if source.sink is not None:
        rows = await source.sink.rows_for_trace(
            trace_id, lambda done, total: report(0.8 + 0.2 * done / total)
        )
    report(1.0)
    return _ordered(found, rows)


async def _messages(
    source: Source, trace_id: str, progress: Progress
) -> list[tuple[str, dict[str, Any]]]:
    needle = trace_id.encode()
    ranges = []
    for spec in CATALOG:
        for partition, start, end in await source.partitions(spec.name):
            if end > start:
                ranges.append((spec.name, partition, start, end))
    total = sum(end - start for _, _, start, end in ranges) or 1
    done = 0
    found: list[tuple[str, dict[str, Any]]] = []
    for topic, partition, start, end in ranges:
        offset = start
        while offset < end:
            records = await source.read_retained(topic, partition, offset, _CHUNK)
            if not records:
                break
            for record in records:
                # A cheap byte search first: decoding every record would
                # dominate the lookup.
                if needle not in record.value:
                    continue
                decoded = decode_record(record)
                if decoded.trace_id == trace_id:
                    where = f"{topic}[{partition}]@{record.offset}"
                    found.append((where, decoded.payload))
            offset = records[-1].offset + 1
            done += len(records)
            progress(done / total)
            await anyio.lowlevel.checkpoint()
    return found


def _ordered(
    messages: list[tuple[str, dict[str, Any]]],
    rows: list[tuple[str, dict[str, Any]]],
) -> list[TraceHop]:
    rows_by_message: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for table, row in rows:
        rows_by_message.setdefault(str(row.get("message_id")), []).append((table, row))
    depths = _depths([payload for _, payload in messages])
    ordered = sorted(
        messages,
        key=lambda item: (
            received(item[1]) or _EARLIEST,
            depths.get(str(item[1].get("message_id")), 0),
            item[0],
        ),
    )
    hops: list[TraceHop] = []
    previous: datetime | None = None
    for where, payload in ordered:
        at = received(payload)
        latency = None
        if at is not None and previous is not None:
            latency = (at - previous).total_seconds()
        hops.append(TraceHop("message", where, at, latency, payload))
        previous = at or previous
        for table, row in rows_by_message.pop(str(payload.get("message_id")), []):
            hops.append(_row_hop(table, row, received(row)))
    # Rows whose message retention already deleted come last, by time.
    leftover = [item for items in rows_by_message.values() for item in items]
    leftover.sort(key=lambda item: received(item[1]) or _EARLIEST)
    hops.extend(_row_hop(table, row, received(row)) for table, row in leftover)
    return hops


def _depths(payloads: list[dict[str, Any]]) -> dict[str, int]:
    """Map each message_id to its number of ancestors in the trace.

    Derived messages name their input in ``source_message_id``. The depth
    orders a message after its input when both have the same received_at,
    which happens on a manual clock.
    """
    parents = {
        str(payload.get("message_id")): payload.get("source_message_id")
        for payload in payloads
    }
    depths: dict[str, int] = {}
    for message_id in parents:
        depth, current, seen = 0, parents[message_id], {message_id}
        while isinstance(current, str) and current in parents and current not in seen:
            seen.add(current)
            depth += 1
            current = parents[current]
        depths[message_id] = depth
    return depths


def received(payload: dict[str, Any]) -> datetime | None:
    """Return the ``received_at`` of a payload or row as an aware datetime."""
    value = payload.get("received_at")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    # SQLite gives back naive datetimes; the sink stores UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _row_hop(table: str, row: dict[str, Any], at: datetime | None) -> TraceHop:
    payload = {name: _plain(value) for name, value in row.items()}
    return TraceHop("row", table, at, None, payload)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return describe_binary(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value
