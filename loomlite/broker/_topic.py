"""Topic state shared by both brokers: partition logs, key routing, publish rate."""

from __future__ import annotations

from collections.abc import Sequence

from loomlite.broker._log import PartitionLog
from loomlite.broker.base import Header, RetentionPolicy, TopicConfig
from loomlite.broker.partitioner import murmur2
from loomlite.errors import ConfigurationError

__all__ = ["TopicState", "normalise_payload", "validate_topic_config"]

# Routes of this many distinct keys are cached per topic. Keys are device ids,
# so a deployment has few; beyond the limit keys are hashed on every publish.
_MAX_CACHED_ROUTES = 65_536


class TopicState:
    """A topic's configuration, partition logs and key routes.

    ``route`` returns the partition log for a key and the key's size in bytes.
    Keys use Kafka's default partitioner; records without a key go to the
    partitions in turn. ``routes`` caches the result for each key seen.
    """

    __slots__ = ("_next_partition", "config", "logs", "name", "routes")

    def __init__(self, config: TopicConfig, logs: Sequence[PartitionLog]) -> None:
        self.name = config.name
        self.config = config
        self.logs = tuple(logs)
        # None is never a key (records without a key rotate), but publish looks
        # up every key here, None included.
        self.routes: dict[str | None, tuple[PartitionLog, int]] = {}
        self._next_partition = 0

    def route(self, key: str | None) -> tuple[PartitionLog, int]:
        if key is None:
            index = self._next_partition
            self._next_partition = (index + 1) % len(self.logs)
            return self.logs[index], 0
        route = self.routes.get(key)
        if route is None:
            route = self._route_new_key(key)
        return route

    def _route_new_key(self, key: str) -> tuple[PartitionLog, int]:
        if not isinstance(key, str):
            raise TypeError(
                f"record key must be a str or None, got {type(key).__name__} "
                f"{key!r}; loomlite keys records by device_id"
            )
        encoded = key.encode()
        index = (murmur2(encoded) & 0x7FFFFFFF) % len(self.logs)
        route = (self.logs[index], len(encoded))
        if len(self.routes) < _MAX_CACHED_ROUTES:
            self.routes[key] = route
        return route


def normalise_payload(
    value: bytes, headers: Sequence[Header]
) -> tuple[bytes, tuple[Header, ...], int]:
    """Check a record's value and headers, and return them as bytes and a
    tuple of (str, bytes) pairs with the headers' size in bytes.

    Raises TypeError for a value or header that is not bytes-like.
    """
    if not isinstance(value, bytes):
        if not isinstance(value, bytearray | memoryview):
            raise TypeError(
                f"record value must be bytes, got {type(value).__name__}; "
                "encode the message before publishing it"
            )
        value = bytes(value)

    checked: list[Header] = []
    size = 0
    for header in headers:
        name, data = header
        if not isinstance(name, str):
            raise TypeError(f"header name must be a str, got {name!r}")
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(
                f"value of header {name!r} must be bytes, got {type(data).__name__}"
            )
        checked.append((name, bytes(data)))
        size += len(name) + len(data)
    return value, tuple(checked), size


def validate_topic_config(config: TopicConfig) -> None:
    """Raise ConfigurationError when ``config`` has an invalid name or limit."""
    if not isinstance(config.name, str) or not config.name.strip():
        raise ConfigurationError(
            f"invalid topic name {config.name!r}: use a non-empty string",
            key="name",
        )
    if config.partitions < 1:
        raise ConfigurationError(
            f"topic {config.name!r} must have at least 1 partition, "
            f"got {config.partitions}",
            key="partitions",
        )
    _validate_retention(config.name, config.retention)


def _validate_retention(topic: str, retention: RetentionPolicy) -> None:
    if retention.max_age is not None and retention.max_age.total_seconds() <= 0:
        raise ConfigurationError(
            f"max_age of topic {topic!r} must be positive, got {retention.max_age!r}",
            key="max_age",
        )
    for name in ("max_records", "max_bytes", "max_pending"):
        limit = getattr(retention, name)
        if limit is not None and limit < 1:
            raise ConfigurationError(
                f"{name} of topic {topic!r} must be at least 1 or None for no "
                f"limit, got {limit!r}",
                key=name,
            )
