"""Read-only queries on the sink database: row counts and rows of one trace.

A SQLite sink is opened read-only (``mode=ro``), so the TUI takes no write
lock, and its queries run in a worker thread, off the event loop. A
Postgres sink is read through the async engine. Every query is built with
SQLAlchemy Core from the catalog's tables.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from loomlite.contract import CATALOG
from loomlite.sink import build_metadata, create_engine
from loomlite.sink.engine import database_url
from loomlite.tui.broker_file import read_only_uri

__all__ = ["SinkReader"]

Progress = Callable[[int, int], None]
"""Called with (tables done, tables in total)."""


class SinkReader:
    """Row counts and trace lookups on the database at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.metadata = build_metadata(CATALOG)
        parsed = database_url(url)
        self._lock = threading.Lock()
        self._sync: Engine | None = None
        self._async: AsyncEngine | None = None
        if parsed.get_backend_name() == "sqlite":
            path = parsed.database or ""
            self._sync = sa.create_engine(
                "sqlite://",
                creator=lambda: _read_only_connection(path),
                poolclass=sa.pool.StaticPool,
            )
        else:
            self._async = create_engine(url)

    async def _fetch(self, statement: sa.Executable) -> Sequence[sa.Row[Any]]:
        if self._sync is not None:
            engine = self._sync

            def run() -> Sequence[sa.Row[Any]]:
                with self._lock, engine.connect() as connection:
                    return connection.execute(statement).fetchall()

            return await anyio.to_thread.run_sync(run)
        assert self._async is not None
        async with self._async.connect() as connection:
            return (await connection.execute(statement)).fetchall()

    async def close(self) -> None:
        if self._sync is not None:
            self._sync.dispose()
        if self._async is not None:
            await self._async.dispose()

    async def counts(self, tables: Sequence[str]) -> dict[str, int]:
        """Return the number of rows in each of ``tables`` that exists."""
        counts: dict[str, int] = {}
        for name in tables:
            table = self.metadata.tables.get(name)
            if table is None:
                continue
            rows = await self._fetch(sa.select(sa.func.count()).select_from(table))
            counts[name] = int(rows[0][0])
        return counts

    async def rows_for_trace(
        self, trace_id: str, progress: Progress | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """Return (table, row) for every row whose ``trace_id`` matches."""
        tables = [t for t in self.metadata.sorted_tables if "trace_id" in t.c]
        found: list[tuple[str, dict[str, Any]]] = []
        for done, table in enumerate(tables, start=1):
            statement = sa.select(table).where(table.c.trace_id == trace_id)
            for row in await self._fetch(statement):
                found.append((table.name, dict(row._mapping)))
            if progress is not None:
                progress(done, len(tables))
        return found


def _read_only_connection(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(read_only_uri(path), uri=True, check_same_thread=False)
    connection.execute("PRAGMA query_only = 1")
    connection.execute("PRAGMA busy_timeout = 5000")
    return connection
