"""Read a durable broker's SQLite file from another process, read-only.

The broker file is in WAL mode, so readers never block the process that
writes it and see only committed transactions. This reader opens the file
with ``mode=ro`` and ``query_only``, runs each query as its own short
statement (no transaction stays open between calls, which would keep the
write-ahead log from being checkpointed), and runs every query in a worker
thread so that the TUI's event loop never waits on the disk.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import anyio.to_thread

from loomlite.broker._store import decode_headers
from loomlite.broker.base import Record, RetentionPolicy, timestamp_to_nanos
from loomlite.tui.snapshot import retention_policy

__all__ = ["BrokerFile", "PartitionRange", "read_only_uri"]

T = TypeVar("T")

PartitionRange = tuple[int, int, int]
"""A partition number, its log start offset and its end offset."""

_SELECT_RECORDS = (
    "SELECT record_offset, timestamp_ns, record_key, value, headers, size "
    "FROM broker_records WHERE partition_id = ? AND record_offset >= ? "
    "ORDER BY record_offset LIMIT ?"
)


def read_only_uri(path: Path | str) -> str:
    """Return the SQLite URI that opens the file at ``path`` read-only.

    ``as_uri`` percent-encodes the path, because in a URI a '#' would end
    it, a '?' would start the options and a '%' would start an escape.
    """
    return f"{Path(path).absolute().as_uri()}?mode=ro"


class BrokerFile:
    """Read-only queries on a durable broker file (``broker.sqlite3``).

    Raises FileNotFoundError naming the path when the file does not exist.
    """

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise FileNotFoundError(
                f"no durable broker file at {path}; run 'loomlite up' with "
                "LOOMLITE_BROKER=durable to keep the messages where the TUI can "
                "read them"
            )
        self.path = path
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(
                read_only_uri(self.path),
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
            connection.execute("PRAGMA query_only = 1")
            connection.execute("PRAGMA busy_timeout = 5000")
            self._connection = connection
        return self._connection

    async def _run(self, query: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            with self._lock:
                return query(self._connect())

        return await anyio.to_thread.run_sync(locked)

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    async def partitions(self, topic: str) -> list[PartitionRange]:
        """Return (partition, log start, end offset) of each partition of ``topic``."""

        def query(connection: sqlite3.Connection) -> list[PartitionRange]:
            rows = connection.execute(
                "SELECT p.partition_index, p.log_start, "
                "(SELECT MAX(r.record_offset) FROM broker_records r "
                " WHERE r.partition_id = p.id) "
                "FROM broker_partitions p WHERE p.topic = ? "
                "ORDER BY p.partition_index",
                (topic,),
            ).fetchall()
            return [
                (index, start, start if last is None else max(start, last + 1))
                for index, start, last in rows
            ]

        return await self._run(query)

    async def read(
        self, topic: str, partition: int, offset: int, limit: int
    ) -> list[Record]:
        """Return up to ``limit`` records of a partition from ``offset`` on."""

        def query(connection: sqlite3.Connection) -> list[Record]:
            row = connection.execute(
                "SELECT id FROM broker_partitions WHERE topic = ? "
                "AND partition_index = ?",
                (topic, partition),
            ).fetchone()
            if row is None:
                return []
            rows = connection.execute(
                _SELECT_RECORDS, (row[0], offset, limit)
            ).fetchall()
            return [
                tuple.__new__(
                    Record,
                    (topic, partition, o, ts, key, value, decode_headers(h), size),
                )
                for o, ts, key, value, h, size in rows
            ]

        return await self._run(query)

    async def offset_for_time(
        self, topic: str, partition: int, timestamp: datetime
    ) -> int | None:
        """Offset of the first record at or after ``timestamp``, or None."""
        nanos = timestamp_to_nanos(timestamp)

        def query(connection: sqlite3.Connection) -> int | None:
            row = connection.execute(
                "SELECT MIN(r.record_offset) FROM broker_records r "
                "JOIN broker_partitions p ON p.id = r.partition_id "
                "WHERE p.topic = ? AND p.partition_index = ? "
                "AND r.timestamp_ns >= ?",
                (topic, partition, nanos),
            ).fetchone()
            return None if row is None else row[0]

        return await self._run(query)

    async def retention(self) -> dict[str, tuple[int, int, RetentionPolicy]]:
        """Return each topic's retained records, bytes and retention policy."""

        def query(
            connection: sqlite3.Connection,
        ) -> dict[str, tuple[int, int, RetentionPolicy]]:
            policies = {
                name: retention_policy(*limits)
                for name, *limits in connection.execute(
                    "SELECT name, max_age_us, max_records, max_bytes, max_pending "
                    "FROM broker_topics"
                )
            }
            usage = {
                topic: (records, size)
                for topic, records, size in connection.execute(
                    "SELECT p.topic, COUNT(*), COALESCE(SUM(r.size), 0) "
                    "FROM broker_records r JOIN broker_partitions p "
                    "ON p.id = r.partition_id GROUP BY p.topic"
                )
            }
            return {
                name: (*usage.get(name, (0, 0)), policy)
                for name, policy in policies.items()
            }

        return await self._run(query)
