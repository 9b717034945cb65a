"""Redrive or discard the failed records that an error topic contains.

A stage that fails on a record publishes a ProcessingError with the record's
topic, key, value and headers to its error topic. ``redrive`` publishes each
of those records again to its source topic, so the stage retries it, and
``discard`` drops it. Both then commit the error topic for the consumer group
``REDRIVE_GROUP``, so each failed record is handled once. A redriven record
that fails again lands in the error topic as a new ProcessingError, after the
committed offset, with the new exception.

Selected records (``message_ids``) may sit between records that stay pending.
A group commits one offset per partition, so the commit stops before the
first pending record. NOTE: a later call therefore reads the selected records
again and sends them a second time. The sink writes rows idempotently on
their natural key, so a second redrive repeats no row, but a stage may log the
same failure twice.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import AsyncIterator, Collection, Mapping
from dataclasses import dataclass, field

from loomlite.broker.base import (
    Broker,
    Consumer,
    OffsetReset,
    Record,
    RecordMetadata,
    TopicPartition,
)
from loomlite.contract import CATALOG, ProcessingError, decode
from loomlite.contract.catalog import Catalog
from loomlite.errors import ContractError, LoomliteError

__all__ = [
    "REDRIVE_GROUP",
    "FailedRecord",
    "RedriveResult",
    "discard",
    "pending_errors",
    "redrive",
]

logger = logging.getLogger(__name__)

REDRIVE_GROUP = "loomlite.redrive"
"""The consumer group whose committed offsets mark handled error records."""

_READ_BATCH = 500


@dataclass(frozen=True, slots=True)
class FailedRecord:
    """One record of an error topic: its position and the decoded error.

    ``error`` is None when the record is not a valid ProcessingError, and
    ``problem`` then contains the reason.
    """

    position: RecordMetadata
    error: ProcessingError | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class RedriveResult:
    """The outcome of one ``redrive`` or ``discard`` call on an error topic.

    ``redriven`` maps the message_id of each redriven ProcessingError to where
    its source record was published again. ``discarded`` lists the message_ids
    dropped. ``pending`` counts records left for a later call, because they
    were not selected, are invalid, or name a topic the broker does not have.
    ``problems`` describes each record left for a reason other than selection.
    ``committed`` is the group's new committed offset per partition.
    """

    error_topic: str
    redriven: Mapping[str, RecordMetadata] = field(default_factory=dict)
    discarded: tuple[str, ...] = ()
    pending: int = 0
    problems: tuple[str, ...] = ()
    committed: Mapping[TopicPartition, int] = field(default_factory=dict)


class _Action(enum.Enum):
    REDRIVE = "redrive"
    DISCARD = "discard"


async def redrive(
    broker: Broker,
    error_topic: str,
    *,
    message_ids: Collection[str] | None = None,
    group: str = REDRIVE_GROUP,
    catalog: Catalog = CATALOG,
) -> RedriveResult:
    """Publish the source record of each pending ProcessingError again.

    Each record goes back to its ``source_topic`` with its original key,
    value, headers and event time (``recorded_at``). ``message_ids`` limits
    the call to those ProcessingError message_ids; None takes every pending
    record. Raises ContractError when ``error_topic`` is not an error topic.
    """
    return await _handle(
        broker, error_topic, message_ids, group, catalog, _Action.REDRIVE
    )


async def discard(
    broker: Broker,
    error_topic: str,
    *,
    message_ids: Collection[str] | None = None,
    group: str = REDRIVE_GROUP,
    catalog: Catalog = CATALOG,
) -> RedriveResult:
    """Mark pending ProcessingErrors as handled without publishing anything.

    With ``message_ids`` None, every pending record is dropped, including
    records that are not valid ProcessingErrors.
    """
    return await _handle(
        broker, error_topic, message_ids, group, catalog, _Action.DISCARD
    )


async def pending_errors(
    broker: Broker,
    error_topic: str,
    *,
    group: str = REDRIVE_GROUP,
    catalog: Catalog = CATALOG,
) -> list[FailedRecord]:
    """Return the records of ``error_topic`` after the group's committed offsets."""
    topic = _error_topic_name(error_topic, catalog)
    consumer = broker.consumer(group, [topic], offset_reset=OffsetReset.EARLIEST)
    async with consumer:
        found: list[FailedRecord] = []
        for partition in _partitions(broker, topic):
            start = await _start_offset(broker, consumer, partition)
            end = broker.end_offset(topic, partition.partition)
            async for record in _read(broker, partition, start, end):
                found.append(_failed_record(record, catalog))
        return found


