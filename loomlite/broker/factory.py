"""open_broker: build a broker from a setting such as ``LOOMLITE_BROKER``."""

from __future__ import annotations

import os
from pathlib import Path

from loomlite.broker.base import Broker
from loomlite.broker.durable import DurableBroker
from loomlite.broker.memory import MemoryBroker
from loomlite.clock import Clock
from loomlite.errors import ConfigurationError

__all__ = ["DURABLE_FILE_NAME", "open_broker"]

DURABLE_FILE_NAME = "broker.sqlite3"

_SQLITE_PREFIXES = ("sqlite:///", "sqlite+aiosqlite:///")
_ACCEPTED = (
    "'memory', 'durable' (the file broker.sqlite3 in the state directory) or "
    "'sqlite:///PATH' (relative PATH; four slashes for an absolute path)"
)


def open_broker(
    url_or_kind: str,
    *,
    clock: Clock | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    max_committed_bytes: int | None = None,
) -> Broker:
    """Return an unstarted broker for ``url_or_kind``; start it with ``async with``.

    ``"memory"`` builds a MemoryBroker. ``"durable"`` builds a DurableBroker
    on ``broker.sqlite3`` in ``state_dir``. ``"sqlite:///PATH"`` (or
    ``"sqlite+aiosqlite:///PATH"``, the sink's spelling of the same file)
    builds a DurableBroker on PATH. Raises ConfigurationError for any other
    value, such as a Kafka URL, which no broker implements yet.

    ``max_committed_bytes`` goes to the MemoryBroker. The durable broker
    ignores it, because it keeps its records in the file and only a bounded
    cache of them in memory.
    """
    if not isinstance(url_or_kind, str):
        raise ConfigurationError(
            f"invalid broker {url_or_kind!r}: expected {_ACCEPTED}", key="broker"
        )
    value = url_or_kind.strip()
    if value == "memory":
        return MemoryBroker(clock, max_committed_bytes=max_committed_bytes)
    if value == "durable":
        if state_dir is None:
            raise ConfigurationError(
                "broker 'durable' needs a state directory for its file "
                f"{DURABLE_FILE_NAME}; set state_dir or use 'sqlite:///PATH'",
                key="state_dir",
            )
        return DurableBroker(Path(state_dir) / DURABLE_FILE_NAME, clock)
    for prefix in _SQLITE_PREFIXES:
        if value.startswith(prefix):
            return DurableBroker(_sqlite_path(value, prefix), clock)
    raise ConfigurationError(
        f"unknown broker {url_or_kind!r}: expected {_ACCEPTED}", key="broker"
    )


def _sqlite_path(url: str, prefix: str) -> Path:
    path = url[len(prefix) :]
    if not path or path.startswith(":memory:") or "?" in path:
        raise ConfigurationError(
            f"invalid broker URL {url!r}: the durable broker needs a file path "
            "without query parameters, such as 'sqlite:///state/broker.sqlite3'",
            key="broker",
        )
    return Path(path)
