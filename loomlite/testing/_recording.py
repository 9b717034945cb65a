"""Brokers that keep a copy of every record published to them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from loomlite.broker import DurableBroker, MemoryBroker
from loomlite.broker.base import Broker, Header, Record, RecordMetadata

__all__ = ["RecordingDurableBroker", "RecordingMemoryBroker", "published_records"]


class _Recording:
    """Keeps each published record, by topic, for tests to read after a stop.

    The copies outlive retention and the broker itself, because a runtime
    closes its broker on exit while tests still read what the final drain
    published.
    """

    published: defaultdict[str, list[Record]]

    def _init_recording(self) -> None:
        self.published = defaultdict(list)

    async def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: str | None = None,
        headers: Sequence[Header] = (),
        timestamp: datetime | None = None,
    ) -> RecordMetadata:
        metadata: RecordMetadata = await super().publish(  # type: ignore[misc]
            topic, value, key=key, headers=headers, timestamp=timestamp
        )
        record = Record(
            metadata.topic,
            metadata.partition,
            metadata.offset,
            metadata.timestamp,
            key,
            value,
            tuple(headers),
        )
        self.published[metadata.topic].append(record)
        return metadata


class RecordingMemoryBroker(_Recording, MemoryBroker):
    """A MemoryBroker that keeps a copy of every published record."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_recording()


class RecordingDurableBroker(_Recording, DurableBroker):
    """A DurableBroker that keeps a copy of every published record."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_recording()


def published_records(broker: Broker, topic: str) -> list[Record]:
    """Return the records published to ``topic`` through a recording broker."""
    if not isinstance(broker, _Recording):
        raise TypeError(
            f"{type(broker).__name__} does not record publishes; build the "
            "pipeline with loomlite.testing.pipeline"
        )
    return list(broker.published.get(topic, ()))