async def _handle(
    broker: Broker,
    error_topic: str,
    message_ids: Collection[str] | None,
    group: str,
    catalog: Catalog,
    action: _Action,
) -> RedriveResult:
    topic = _error_topic_name(error_topic, catalog)
    selected = None if message_ids is None else frozenset(message_ids)
    redriven: dict[str, RecordMetadata] = {}
    discarded: list[str] = []
    problems: list[str] = []
    pending = 0
    committed: dict[TopicPartition, int] = {}

    consumer = broker.consumer(group, [topic], offset_reset=OffsetReset.EARLIEST)
    async with consumer:
        for partition in _partitions(broker, topic):
            start = await _start_offset(broker, consumer, partition)
            end = broker.end_offset(topic, partition.partition)
            # The commit may only move over the handled records before the
            # first pending one.
            commit_to = start
            blocked = False
            async for record in _read(broker, partition, start, end):
                entry = _failed_record(record, catalog)
                handled = await _handle_one(
                    broker, entry, selected, action, redriven, discarded, problems
                )
                if not handled:
                    pending += 1
                    blocked = True
                elif not blocked:
                    commit_to = record.offset + 1
            if commit_to > start:
                committed[partition] = commit_to
        if committed:
            await consumer.commit(committed)

    logger.info(
        "%s on %s: %d redriven, %d discarded, %d pending",
        action.value,
        topic,
        len(redriven),
        len(discarded),
        pending,
    )
    return RedriveResult(
        error_topic=topic,
        redriven=redriven,
        discarded=tuple(discarded),
        pending=pending,
        problems=tuple(problems),
        committed=committed,
    )


async def _handle_one(
    broker: Broker,
    entry: FailedRecord,
    selected: frozenset[str] | None,
    action: _Action,
    redriven: dict[str, RecordMetadata],
    discarded: list[str],
    problems: list[str],
) -> bool:
    """Redrive or discard one error record; return whether it is handled."""
    error = entry.error
    if error is None:
        if action is _Action.DISCARD and selected is None:
            discarded.append(_describe(entry.position))
            return True
        problems.append(f"{_describe(entry.position)}: {entry.problem}")
        return False
    if selected is not None and error.message_id not in selected:
        return False
    if action is _Action.DISCARD:
        discarded.append(error.message_id)
        return True

    if error.source_topic not in broker.topics():
        problems.append(
            f"{_describe(entry.position)}: source topic {error.source_topic!r} "
            "does not exist on the broker"
        )
        logger.warning(
            "cannot redrive %s: source topic %r not found",
            error.message_id,
            error.source_topic,
        )
        return False
    metadata = await broker.publish(
        error.source_topic,
        error.source_value,
        key=error.source_key,
        headers=[(header.name, header.value) for header in error.source_headers],
        timestamp=error.recorded_at,
    )
    redriven[error.message_id] = metadata
    return True


def _error_topic_name(name: str, catalog: Catalog) -> str:
    spec = catalog.get(name)
    if not issubclass(spec.model, ProcessingError):
        error_topics = sorted(
            s.name for s in catalog if issubclass(s.model, ProcessingError)
        )
        raise ContractError(
            f"topic {name!r} is not an error topic; expected one of "
            f"{', '.join(error_topics)}"
        )
    return spec.name


def _partitions(broker: Broker, topic: str) -> list[TopicPartition]:
    config = broker.topics().get(topic)
    if config is None:
        return []
    return [TopicPartition(topic, number) for number in range(config.partitions)]


async def _start_offset(
    broker: Broker, consumer: Consumer, partition: TopicPartition
) -> int:
    committed = await consumer.committed(partition)
    log_start = broker.log_start_offset(partition.topic, partition.partition)
    if committed is None:
        return log_start
    return max(committed, log_start)


async def _read(
    broker: Broker, partition: TopicPartition, start: int, end: int
) -> AsyncIterator[Record]:
    offset = start
    while offset < end:
        batch = await broker.read(
            partition.topic, partition.partition, offset, min(_READ_BATCH, end - offset)
        )
        if not batch:
            return
        for record in batch:
            if record.offset >= end:
                return
            yield record
        offset = batch[-1].offset + 1


def _failed_record(record: Record, catalog: Catalog) -> FailedRecord:
    try:
        message = decode(catalog.get(record.topic), record.value)
    except LoomliteError as exc:
        return FailedRecord(position=_position(record), error=None, problem=str(exc))
    if not isinstance(message, ProcessingError):
        problem = f"expected a ProcessingError, got {type(message).__name__}"
        return FailedRecord(position=_position(record), error=None, problem=problem)
    return FailedRecord(position=_position(record), error=message)


def _position(record: Record) -> RecordMetadata:
    return RecordMetadata(
        record.topic, record.partition, record.offset, record.timestamp
    )


def _describe(position: RecordMetadata) -> str:
    return f"{position.topic}[{position.partition}]@{position.offset}"
