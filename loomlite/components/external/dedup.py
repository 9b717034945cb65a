"""The content-hash store that stops the fetchers from publishing an item twice.

Production's fetchers created a fresh fetcher object for every cycle, so their
in-memory sets of processed items dropped duplicates within one cycle only:
each cycle, and each restart, published the same emails and events again.
``ContentHashStore`` keeps ``(source, content_hash, first_seen)`` rows in a
small SQLite file instead, so an item is published once across cycles and
across restarts that reuse the state directory.

Database calls run on aiosqlite's worker thread and the directory is made
in anyio's thread pool, so the event loop does not wait on the disk. The
file is in WAL mode, and writes start with ``BEGIN
IMMEDIATE`` so they take the write lock before they read anything. Hash lists
travel as one JSON array parameter read with ``json_each``, so one query
checks any number of hashes and no SQL text is built from data.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Collection
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

import aiosqlite
import anyio

from loomlite.errors import ComponentError, LifecycleError

__all__ = ["DEDUP_FILE_NAME", "ContentHashStore"]

logger = logging.getLogger(__name__)

DEDUP_FILE_NAME = "external-dedup.sqlite3"

# Real milliseconds a statement waits for another connection's write lock.
_BUSY_TIMEOUT_MS = 5_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS content_hashes (
    source TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (source, content_hash)
) WITHOUT ROWID
"""

_SELECT_KNOWN = """
SELECT content_hash FROM content_hashes
WHERE source = ? AND content_hash IN (SELECT value FROM json_each(?))
"""

_INSERT = """
INSERT OR IGNORE INTO content_hashes (source, content_hash, first_seen)
SELECT ?, value, ? FROM json_each(?)
"""

_COUNT_ALL = "SELECT count(*) FROM content_hashes"
_COUNT_SOURCE = "SELECT count(*) FROM content_hashes WHERE source = ?"


class ContentHashStore:
    """The content hashes each source has published, in a SQLite file.

    Use it as an async context manager, or call ``open`` and ``close``.
    Failures of the database raise ComponentError naming the file, with the
    sqlite3 error as the cause.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._connection: aiosqlite.Connection | None = None
        # The fetcher loops share one connection, and a transaction spans
        # several calls on it, so writes take turns.
        self._write_lock = anyio.Lock()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Create the file and its table if needed and connect to it."""
        if self._connection is not None:
            raise LifecycleError(f"content-hash store {self.path}", "open", "open it")
        try:
            await anyio.Path(self.path.parent).mkdir(parents=True, exist_ok=True)
            connection = await aiosqlite.connect(self.path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise self._failure("open", exc) from exc
        try:
            await connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            await connection.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL syncs at checkpoints only. A power cut can
            # lose the last marks, which republishes those items: harmless,
            # because the sink's natural keys absorb duplicates.
            await connection.execute("PRAGMA synchronous = NORMAL")
            await connection.execute(_SCHEMA)
        except sqlite3.Error as exc:
            await connection.close()
            raise self._failure("prepare", exc) from exc
        self._connection = connection
        logger.debug("opened the content-hash store %s", self.path)

    async def close(self) -> None:
        """Close the connection. Closing a closed store does nothing."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.close()
        except sqlite3.Error as exc:
            raise self._failure("close", exc) from exc

    async def known(self, source: str, hashes: Collection[str]) -> set[str]:
        """Return the members of ``hashes`` already stored for ``source``."""
        if not hashes:
            return set()
        connection = self._require_open("look up hashes")
        parameters = (source, json.dumps(list(hashes)))
        try:
            async with connection.execute(_SELECT_KNOWN, parameters) as cursor:
                rows = await cursor.fetchall()
        except sqlite3.Error as exc:
            raise self._failure("look up hashes in", exc) from exc
        return {str(row[0]) for row in rows}

    async def add(
        self, source: str, hashes: Collection[str], first_seen: datetime
    ) -> int:
        """Store ``hashes`` for ``source`` in one transaction.

        Hashes already stored keep their first ``first_seen``. Returns how
        many hashes were new.
        """
        if not hashes:
            return 0
        connection = self._require_open("store hashes")
        parameters = (source, first_seen.isoformat(), json.dumps(list(hashes)))
        async with self._write_lock:
            try:
                await connection.execute("BEGIN IMMEDIATE")
                try:
                    cursor = await connection.execute(_INSERT, parameters)
                    await connection.execute("COMMIT")
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await connection.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise self._failure("store hashes in", exc) from exc
        return max(cursor.rowcount, 0)

    async def count(self, source: str | None = None) -> int:
        """Return how many hashes are stored, for one source or for all."""
        connection = self._require_open("count hashes")
        query = _COUNT_ALL if source is None else _COUNT_SOURCE
        parameters: tuple[str, ...] = () if source is None else (source,)
        try:
            async with connection.execute(query, parameters) as cursor:
                row = await cursor.fetchone()
        except sqlite3.Error as exc:
            raise self._failure("count hashes in", exc) from exc
        return 0 if row is None else int(row[0])

    def _require_open(self, action: str) -> aiosqlite.Connection:
        if self._connection is None:
            raise LifecycleError(f"content-hash store {self.path}", "closed", action)
        return self._connection

    def _failure(self, action: str, error: Exception) -> ComponentError:
        return ComponentError(
            f"failed to {action} the content-hash store {self.path}: {error}; "
            "check that the state directory is writable, or delete the file to "
            "forget which items were published"
        )
