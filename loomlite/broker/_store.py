"""The durable broker's SQLite file: schema, recovery, batched writes, reads.

Every method blocks. The durable broker calls the writer methods from one
dedicated writer thread and ``read`` from one reader thread, each with its own
connection. The tables are prefixed ``broker_`` because the database sink may
keep its tables in the same file:

- ``broker_meta``: the schema version;
- ``broker_topics``: one row per topic with its partition count and limits;
- ``broker_partitions``: one row per partition with its log start offset;
- ``broker_records``: one row per retained record, keyed by partition row id
  and offset, with the timestamp in nanoseconds, key, value, headers and size;
- ``broker_offsets``: the committed offset of each group and partition.

The end offset of a partition is not stored: it is one past its last record,
or the log start offset when retention deleted every record.
"""

from __future__ import annotations

import logging
import sqlite3
import struct
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from loomlite.broker.base import Header, Record, RetentionPolicy, TopicConfig
from loomlite.errors import BrokerStorageError

__all__ = [
    "SCHEMA_VERSION",
    "SqliteStore",
    "StoredPartition",
    "StoredState",
    "StoredTopic",
    "WriteBatch",
    "decode_headers",
    "encode_headers",
]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "1"

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS broker_meta (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS broker_topics (
        name TEXT PRIMARY KEY,
        partitions INTEGER NOT NULL,
        max_age_us INTEGER,
        max_records INTEGER,
        max_bytes INTEGER,
        max_pending INTEGER
    )""",
    """CREATE TABLE IF NOT EXISTS broker_partitions (
        id INTEGER PRIMARY KEY,
        topic TEXT NOT NULL REFERENCES broker_topics (name),
        partition_index INTEGER NOT NULL,
        log_start INTEGER NOT NULL DEFAULT 0,
        UNIQUE (topic, partition_index)
    )""",
    """CREATE TABLE IF NOT EXISTS broker_records (
        partition_id INTEGER NOT NULL REFERENCES broker_partitions (id),
        record_offset INTEGER NOT NULL,
        timestamp_ns INTEGER NOT NULL,
        record_key TEXT,
        value BLOB NOT NULL,
        headers BLOB,
        size INTEGER NOT NULL,
        PRIMARY KEY (partition_id, record_offset)
    )""",
    """CREATE TABLE IF NOT EXISTS broker_offsets (
        group_id TEXT NOT NULL,
        topic TEXT NOT NULL,
        partition_index INTEGER NOT NULL,
        committed INTEGER NOT NULL,
        PRIMARY KEY (group_id, topic, partition_index)
    )""",
)

_INSERT_RECORD = (
    "INSERT INTO broker_records (partition_id, record_offset, timestamp_ns, "
    "record_key, value, headers, size) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_UPSERT_OFFSET = (
    "INSERT INTO broker_offsets (group_id, topic, partition_index, committed) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (group_id, topic, partition_index) "
    "DO UPDATE SET committed = excluded.committed"
)
_DELETE_RECORDS = (
    "DELETE FROM broker_records WHERE partition_id = ? AND record_offset < ?"
)
_UPDATE_LOG_START = "UPDATE broker_partitions SET log_start = ? WHERE id = ?"
_SELECT_RECORDS = (
    "SELECT record_offset, timestamp_ns, record_key, value, headers, size "
    "FROM broker_records WHERE partition_id = ? AND record_offset >= ? "
    "ORDER BY record_offset LIMIT ?"
)

# SQLite's primary result codes for a database held by another connection.
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6

# A header is a big-endian 2-byte name length and 4-byte value length, then
# the UTF-8 name and the value.
_HEADER = struct.Struct(">HI")

_new_tuple = tuple.__new__
T = TypeVar("T")


@dataclass(slots=True)
class StoredPartition:
    storage_id: int
    index: int
    log_start: int
    timestamps: array[int]
    sizes: array[int]


@dataclass(slots=True)
class StoredTopic:
    config: TopicConfig
    partitions: list[StoredPartition]


@dataclass(slots=True)
class StoredState:
    """The topics, partition indexes and committed offsets read from a broker file."""

    topics: list[StoredTopic]
    # (group, topic, partition, committed offset)
    offsets: list[tuple[str, str, int, int]]


@dataclass(slots=True)
class WriteBatch:
    """The rows of one write transaction.

    ``records`` are (partition id, offset, timestamp ns, key, value, headers,
    size); ``commits`` are (group, topic, partition, offset); ``trims`` are
    (new log start, partition id).
    """

    records: list[tuple[int, int, int, str | None, bytes, tuple[Header, ...], int]] = (
        field(default_factory=list)
    )
    commits: list[tuple[str, str, int, int]] = field(default_factory=list)
    trims: list[tuple[int, int]] = field(default_factory=list)


def encode_headers(headers: Sequence[Header]) -> bytes | None:
    """Encode headers as length-prefixed names and values; None when empty."""
    if not headers:
        return None
    parts = []
    for name, value in headers:
        encoded = name.encode()
        parts.append(_HEADER.pack(len(encoded), len(value)))
        parts.append(encoded)
        parts.append(value)
    return b"".join(parts)


def decode_headers(blob: bytes | None) -> tuple[Header, ...]:
    """Decode what ``encode_headers`` produced."""
    if not blob:
        return ()
    headers = []
    position = 0
    while position < len(blob):
        name_length, value_length = _HEADER.unpack_from(blob, position)
        position += _HEADER.size
        name = blob[position : position + name_length].decode()
        position += name_length
        headers.append((name, blob[position : position + value_length]))
        position += value_length
    return tuple(headers)


class SqliteStore:
    """The broker file and its two connections.

    ``synchronous`` is SQLite's PRAGMA synchronous for the writer: FULL
    flushes the write-ahead log to disk at every commit and survives a power
    loss; NORMAL survives a crash of the process but may lose the last
    commits on a power loss. ``busy_timeout`` is how many seconds a
    connection waits for another writer (such as the database sink) before a
    write is retried.
    """

    def __init__(
        self, path: Path, *, synchronous: str = "FULL", busy_timeout: float = 5.0
    ) -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(
                f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}"
            )
        self.path = path
        self.synchronous = synchronous
        self.busy_timeout = busy_timeout
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None

    # -- connections -----------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: this class issues BEGIN IMMEDIATE and COMMIT
        # itself, so that every write transaction takes the write lock first.
        connection = sqlite3.connect(self.path, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        return connection

    def open_writer(self) -> StoredState:
        """Open the writer connection, create missing tables and load the state."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = self._connect()
        self._writer = connection
        self._retry(lambda: connection.execute("PRAGMA journal_mode = WAL"))
        connection.execute(f"PRAGMA synchronous = {self.synchronous}")
        self._retry(lambda: self._in_transaction(connection, self._create_schema))
        return self._load(connection)

    def open_reader(self) -> None:
        connection = self._connect()
        connection.execute("PRAGMA query_only = 1")
        self._reader = connection

    def close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _create_schema(self, connection: sqlite3.Connection) -> None:
        for statement in _SCHEMA:
            connection.execute(statement)
        row = connection.execute(
            "SELECT value FROM broker_meta WHERE name = 'schema_version'"
        ).fetchone()
        if row is None:
            connection.execute(
                "INSERT INTO broker_meta (name, value) VALUES ('schema_version', ?)",
                (SCHEMA_VERSION,),
            )
        elif row[0] != SCHEMA_VERSION:
            raise BrokerStorageError(
                f"the broker tables have schema version {row[0]!r} but this "
                f"loomlite reads version {SCHEMA_VERSION!r}; use a new state "
                "directory or the loomlite version that wrote the file",
                path=str(self.path),
            )

    # -- recovery --------------------------------------------------------------

    def _load(self, connection: sqlite3.Connection) -> StoredState:
        topics = []
        rows = connection.execute(
            "SELECT name, partitions, max_age_us, max_records, max_bytes, "
            "max_pending FROM broker_topics ORDER BY name"
        ).fetchall()
        for name, partitions, max_age_us, max_records, max_bytes, max_pending in rows:
            max_age = None if max_age_us is None else timedelta(microseconds=max_age_us)
            retention = RetentionPolicy(max_age, max_records, max_bytes, max_pending)
            config = TopicConfig(name, partitions, retention)
            topics.append(
                StoredTopic(config, self._load_partitions(connection, config))
            )
        offsets = connection.execute(
            "SELECT group_id, topic, partition_index, committed FROM broker_offsets"
        ).fetchall()
        return StoredState(topics, [tuple(row) for row in offsets])

    def _load_partitions(
        self, connection: sqlite3.Connection, config: TopicConfig
    ) -> list[StoredPartition]:
        rows = connection.execute(
            "SELECT id, partition_index, log_start FROM broker_partitions "
            "WHERE topic = ? ORDER BY partition_index",
            (config.name,),
        ).fetchall()
        if [row[1] for row in rows] != list(range(config.partitions)):
            raise BrokerStorageError(
                f"topic {config.name!r} should have partitions "
                f"0..{config.partitions - 1} but the file lists "
                f"{[row[1] for row in rows]}",
                path=str(self.path),
            )
        return [self._load_partition(connection, config.name, *row) for row in rows]

    def _load_partition(
        self,
        connection: sqlite3.Connection,
        topic: str,
        storage_id: int,
        index: int,
        log_start: int,
    ) -> StoredPartition:
        timestamps = array("q")
        sizes = array("q")
        expected = log_start
        cursor = connection.execute(
            "SELECT record_offset, timestamp_ns, size FROM broker_records "
            "WHERE partition_id = ? AND record_offset >= ? ORDER BY record_offset",
            (storage_id, log_start),
        )
        for offset, timestamp_ns, size in cursor:
            if offset != expected:
                raise BrokerStorageError(
                    f"{topic}[{index}] has no record at offset {expected} but one "
                    f"at {offset}; the broker file is damaged",
                    path=str(self.path),
                )
            timestamps.append(timestamp_ns)
            sizes.append(size)
            expected += 1
        return StoredPartition(storage_id, index, log_start, timestamps, sizes)

    # -- writes ----------------------------------------------------------------

    def save_topic(self, config: TopicConfig) -> list[int]:
        """Insert or update a topic and return its partitions' row ids."""
        connection = self._require(self._writer)
        return self._retry(
            lambda: self._in_transaction(
                connection, lambda c: self._save_topic(c, config)
            )
        )

    def _save_topic(
        self, connection: sqlite3.Connection, config: TopicConfig
    ) -> list[int]:
        retention = config.retention
        max_age_us = None
        if retention.max_age is not None:
            max_age_us = retention.max_age // timedelta(microseconds=1)
        connection.execute(
            "INSERT INTO broker_topics (name, partitions, max_age_us, max_records, "
            "max_bytes, max_pending) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET max_age_us = excluded.max_age_us, "
            "max_records = excluded.max_records, max_bytes = excluded.max_bytes, "
            "max_pending = excluded.max_pending",
            (
                config.name,
                config.partitions,
                max_age_us,
                retention.max_records,
                retention.max_bytes,
                retention.max_pending,
            ),
        )
        connection.executemany(
            "INSERT OR IGNORE INTO broker_partitions (topic, partition_index) "
            "VALUES (?, ?)",
            [(config.name, index) for index in range(config.partitions)],
        )
        rows = connection.execute(
            "SELECT id FROM broker_partitions WHERE topic = ? ORDER BY partition_index",
            (config.name,),
        ).fetchall()
        return [row[0] for row in rows]

    def write(self, batch: WriteBatch) -> None:
        """Write records, committed offsets and retention in one transaction."""
        connection = self._require(self._writer)
        self._retry(
            lambda: self._in_transaction(connection, lambda c: self._write(c, batch))
        )

    def _write(self, connection: sqlite3.Connection, batch: WriteBatch) -> None:
        if batch.records:
            connection.executemany(
                _INSERT_RECORD,
                [
                    (pid, offset, ts, key, value, encode_headers(headers), size)
                    for pid, offset, ts, key, value, headers, size in batch.records
                ],
            )
        if batch.commits:
            connection.executemany(_UPSERT_OFFSET, batch.commits)
        if batch.trims:
            connection.executemany(
                _DELETE_RECORDS, [(pid, start) for start, pid in batch.trims]
            )
            connection.executemany(_UPDATE_LOG_START, batch.trims)

    def delete_group(self, group: str) -> None:
        connection = self._require(self._writer)
        self._retry(
            lambda: self._in_transaction(
                connection,
                lambda c: c.execute(
                    "DELETE FROM broker_offsets WHERE group_id = ?", (group,)
                ),
            )
        )

    # -- reads -----------------------------------------------------------------

    def read(
        self, storage_id: int, topic: str, partition: int, offset: int, limit: int
    ) -> list[Record]:
        """Return up to ``limit`` records of a partition from ``offset`` on."""
        connection = self._require(self._reader)
        rows = self._retry(
            lambda: connection.execute(
                _SELECT_RECORDS, (storage_id, offset, limit)
            ).fetchall()
        )
        return [
            _new_tuple(
                Record,
                (
                    topic,
                    partition,
                    row_offset,
                    ts,
                    key,
                    value,
                    decode_headers(headers),
                    size,
                ),
            )
            for row_offset, ts, key, value, headers, size in rows
        ]

    # -- helpers ---------------------------------------------------------------

    def _require(self, connection: sqlite3.Connection | None) -> sqlite3.Connection:
        if connection is None:
            raise BrokerStorageError("the broker file is not open", path=str(self.path))
        return connection

    @staticmethod
    def _in_transaction(
        connection: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]
    ) -> T:
        # BEGIN IMMEDIATE takes the write lock at once, so a concurrent
        # writer makes it wait (busy_timeout) instead of failing mid-way.
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = work(connection)
        except BaseException:
            # SQLite rolls back by itself after some errors (a full disk, I/O).
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
        return result

    def _retry(self, operation: Callable[[], T]) -> T:
        """Run ``operation``, retrying while another connection has the write lock.

        SQLite already waits ``busy_timeout`` seconds inside each attempt, so
        the warnings come at most once per timeout.
        """
        attempt = 0
        while True:
            try:
                return operation()
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode & 0xFF not in (_SQLITE_BUSY, _SQLITE_LOCKED):
                    raise
                attempt += 1
                logger.warning(
                    "broker file %s is locked by another connection; retrying "
                    "(attempt %d): %s",
                    self.path,
                    attempt,
                    error,
                )
                time.sleep(min(0.01 * attempt, 0.5))
