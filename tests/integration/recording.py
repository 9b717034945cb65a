"""A MemoryBroker that records every publish, and fast runtime settings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from loomlite.broker import MemoryBroker
from loomlite.broker.base import Header, RecordMetadata
from loomlite.clock import ManualClock
from loomlite.contract import CATALOG, decode
from loomlite.runtime import LoomliteSettings

__all__ = ["RecordingBroker", "fast_settings"]


class RecordingBroker(MemoryBroker):
    """A MemoryBroker on a ManualClock that keeps every published value by topic.

    The runtime closes its broker on exit, so tests read what ``drain``
    published from here. The clock stays at ``start``, so retention by age
    keeps messages dated near it, and every derived ``received_at`` is
    ``start``.
    """

    def __init__(self, start: datetime) -> None:
        super().__init__(clock=ManualClock(start))
        self.published: dict[str, list[bytes]] = {}

    async def publish(
        self,
        topic: str,
        value: bytes,
        *,
        key: str | None = None,
        headers: Sequence[Header] = (),
        timestamp: datetime | None = None,
    ) -> RecordMetadata:
        self.published.setdefault(topic, []).append(value)
        return await super().publish(
            topic, value, key=key, headers=headers, timestamp=timestamp
        )

    def messages(self, topic: str) -> list[Any]:
        """Return the messages published to ``topic``, in publish order."""
        spec = CATALOG.get(topic)
        return [decode(spec, value) for value in self.published.get(topic, [])]


def fast_settings(
    components: dict[str, Any] | None = None, **supervisor: Any
) -> LoomliteSettings:
    """Return settings with short restart delays and ``components`` sections."""
    values: dict[str, Any] = {
        "restart_initial_delay": 0.01,
        "restart_max_delay": 0.05,
        "publish_retry_delay": 0.0,
        "drain_timeout": 20.0,
    }
    values.update(supervisor)
    return LoomliteSettings(components=components or {}, supervisor=values)
